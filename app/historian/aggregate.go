package historian

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Bucket is one interval of an aggregate query.
//
// Definitions: a sample is good when its status is Good and its value is a number. Each
// sample's value holds until the tag's next sample (step interpolation), including a sample
// before the bucket holding into it; the newest sample of a tag holds nothing.
type Bucket struct {
	Start, End time.Time
	Count      int     // samples in [Start, End), any quality
	Min, Max   float64 // of good samples in the bucket; NaN when none
	// Avg is the time-weighted average of the good values held during the bucket; when no
	// good value is held for any time, the plain mean of the good samples; else NaN.
	Avg float64
	// First and Last are the bucket's first and last samples (any quality); valid if Count > 0.
	First, Last Point
	// PercentGood is the share of the bucket's held time held by good values; when no time
	// is held, the share of good samples; NaN for an empty bucket.
	PercentGood float64
}

type bucketAcc struct {
	count, goodCount int
	min, max         float64
	goodSum, tw      float64
	goodNs, totalNs  int64
	first, last      Point
}

type aggregator struct {
	from, to, width int64
	b               []bucketAcc
	prev            Point
	hasPrev, done   bool
	cur             int   // bucket of the last lookup: consecutive samples mostly share one
	curS, curE      int64 // its bounds
}

func newAggregator(from, to int64, n int) *aggregator {
	a := &aggregator{from: from, to: to, width: (to - from) / int64(n), b: make([]bucketAcc, n), curS: 1, curE: 0}
	for i := range a.b {
		a.b[i].min, a.b[i].max = nan, nan
	}
	return a
}

func (a *aggregator) bucket(t int64) int {
	if t >= a.curS && t < a.curE {
		return a.cur
	}
	i := int((t - a.from) / a.width)
	if i >= len(a.b) {
		i = len(a.b) - 1
	}
	a.cur, a.curS, a.curE = i, a.from+int64(i)*a.width, a.bucketEnd(i)
	return i
}

func (a *aggregator) bucketEnd(i int) int64 {
	if i == len(a.b)-1 {
		return a.to
	}
	return a.from + int64(i+1)*a.width
}

// hold accounts p's value held from p.T until the time until.
func (a *aggregator) hold(p Point, until int64) {
	s, e := max(p.T, a.from), min(until, a.to)
	if s >= e {
		return
	}
	good := usable(p.V, p.S)
	for i := a.bucket(s); s < e; i++ {
		end := min(a.bucketEnd(i), e)
		d := end - s
		bk := &a.b[i]
		bk.totalNs += d
		if good {
			bk.goodNs += d
			bk.tw += p.V * float64(d)
		}
		s = end
	}
}

func (a *aggregator) point(p Point) {
	if a.hasPrev {
		a.hold(a.prev, p.T)
	}
	if p.T >= a.to {
		a.done = true
		return
	}
	a.prev, a.hasPrev = p, true
	if p.T < a.from {
		return
	}
	a.b[a.bucket(p.T)].add(p)
}

// add counts p in the bucket: first, last, count, and the good samples' sum and extremes.
// (Comparisons are written negated so that a NaN min or max is replaced.)
func (bk *bucketAcc) add(p Point) {
	if bk.count == 0 {
		bk.first = p
	}
	bk.count++
	bk.last = p
	if usable(p.V, p.S) {
		bk.goodCount++
		bk.goodSum += p.V
		if !(p.V >= bk.min) {
			bk.min = p.V
		}
		if !(p.V <= bk.max) {
			bk.max = p.V
		}
	}
}

// points feeds decoded samples in order. A run of samples that stays inside the current
// bucket is accumulated in locals and written back once (the week trend spends most of its
// time here); anything else goes through point.
func (a *aggregator) points(pts []Point) {
	for i := 0; i < len(pts) && !a.done; {
		p := pts[i]
		if !a.hasPrev || a.prev.T < a.curS || p.T >= a.curE || p.T < a.from {
			a.point(p)
			i++
			continue
		}
		// prev and the run lie in the current bucket, inside [from, to): times increase.
		bk := &a.b[a.cur]
		prevT, prevV, prevGood := a.prev.T, a.prev.V, usable(a.prev.V, a.prev.S)
		count, goodCount := 0, 0
		lo, hi, sum, tw := bk.min, bk.max, 0.0, 0.0
		var totalNs, goodNs int64
		j := i
		for ; j < len(pts) && pts[j].T < a.curE; j++ {
			q := &pts[j]
			d := q.T - prevT
			totalNs += d
			if prevGood {
				goodNs += d
				tw += prevV * float64(d)
			}
			count++
			good := usable(q.V, q.S)
			if good {
				goodCount++
				sum += q.V
				// Negated comparisons, so that a NaN min or max (none yet) is replaced.
				if !(q.V >= lo) {
					lo = q.V
				}
				if !(q.V <= hi) {
					hi = q.V
				}
			}
			prevT, prevV, prevGood = q.T, q.V, good
		}
		if bk.count == 0 {
			bk.first = p
		}
		bk.count += count
		bk.goodCount += goodCount
		bk.min, bk.max = lo, hi
		bk.goodSum += sum
		bk.tw += tw
		bk.totalNs += totalNs
		bk.goodNs += goodNs
		bk.last = pts[j-1]
		a.prev = pts[j-1]
		i = j
	}
}

// block merges a block lying wholly inside one bucket from its summary.
func (a *aggregator) block(m *blockMeta) {
	if a.hasPrev {
		a.hold(a.prev, m.start)
	}
	bk := &a.b[a.bucket(m.start)]
	if bk.count == 0 {
		bk.first = m.first
	}
	bk.count += m.count
	bk.last = m.last
	if m.goodCount > 0 {
		bk.goodCount += m.goodCount
		bk.goodSum += m.goodSum
		if !(m.min >= bk.min) {
			bk.min = m.min
		}
		if !(m.max <= bk.max) {
			bk.max = m.max
		}
	}
	bk.tw += m.tw
	bk.goodNs += m.goodNs
	bk.totalNs += m.end - m.start
	a.prev, a.hasPrev = m.last, true
}

func (a *aggregator) result() []Bucket {
	out := make([]Bucket, len(a.b))
	for i := range a.b {
		bk := &a.b[i]
		o := &out[i]
		o.Start = time.Unix(0, a.from+int64(i)*a.width)
		o.End = time.Unix(0, a.bucketEnd(i))
		o.Count, o.Min, o.Max, o.First, o.Last = bk.count, bk.min, bk.max, bk.first, bk.last
		switch {
		case bk.goodNs > 0:
			o.Avg = bk.tw / float64(bk.goodNs)
		case bk.goodCount > 0:
			o.Avg = bk.goodSum / float64(bk.goodCount)
		default:
			o.Avg = nan
		}
		switch {
		case bk.totalNs > 0:
			o.PercentGood = 100 * float64(bk.goodNs) / float64(bk.totalNs)
		case bk.count > 0:
			o.PercentGood = 100 * float64(bk.goodCount) / float64(bk.count)
		default:
			o.PercentGood = nan
		}
	}
	return out
}

// Aggregate splits [from, to) into n equal buckets (the last takes the remainder) and returns
// each bucket's statistics. Blocks lying wholly inside one bucket are merged from their stored
// summaries without reading their data; only blocks across bucket edges are decoded.
func (s *Store) Aggregate(ctx context.Context, tag string, from, to time.Time, n int) ([]Bucket, error) {
	return aggregate(ctx, s.readTag, tag, from, to, n)
}

func aggregate(ctx context.Context, read tagReader, tag string, from, to time.Time, n int) ([]Bucket, error) {
	f, t := from.UnixNano(), to.UnixNano()
	if n <= 0 || t-f < int64(n) {
		return nil, fmt.Errorf("historian: aggregate needs to - from >= n > 0 ns (n = %d)", n)
	}
	a := newAggregator(f, t, n)
	buf := getPoints()
	defer putPoints(buf)
	err := read(ctx, tag, span{from: f, to: t, width: (t - f) / int64(n), n: n}, func(m *blockMeta, data []byte) error {
		if a.done {
			return errStop
		}
		switch {
		case m.end < f: // only its last sample matters: it holds into the range
			a.point(m.last)
		case m.start >= t: // only its first sample matters: it ends the last hold
			a.point(m.first)
		case m.start >= f && m.end < t && a.bucket(m.start) == a.bucket(m.end):
			a.block(m)
		default:
			var err error
			if *buf, err = DecodeBlock((*buf)[:0], data); err != nil {
				return fmt.Errorf("historian: %s block at %d: %w", tag, m.start, err)
			}
			a.points(*buf)
		}
		return nil
	}, func(open []Point) error {
		for _, p := range open {
			if a.done {
				break
			}
			a.point(p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return a.result(), nil
}
