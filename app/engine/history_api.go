package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"minebrain/app/historian"
)

// Limits of one History request.
const (
	HistoryMaxTags    = 8
	HistoryMaxBuckets = 5000
	// historyRawFactor: a tag with fewer samples than this many per bucket in the range is
	// returned as raw samples instead of buckets, so a zoomed-in trend shows the real samples.
	historyRawFactor = 2
	// historyTimeout bounds one History call.
	historyTimeout = 20 * time.Second
)

// ErrHistoryOff is History's error when the engine records no history.
var ErrHistoryOff = errors.New("history is off (started with --no-history or without a data directory)")

// HistoryRequest asks for the trend of up to 8 tags over [From, To) (Unix ms) in Buckets
// buckets (1..5000, normally the plot's width in pixels).
type HistoryRequest struct {
	Tags    []string `json:"tags"`
	From    int64    `json:"from"`
	To      int64    `json:"to"`
	Buckets int      `json:"buckets"`
}

// HistoryReply is the answer to a HistoryRequest: one series per requested tag, in order.
type HistoryReply struct {
	From   int64           `json:"from"`
	To     int64           `json:"to"`
	Series []HistorySeries `json:"series"`
}

// HistorySeries is one tag's trend: either Buckets (downsampled) or Raw (the samples
// themselves, when the range holds fewer than ~2 × buckets of them). Buckets is empty when
// Raw is given. A tag in the model that was never recorded has both empty.
type HistorySeries struct {
	Tag     string          `json:"tag"`
	Unit    string          `json:"unit"`
	Buckets []HistoryBucket `json:"buckets"`
	Raw     []HistoryPoint  `json:"raw,omitempty"`
}

// HistoryBucket is one bucket of a downsampled series (see historian.Bucket for the
// definitions). T is the bucket's start in Unix ms; values without data are null.
type HistoryBucket struct {
	T     int64     `json:"t"`
	Min   JSONFloat `json:"min"`
	Max   JSONFloat `json:"max"`
	Avg   JSONFloat `json:"avg"`
	First JSONFloat `json:"first"`
	Last  JSONFloat `json:"last"`
	Count int       `json:"count"`
	// Good is the percentage of the bucket's time held by good values; null when empty.
	Good JSONFloat `json:"good"`
}

// HistoryPoint is one raw sample: Unix ms, value (null for NaN) and OPC UA status code.
type HistoryPoint struct {
	T int64     `json:"t"`
	V JSONFloat `json:"v"`
	Q uint32    `json:"q"`
}

// JSONFloat is a float64 that marshals NaN and ±Inf as null (encoding/json refuses them).
type JSONFloat float64

// MarshalJSON implements json.Marshaler.
func (f JSONFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// historyStore returns the historian the recorder writes into, nil without history.
func (e *Engine) historyStore() *historian.Store {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rec == nil || e.closed {
		return nil
	}
	return e.rec.store
}

// History returns the trend of req.Tags over [req.From, req.To): per tag either req.Buckets
// aggregate buckets or, when the range holds fewer than 2 × req.Buckets samples, the raw
// samples (preceded by the value held at From, so the line starts at the left edge).
func (e *Engine) History(req HistoryRequest) (HistoryReply, error) {
	store := e.historyStore()
	if store == nil {
		return HistoryReply{}, ErrHistoryOff
	}
	if err := e.validateHistory(req); err != nil {
		return HistoryReply{}, err
	}
	units := e.units()
	ctx, cancel := context.WithTimeout(context.Background(), historyTimeout)
	defer cancel()
	from, to := time.UnixMilli(req.From), time.UnixMilli(req.To)
	out := HistoryReply{From: req.From, To: req.To, Series: make([]HistorySeries, 0, len(req.Tags))}
	for _, tag := range req.Tags {
		s, err := historySeries(ctx, store, tag, from, to, req.Buckets)
		if err != nil {
			return HistoryReply{}, fmt.Errorf("history of %s: %w", tag, err)
		}
		s.Unit = units[tag]
		out.Series = append(out.Series, s)
	}
	return out, nil
}

func (e *Engine) validateHistory(req HistoryRequest) error {
	switch {
	case len(req.Tags) == 0:
		return errors.New("history: no tags")
	case len(req.Tags) > HistoryMaxTags:
		return fmt.Errorf("history: %d tags, at most %d", len(req.Tags), HistoryMaxTags)
	case req.From >= req.To:
		return fmt.Errorf("history: from (%d) must be before to (%d)", req.From, req.To)
	case req.Buckets < 1 || req.Buckets > HistoryMaxBuckets:
		return fmt.Errorf("history: buckets must be 1..%d, not %d", HistoryMaxBuckets, req.Buckets)
	}
	units := e.units()
	var unknown []string
	for _, t := range req.Tags {
		if _, ok := units[t]; !ok {
			unknown = append(unknown, strconv.Quote(t))
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("history: unknown tags (not in the site model): %s", strings.Join(unknown, ", "))
	}
	return nil
}

// units maps every signal of the model to its engineering unit.
func (e *Engine) units() map[string]string {
	m := e.Model()
	out := map[string]string{}
	for _, a := range m.Areas {
		for _, u := range a.Units {
			for _, s := range u.Signals {
				out[s.Tag] = s.Unit
			}
		}
	}
	return out
}

func historySeries(ctx context.Context, store *historian.Store, tag string, from, to time.Time, n int) (HistorySeries, error) {
	s := HistorySeries{Tag: tag, Buckets: []HistoryBucket{}}
	// A range shorter than n ns cannot be split into n buckets: use fewer.
	if span := to.Sub(from); int64(n) > int64(span) {
		n = int(span)
	}
	bks, err := store.Aggregate(ctx, tag, from, to, n)
	if errors.Is(err, historian.ErrUnknownTag) {
		return s, nil // in the model, never recorded (yet)
	}
	if err != nil {
		return s, err
	}
	total := 0
	for _, b := range bks {
		total += b.Count
	}
	if total < historyRawFactor*n {
		pts, err := store.Range(ctx, tag, from, to)
		if err != nil {
			return s, err
		}
		raw := make([]HistoryPoint, 0, len(pts)+1)
		if len(pts) == 0 || pts[0].T > from.UnixNano() {
			if p, err := store.ValueAt(ctx, tag, from); err == nil {
				raw = append(raw, HistoryPoint{T: from.UnixMilli(), V: JSONFloat(p.V), Q: p.S})
			}
		}
		for _, p := range pts {
			raw = append(raw, HistoryPoint{T: p.T / int64(time.Millisecond), V: JSONFloat(p.V), Q: p.S})
		}
		s.Raw = raw
		return s, nil
	}
	s.Buckets = make([]HistoryBucket, len(bks))
	for i, b := range bks {
		o := HistoryBucket{T: b.Start.UnixMilli(), Min: JSONFloat(b.Min), Max: JSONFloat(b.Max), Avg: JSONFloat(b.Avg),
			First: JSONFloat(math.NaN()), Last: JSONFloat(math.NaN()), Count: b.Count, Good: JSONFloat(b.PercentGood)}
		if b.Count > 0 {
			o.First, o.Last = JSONFloat(b.First.V), JSONFloat(b.Last.V)
		}
		s.Buckets[i] = o
	}
	return s, nil
}
