package historian

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func openTest(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "h.db")
	}
	s, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// genSeries makes n samples of a plant-like signal: ~1 s steps with jitter, occasional gaps,
// runs of Bad and Uncertain quality, a few NaN values, values quantised to 0.01.
func genSeries(r *rand.Rand, start time.Time, n int) []Point {
	pts := make([]Point, n)
	t := start.UnixNano()
	status := uint32(0)
	for i := range pts {
		t += int64(time.Second) + r.Int64N(int64(200*time.Millisecond)) - int64(100*time.Millisecond)
		if r.IntN(100) == 0 {
			t += int64(time.Duration(1+r.IntN(600)) * time.Second) // a gap
		}
		if r.IntN(50) == 0 {
			switch r.IntN(3) {
			case 0:
				status = 0
			case 1:
				status = 0x80310000 // BadCommunicationError-like
			default:
				status = 0x40000000 // Uncertain
			}
		}
		v := math.Round((50+20*math.Sin(float64(i)/300)+r.NormFloat64()*0.3)*100) / 100
		if r.IntN(500) == 0 {
			v = math.NaN()
		}
		pts[i] = Point{T: t, V: v, S: status}
	}
	return pts
}

func toSamples(tag string, pts []Point) []Sample {
	out := make([]Sample, len(pts))
	for i, p := range pts {
		out[i] = Sample{Tag: tag, Time: time.Unix(0, p.T), Value: p.V, Status: p.S}
	}
	return out
}

// appendAll appends, retrying while the buffer is full.
func appendAll(t testing.TB, s *Store, samples []Sample) {
	t.Helper()
	for len(samples) > 0 {
		n := min(len(samples), 500)
		err := s.Append(samples[:n])
		if err == ErrBufferFull {
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		samples = samples[n:]
	}
}

// refAggregate is the brute-force reference for Aggregate, straight from the definitions.
func refAggregate(pts []Point, from, to int64, n int) []Bucket {
	width := (to - from) / int64(n)
	out := make([]Bucket, n)
	for i := range out {
		bs := from + int64(i)*width
		be := bs + width
		if i == n-1 {
			be = to
		}
		var goodCount int
		var goodSum, tw float64
		var goodNs, totalNs int64
		o := &out[i]
		o.Start, o.End = time.Unix(0, bs), time.Unix(0, be)
		o.Min, o.Max = math.NaN(), math.NaN()
		for j, p := range pts {
			if p.T >= bs && p.T < be {
				if o.Count == 0 {
					o.First = p
				}
				o.Count++
				o.Last = p
				if IsGood(p.S) && !math.IsNaN(p.V) {
					goodCount++
					goodSum += p.V
					if math.IsNaN(o.Min) || p.V < o.Min {
						o.Min = p.V
					}
					if math.IsNaN(o.Max) || p.V > o.Max {
						o.Max = p.V
					}
				}
			}
			if j+1 < len(pts) {
				s, e := max(p.T, bs), min(pts[j+1].T, be)
				if s < e {
					totalNs += e - s
					if IsGood(p.S) && !math.IsNaN(p.V) {
						goodNs += e - s
						tw += p.V * float64(e-s)
					}
				}
			}
		}
		o.Avg, o.PercentGood = math.NaN(), math.NaN()
		if goodNs > 0 {
			o.Avg = tw / float64(goodNs)
		} else if goodCount > 0 {
			o.Avg = goodSum / float64(goodCount)
		}
		if totalNs > 0 {
			o.PercentGood = 100 * float64(goodNs) / float64(totalNs)
		} else if o.Count > 0 {
			o.PercentGood = 100 * float64(goodCount) / float64(o.Count)
		}
	}
	return out
}

func closeEnough(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func samePoint(a, b Point) bool {
	return a.T == b.T && a.S == b.S && (a.V == b.V || (math.IsNaN(a.V) && math.IsNaN(b.V)))
}

func compareBuckets(t *testing.T, label string, got, want []Bucket) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d buckets, want %d", label, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		ok := g.Start.Equal(w.Start) && g.End.Equal(w.End) && g.Count == w.Count &&
			closeEnough(g.Min, w.Min) && closeEnough(g.Max, w.Max) &&
			closeEnough(g.Avg, w.Avg) && closeEnough(g.PercentGood, w.PercentGood)
		if w.Count > 0 {
			ok = ok && samePoint(g.First, w.First) && samePoint(g.Last, w.Last)
		}
		if !ok {
			t.Fatalf("%s bucket %d:\n got %+v\nwant %+v", label, i, g, w)
		}
	}
}
