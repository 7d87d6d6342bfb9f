package historian

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"
)

// BenchOptions sizes RunBench. Zero values take the defaults noted on each field.
type BenchOptions struct {
	Tags    int   // tags sampled at 1 Hz (default 1000)
	Samples int64 // samples in all, over all tags (default 10,000,000): Samples/Tags seconds of data
	// Path is the database file to write; it must not exist. Empty: a temporary file, removed
	// afterwards.
	Path string
	// TrendSpan is the history of the extra tag the trend query reads (default 7 days at 1 Hz).
	TrendSpan time.Duration
	// TrendBuckets is the trend query's bucket count (default 1000).
	TrendBuckets int
	// Runs is how many times the trend and latest queries are timed; the median is reported
	// (default 7).
	Runs int
	// Seed makes the generated signals reproducible (default 1).
	Seed uint64
}

func (o *BenchOptions) setDefaults() {
	if o.Tags <= 0 {
		o.Tags = 1000
	}
	if o.Samples <= 0 {
		o.Samples = 10_000_000
	}
	if o.TrendSpan <= 0 {
		o.TrendSpan = 7 * 24 * time.Hour
	}
	if o.TrendBuckets <= 0 {
		o.TrendBuckets = 1000
	}
	if o.Runs <= 0 {
		o.Runs = 7
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
}

// BenchProgress reports how far a phase of RunBench is.
type BenchProgress struct {
	Phase       string // "trend tag", "ingest", "ingest with reader", "queries"
	Done, Total int64  // samples (or queries)
}

// BenchResult holds RunBench's figures. Durations are in milliseconds.
type BenchResult struct {
	Tags    int   `json:"tags"`
	Samples int64 `json:"samples"` // ingested on the Tags tags
	// TrendSamples is the extra tag's samples (TrendSpan at 1 Hz), ingested first.
	TrendSamples int64 `json:"trend_samples"`

	IngestSamplesPerSec float64 `json:"ingest_samples_per_s"` // first half of the ingest, nothing else running
	// IngestWithReaderSamplesPerSec is the second half, while a reader queries back to back.
	IngestWithReaderSamplesPerSec float64 `json:"ingest_with_reader_samples_per_s"`

	FileBytes      int64   `json:"file_bytes"`       // after Close (WAL checkpointed)
	BytesPerSample float64 `json:"bytes_per_sample"` // FileBytes / (Samples + TrendSamples)

	TrendBuckets   int     `json:"trend_buckets"`
	TrendSpanSec   float64 `json:"trend_span_s"`
	TrendMedianMs  float64 `json:"trend_median_ms"`  // Aggregate of the trend tag over TrendSpan, median of Runs
	LatestMedianMs float64 `json:"latest_median_ms"` // Latest of all Tags tags, median of Runs

	// Reader latency during the second half of the ingest: one-hour trends (500 buckets) of one
	// tag, back to back.
	ReaderQueries int     `json:"reader_queries"`
	ReaderMaxMs   float64 `json:"reader_max_ms"`
	ReaderP99Ms   float64 `json:"reader_p99_ms"`
	ReaderP50Ms   float64 `json:"reader_p50_ms"`

	ElapsedSec float64 `json:"elapsed_s"`
	Path       string  `json:"path,omitempty"` // the file, when kept
}

// benchSignal generates plant-like values for many tags at 1 Hz: a slow sine per tag plus
// noise, quantised to 0.01 like a transmitter; now and then a step (a setpoint change, a unit
// starting) and a stretch of Bad quality (a lost connection) holding the last value.
type benchSignal struct {
	r                         *rand.Rand
	base, amp, w, phase, step []float64
	badLeft                   []int
	last                      []float64
}

const benchBadStatus = 0x808A0000 // BadNoCommunication

func newBenchSignal(tags int, seed uint64) *benchSignal {
	r := rand.New(rand.NewPCG(seed, uint64(tags)))
	s := &benchSignal{r: r, step: make([]float64, tags), badLeft: make([]int, tags), last: make([]float64, tags)}
	for i := 0; i < tags; i++ {
		s.base = append(s.base, 10+r.Float64()*500)
		s.amp = append(s.amp, 1+r.Float64()*50)
		s.w = append(s.w, 2*math.Pi/(600+r.Float64()*7200)) // periods of 10 min to 2 h
		s.phase = append(s.phase, r.Float64()*2*math.Pi)
	}
	return s
}

func (s *benchSignal) sample(tag int, sec int64) (float64, uint32) {
	u := s.r.Uint64()
	if s.badLeft[tag] > 0 {
		s.badLeft[tag]--
		return s.last[tag], benchBadStatus
	}
	switch u % 100_000 {
	case 0, 1, 2, 3, 4: // a step about every 5.5 h per tag
		s.step[tag] += (s.r.Float64() - 0.5) * s.amp[tag]
	case 5: // a bad stretch of 30 s to 10 min about every 28 h per tag
		s.badLeft[tag] = 30 + int(u>>32)%570
		return s.last[tag], benchBadStatus
	}
	x := s.base[tag] + s.step[tag] + s.amp[tag]*math.Sin(s.phase[tag]+float64(sec)*s.w[tag]) + s.r.NormFloat64()*0.05
	v := math.Round(x*100) / 100
	s.last[tag] = v
	return v, 0
}

// benchAppend appends batch, waiting while the writer's buffer is full.
func benchAppend(ctx context.Context, s *Store, batch []Sample) error {
	for {
		err := s.Append(batch)
		if !errors.Is(err, ErrBufferFull) {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(200 * time.Microsecond)
	}
}

func benchTagNames(n int) []string {
	names := make([]string, n)
	areas := []string{"Pit", "Crushing", "Conveying", "Water", "Power", "Heating"}
	for i := range names {
		names[i] = fmt.Sprintf("%s.U%04d.Signal", areas[i%len(areas)], i)
	}
	return names
}

func msOf(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// RunBench generates realistic signals for o.Tags tags at 1 Hz (o.Samples in all, ending now),
// ingests them as fast as the store takes them, and measures ingest rate, bytes per sample,
// the latency of a long trend, of the latest values of all tags, and of a reader while ingest
// runs. progress, if not nil, is called from RunBench's goroutine now and then.
func RunBench(ctx context.Context, o BenchOptions, progress func(BenchProgress)) (BenchResult, error) {
	o.setDefaults()
	began := time.Now()
	report := func(p BenchProgress) {
		if progress != nil {
			progress(p)
		}
	}
	path := o.Path
	if path == "" {
		dir, err := os.MkdirTemp("", "minebrain-bench-")
		if err != nil {
			return BenchResult{}, err
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "bench.db")
	} else if _, err := os.Stat(path); err == nil {
		return BenchResult{}, fmt.Errorf("historian: bench writes a new file and %s exists", path)
	}
	s, err := Open(ctx, path, Options{})
	if err != nil {
		return BenchResult{}, err
	}
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()

	steps := max(1, o.Samples/int64(o.Tags))
	end := time.Now().Truncate(time.Second)
	start := end.Add(-time.Duration(steps-1) * time.Second)
	res := BenchResult{Tags: o.Tags, Samples: steps * int64(o.Tags), TrendBuckets: o.TrendBuckets,
		TrendSpanSec: o.TrendSpan.Seconds()}
	if o.Path != "" {
		res.Path = o.Path
	}

	// The trend tag: TrendSpan of 1 Hz data ending at end.
	const trendTag = "Bench.Trend.Signal"
	trendN := int64(o.TrendSpan / time.Second)
	res.TrendSamples = trendN
	tsig := newBenchSignal(1, o.Seed+1)
	batch := make([]Sample, 0, 10_000)
	tstart := end.Add(-time.Duration(trendN-1) * time.Second)
	for i := int64(0); i < trendN; i++ {
		v, st := tsig.sample(0, i)
		batch = append(batch, Sample{Tag: trendTag, Time: tstart.Add(time.Duration(i) * time.Second), Value: v, Status: st})
		if len(batch) == cap(batch) || i == trendN-1 {
			if err := benchAppend(ctx, s, batch); err != nil {
				return res, err
			}
			batch = batch[:0]
			report(BenchProgress{Phase: "trend tag", Done: i + 1, Total: trendN})
		}
	}
	if err := s.Flush(ctx); err != nil {
		return res, err
	}

	names := benchTagNames(o.Tags)
	sig := newBenchSignal(o.Tags, o.Seed)
	batch = make([]Sample, o.Tags)
	stepsPerReport := max(1, 200_000/int64(o.Tags))
	var frontier *atomic.Int64
	ingest := func(phase string, from, to int64) (time.Duration, error) {
		t := time.Now()
		for step := from; step < to; step++ {
			ts := start.Add(time.Duration(step) * time.Second)
			for i, name := range names {
				v, st := sig.sample(i, step)
				batch[i] = Sample{Tag: name, Time: ts, Value: v, Status: st}
			}
			if err := benchAppend(ctx, s, batch); err != nil {
				return 0, err
			}
			if frontier != nil {
				frontier.Store(ts.UnixNano())
			}
			if (step-from+1)%stepsPerReport == 0 || step == to-1 {
				report(BenchProgress{Phase: phase, Done: (step + 1) * int64(o.Tags), Total: res.Samples})
			}
		}
		if err := s.Flush(ctx); err != nil {
			return 0, err
		}
		return time.Since(t), nil
	}

	half := steps / 2
	d, err := ingest("ingest", 0, half)
	if err != nil {
		return res, err
	}
	if half > 0 {
		res.IngestSamplesPerSec = float64(half*int64(o.Tags)) / d.Seconds()
	}

	// Second half, with a reader running one-hour trends of one tag back to back.
	readTag := names[7%len(names)]
	var lat []time.Duration
	frontier = new(atomic.Int64) // the newest time ingested: the reader's trends end there
	frontier.Store(start.Add(time.Duration(half) * time.Second).UnixNano())
	stop := make(chan struct{})
	readerDone := make(chan error, 1)
	go func() {
		for { // at least one query, however short the ingest
			to := time.Unix(0, frontier.Load())
			t := time.Now()
			if _, err := s.Aggregate(ctx, readTag, to.Add(-time.Hour), to, 500); err != nil {
				readerDone <- err
				return
			}
			lat = append(lat, time.Since(t))
			select {
			case <-stop:
				readerDone <- nil
				return
			default:
			}
		}
	}()
	d, err = ingest("ingest with reader", half, steps)
	close(stop)
	if rerr := <-readerDone; err == nil && rerr != nil {
		err = fmt.Errorf("historian: bench reader: %w", rerr)
	}
	if err != nil {
		return res, err
	}
	res.IngestWithReaderSamplesPerSec = float64((steps-half)*int64(o.Tags)) / d.Seconds()
	if len(lat) > 0 {
		slices.Sort(lat)
		res.ReaderQueries = len(lat)
		res.ReaderMaxMs = msOf(lat[len(lat)-1])
		res.ReaderP99Ms = msOf(lat[min(len(lat)-1, len(lat)*99/100)])
		res.ReaderP50Ms = msOf(lat[len(lat)/2])
	}

	// Queries on committed data.
	trend := make([]time.Duration, o.Runs)
	latest := make([]time.Duration, o.Runs)
	tfrom, tto := end.Add(-o.TrendSpan).Add(time.Second), end.Add(time.Second)
	if _, err := s.Aggregate(ctx, trendTag, tfrom, tto, o.TrendBuckets); err != nil { // warm-up
		return res, err
	}
	for i := range trend {
		t := time.Now()
		if _, err := s.Aggregate(ctx, trendTag, tfrom, tto, o.TrendBuckets); err != nil {
			return res, err
		}
		trend[i] = time.Since(t)
		t = time.Now()
		if l := s.Latest(names); !l[len(l)-1].OK {
			return res, fmt.Errorf("historian: bench: no latest value for %s", names[len(names)-1])
		}
		latest[i] = time.Since(t)
		report(BenchProgress{Phase: "queries", Done: int64(i + 1), Total: int64(o.Runs)})
	}
	res.TrendMedianMs = msOf(median(trend))
	res.LatestMedianMs = msOf(median(latest))

	closed = true
	if err := s.Close(); err != nil {
		return res, err
	}
	for _, p := range []string{path, path + "-wal"} {
		if st, err := os.Stat(p); err == nil {
			res.FileBytes += st.Size()
		}
	}
	res.BytesPerSample = float64(res.FileBytes) / float64(res.Samples+res.TrendSamples)
	res.ElapsedSec = time.Since(began).Seconds()
	return res, nil
}
