package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"minebrain/app/historian"
)

// TestHistoryQueryWhileWriting runs `history query` (and export, stats) on a file that a Store
// is writing at the same time: each answer is a gap-free prefix of what was appended (whole
// commits only), it grows, and nothing fails or waits.
func TestHistoryQueryWhileWriting(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := historian.Open(ctx, path, historian.Options{BlockMaxSamples: 100, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Append([]historian.Sample{{Tag: "A", Time: histT0, Value: 0}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The writer appends 3,000 samples, paced so that the queries overlap it.
	const total = 3000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i < total; i++ {
			smp := []historian.Sample{{Tag: "A", Time: histT0.Add(time.Duration(i) * time.Second), Value: float64(i)}}
			for s.Append(smp) == historian.ErrBufferFull {
				time.Sleep(time.Millisecond)
			}
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
		code, out, errOut := run("history", "query", "--db", path, "--tag", "A",
			"--from", ts(0), "--to", ts(1000*time.Hour), "--json")
		if code != exitOK {
			t.Fatalf("query %d: status %d, stderr %q", queries, code, errOut)
		}
		var r struct{ Points []struct{ Value float64 } }
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		for i, p := range r.Points {
			if p.Value != float64(i) {
				t.Fatalf("query %d: point %d holds %v: not a gap-free prefix", queries, i, p.Value)
			}
		}
		if len(r.Points) < last {
			t.Fatalf("query %d: %d points after %d", queries, len(r.Points), last)
		}
		last = len(r.Points)
	}
	if last != total {
		t.Fatalf("after the final flush query sees %d points, want %d", last, total)
	}
	for _, args := range [][]string{
		{"history", "query", "--db", path, "--tag", "A", "--from", ts(0), "--to", ts(time.Hour), "--buckets", "10"},
		{"history", "export", "--db", path, "--tag", "A", "--out", filepath.Join(t.TempDir(), "a.csv")},
		{"history", "stats", "--db", path},
	} {
		if code, _, errOut := run(args...); code != exitOK {
			t.Fatalf("%s: status %d, stderr %q", args[1], code, errOut)
		}
	}
	t.Logf("%d queries while the store wrote", queries)
}

// TestHistoryReadOnlyFS: query, export and stats work on a file on a read-only file system
// (a tmpfs remounted read-only; it needs root, else the test skips).
func TestHistoryReadOnlyFS(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a file system")
	}
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount: %v %s", err, out)
		}
	})
	src := histDB(t)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "h.db")
	if err := os.WriteFile(path, data, 0o444); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount ro: %v %s", err, out)
	}
	code, out, errOut := run("history", "query", "--db", path, "--tag", "A", "--from", ts(0), "--to", ts(time.Hour), "--buckets", "6")
	if code != exitOK || strings.Count(out, "\n") != 7 {
		t.Fatalf("query: status %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, out, errOut = run("history", "export", "--db", path, "--tag", "A", "--tag", "B"); code != exitOK || strings.Count(out, "\n") != 611 {
		t.Fatalf("export: status %d, %d lines, stderr %q", code, strings.Count(out, "\n"), errOut)
	}
	if code, out, errOut = run("history", "stats", "--db", path); code != exitOK || !strings.Contains(out, "610") {
		t.Fatalf("stats: status %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestHistoryExportProgress: --progress shows progress on a stderr that is not a terminal.
func TestHistoryExportProgress(t *testing.T) {
	db := histDB(t)
	code, _, errOut := run("history", "export", "--db", db, "--tag", "A", "--progress", "--out", filepath.Join(t.TempDir(), "a.csv"))
	if code != exitOK || !strings.Contains(errOut, "100%") || !strings.Contains(errOut, "[####") {
		t.Fatalf("status %d, stderr %q", code, errOut)
	}
	code, _, errOut = run("history", "export", "--db", db, "--tag", "A", "--out", filepath.Join(t.TempDir(), "b.csv"))
	if code != exitOK || strings.Contains(errOut, "%") {
		t.Fatalf("without --progress: status %d, stderr %q", code, errOut)
	}
}
