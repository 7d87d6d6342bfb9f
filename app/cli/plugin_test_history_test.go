package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"minebrain/app/historian"
)

// testRefusalsHistory: the refusals of `plugin test` for --against history, before anything
// is built.
func testRefusalsHistory(t *testing.T) {
	t.Helper()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--against", "history", "--mode", "auto"}, "recorded history cannot be changed, so a plugin runs against it in SHADOW only; use --against sim"},
		{[]string{"--against", "history", "--seed", "3"}, "--seed is for --against sim"},
		{[]string{"--against", "sim", "--from", "2026-01-01T00:00:00Z"}, "--from is for --against history"},
		{[]string{"--against", "sim", "--history", "h.db"}, "--history is for --against history"},
		{[]string{"--against", "history", "--from", "yesterday"}, `--from: bad time "yesterday"`},
		{[]string{"--against", "sim", "--speed", "-1"}, "--speed -1"},
		{[]string{"--against", "mars"}, `--against "mars": use sim or history`},
	} {
		code, _, errOut := run(append([]string{"plugin", "test", "."}, c.args...)...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("plugin test %v: %d %q, want %q", c.args, code, errOut, c.want)
		}
	}
}

// writeTestHistory writes a history file of 5 minutes: Crushing.CR1.PowerKW = 100·(i mod 7)
// at t0 + i s, and another tag.
func writeTestHistory(t *testing.T, path string, t0 time.Time) {
	t.Helper()
	st, err := historian.Open(context.Background(), path, historian.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= 300; i++ {
		at := t0.Add(time.Duration(i) * time.Second)
		if err := st.Append([]historian.Sample{{Tag: "Crushing.CR1.PowerKW", Time: at, Value: float64(100 * (i % 7))},
			{Tag: "Crushing.AF1.SpeedPct", Time: at, Value: 75}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// testPluginTestHistory runs the built plugin of dir (the template's: it reads
// Crushing.CR1.PowerKW) against a history file, and against the sim and the history at a
// speed.
func testPluginTestHistory(t *testing.T, dir string) {
	t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	data := t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	hist := filepath.Join(data, "minebrain", historyFile)
	if err := os.MkdirAll(filepath.Dir(hist), 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestHistory(t, hist, t0)

	// The default file (the data directory's) and start (--for before the newest sample).
	args := []string{"plugin", "test", dir, "--against", "history", "--for", "2m"}
	if runtime.GOOS != "linux" {
		args = append(args, "--history", hist)
	}
	code, out, errOut := run(args...)
	if code != exitOK || !strings.Contains(out, "plugin y against the history "+hist+", from 2026-05-04T10:03:00Z to 2026-05-04T10:05:00Z, mode shadow") ||
		!strings.Contains(out, "reads: Crushing.CR1.PowerKW\n") || !strings.Contains(out, "\nOK: 120 ticks, 0 writes") ||
		!strings.Contains(out, "recorded seconds per second") {
		t.Errorf("test --against history: %d\n%s\n%s", code, out, errOut)
	}

	code, out, errOut = run("plugin", "test", dir, "--against", "history", "--history", hist, "--from", "2026-05-04T10:01:00Z",
		"--for", "1m", "--json")
	var rep struct {
		Ticks   int       `json:"ticks"`
		Start   time.Time `json:"start"`
		Verdict string    `json:"verdict"`
		Signals []struct {
			Tag      string
			Max, Min *float64
			N        int
		}
		Setpoints []any `json:"setpoints"`
	}
	if err := json.Unmarshal([]byte(out), &rep); code != exitOK || err != nil || rep.Ticks != 60 || !rep.Start.Equal(t0.Add(time.Minute)) ||
		len(rep.Signals) != 1 || rep.Signals[0].N != 60 || rep.Signals[0].Max == nil || *rep.Signals[0].Max != 600 ||
		*rep.Signals[0].Min != 0 || !strings.HasPrefix(rep.Verdict, "OK") || len(rep.Setpoints) != 0 {
		t.Errorf("test --against history --json: %d %v %+v\n%s\n%s", code, err, rep, out, errOut)
	}

	code, _, errOut = run("plugin", "test", dir, "--against", "history", "--history", hist, "--from", "2026-05-04T09:00:00Z")
	if code != exitError || !strings.Contains(errOut, "outside the recording: "+hist+" holds the read tags from 2026-05-04T10:00:00Z to 2026-05-04T10:05:00Z") {
		t.Errorf("--from before the recording: %d %q", code, errOut)
	}
	code, _, errOut = run("plugin", "test", dir, "--against", "history", "--history", filepath.Join(data, "none.db"))
	if code != exitError || !strings.Contains(errOut, "does not exist") {
		t.Errorf("no history file: %d %q", code, errOut)
	}

	// --speed 60: 30 simulated seconds take half a second at least (after loading), against
	// both.
	for _, against := range [][]string{{"sim"}, {"history", "--history", hist, "--from", "2026-05-04T10:00:00Z"}} {
		began := time.Now()
		code, out, errOut = run(append(append([]string{"plugin", "test", dir, "--against"}, against...), "--for", "30s", "--speed", "60", "--json")...)
		took := time.Since(began)
		var paced struct {
			Ticks int           `json:"ticks"`
			Real  time.Duration `json:"real"`
		}
		if err := json.Unmarshal([]byte(out), &paced); code != exitOK || err != nil || paced.Ticks != 30 ||
			paced.Real < 500*time.Millisecond || took < paced.Real {
			t.Errorf("--against %s --speed 60: %d, %d ticks in %v (%v in all; want ≥ 500 ms)\n%s\n%s", against[0], code, paced.Ticks, paced.Real, took, out, errOut)
		}
	}
}
