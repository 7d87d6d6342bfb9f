package historian

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestReaderMatchesStore: the read-only Reader answers like a Store on the same file, sealed
// blocks and open chunks alike, and never creates a file.
func TestReaderMatchesStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	s := openTest(t, path, Options{BlockMaxSamples: 100})
	pts := genSeries(rand.New(rand.NewPCG(3, 4)), t0, 2550) // the last 50 stay in open_chunks
	appendAll(t, s, toSamples("A", pts))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path, Options{})
	defer s.Close()
	r, err := OpenReader(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	from, to := time.Unix(0, pts[0].T-int64(time.Minute)), time.Unix(0, pts[len(pts)-1].T+1)
	got, err := r.Range(ctx, "A", from, to)
	if err != nil || len(got) != len(pts) {
		t.Fatalf("Range: %d points, %v; want %d", len(got), err, len(pts))
	}
	for i := range pts {
		if !samePoint(got[i], pts[i]) {
			t.Fatalf("point %d: %+v, want %+v", i, got[i], pts[i])
		}
	}
	for _, n := range []int{1, 7, 100, 1000} {
		want, err1 := s.Aggregate(ctx, "A", from, to, n)
		bk, err2 := r.Aggregate(ctx, "A", from, to, n)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		compareBuckets(t, "reader", bk, want)
	}
	for _, i := range []int{0, 1234, len(pts) - 1} {
		at := time.Unix(0, pts[i].T+1)
		want, _ := s.ValueAt(ctx, "A", at)
		if got, err := r.ValueAt(ctx, "A", at); err != nil || !samePoint(got, want) {
			t.Fatalf("ValueAt: %+v %v, want %+v", got, err, want)
		}
	}
	f, l, ok, err := r.Span(ctx, "A")
	if err != nil || !ok || f.UnixNano() != pts[0].T || l.UnixNano() != pts[len(pts)-1].T {
		t.Fatalf("Span: %v %v %v %v", f, l, ok, err)
	}
	if _, err := r.Range(ctx, "nope", from, to); !errors.Is(err, ErrUnknownTag) {
		t.Fatalf("unknown tag: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "missing.db")
	if _, err := OpenReader(ctx, missing); err == nil {
		t.Fatal("OpenReader created a missing file")
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

// TestReaderWhileWriting: a Reader on a file a Store is writing sees whole commits: every
// answer is a gap-free prefix of what was appended, and it grows.
func TestReaderWhileWriting(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	s := openTest(t, path, Options{BlockMaxSamples: 100, FlushInterval: 20 * time.Millisecond})
	defer s.Close()
	appendAll(t, s, []Sample{{Tag: "A", Time: t0, Value: 0}})
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReader(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// The writer appends 3,000 samples, paced so that the queries overlap it.
	const total = 3000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i < total; i++ {
			appendAll(t, s, []Sample{{Tag: "A", Time: t0.Add(time.Duration(i) * time.Second), Value: float64(i)}})
			if i%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	last, queries := 0, 0
	for finished := false; !finished; queries++ {
		select {
		case <-done:
			finished = true
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		default:
		}
		pts, err := r.Range(ctx, "A", t0, t0.Add(1000*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range pts {
			if p.V != float64(i) {
				t.Fatalf("query %d: point %d holds %v: not a gap-free prefix", queries, i, p.V)
			}
		}
		if len(pts) < last {
			t.Fatalf("query %d: %d points after %d", queries, len(pts), last)
		}
		last = len(pts)
	}
	if last != total {
		t.Fatalf("after the final flush the reader sees %d points, want %d", last, total)
	}
	t.Logf("%d queries while the store wrote", queries)
}

// TestReaderReadOnlyFS: a Reader opens a file on a read-only file system.
func TestReaderReadOnlyFS(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mountOrSkip(t, dir, "-t", "tmpfs", "-o", "size=8m", "tmpfs")
	path := filepath.Join(dir, "h.db")
	s := openTest(t, path, Options{BlockMaxSamples: 100})
	pts := genSeries(rand.New(rand.NewPCG(5, 6)), t0, 1050)
	appendAll(t, s, toSamples("A", pts))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := run("mount", "-o", "remount,ro", dir); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReader(ctx, path)
	if err != nil {
		t.Fatalf("OpenReader on a read-only file system: %v", err)
	}
	defer r.Close()
	got, err := r.Range(ctx, "A", t0, time.Unix(0, pts[len(pts)-1].T+1))
	if err != nil || len(got) != len(pts) {
		t.Fatalf("Range on a read-only file system: %d points, %v; want %d", len(got), err, len(pts))
	}
	if _, err := FileStats(ctx, path); err != nil {
		t.Fatalf("FileStats on a read-only file system: %v", err)
	}
}
