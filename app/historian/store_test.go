package historian

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	r := rand.New(rand.NewPCG(1, 1))
	opts := Options{BlockMaxSamples: 100}
	s := openTest(t, path, opts)
	tags := map[string][]Point{}
	for i := 0; i < 5; i++ {
		name := fmt.Sprintf("U%d.v", i)
		tags[name] = genSeries(r, t0, 250+37*i) // sealed blocks plus an open remainder
		appendAll(t, s, toSamples(name, tags[name]))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(toSamples("x", tags["U0.v"][:1])); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	check := func(s *Store) {
		t.Helper()
		for name, pts := range tags {
			got, err := s.Range(ctx, name, time.Unix(0, pts[0].T), time.Unix(0, pts[len(pts)-1].T+1))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(pts) {
				t.Fatalf("%s: %d points after reopen, want %d", name, len(got), len(pts))
			}
			for i := range pts {
				if !samePoint(got[i], pts[i]) {
					t.Fatalf("%s point %d: %+v, want %+v", name, i, got[i], pts[i])
				}
			}
			l := s.Latest([]string{name})[0]
			if !l.OK || !samePoint(l.Point, pts[len(pts)-1]) {
				t.Fatalf("%s latest %+v", name, l)
			}
		}
	}
	s = openTest(t, path, opts)
	check(s)
	// Continue after reopen: the open block resumes from its chunks; late samples are dropped.
	for name, pts := range tags {
		more := genSeries(r, time.Unix(0, pts[len(pts)-1].T), 120)
		appendAll(t, s, toSamples(name, append([]Point{pts[0]}, more...)))
		tags[name] = append(pts, more...)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.OutOfOrder != 5 || st.Tags != 5 {
		t.Fatalf("stats %+v", st)
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path, opts)
	defer s.Close()
	check(s)
	var ic string
	if err := s.rdb.QueryRow("PRAGMA integrity_check").Scan(&ic); err != nil || ic != "ok" {
		t.Fatalf("integrity_check: %q %v", ic, err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "future.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE future(x); PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadFile(path)
	st0, _ := os.Stat(path)
	_, err = Open(context.Background(), path, Options{})
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open: %v, want ErrNewerSchema", err)
	}
	t.Log(err)
	after, _ := os.ReadFile(path)
	st1, _ := os.Stat(path)
	if !bytes.Equal(before, after) || !st0.ModTime().Equal(st1.ModTime()) {
		t.Fatal("the newer database was altered")
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if _, err := os.Stat(path + suffix); err == nil {
			t.Fatalf("%s created", suffix)
		}
	}
}

// Two opens of a new file at once (an admin's `minebrain users add` as Minebrain starts)
// both succeed: the second waits for the first to create the schema instead of failing busy.
func TestConcurrentOpensOfANewFile(t *testing.T) {
	for i := range 5 {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("new%d.db", i))
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				st, err := Open(context.Background(), path, Options{})
				if err == nil {
					err = st.Close()
				}
				errs <- err
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
		}
	}
}

func TestSchemaVersionRecorded(t *testing.T) {
	s := openTest(t, "", Options{})
	defer s.Close()
	var uv, rows int
	var mode string
	s.rdb.QueryRow("PRAGMA user_version").Scan(&uv)
	s.rdb.QueryRow("SELECT count(*) FROM schema_version WHERE version = ?", SchemaVersion).Scan(&rows)
	s.rdb.QueryRow("PRAGMA journal_mode").Scan(&mode)
	if uv != SchemaVersion || rows != 1 || mode != "wal" {
		t.Fatalf("user_version %d, schema_version rows %d, journal_mode %q", uv, rows, mode)
	}
	if _, err := s.rdb.Exec("DELETE FROM tags"); err == nil {
		t.Fatal("the read pool could write")
	}
}

// TestConcurrentReadersWhileWriting: readers always see a gap-free, duplicate-free prefix of
// what was appended, while the writer seals and commits underneath them.
func TestConcurrentReadersWhileWriting(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", Options{BlockMaxSamples: 50, FlushInterval: 5 * time.Millisecond, CommitBlocks: 3})
	defer s.Close()
	const n = 6000
	tags := []string{"a", "b", "c"}
	var stop atomic.Bool
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for !stop.Load() {
				tag := tags[w]
				pts, err := s.Range(ctx, tag, t0, t0.Add(n*time.Second))
				if errors.Is(err, ErrUnknownTag) {
					continue
				}
				if err != nil {
					errc <- err
					return
				}
				for i, p := range pts {
					if p.T != t0.Add(time.Duration(i)*time.Second).UnixNano() || p.V != float64(i) {
						errc <- fmt.Errorf("%s: reader saw point %d = %+v", tag, i, p)
						return
					}
				}
				if _, err := s.Aggregate(ctx, tag, t0, t0.Add(n*time.Second), 17); err != nil {
					errc <- err
					return
				}
				s.Latest(tags)
			}
		}(w)
	}
	for i := 0; i < n; i += 20 {
		var batch []Sample
		for j := i; j < i+20; j++ {
			for _, tag := range tags {
				batch = append(batch, Sample{Tag: tag, Time: t0.Add(time.Duration(j) * time.Second), Value: float64(j)})
			}
		}
		appendAll(t, s, batch)
		if i%600 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	for _, tag := range tags {
		pts, _ := s.Range(ctx, tag, t0, t0.Add(n*time.Second))
		if len(pts) != n {
			t.Fatalf("%s: %d points, want %d", tag, len(pts), n)
		}
	}
}

// TestBufferBounded: while the writer cannot commit (another process holds the write lock),
// Append refuses batches instead of growing memory; afterwards everything accepted is stored
// and nothing refused is.
func TestBufferBounded(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	s := openTest(t, path, Options{MaxBuffered: 1000, FlushInterval: 10 * time.Millisecond})
	defer s.Close()
	if err := s.Append(make([]Sample, 1001)); !errors.Is(err, ErrBufferFull) {
		t.Fatalf("oversized batch: %v", err)
	}
	// Another connection takes the write lock: the writer's next commit waits (busy_timeout).
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	accepted, refused := 0, 0
	for i := 0; refused == 0 && i < 100000; i++ {
		batch := make([]Sample, 10)
		for j := range batch {
			batch[j] = Sample{Tag: "t", Time: t0.Add(time.Duration(i*10+j) * time.Millisecond), Value: float64(i*10 + j)}
		}
		switch err := s.Append(batch); {
		case err == nil:
			accepted += 10
		case errors.Is(err, ErrBufferFull):
			refused += 10
		default:
			t.Fatal(err)
		}
		if i%100 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if refused == 0 {
		t.Fatal("Append never pushed back while the writer was blocked")
	}
	s.mu.Lock()
	buffered := len(s.buf)
	s.mu.Unlock()
	if buffered > 1000 {
		t.Fatalf("buffer holds %d samples, bound is 1000", buffered)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		err := s.Flush(fctx)
		if err == nil {
			break
		}
		if fctx.Err() != nil {
			t.Fatalf("writer did not recover: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	pts, err := s.Range(ctx, "t", t0, t0.Add(time.Hour))
	if err != nil || len(pts) != accepted {
		t.Fatalf("%d points stored, %d accepted (%v)", len(pts), accepted, err)
	}
	if st := s.Stats(); st.BufferFull != int64(refused)+1001 || st.LastError != "" {
		t.Fatalf("stats %+v, refused %d", st, refused)
	}
}

func TestUnits(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	s := openTest(t, path, Options{})
	s.SetUnit("P.kw", "kW")
	appendAll(t, s, []Sample{{Tag: "P.kw", Time: t0, Value: 1}, {Tag: "P.a", Time: t0, Value: 2}})
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	s.SetUnit("P.a", "A") // an existing, committed tag
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path, Options{})
	defer s.Close()
	got := map[string]string{}
	for _, ti := range s.Tags() {
		got[ti.Name] = ti.Unit
	}
	if len(got) != 2 || got["P.kw"] != "kW" || got["P.a"] != "A" {
		t.Fatalf("tags after reopen: %v", got)
	}
}
