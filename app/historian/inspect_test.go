package historian

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheckFindsUnorderedAndMiscountedBlocks(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	s := openTest(t, path, Options{BlockMaxSamples: 10})
	var in []Sample
	for i := 0; i < 35; i++ {
		in = append(in, Sample{Tag: "T", Time: t0.Add(time.Duration(i) * time.Second), Value: float64(i)})
	}
	if err := s.Append(in); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Check(ctx, path)
	if err != nil || !r.OK() || r.Samples != 35 || r.Blocks < 3 {
		t.Fatalf("good file: %+v, %v", r, err)
	}
	fi, err := FileStats(ctx, path)
	if err != nil || fi.Samples != 35 || fi.Tags != 1 || !fi.First.Equal(t0) || !fi.Last.Equal(t0.Add(34*time.Second)) {
		t.Fatalf("FileStats: %+v, %v", fi, err)
	}

	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Block 2: timestamps swapped (still decodable); block 3: count column wrong.
	bad := []Point{{T: t0.Add(10 * time.Second).UnixNano(), V: 1}, {T: t0.Add(12 * time.Second).UnixNano(), V: 2}, {T: t0.Add(11 * time.Second).UnixNano(), V: 3}}
	if _, err := db.Exec("UPDATE blocks SET data = ? WHERE start_ns = ?", EncodeBlock(nil, bad), t0.Add(10*time.Second).UnixNano()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE blocks SET count = 7 WHERE start_ns = ?", t0.Add(20*time.Second).UnixNano()); err != nil {
		t.Fatal(err)
	}
	r, err = Check(ctx, path)
	if err != nil || r.OK() {
		t.Fatalf("bad file: %+v, %v", r, err)
	}
	var all []string
	for _, p := range r.Problems {
		if p.Tag != "T" || p.Table != "blocks" {
			t.Errorf("problem %+v does not name tag T's block", p)
		}
		all = append(all, p.String())
	}
	text := strings.Join(all, "\n")
	for _, want := range []string{"is not after sample", "decoded 3 samples, count column 10", "stats count 10, count column 7"} {
		if !strings.Contains(text, want) {
			t.Errorf("problems %q lack %q", text, want)
		}
	}
}

func TestToolsDoNotCreateFiles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "none.db")
	if _, err := Check(ctx, path); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Check: %v", err)
	}
	if _, err := FileStats(ctx, path); err == nil {
		t.Error("FileStats: no error")
	}
	if _, err := OpenExisting(ctx, path, Options{}); err == nil {
		t.Error("OpenExisting: no error")
	}
	if _, err := Check(ctx, path); err == nil {
		t.Error("file appeared")
	}
}

func TestRunBenchTiny(t *testing.T) {
	var phases []string
	r, err := RunBench(context.Background(), BenchOptions{Tags: 4, Samples: 400, TrendSpan: time.Hour, TrendBuckets: 60, Runs: 3},
		func(p BenchProgress) {
			if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
				phases = append(phases, p.Phase)
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	if r.Samples != 400 || r.TrendSamples != 3600 || r.IngestSamplesPerSec <= 0 || r.BytesPerSample <= 0 ||
		r.TrendMedianMs <= 0 || r.ReaderQueries == 0 || r.ReaderMaxMs <= 0 {
		t.Errorf("result %+v", r)
	}
	if strings.Join(phases, ",") != "trend tag,ingest,ingest with reader,queries" {
		t.Errorf("phases %v", phases)
	}
}
