package histrun

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"minebrain/app/historian"
	"minebrain/app/plugins"
	"minebrain/app/plugins/internal/testguest"
	"minebrain/app/sim"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testguest.Cleanup()
	os.Exit(code)
}

const (
	power = "Crushing.CR1.PowerKW"
	sp    = "Crushing.AF1.FeederSpeedSP"
)

// recording is a history file of the simulated mine and what was written into it.
type recording struct {
	path   string
	t0     time.Time            // the first sample
	values map[string][]float64 // per tag, the sample at t0 + i seconds
}

// recordSim records the simulated mine (seed 3) into a new history file: power, the feeder's
// speed setpoint and two more tags, one sample a second from the start for secs seconds.
// The setpoint is written to 60 at 300 s and to 80 at 420 s.
func recordSim(t *testing.T, secs int) recording {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "history.db")
	st, err := historian.Open(ctx, path, historian.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mine := sim.NewMine(sim.Config{Seed: 3})
	rec := recording{path: path, t0: mine.Clock(), values: map[string][]float64{}}
	tags := []string{power, sp, "Crushing.CR1.CavityLevelPct", "Crushing.AF1.SpeedPct"}
	for i := 0; i <= secs; i++ {
		if i > 0 {
			for range time.Second / sim.StepInterval {
				mine.Step(sim.StepInterval)
			}
		}
		switch i {
		case 300:
			if err := mine.Write(sp, 60.0); err != nil {
				t.Fatal(err)
			}
		case 420:
			if err := mine.Write(sp, 80.0); err != nil {
				t.Fatal(err)
			}
		}
		var batch []historian.Sample
		for _, tag := range tags {
			v, _ := mine.Value(tag)
			f := v.(float64)
			rec.values[tag] = append(rec.values[tag], f)
			batch = append(batch, historian.Sample{Tag: tag, Time: mine.Clock(), Value: f})
		}
		if err := st.Append(batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestRunRecordedSim runs the good guest over ten recorded minutes of the simulated mine and
// checks its ticks, its decisions, what it read (its alarm follows the recorded power) and
// the comparison with the recorded setpoint.
func TestRunRecordedSim(t *testing.T) {
	rec := recordSim(t, 600)
	pw := rec.values[power]
	// The median power: the alarm then comes and goes.
	sorted := append([]float64(nil), pw[1:]...)
	for i := range sorted {
		for j := i + 1; j < len(sorted); j++ {
			if sorted[j] < sorted[i] {
				sorted[i], sorted[j] = sorted[j], sorted[i]
			}
		}
	}
	limit := sorted[len(sorted)/2]
	path := testguest.GoodPlugin(t, power, limit)

	// What the guest must do at tick i (at t0 + i s), from the samples written.
	var wantAlarms []time.Time // raise, clear, raise, …
	high := false
	var changes, recChanges int
	var sumDiff, maxDiff, maxPower float64
	for i := 1; i <= 600; i++ {
		at := rec.t0.Add(time.Duration(i) * time.Second)
		if above := pw[i] > limit; above != high {
			wantAlarms = append(wantAlarms, at)
			high = above
		}
		d := math.Abs(60 - rec.values[sp][i])
		sumDiff += d
		maxDiff = max(maxDiff, d)
		if d != 0 {
			changes++
		}
		if i > 1 && rec.values[sp][i] != rec.values[sp][i-1] {
			recChanges++
		}
		maxPower = max(maxPower, pw[i])
	}

	var reps []Report
	for _, chunk := range []time.Duration{0, time.Minute} {
		var progress int
		rep, err := Run(context.Background(), Options{Manifest: path, History: rec.path, From: rec.t0, For: 10 * time.Minute,
			Watch: []string{power}, Chunk: chunk, CacheDir: testguest.CacheDir(t), Progress: func(time.Time) { progress++ }})
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, rep)
		t.Logf("chunk %v: %d ticks, %d writes, %d queries in %v", chunk, rep.Ticks, rep.Writes, rep.Queries, rep.Real)
		if rep.Ticks != 600 || progress != 600 || rep.Writes != 600 || rep.Suppressed != 600 || rep.Done != 0 || rep.Refused != 0 {
			t.Errorf("%d ticks (%d progress), %d writes, %d suppressed, %d done, %d refused; want 600, 600, 600, 600, 0, 0",
				rep.Ticks, progress, rep.Writes, rep.Suppressed, rep.Done, rep.Refused)
		}
		if !rep.Start.Equal(rec.t0) || rep.Simulated != 10*time.Minute || rep.Cut || !rep.End.Equal(rec.t0.Add(10*time.Minute)) {
			t.Errorf("start %v, simulated %v, end %v, cut %v", rep.Start, rep.Simulated, rep.End, rep.Cut)
		}
		if len(rep.Decisions) != 600 || !rep.Decisions[0].Time.Equal(rec.t0.Add(time.Second)) || rep.Decisions[0].Value != 60 ||
			rep.Decisions[0].Outcome != "suppressed" || !rep.Decisions[599].Time.Equal(rec.t0.Add(600*time.Second)) {
			t.Errorf("decisions: %d, first %+v", len(rep.Decisions), rep.Decisions[0])
		}
		var got []time.Time
		for _, a := range rep.Alarms {
			if a.ID != "plugin.good.high" {
				t.Errorf("alarm %+v", a)
			}
			if a.Raised != (len(got)%2 == 0) {
				t.Errorf("alarm event %d raised=%v", len(got), a.Raised)
			}
			got = append(got, a.Time)
		}
		if len(wantAlarms) < 4 || fmt.Sprint(got) != fmt.Sprint(wantAlarms) {
			t.Errorf("alarm events at %v, want (from the recorded power above %g) %v", got, limit, wantAlarms)
		}
		if len(rep.Setpoints) != 1 {
			t.Fatalf("setpoints %+v", rep.Setpoints)
		}
		s := rep.Setpoints[0]
		if s.Tag != sp || !s.Recorded || s.Decisions != 600 || s.Compared != 600 || s.Changes != changes ||
			s.RecordedChanges != recChanges || math.Abs(s.MeanAbsDiff-sumDiff/600) > 1e-9 || s.MaxAbsDiff != maxDiff || s.WantedMean != 60 {
			t.Errorf("setpoint %+v; want %d changes, %d recorded changes, mean |diff| %g, max %g", s, changes, recChanges, sumDiff/600, maxDiff)
		}
		if changes < 400 || recChanges != 2 || maxDiff != 20 {
			t.Errorf("the recording is not what the test expects: %d changes, %d recorded changes, max diff %g", changes, recChanges, maxDiff)
		}
		if p := rep.Signals[0]; p.Tag != power || p.N != 600 || p.Max != maxPower || p.Last != pw[600] {
			t.Errorf("power stats %+v, want max %g, last %g", p, maxPower, pw[600])
		}
		if rep.MissingReads != 0 || rep.StaleReads != 0 || len(rep.Faults) != 0 || rep.Logs < 60 {
			t.Errorf("%d missing, %d stale reads, faults %v, %d log lines", rep.MissingReads, rep.StaleReads, rep.Faults, rep.Logs)
		}
	}
	// Chunks of a minute: more queries, the same run; never a query per tick.
	if reps[0].Queries > 4 || reps[1].Queries < 2*10 || reps[1].Queries > 2*12 {
		t.Errorf("queries: %d with 1 h chunks, %d with 1 min chunks (2 tags, 10 min)", reps[0].Queries, reps[1].Queries)
	}

	// The default start: For before the newest sample; a For past the end is cut there.
	rep, err := Run(context.Background(), Options{Manifest: path, History: rec.path, For: 2 * time.Minute, CacheDir: testguest.CacheDir(t)})
	if err != nil || rep.Ticks != 120 || !rep.Start.Equal(rec.t0.Add(8*time.Minute)) || rep.Setpoints[0].Changes != 120 || rep.Setpoints[0].MaxAbsDiff != 20 {
		t.Errorf("the last 2 minutes: %v, %d ticks from %v, %+v", err, rep.Ticks, rep.Start, rep.Setpoints)
	}
	rep, err = Run(context.Background(), Options{Manifest: path, History: rec.path, From: rec.t0.Add(590 * time.Second), For: time.Hour, CacheDir: testguest.CacheDir(t)})
	if err != nil || rep.Ticks != 10 || !rep.Cut || !rep.End.Equal(rec.t0.Add(10*time.Minute)) {
		t.Errorf("cut at the end: %v, %d ticks, cut %v, end %v", err, rep.Ticks, rep.Cut, rep.End)
	}

	// Refusals, each saying why.
	refusals := []struct {
		name string
		o    Options
		want string
	}{
		{"auto", Options{Manifest: path, History: rec.path, Mode: plugins.Auto}, "cannot be changed"},
		{"before", Options{Manifest: path, History: rec.path, From: rec.t0.Add(-time.Hour)},
			"outside the recording: " + rec.path + " holds the read tags from 2025-01-15T06:00:00Z to 2025-01-15T06:10:00Z"},
		{"after", Options{Manifest: path, History: rec.path, From: rec.t0.Add(time.Hour)}, "from 2025-01-15T07:00:00Z is outside the recording"},
		{"empty", Options{Manifest: path, History: rec.path, From: rec.t0.Add(600*time.Second - 500*time.Millisecond)}, "shorter than one tick"},
		{"no tag", Options{Manifest: testguest.GoodPlugin(t, "Pit.SH01.HoistCurrentA", 1), History: rec.path},
			`has no tag for the manifest's reads "Pit.SH01.HoistCurrentA" (its 4 tags: Crushing.AF1.FeederSpeedSP`},
		{"watch", Options{Manifest: path, History: rec.path, Watch: []string{"No.Such.Tag"}}, "watch No.Such.Tag"},
		{"no file", Options{Manifest: path, History: filepath.Join(t.TempDir(), "none.db")}, "does not exist"},
	}
	for _, r := range refusals {
		_, err := Run(context.Background(), r.o)
		if err == nil || !strings.Contains(err.Error(), r.want) {
			t.Errorf("%s: %v, want %q", r.name, err, r.want)
		}
	}
	if _, err := Run(context.Background(), refusals[0].o); !errors.Is(err, ErrAuto) {
		t.Errorf("auto: %v", err)
	}
}

// TestRunPaceAndCancel: Speed paces the run in real time, and a cancel ends it with the
// report so far.
func TestRunPaceAndCancel(t *testing.T) {
	rec := recordSim(t, 60)
	path := testguest.GoodPlugin(t, power, 1e9)
	began := time.Now()
	rep, err := Run(context.Background(), Options{Manifest: path, History: rec.path, From: rec.t0, For: 30 * time.Second,
		Speed: 60, CacheDir: testguest.CacheDir(t)})
	// Real is the run after loading (compiling the module is not paced).
	if took := time.Since(began); err != nil || rep.Ticks != 30 || rep.Real < 500*time.Millisecond || took < rep.Real {
		t.Errorf("30 s at 60×: %v, %d ticks in %v (%v in all; want ≥ 500 ms)", err, rep.Ticks, rep.Real, took)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rep, err = Run(ctx, Options{Manifest: path, History: rec.path, From: rec.t0, For: time.Minute, CacheDir: testguest.CacheDir(t),
		Progress: func(t time.Time) {
			if t.Sub(rec.t0) >= 20*time.Second {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) || rep.Ticks != 20 || rep.Writes != 20 || rep.Simulated != 20*time.Second {
		t.Errorf("cancelled: %v, %d ticks, %d writes, %v", err, rep.Ticks, rep.Writes, rep.Simulated)
	}
}

// TestHostValues: the value at a tick is the last sample at or before it, with its status
// and time; Missing before the first; Stale across a gap in the recording; across chunks.
func TestHostValues(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	st, err := historian.Open(ctx, path, historian.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	var batch []historian.Sample
	for s := 0; s <= 10; s++ { // A: 0..10 s, then a gap to 100 s
		batch = append(batch, historian.Sample{Tag: "A", Time: at(float64(s)), Value: float64(s)})
	}
	batch = append(batch, historian.Sample{Tag: "A", Time: at(100), Value: 100, Status: 0x80000000})
	batch = append(batch, historian.Sample{Tag: "B", Time: at(5.5), Value: 55})
	if err := st.Append(batch); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := historian.OpenReader(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := newHost(r, []string{"A", "B", "C"}, 20*time.Second, at(3))
	for _, tag := range []string{"A", "B"} {
		if err := h.load(ctx, tag, at(3), at(120), 7*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	check := func(s float64, tag string, want plugins.Value) {
		t.Helper()
		if err := h.advance(ctx, at(s)); err != nil {
			t.Fatal(err)
		}
		got, ok := h.Value(tag)
		if !ok || got.Missing != want.Missing || got.Stale != want.Stale || (!want.Missing && (got.V != want.V ||
			got.Status != want.Status || !got.Time.Equal(want.Time))) {
			t.Errorf("%s at %g s: %+v, want %+v", tag, s, got, want)
		}
	}
	check(3, "A", plugins.Value{V: 3, Time: at(3)})
	check(3.5, "A", plugins.Value{V: 3, Time: at(3)})
	check(4, "B", plugins.Value{Missing: true})
	check(6, "B", plugins.Value{V: 55, Time: at(5.5)})
	check(9.9, "A", plugins.Value{V: 9, Time: at(9)})
	check(30, "A", plugins.Value{V: 10, Time: at(10)})              // 20 s after the last sample of any tag
	check(31, "A", plugins.Value{V: 10, Time: at(10), Stale: true}) // the gap
	check(31, "B", plugins.Value{V: 55, Time: at(5.5), Stale: true})
	check(100, "A", plugins.Value{V: 100, Time: at(100), Status: 0x80000000})
	check(101, "B", plugins.Value{V: 55, Time: at(5.5)}) // old, but the recording goes on
	if v, ok := h.Value("C"); !ok || !v.Missing {
		t.Errorf("C (in the file, not loaded): %+v %v", v, ok)
	}
	if _, ok := h.Value("D"); ok {
		t.Error("D (not in the file) found")
	}
	// Started after A's first sample: the sample in force comes from before the start.
	h2 := newHost(r, []string{"A"}, 20*time.Second, at(60))
	if err := h2.load(ctx, "A", at(60), at(120), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := h2.advance(ctx, at(61)); err != nil {
		t.Fatal(err)
	}
	if v, _ := h2.Value("A"); v.V != 10 || !v.Time.Equal(at(10)) || !v.Stale {
		t.Errorf("A at 61 s from 60 s: %+v", v)
	}
}
