package historian

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// TestQueriesMatchReference checks Range, Aggregate and ValueAt against brute force, with data
// partly in committed blocks, partly in uncommitted memory.
func TestQueriesMatchReference(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 8))
	s := openTest(t, "", Options{BlockMaxSamples: 64, BlockMaxSpan: 45 * time.Second})
	defer s.Close()
	tags := map[string][]Point{"A.x": genSeries(r, t0, 3000), "B.y": genSeries(r, t0, 1500)}
	for name, pts := range tags {
		appendAll(t, s, toSamples(name, pts[:len(pts)-200]))
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for name, pts := range tags { // the tail stays in memory (unsealed, uncommitted until Close)
		appendAll(t, s, toSamples(name, pts[len(pts)-200:]))
	}
	for name, pts := range tags {
		waitVisible(t, s, name, pts[len(pts)-1])
		first, last := pts[0].T, pts[len(pts)-1].T
		for iter := 0; iter < 25; iter++ {
			from := first - int64(time.Minute) + r.Int64N(last-first+int64(2*time.Minute))
			to := from + 1 + r.Int64N(last-from+int64(time.Hour))
			if iter == 0 {
				from, to = first-int64(time.Hour), last+int64(time.Hour)
			}
			n := 1 + r.IntN(60)
			if to-from < int64(n) {
				continue
			}
			got, err := s.Aggregate(ctx, name, time.Unix(0, from), time.Unix(0, to), n)
			if err != nil {
				t.Fatal(err)
			}
			compareBuckets(t, name, got, refAggregate(pts, from, to, n))

			raw, err := s.Range(ctx, name, time.Unix(0, from), time.Unix(0, to))
			if err != nil {
				t.Fatal(err)
			}
			want := clip(pts, from, to)
			if len(raw) != len(want) {
				t.Fatalf("Range: %d points, want %d", len(raw), len(want))
			}
			for i := range want {
				if !samePoint(raw[i], want[i]) {
					t.Fatalf("Range point %d: %+v, want %+v", i, raw[i], want[i])
				}
			}

			at := from
			got1, err := s.ValueAt(ctx, name, time.Unix(0, at))
			checkValueAt(t, pts, at, got1, err)
			at = pts[r.IntN(len(pts))].T // exactly on a sample
			got1, err = s.ValueAt(ctx, name, time.Unix(0, at))
			checkValueAt(t, pts, at, got1, err)
		}
	}
	// The whole-series aggregate, used in the trend: blocks inside buckets were summarised.
	lat := s.Latest([]string{"A.x", "nope"})
	if !lat[0].OK || !samePoint(lat[0].Point, tags["A.x"][len(tags["A.x"])-1]) || lat[1].OK {
		t.Fatalf("Latest = %+v", lat)
	}
}

func checkValueAt(t *testing.T, pts []Point, at int64, got Point, err error) {
	t.Helper()
	i := sort.Search(len(pts), func(i int) bool { return pts[i].T > at }) // first after at
	if i == 0 {
		if err == nil {
			t.Fatalf("ValueAt before the first sample: %+v, want ErrNoData", got)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	prev := pts[i-1]
	want := Point{T: at, V: prev.V, S: prev.S}
	if prev.T != at && i < len(pts) && usable(prev.V, prev.S) && usable(pts[i].V, pts[i].S) {
		next := pts[i]
		want.V = prev.V + (next.V-prev.V)*float64(at-prev.T)/float64(next.T-prev.T)
		want.S = 0
	}
	if got.T != want.T || got.S != want.S || !closeEnough(got.V, want.V) {
		t.Fatalf("ValueAt(%d) = %+v, want %+v", at, got, want)
	}
}

func waitVisible(t *testing.T, s *Store, tag string, p Point) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l := s.Latest([]string{tag})[0]
		if l.OK && l.Point.T == p.T {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: sample at %d not visible; latest %+v", tag, p.T, l)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestNewestVisibleBeforeCommit: samples are queryable as soon as the writer takes them,
// before any commit.
func TestNewestVisibleBeforeCommit(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", Options{FlushInterval: time.Hour, BlockMaxSamples: 10})
	defer s.Close()
	var pts []Point
	for i := 0; i < 25; i++ { // two sealed-but-uncommitted blocks and five open samples
		pts = append(pts, Point{T: t0.Add(time.Duration(i) * time.Second).UnixNano(), V: float64(i)})
	}
	appendAll(t, s, toSamples("T", pts))
	waitVisible(t, s, "T", pts[len(pts)-1])
	if c := s.Stats().Commits; c != 0 {
		t.Fatalf("%d commits, want none yet", c)
	}
	raw, err := s.Range(ctx, "T", t0, t0.Add(time.Hour))
	if err != nil || len(raw) != 25 {
		t.Fatalf("Range: %d points, %v", len(raw), err)
	}
	b, err := s.Aggregate(ctx, "T", t0, t0.Add(25*time.Second), 5)
	if err != nil {
		t.Fatal(err)
	}
	compareBuckets(t, "mem", b, refAggregate(pts, t0.UnixNano(), t0.Add(25*time.Second).UnixNano(), 5))
	v, err := s.ValueAt(ctx, "T", t0.Add(2500*time.Millisecond))
	if err != nil || math.Abs(v.V-2.5) > 1e-12 {
		t.Fatalf("ValueAt = %+v, %v", v, err)
	}
}
