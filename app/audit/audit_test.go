package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"minebrain/app/historian"
)

var t0 = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

func open(t *testing.T, path string) (*historian.Store, *Log) {
	t.Helper()
	s, err := historian.Open(context.Background(), path, historian.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(context.Background(), s)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	return s, l
}

func entry(i int) Entry {
	return Entry{Time: t0.Add(time.Duration(i) * time.Minute), Who: "ana", Face: FaceDesktop,
		Action: "setpoint", Target: fmt.Sprintf("Pit.CV%02d.SpeedSP", i), Old: "1.5", New: "2.0",
		Reason: "ore feed", Result: "done"}
}

// chain writes n entries to a new file and returns its path, closed.
func chain(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "history.db")
	s, l := open(t, path)
	for i := 1; i <= n; i++ {
		if _, err := l.Append(context.Background(), entry(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// tamper runs SQL on the closed file, as someone with the file and sqlite3 would.
func tamper(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func verify(t *testing.T, path string) Report {
	t.Helper()
	s, l := open(t, path)
	defer s.Close()
	r, err := l.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// forged is the INSERT of row seq, chained after prev, that someone who knows the algorithm
// would write; with a non-empty hash, that hash instead of the right one.
func forged(prev string, seq int, hash string) string {
	e := entry(seq)
	e.Who, e.Prev = "mallory", prev
	if hash == "" {
		hash = e.computeHash()
	}
	return fmt.Sprintf(`INSERT INTO audit VALUES (%d, %d, 'mallory', 'desktop', 'setpoint', '%s', '1.5', '2.0', 'ore feed', 'done', '%s', '%s')`,
		seq, e.Time.UnixNano(), e.Target, prev, hash)
}

func TestChainVerifies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s, l := open(t, path)
	ctx := context.Background()
	r, err := l.Verify(ctx)
	if err != nil || !r.OK() || r.Entries != 0 {
		t.Fatalf("empty log: %+v, %v", r, err)
	}
	var last Entry
	for i := 1; i <= 5; i++ {
		e, err := l.Append(ctx, entry(i))
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq != int64(i) || (i > 1 && e.Prev != last.Hash) || (i == 1 && e.Prev != genesis) || len(e.Hash) != 64 {
			t.Fatalf("entry %d: %+v", i, e)
		}
		last = e
	}
	// A zero time is stamped by the log.
	l.now = func() time.Time { return t0.Add(time.Hour) }
	e, err := l.Append(ctx, Entry{Who: "cli", Face: FaceCLI, Action: "user.add", Target: "user bo", Result: "done"})
	if err != nil || !e.Time.Equal(t0.Add(time.Hour)) {
		t.Fatalf("stamped entry: %+v, %v", e, err)
	}
	for _, bad := range []Entry{{Face: FaceWeb, Action: "x"}, {Who: "a", Face: FaceWeb}, {Who: "a", Face: "phone", Action: "x"}} {
		if _, err := l.Append(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Append(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
	list, err := l.List(ctx, t0.Add(3*time.Minute), 0)
	if err != nil || len(list) != 4 || list[0].Seq != 3 || list[0].Target != "Pit.CV03.SpeedSP" {
		t.Fatalf("List(since) = %+v, %v", list, err)
	}
	list, err = l.List(ctx, time.Time{}, 2)
	if err != nil || len(list) != 2 || list[0].Seq != 5 || list[1].Seq != 6 {
		t.Fatalf("List(limit 2) = %+v, %v", list, err)
	}
	s.Close()
	r = verify(t, path)
	if !r.OK() || r.Entries != 6 || r.LastSeq != 6 || r.HeadSeq != 6 || r.LastHash != r.HeadHash {
		t.Fatalf("Verify = %+v", r)
	}
}

func TestTamperDetected(t *testing.T) {
	swap := []string{"UPDATE audit SET seq = -1 WHERE seq = 3", "UPDATE audit SET seq = 3 WHERE seq = 4", "UPDATE audit SET seq = 4 WHERE seq = -1"}
	renumberUp := []string{"UPDATE audit SET seq = seq + 1000 WHERE seq >= 3", "UPDATE audit SET seq = seq - 999 WHERE seq >= 1000"}
	cases := []struct {
		name   string
		sql    func(path string) []string
		seq    int64
		kind   Kind
		detail string
	}{
		{"alter a field", func(string) []string {
			return []string{"UPDATE audit SET new_value = '9.0' WHERE seq = 3"}
		}, 3, Altered, "a field was changed"},
		{"alter the time", func(string) []string {
			return []string{"UPDATE audit SET time_ns = time_ns + 1 WHERE seq = 5"}
		}, 5, Altered, ""},
		{"alter the last row", func(string) []string {
			return []string{"UPDATE audit SET who = 'bob' WHERE seq = 6"}
		}, 6, Altered, ""},
		{"alter and rehash", func(path string) []string {
			return []string{"DELETE FROM audit WHERE seq = 3", forged(hashOf(t, path, 2), 3, "")}
		}, 4, Broken, "row 3 was rewritten"},
		{"delete a row", func(string) []string {
			return []string{"DELETE FROM audit WHERE seq = 3"}
		}, 3, Deleted, "rows 3..3 were deleted"},
		{"delete the first row", func(string) []string {
			return []string{"DELETE FROM audit WHERE seq = 1"}
		}, 1, Deleted, ""},
		{"delete the last row", func(string) []string {
			return []string{"DELETE FROM audit WHERE seq = 6"}
		}, 6, Deleted, "gone from the end"},
		{"delete and renumber", func(string) []string {
			return []string{"DELETE FROM audit WHERE seq = 3", "UPDATE audit SET seq = seq - 1 WHERE seq > 3"}
		}, 3, Broken, "deleted"},
		{"insert a row", func(path string) []string {
			return append(renumberUp, forged(hashOf(t, path, 2), 3, strings.Repeat("ab", 32)))
		}, 3, Inserted, "row 4 follows row 2 directly"},
		{"insert a forged row", func(path string) []string {
			return append(renumberUp, forged(hashOf(t, path, 2), 3, ""))
		}, 3, Inserted, "row 4 follows row 2"},
		{"append a forged row", func(path string) []string {
			return []string{forged(hashOf(t, path, 6), 7, "")}
		}, 7, Inserted, "added outside Minebrain"},
		{"reorder", func(string) []string { return swap }, 3, Moved, "follows row 4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := chain(t, 6)
			tamper(t, path, tc.sql(path)...)
			r := verify(t, path)
			if r.OK() {
				t.Fatalf("not detected: %+v", r)
			}
			p := r.Problems[0]
			if p.Seq != tc.seq || p.Kind != tc.kind || !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("first problem %v, want row %d %s (%q); all: %v", p, tc.seq, tc.kind, tc.detail, r.Problems)
			}
		})
	}
}

// hashOf reads row seq's hash from the closed file.
func hashOf(t *testing.T, path string, seq int) string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var h string
	if err := db.QueryRow("SELECT hash FROM audit WHERE seq = ?", seq).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestAlteredRowAlone(t *testing.T) {
	// One altered row is one problem: the rows after it still link to its stored hash.
	path := chain(t, 20)
	tamper(t, path, "UPDATE audit SET result = 'refused' WHERE seq = 7")
	r := verify(t, path)
	if len(r.Problems) != 1 || r.Problems[0].Seq != 7 {
		t.Fatalf("problems %v, want only row 7", r.Problems)
	}
}

func TestConcurrentAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s, l := open(t, path)
	ctx := context.Background()
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				_, err := l.Append(ctx, Entry{Who: fmt.Sprintf("op%d", w), Face: FaceWeb, Action: "ack",
					Target: fmt.Sprintf("alarm %d", i), Result: "done"})
				errs <- err
			}
		}()
	}
	// Samples keep flowing meanwhile, as in a running Minebrain.
	for i := 0; i < 100; i++ {
		s.Append([]historian.Sample{{Tag: "Pit.CV01.SpeedPct", Time: t0.Add(time.Duration(i) * time.Second), Value: float64(i)}})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	r, err := l.Verify(ctx)
	if err != nil || !r.OK() || r.Entries != workers*each || r.LastSeq != workers*each {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
	s.Close()
}
