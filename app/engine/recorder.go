package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"minebrain/app/historian"
	"minebrain/app/site"
	"minebrain/app/tags"
)

// recorderQueue bounds the batches waiting between the tag table's tap and the recorder
// goroutine. The publish path only ever does a non-blocking send; a full queue drops the batch
// and counts its samples. At 1,000 tags changing every 250 ms a batch is ~1,000 samples, so
// this absorbs about a minute of a stalled recorder.
const recorderQueue = 256

// recentDrop is how long a dropped sample keeps the history status failing.
const recentDrop = time.Minute

// recorder writes every sample of the tag table into the historian. Subscriptions coalesce
// (latest per tag), so it consumes the table's tap instead, through a bounded channel: the
// publish path never waits for it, and a stuck disk only costs dropped (counted) samples.
type recorder struct {
	table *tags.Table
	store *historian.Store
	path  string
	log   *slog.Logger

	in   chan []tags.Update
	stop chan struct{}
	done chan struct{}
	once sync.Once

	// policy is the site's retention and compression; compressed remembers what was applied.
	policy     site.History
	compMu     sync.Mutex // model events of several connections may apply at once
	compressed map[string]historian.Compression

	// last is each tag's newest recorded time and status, owned by the run goroutine.
	last []recorded

	dropped    atomic.Int64 // samples lost: queue full or ErrBufferFull
	lastDropAt atomic.Int64 // unix ns
	lastErr    atomic.Pointer[string]
}

// openStore opens (creating it and its directory if needed) the historian file at path: the
// samples, and the users, audit log and alarm journal tables. The error names the file.
func openStore(ctx context.Context, path string, policy site.History) (*historian.Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("engine: history %s: %w", path, err)
		}
	}
	store, err := historian.Open(ctx, path, historian.Options{RetainFor: policy.RetainFor, RetainBytes: policy.RetainBytes})
	if err != nil {
		return nil, fmt.Errorf("engine: history %s: %w", path, err)
	}
	return store, nil
}

// newRecorder starts recording into store the samples its tap is given.
func newRecorder(store *historian.Store, path string, policy site.History, table *tags.Table, log *slog.Logger) *recorder {
	r := &recorder{
		table: table, store: store, path: path, log: log, policy: policy,
		in:   make(chan []tags.Update, recorderQueue),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go r.run()
	log.Info("engine: recording history", "file", path)
	return r
}

// tap runs on the publish path: copy and hand off, never block.
func (r *recorder) tap(batch []tags.Update) {
	cp := make([]tags.Update, len(batch))
	copy(cp, batch)
	select {
	case r.in <- cp:
	default:
		r.drop(len(cp), "history queue full: the recorder is behind")
	}
}

func (r *recorder) drop(n int, why string) {
	if r.dropped.Add(int64(n)) == int64(n) || time.Since(time.Unix(0, r.lastDropAt.Load())) > recentDrop {
		r.log.Warn("engine: history samples dropped", "samples", n, "reason", why)
	}
	r.lastDropAt.Store(time.Now().UnixNano())
	r.lastErr.Store(&why)
}

// run converts and appends batches until stop, then records what is queued.
func (r *recorder) run() {
	defer close(r.done)
	var buf []historian.Sample
	for {
		select {
		case b := <-r.in:
			buf = r.convert(buf[:0], b)
			// Take whatever else is queued into the same Append.
		more:
			for {
				select {
				case b := <-r.in:
					buf = r.convert(buf, b)
				default:
					break more
				}
			}
			r.append(buf)
		case <-r.stop:
			buf = buf[:0]
			for {
				select {
				case b := <-r.in:
					buf = r.convert(buf, b)
				default:
					r.append(buf)
					return
				}
			}
		}
	}
}

func (r *recorder) append(buf []historian.Sample) {
	if len(buf) == 0 {
		return
	}
	err := r.store.Append(buf)
	switch {
	case err == nil:
	case errors.Is(err, historian.ErrBufferFull):
		r.drop(len(buf), "history writer is behind or failing: "+historian.ErrBufferFull.Error())
	default:
		r.drop(len(buf), err.Error())
	}
}

// convert appends the storable samples of b: numbers and booleans (1/0) as float64, a missing
// value (a Bad sample of a tag that never had one) as NaN so the gap is recorded; strings and
// other types are skipped.
func (r *recorder) convert(dst []historian.Sample, b []tags.Update) []historian.Sample {
	for _, u := range b {
		v, ok := historyValue(u.Sample.Value)
		if !ok {
			continue
		}
		name := r.table.Name(u.ID)
		if name == "" {
			continue
		}
		t := u.Sample.SourceTime
		if t.IsZero() {
			t = u.Sample.ServerTime
		}
		if t.IsZero() {
			t = time.Now()
		}
		if t, ok = r.ordered(u.ID, t, u.Sample.ServerTime, u.Sample.Status); !ok {
			continue
		}
		dst = append(dst, historian.Sample{Tag: name, Time: t, Value: v, Status: u.Sample.Status})
	}
	return dst
}

// historyValue is the float64 the historian stores for a sample value: nil (no value) is NaN.
func historyValue(v any) (float64, bool) {
	if v == nil {
		return math.NaN(), true
	}
	return tags.Number(v)
}

// status is the history section of Status.
func (r *recorder) status(now time.Time) *History {
	st := r.store.Stats()
	h := &History{State: "recording", File: r.path, Dropped: r.dropped.Load()}
	if p := r.lastErr.Load(); p != nil && now.Sub(time.Unix(0, r.lastDropAt.Load())) < recentDrop {
		h.State, h.LastError = "failing", *p
	}
	if st.LastError != "" {
		h.State, h.LastError = "failing", st.LastError
	}
	return h
}

// close records what is queued and flushes it; the engine has removed the tap and closes
// the file.
func (r *recorder) close() error {
	var err error
	r.once.Do(func() {
		close(r.stop)
		<-r.done
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if ferr := r.store.Flush(ctx); ferr != nil {
			err = fmt.Errorf("engine: history %s: flush: %w", r.path, ferr)
		}
	})
	return err
}

// recorded is a tag's newest sample time and status in the history.
type recorded struct {
	t      time.Time
	status uint32
}

// ordered returns the time to record a sample at, or false to skip it. The historian keeps
// each tag's samples in strictly increasing time and drops the rest, but a change of status
// must never be lost: the Bad sample of a connection loss is stamped with this computer's
// clock, which may be behind the server's timestamps, and a server may change only the
// status of a value without a new timestamp. Such a sample is recorded at its server
// timestamp when that is newer (a value the server re-sends after a reconnect keeps its old
// source time, but it is good again only from now), else a microsecond after the tag's
// newest sample. A sample that repeats the status at an old time adds nothing.
func (r *recorder) ordered(id tags.ID, t, server time.Time, status uint32) (time.Time, bool) {
	for int(id) >= len(r.last) {
		r.last = append(r.last, recorded{})
	}
	prev := r.last[id]
	if !prev.t.IsZero() && !t.After(prev.t) {
		switch {
		case status == prev.status:
			return t, false
		case server.After(prev.t):
			t = server
		default:
			t = prev.t.Add(time.Microsecond)
		}
	}
	r.last[id] = recorded{t, status}
	return t, true
}
