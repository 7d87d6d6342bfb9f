package historian

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func minutes(tag string, from, n int) []Sample {
	out := make([]Sample, n)
	for i := range out {
		out[i] = Sample{Tag: tag, Time: t0.Add(time.Duration(from+i) * time.Minute), Value: float64(from + i)}
	}
	return out
}

func firstValue(t *testing.T, s *Store, tag string) (float64, int) {
	t.Helper()
	pts, err := s.Range(context.Background(), tag, t0.Add(-time.Hour), t0.Add(1000*time.Hour))
	if err != nil || len(pts) == 0 {
		t.Fatalf("%s: %d points, %v", tag, len(pts), err)
	}
	return pts[0].V, len(pts)
}

// TestRetainForDropsOldBlocks: exactly the blocks whose last sample is older than
// now - RetainFor go (a block ending at the cutoff stays), except a tag's newest block.
func TestRetainForDropsOldBlocks(t *testing.T) {
	ctx := context.Background()
	now := t0.Add(649 * time.Minute) // cutoff t0 + 549 min: the block of minutes 540..549 ends on it
	opts := Options{BlockMaxSamples: 10, BlockMaxSpan: 24 * time.Hour, RetainFor: 100 * time.Minute, now: func() time.Time { return now }}
	s := openTest(t, "", opts)
	defer s.Close()
	appendAll(t, s, minutes("a", 0, 600)) // blocks 0..9, ..., 580..589 sealed; 590..599 open
	appendAll(t, s, minutes("b", 0, 25))  // stopped long ago: blocks 0..9, 10..19; 20..24 open
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	if v, n := firstValue(t, s, "a"); v != 540 || n != 60 {
		t.Fatalf("a starts at minute %g with %d samples, want 540 and 60", v, n)
	}
	if v, n := firstValue(t, s, "b"); v != 10 || n != 15 {
		t.Fatalf("b starts at minute %g with %d samples, want 10 (its newest block) and 15", v, n)
	}
	st := s.Stats()
	if st.PrunedBlocks != 55 || st.PrunedSamples != 550 || st.LastPrune.IsZero() {
		t.Fatalf("stats %+v", st)
	}
	if p, err := s.ValueAt(ctx, "b", t0.Add(time.Hour)); err != nil || p.V != 24 {
		t.Fatalf("ValueAt after prune: %+v %v", p, err)
	}
}

func usedBytesRead(t testing.TB, s *Store) int64 {
	tx, err := s.rdb.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	n, err := usedBytes(tx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRetainBytesWhileIngesting: with periodic retention the data stays near the limit while
// ingest continues, and under it after a final Prune; the newest data is there.
func TestRetainBytesWhileIngesting(t *testing.T) {
	ctx := context.Background()
	const limit = 512 << 10
	path := filepath.Join(t.TempDir(), "h.db")
	s := openTest(t, path, Options{BlockMaxSamples: 256, RetainBytes: limit, RetentionInterval: 10 * time.Millisecond})
	defer s.Close()
	r := rand.New(rand.NewPCG(5, 5))
	const tags, per, round = 20, 10000, 100 // 200,000 samples, ~1 MB of pages: twice the limit
	series := make([][]Point, tags)
	for i := range series {
		series[i] = genSeries(r, t0, per)
	}
	var peak int64
	for k := 0; k < per; k += round {
		for i := range series {
			appendAll(t, s, toSamples(fmt.Sprint("T", i), series[i][k:k+round]))
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		peak = max(peak, usedBytesRead(t, s))
		time.Sleep(15 * time.Millisecond) // a steady rate: retention runs between rounds
	}
	if err := s.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	end := usedBytesRead(t, s)
	fi, _ := os.Stat(path)
	st := s.Stats()
	t.Logf("limit %d: peak %d while ingesting, %d after Prune; file %d B; pruned %d blocks, %d samples; longest batch %v",
		limit, peak, end, fi.Size(), st.PrunedBlocks, st.PrunedSamples, st.PruneBatchMax)
	if end > limit || peak > limit*3/2 || st.PrunedBlocks == 0 {
		t.Fatalf("data %d B after Prune, peak %d B, limit %d B", end, peak, limit)
	}
	for i := range series {
		pts, err := s.Range(ctx, fmt.Sprint("T", i), t0, t0.Add(1000*time.Hour))
		last := series[i][per-1]
		if err != nil || len(pts) == 0 || !samePoint(pts[len(pts)-1], last) {
			t.Fatalf("T%d: newest sample missing (%d points, %v)", i, len(pts), err)
		}
	}
}

// TestRetainNewestNeverPruned: a limit no data can meet leaves each tag its newest block and
// its unsealed samples.
func TestRetainNewestNeverPruned(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", Options{BlockMaxSamples: 10, BlockMaxSpan: 24 * time.Hour, RetainBytes: 1})
	defer s.Close()
	for _, tag := range []string{"x", "y", "z"} {
		appendAll(t, s, minutes(tag, 0, 95)) // 9 sealed blocks, 5 open samples
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"x", "y", "z"} {
		if v, n := firstValue(t, s, tag); v != 80 || n != 15 {
			t.Fatalf("%s starts at %g with %d samples, want 80 and 15", tag, v, n)
		}
	}
	if st := s.Stats(); st.PrunedBlocks != 24 {
		t.Fatalf("pruned %d blocks, want 24", st.PrunedBlocks)
	}
}

// BenchmarkPruneStall builds a file of 200,000 blocks and prunes nine tenths of it by age
// while a client keeps writing: it reports the longest retention transaction and the longest
// round trip of a write job (how long the writer kept others waiting).
//
//	go test -run XXX -bench PruneStall -benchtime 1x ./app/historian/
func BenchmarkPruneStall(b *testing.B) {
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		var now atomic.Int64 // nothing is old until the prune below
		now.Store(t0.UnixNano())
		s := openTest(b, "", Options{BlockMaxSamples: 10, BlockMaxSpan: 24 * time.Hour, RetainFor: 1000 * time.Minute,
			now: func() time.Time { return time.Unix(0, now.Load()) }})
		const tags, minutesPerTag = 200, 10000 // 1,000 blocks per tag
		for m := 0; m < minutesPerTag; m += 500 {
			for i := range tags {
				appendAll(b, s, minutes(fmt.Sprint("P", i), m, 500))
			}
		}
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		now.Store(t0.Add(10000 * time.Minute).UnixNano())
		done, stop := make(chan struct{}), make(chan struct{})
		var lat []time.Duration
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				t := time.Now()
				appendAll(b, s, minutes("client", i, 1))
				if err := s.Write(ctx, func(*sql.Tx) error { return nil }); err != nil {
					b.Error(err)
					return
				}
				lat = append(lat, time.Since(t))
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
		b.StartTimer()
		start := time.Now()
		if err := s.Prune(ctx); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		b.StopTimer()
		close(stop)
		<-done
		st := s.Stats()
		b.ReportMetric(float64(st.PrunedBlocks), "blocks")
		b.ReportMetric(float64(took.Milliseconds()), "prune-ms")
		b.ReportMetric(float64(st.PruneBatchMax.Microseconds())/1000, "worst-batch-ms")
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-job-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "worst-job-ms")
		s.Close()
	}
}
