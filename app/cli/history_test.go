package cli

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"minebrain/app/historian"
)

var histT0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// histDB writes a small historian file: tag A has 600 samples at 1 Hz from histT0 with value i
// (samples 100..199 Bad), tag B 10 samples with value 0.5*i. Blocks seal every 100 samples.
func histDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "h.db")
	ctx := context.Background()
	s, err := historian.Open(ctx, path, historian.Options{BlockMaxSamples: 100})
	if err != nil {
		t.Fatal(err)
	}
	var batch []historian.Sample
	for i := 0; i < 600; i++ {
		st := uint32(0)
		if i >= 100 && i < 200 {
			st = 0x808A0000
		}
		batch = append(batch, historian.Sample{Tag: "A", Time: histT0.Add(time.Duration(i) * time.Second), Value: float64(i), Status: st})
	}
	for i := 0; i < 10; i++ {
		batch = append(batch, historian.Sample{Tag: "B", Time: histT0.Add(time.Duration(i) * time.Second), Value: 0.5 * float64(i)})
	}
	if err := s.Append(batch); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func ts(d time.Duration) string { return histT0.Add(d).Format(time.RFC3339) }

func TestHistoryQueryRaw(t *testing.T) {
	db := histDB(t)
	code, out, errOut := run("history", "query", "--db", db, "--tag", "A", "--from", ts(10*time.Second), "--to", ts(13*time.Second), "--json")
	if code != exitOK {
		t.Fatalf("status %d, stderr %q", code, errOut)
	}
	var r struct {
		Tag    string
		Points []struct {
			Time   string
			Value  *float64
			Status uint32
		}
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if r.Tag != "A" || len(r.Points) != 3 {
		t.Fatalf("got %+v", r)
	}
	for i, p := range r.Points {
		if p.Value == nil || *p.Value != float64(10+i) || p.Time != histT0.Add(time.Duration(10+i)*time.Second).Format("2006-01-02T15:04:05.000Z") {
			t.Errorf("point %d: %+v", i, p)
		}
	}
	// Text output, Bad status shown.
	code, out, _ = run("history", "query", "--db", db, "--tag", "A", "--from", ts(150*time.Second), "--to", ts(151*time.Second))
	if code != exitOK || !strings.Contains(out, "150") || !strings.Contains(out, "0x808A0000") {
		t.Errorf("status %d, output %q", code, out)
	}
}

func TestHistoryQueryBuckets(t *testing.T) {
	db := histDB(t)
	code, out, errOut := run("history", "query", "--db", db, "--tag", "A", "--from", ts(0), "--to", ts(600*time.Second), "--buckets", "6", "--json")
	if code != exitOK {
		t.Fatalf("status %d, stderr %q", code, errOut)
	}
	var r struct {
		Buckets []struct {
			Count         int
			Min, Max, Avg *float64
			First, Last   *float64
			PercentGood   *float64 `json:"percent_good"`
		}
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if len(r.Buckets) != 6 {
		t.Fatalf("%d buckets", len(r.Buckets))
	}
	b0 := r.Buckets[0]
	if b0.Count != 100 || *b0.Min != 0 || *b0.Max != 99 || *b0.First != 0 || *b0.Last != 99 || *b0.PercentGood != 100 {
		t.Errorf("bucket 0: %+v", b0)
	}
	// Time-weighted: values 0..99 each held 1 s.
	if math.Abs(*b0.Avg-49.5) > 1e-9 {
		t.Errorf("bucket 0 avg %v, want 49.5", *b0.Avg)
	}
	b1 := r.Buckets[1] // all Bad
	if b1.Count != 100 || b1.Min != nil || b1.Avg != nil || *b1.PercentGood != 0 {
		t.Errorf("bucket 1: %+v", b1)
	}
	b2 := r.Buckets[2]
	if *b2.Min != 200 || *b2.Max != 299 {
		t.Errorf("bucket 2: %+v", b2)
	}
	// Text output.
	code, out, _ = run("history", "query", "--db", db, "--tag", "A", "--from", ts(0), "--to", ts(600*time.Second), "--buckets", "2")
	if code != exitOK || !strings.Contains(out, "GOOD%") || strings.Count(out, "\n") != 3 {
		t.Errorf("status %d, output %q", code, out)
	}
}

func TestHistoryExportCSV(t *testing.T) {
	db := histDB(t)
	outFile := filepath.Join(t.TempDir(), "out.csv")
	code, _, errOut := run("history", "export", "--db", db, "--tag", "B", "--tag", "A", "--from", ts(0), "--to", ts(3*time.Second), "--out", outFile)
	if code != exitOK {
		t.Fatalf("status %d, stderr %q", code, errOut)
	}
	b, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"tag", "time", "value", "status"},
		{"B", "2026-03-01T00:00:00.000Z", "0", "0x00000000"},
		{"B", "2026-03-01T00:00:01.000Z", "0.5", "0x00000000"},
		{"B", "2026-03-01T00:00:02.000Z", "1", "0x00000000"},
		{"A", "2026-03-01T00:00:00.000Z", "0", "0x00000000"},
		{"A", "2026-03-01T00:00:01.000Z", "1", "0x00000000"},
		{"A", "2026-03-01T00:00:02.000Z", "2", "0x00000000"},
	}
	if len(recs) != len(want) {
		t.Fatalf("got %q", recs)
	}
	for i := range want {
		if strings.Join(recs[i], ",") != strings.Join(want[i], ",") {
			t.Errorf("row %d: %q, want %q", i, recs[i], want[i])
		}
	}
	// Whole span to stdout, tag as a positional argument.
	code, out, _ := run("history", "export", "--db", db, "A")
	if code != exitOK || strings.Count(out, "\n") != 601 || !strings.Contains(out, "A,2026-03-01T00:09:59.000Z,599,0x00000000") ||
		!strings.Contains(out, "A,2026-03-01T00:01:40.000Z,100,0x808A0000") {
		t.Errorf("status %d, %d lines", code, strings.Count(out, "\n"))
	}
	// An unknown tag fails before anything is written.
	code, out, errOut = run("history", "export", "--db", db, "--tag", "nope")
	if code != exitError || out != "" || !strings.Contains(errOut, "nope") {
		t.Errorf("unknown tag: status %d, out %q, stderr %q", code, out, errOut)
	}
}

func TestHistoryStats(t *testing.T) {
	db := histDB(t)
	code, out, errOut := run("history", "stats", "--db", db, "--json")
	if code != exitOK {
		t.Fatalf("status %d, stderr %q", code, errOut)
	}
	var r struct {
		Tags           int     `json:"tags"`
		Samples        int64   `json:"samples"`
		Blocks         int64   `json:"blocks"`
		FileBytes      int64   `json:"file_bytes"`
		BytesPerSample float64 `json:"bytes_per_sample"`
		First, Last    string
		Span           float64 `json:"span_s"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if r.Tags != 2 || r.Samples != 610 || r.Blocks < 5 || r.FileBytes <= 0 || r.BytesPerSample <= 0 ||
		r.First != "2026-03-01T00:00:00.000Z" || r.Span != 599 {
		t.Errorf("got %+v", r)
	}
	code, out, _ = run("history", "stats", "--db", db)
	if code != exitOK || !strings.Contains(out, "samples") || !strings.Contains(out, "610") {
		t.Errorf("status %d, output %q", code, out)
	}
}

func TestHistoryCheck(t *testing.T) {
	db := histDB(t)
	code, out, errOut := run("history", "check", "--db", db)
	if code != exitOK || !strings.Contains(out, "ok") {
		t.Fatalf("good file: status %d, out %q, stderr %q", code, out, errOut)
	}
	// Corrupt one block of tag A.
	sdb, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sdb.Exec(`UPDATE blocks SET data = x'01ff01' WHERE tag_id = (SELECT id FROM tags WHERE name = 'A')
		AND start_ns = (SELECT min(start_ns) FROM blocks WHERE tag_id = (SELECT id FROM tags WHERE name = 'A'))`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("corrupted %d blocks", n)
	}
	sdb.Close()
	code, out, errOut = run("history", "check", "--db", db)
	if code != exitError || !strings.Contains(out, "PROBLEM: A blocks block at 2026-03-01T00:00:00") || !strings.Contains(errOut, "1 problems") {
		t.Errorf("corrupt file: status %d, out %q, stderr %q", code, out, errOut)
	}
	code, out, _ = run("history", "check", "--db", db, "--json")
	var r struct {
		OK       bool
		Problems []struct{ Tag, Table, Message string }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if code != exitError || r.OK || len(r.Problems) != 1 || r.Problems[0].Tag != "A" || r.Problems[0].Table != "blocks" {
		t.Errorf("corrupt file --json: status %d, %+v", code, r)
	}
}

func TestHistoryBenchTiny(t *testing.T) {
	code, out, errOut := run("history", "bench", "--tags", "10", "--samples", "2000", "--trend-span", "2h", "--buckets", "100", "--runs", "3", "--json")
	if code != exitOK {
		t.Fatalf("status %d, stderr %q", code, errOut)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	for _, k := range []string{"ingest_samples_per_s", "ingest_with_reader_samples_per_s", "bytes_per_sample", "file_bytes",
		"trend_median_ms", "latest_median_ms", "reader_max_ms", "reader_p99_ms", "reader_queries", "samples"} {
		v, ok := r[k].(float64)
		if !ok || !(v > 0) {
			t.Errorf("%s = %v, want a positive number", k, r[k])
		}
	}
	// With --db the file is kept; an existing file is refused.
	db := filepath.Join(t.TempDir(), "b.db")
	if code, _, errOut := run("history", "bench", "--tags", "2", "--samples", "20", "--trend-span", "1h", "--buckets", "10", "--runs", "1", "--db", db); code != exitOK {
		t.Fatalf("status %d, stderr %q", code, errOut)
	}
	if code, _, _ := run("history", "check", "--db", db); code != exitOK {
		t.Errorf("check of the bench file: status %d", code)
	}
	if code, _, errOut := run("history", "bench", "--db", db); code != exitError || !strings.Contains(errOut, "exists") {
		t.Errorf("existing file: status %d, stderr %q", code, errOut)
	}
}

func TestHistoryUsageErrors(t *testing.T) {
	db := histDB(t)
	cases := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no subcommand", []string{"history"}, "Usage: minebrain history"},
		{"unknown subcommand", []string{"history", "frob"}, `unknown command "frob"`},
		{"query missing db", []string{"history", "query", "--tag", "A"}, "missing --db"},
		{"query missing tag", []string{"history", "query", "--db", db}, "missing --tag"},
		{"query bad time", []string{"history", "query", "--db", db, "--tag", "A", "--from", "yesterday"}, `bad time "yesterday"`},
		{"query bad relative", []string{"history", "query", "--db", db, "--tag", "A", "--from", "-3x"}, `bad time "-3x"`},
		{"query to before from", []string{"history", "query", "--db", db, "--tag", "A", "--from", "-1h", "--to", "-2h"}, "must be after"},
		{"query negative buckets", []string{"history", "query", "--db", db, "--tag", "A", "--buckets", "-1"}, "--buckets"},
		{"export missing db", []string{"history", "export", "--tag", "A"}, "missing --db"},
		{"export missing tag", []string{"history", "export", "--db", db}, "missing --tag"},
		{"export bad time", []string{"history", "export", "--db", db, "--tag", "A", "--to", "soon"}, `bad time "soon"`},
		{"stats missing db", []string{"history", "stats"}, "missing --db"},
		{"check missing db", []string{"history", "check"}, "missing --db"},
		{"stats stray", []string{"history", "stats", "--db", db, "x"}, `unexpected argument "x"`},
		{"bench zero tags", []string{"history", "bench", "--tags", "0"}, "--tags must be above 0"},
		{"bench unknown flag", []string{"history", "bench", "--nope"}, "flag provided but not defined"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(tc.args...)
			if code != exitUsage {
				t.Errorf("exit status %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.stderr) || !strings.Contains(stderr, "Usage") {
				t.Errorf("stderr %q does not contain %q and usage", stderr, tc.stderr)
			}
		})
	}
}

func TestHistoryMissingFileNotCreated(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "missing.db")
	for _, args := range [][]string{
		{"history", "query", "--db", db, "--tag", "A"},
		{"history", "export", "--db", db, "--tag", "A"},
		{"history", "stats", "--db", db},
		{"history", "check", "--db", db},
	} {
		code, _, stderr := run(args...)
		if code != exitError || !strings.Contains(stderr, "does not exist") {
			t.Errorf("%v: status %d, stderr %q", args[1], code, stderr)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("%v created %v", args[1], ents)
		}
	}
	// A SQLite file that is not a historian is not altered by query.
	other := filepath.Join(dir, "other.db")
	sdb, err := sql.Open("sqlite", "file:"+other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdb.Exec("CREATE TABLE x (a)"); err != nil {
		t.Fatal(err)
	}
	sdb.Close()
	code, _, stderr := run("history", "query", "--db", other, "--tag", "A")
	if code != exitError || !strings.Contains(stderr, "not a Minebrain historian") {
		t.Errorf("other file: status %d, stderr %q", code, stderr)
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Time{
		"now":                         now,
		"-1h":                         now.Add(-time.Hour),
		"-7d":                         now.Add(-7 * 24 * time.Hour),
		"-1d12h":                      now.Add(-36 * time.Hour),
		"-2w":                         now.Add(-14 * 24 * time.Hour),
		"2026-01-02T03:04:05Z":        time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		"2026-01-02T03:04:05.5+02:00": time.Date(2026, 1, 2, 1, 4, 5, 5e8, time.UTC),
		"2026-01-02":                  time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
	}
	for in, want := range cases {
		got, err := parseTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-", "-h", "-1", "yesterday", "2026-13-01"} {
		if _, err := parseTime(bad, now); err == nil {
			t.Errorf("parseTime(%q): no error", bad)
		}
	}
}

// TestHistoryExportSQLite: an export into a .db file gives other tools plain rows and a
// samples view, with quality spelled out.
func TestHistoryExportSQLite(t *testing.T) {
	db := histDB(t)
	outFile := filepath.Join(t.TempDir(), "rows.db")
	code, _, errOut := run("history", "export", "--db", db, "--tag", "A", "--tag", "B", "--out", outFile)
	if code != exitOK || !strings.Contains(errOut, "SELECT * FROM samples") {
		t.Fatalf("status %d, stderr %q", code, errOut)
	}
	sdb, err := sql.Open("sqlite", "file:"+outFile+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	var n, bad int
	if err := sdb.QueryRow(`SELECT count(*), sum(quality = 'bad') FROM samples WHERE tag = 'A'`).Scan(&n, &bad); err != nil {
		t.Fatal(err)
	}
	if n != 600 || bad != 100 {
		t.Errorf("A: %d rows, %d bad; want 600 and 100", n, bad)
	}
	var tm string
	var v float64
	if err := sdb.QueryRow(`SELECT time, value FROM samples WHERE tag = 'B' ORDER BY time_ns LIMIT 1 OFFSET 1`).Scan(&tm, &v); err != nil {
		t.Fatal(err)
	}
	if tm != "2026-03-01T00:00:01.000Z" || v != 0.5 {
		t.Errorf("B's second row: %s %v", tm, v)
	}
	// An export never overwrites.
	if code, _, errOut := run("history", "export", "--db", db, "--tag", "A", "--out", outFile); code != exitError || !strings.Contains(errOut, "exists") {
		t.Errorf("second export over the file: status %d, stderr %q", code, errOut)
	}
}
