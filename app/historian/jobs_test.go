package historian

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var journalSteps = []string{
	`CREATE TABLE journal (id INTEGER PRIMARY KEY, t INTEGER NOT NULL, msg TEXT NOT NULL)`,
	`ALTER TABLE journal ADD COLUMN who TEXT NOT NULL DEFAULT ''`,
}

func countRows(t *testing.T, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.ReadDB().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigratePartsAndWrite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	s := openTest(t, path, Options{})
	if err := s.Migrate(ctx, "journal", journalSteps[:1]...); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec("INSERT INTO journal(t, msg) VALUES (1, 'start')")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Committed when Write returns: readers see it at once.
	if n := countRows(t, s, "SELECT count(*) FROM journal"); n != 1 {
		t.Fatalf("%d journal rows visible", n)
	}
	s.Close()

	s = openTest(t, path, Options{})
	defer s.Close()
	if err := s.Migrate(ctx, "journal", journalSteps...); err != nil { // 1 -> 2
		t.Fatal(err)
	}
	if err := s.Migrate(ctx, "journal", journalSteps...); err != nil { // already there
		t.Fatal(err)
	}
	if v, err := s.PartVersion(ctx, "journal"); v != 2 || err != nil {
		t.Fatalf("journal version %d, %v", v, err)
	}
	if err := s.Migrate(ctx, "journal", journalSteps[:1]...); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("older build migrating a newer part: %v", err)
	}
	if n := countRows(t, s, "SELECT count(*) FROM journal WHERE who = ''"); n != 1 {
		t.Fatalf("%d rows after the migration", n)
	}
	// A failing step rolls the whole migration back.
	if err := s.Migrate(ctx, "audit", "CREATE TABLE audit(x)", "NOT SQL"); err == nil {
		t.Fatal("bad step accepted")
	}
	if v, _ := s.PartVersion(ctx, "audit"); v != 0 || countRows(t, s, "SELECT count(*) FROM sqlite_schema WHERE name = 'audit'") != 0 {
		t.Fatal("a failed migration left traces")
	}
}

func TestWriteJobFailureRollsBackOnlyItself(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", Options{})
	defer s.Close()
	if err := s.Migrate(ctx, "journal", journalSteps...); err != nil {
		t.Fatal(err)
	}
	appendAll(t, s, toSamples("x", []Point{p(0, 1), p(1, 2)}))
	boom := errors.New("boom")
	err := s.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec("INSERT INTO journal(t, msg) VALUES (1, 'lost')"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write: %v", err)
	}
	if err := s.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec("INSERT INTO journal(t, msg) VALUES (2, 'kept')")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, "SELECT count(*) FROM journal"); n != 1 {
		t.Fatalf("%d journal rows, want only the second job's", n)
	}
	// The samples appended before the failing job were committed regardless.
	if n := countRows(t, s, "SELECT count(*) FROM open_chunks"); n == 0 {
		t.Fatal("samples before the jobs not committed")
	}
	if st := s.Stats(); st.LastError != "" {
		t.Fatalf("a job's failure became the writer's: %q", st.LastError)
	}
}

// TestWriteJobsInterleaveWithSamples: jobs from many goroutines and sample ingest share the
// writer without deadlock; each job sees, in its own transaction, the samples its goroutine
// appended before it.
func TestWriteJobsInterleaveWithSamples(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", Options{FlushInterval: 2 * time.Millisecond, BlockMaxSamples: 100000, BlockMaxSpan: 1000 * time.Hour})
	defer s.Close()
	if err := s.Migrate(ctx, "journal", journalSteps...); err != nil {
		t.Fatal(err)
	}
	const workers, jobs = 4, 100
	var wg sync.WaitGroup
	errc := make(chan error, workers+2)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tag := fmt.Sprint("w", w)
			for i := range jobs {
				if err := s.Append(toSamples(tag, []Point{p(i, float64(i))})); err != nil {
					errc <- err
					return
				}
				err := s.Write(ctx, func(tx *sql.Tx) error {
					// The tag's newest committed sample is the one appended just before.
					var data []byte
					if err := tx.QueryRow(`SELECT data FROM open_chunks WHERE tag_id =
						(SELECT id FROM tags WHERE name = ?) ORDER BY start_ns DESC LIMIT 1`, tag).Scan(&data); err != nil {
						return err
					}
					pts, err := DecodeBlock(nil, data)
					if err != nil {
						return err
					}
					if last := pts[len(pts)-1]; last.V != float64(i) {
						return fmt.Errorf("%s job %d: newest committed sample %g", tag, i, last.V)
					}
					_, err = tx.Exec("INSERT INTO journal(t, msg, who) VALUES (?, ?, ?)", i, "job", tag)
					return err
				})
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	// Meanwhile: bulk ingest, flushes and reads.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for k := 0; k < 5000; k += 100 {
			appendAll(t, s, minutes("bulk", k, 100))
			if err := s.Flush(ctx); err != nil {
				errc <- err
				return
			}
			if _, err := s.Range(ctx, "bulk", t0, t0.Add(10000*time.Minute)); err != nil {
				errc <- err
				return
			}
		}
	}()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("deadlock: jobs and ingest did not finish")
	}
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if n := countRows(t, s, "SELECT count(*) FROM journal"); n != workers*jobs {
		t.Fatalf("%d journal rows, want %d", n, workers*jobs)
	}
}

// TestWriteJobDuringDiskFull: while commits fail (the disk is full: simulated with
// max_page_count), a job returns the error at once instead of waiting; once space is back,
// jobs and samples go through again.
func TestWriteJobDuringDiskFull(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", Options{FlushInterval: 10 * time.Millisecond})
	defer s.Close()
	if err := s.Migrate(ctx, "journal", journalSteps...); err != nil {
		t.Fatal(err)
	}
	var pages int
	if err := s.wdb.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	// The writer's only connection: it is idle between commits, and database/sql serialises.
	if _, err := s.wdb.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
		t.Fatal(err)
	}
	for i := 0; s.Stats().LastError == ""; i++ {
		appendAll(t, s, minutes("x", i*1000, 1000))
		if i > 100 {
			t.Fatal("the writer never failed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	jctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	err := s.Write(jctx, func(tx *sql.Tx) error {
		_, err := tx.Exec("INSERT INTO journal(t, msg) VALUES (1, 'x')")
		return err
	})
	took := time.Since(start)
	t.Logf("job during disk full: %v after %v", err, took)
	if err == nil || jctx.Err() != nil || took > 5*time.Second {
		t.Fatalf("job during disk full: %v after %v", err, took)
	}
	if _, err := s.wdb.Exec("PRAGMA max_page_count = 1073741823"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.Flush(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the writer did not recover")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec("INSERT INTO journal(t, msg) VALUES (2, 'y')")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, "SELECT count(*) FROM journal"); n != 1 {
		t.Fatalf("%d journal rows, want 1", n)
	}
}

func TestWriteAfterClose(t *testing.T) {
	s := openTest(t, "", Options{})
	s.Close()
	if err := s.Write(context.Background(), func(*sql.Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
}
