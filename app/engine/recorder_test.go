package engine

import (
	"context"
	"database/sql"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"minebrain/app/historian"
	"minebrain/app/sim"
	"minebrain/app/site"
	"minebrain/app/tags"
)

// openHistory reopens a history file after the engine closed it.
func openHistory(t *testing.T, path string) *historian.Store {
	t.Helper()
	s, err := historian.Open(context.Background(), path, historian.Options{})
	if err != nil {
		t.Fatalf("reopen history: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestHistoryRecordsEverySample(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "history.db") // the directory is created
	e := startEngine(t, Config{Sim: sim.Options{Seed: 1, TimeScale: 60}, PublishInterval: 100 * time.Millisecond, HistoryPath: path})
	m := e.Model()
	if h := e.Status().History; h == nil || h.State != "recording" || h.File != path {
		t.Fatalf("history status = %+v, want recording into %s", h, path)
	}
	start := time.Now()
	time.Sleep(3 * time.Second)
	if h := e.Status().History; h.State != "recording" || h.Dropped != 0 {
		t.Fatalf("history status after 3 s = %+v", h)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	s := openHistory(t, path)
	stored := s.Tags()
	if len(stored) < signalCount(m)/2 {
		t.Fatalf("%d tags in history, want most of the %d signals", len(stored), signalCount(m))
	}
	ctx := context.Background()
	busy := 0
	for _, ti := range stored {
		pts, err := s.Range(ctx, ti.Name, start.Add(-time.Minute), time.Now())
		if err != nil {
			t.Fatalf("%s: %v", ti.Name, err)
		}
		if len(pts) == 0 {
			t.Fatalf("%s: no samples", ti.Name)
		}
		if len(pts) >= 10 {
			busy++
		}
		var sig *Signal
		if sig = findSignal(m, ti.Name); sig == nil {
			t.Fatalf("%s is in history but not in the model", ti.Name)
		}
		good := 0
		for _, p := range pts {
			if tags.QualityOf(p.S) != tags.Good {
				continue
			}
			good++
			if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
				t.Fatalf("%s: good sample with value %v", ti.Name, p.V)
			}
			if sig.Low != nil && sig.High != nil {
				span := *sig.High - *sig.Low
				if p.V < *sig.Low-span || p.V > *sig.High+span {
					t.Fatalf("%s: value %v far outside [%v, %v]", ti.Name, p.V, *sig.Low, *sig.High)
				}
			}
			if sig.DataType == "Boolean" && p.V != 0 && p.V != 1 {
				t.Fatalf("%s: boolean stored as %v", ti.Name, p.V)
			}
		}
		if good == 0 {
			t.Fatalf("%s: no good samples in %d", ti.Name, len(pts))
		}
	}
	// Subscriptions would keep ~15 values per tag in 3 s (200 ms coalescing); the history
	// must keep every publish (100 ms) of the tags that change.
	if busy < 10 {
		t.Fatalf("only %d tags have 10 or more samples in 3 s", busy)
	}
	t.Logf("%d tags recorded, %d with 10+ samples", len(stored), busy)
}

func TestHistoryRecordsConnectionLoss(t *testing.T) {
	srv, err := sim.Start(context.Background(), sim.Options{Listen: "127.0.0.1:0", Seed: 1, TimeScale: 60, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.Close()
		}
	}()
	path := filepath.Join(t.TempDir(), "history.db")
	e := startEngine(t, Config{Endpoint: srv.EndpointURL(), PublishInterval: 100 * time.Millisecond, HistoryPath: path,
		StaleAfter: time.Second, ReconnectMin: 100 * time.Millisecond, ReconnectMax: 500 * time.Millisecond})
	waitFor(t, 10*time.Second, "the model", func() bool { return e.Model().UnitCount() > 0 })
	n := signalCount(e.Model())
	waitFor(t, 10*time.Second, "good values", func() bool { return allGood(e.Snapshot(), n) })
	time.Sleep(500 * time.Millisecond)

	lost := time.Now()
	if err := srv.Close(); err != nil {
		t.Fatalf("close simulator: %v", err)
	}
	stopped = true
	waitFor(t, 15*time.Second, "every value bad", func() bool { return allBad(e.Snapshot()) })
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	s := openHistory(t, path)
	stored := s.Tags()
	if len(stored) == 0 {
		t.Fatal("nothing recorded")
	}
	for _, ti := range stored {
		p, err := s.ValueAt(context.Background(), ti.Name, time.Now())
		if err != nil {
			t.Fatalf("%s: %v", ti.Name, err)
		}
		if p.S != 0x80050000 || p.T < lost.Add(-time.Millisecond).UnixNano() {
			t.Fatalf("%s: last sample status %#x at %v, want BadCommunicationError at or after %v", ti.Name, p.S, p.Time(), lost)
		}
		pts, err := s.Range(context.Background(), ti.Name, lost.Add(-time.Hour), lost)
		if err != nil {
			t.Fatal(err)
		}
		if len(pts) == 0 || pts[len(pts)-1].S != 0 {
			t.Fatalf("%s: no good sample before the loss: %v", ti.Name, pts)
		}
	}
}

func TestHistoryUnopenableFailsStart(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	newer := filepath.Join(dir, "newer.db")
	db, err := sql.Open("sqlite", newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for _, path := range []string{filepath.Join(notDir, "history.db"), newer} {
		e, err := New(Config{Sim: sim.Options{Seed: 1, TimeScale: 60}, HistoryPath: path, Logger: quiet, PasswordParams: cheapPasswords})
		if err != nil {
			t.Fatal(err)
		}
		err = e.Start(context.Background())
		if err == nil {
			e.Close()
			t.Fatalf("%s: Start succeeded", path)
		}
		if !strings.Contains(err.Error(), path) {
			t.Fatalf("Start error %q does not name %s", err, path)
		}
		t.Logf("%v", err)
		if err := e.Close(); err != nil {
			t.Fatalf("Close after a failed Start: %v", err)
		}
	}
}

func TestHistoryValue(t *testing.T) {
	for _, c := range []struct {
		in   any
		want float64
		ok   bool
	}{{1.5, 1.5, true}, {int64(-3), -3, true}, {uint64(7), 7, true}, {true, 1, true}, {false, 0, true}, {"run", 0, false}} {
		got, ok := historyValue(c.in)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("historyValue(%v) = %v,%v; want %v,%v", c.in, got, ok, c.want, c.ok)
		}
	}
	if v, ok := historyValue(nil); !ok || !math.IsNaN(v) {
		t.Errorf("historyValue(nil) = %v,%v; want NaN,true", v, ok)
	}
}

// TestStatusChangeAtAnOlderTimeIsRecorded: a connection loss stamped by a local clock that is
// behind the server's timestamps still records the Bad sample (the gap), just after the last.
func TestStatusChangeAtAnOlderTimeIsRecorded(t *testing.T) {
	r := &recorder{}
	t0 := time.Unix(1000, 0)
	sec := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Second))) }
	steps := []struct {
		source, server time.Time
		status         uint32
		want           time.Time // zero: skipped
	}{
		{sec(0), sec(0), 0, sec(0)},
		{sec(1), sec(1), 0, sec(1)},
		{sec(1), sec(1), 0, time.Time{}}, // a repeat
		// The loss, stamped by a local clock 1 s behind the server: just after the last sample.
		{sec(0), sec(0), 0x80050000, sec(1).Add(time.Microsecond)},
		{sec(1), sec(1), 0x80050000, time.Time{}}, // still bad, nothing new
		// Back after the reconnect: the unchanged value keeps its old source time, but the
		// server stamps it now; good again from then, so the outage stays visible.
		{sec(1), sec(9), 0, sec(9)},
		{sec(10), sec(10), 0, sec(10)},
		{sec(10), sec(10), 0x40000000, sec(10).Add(time.Microsecond)}, // uncertain, same timestamps
	}
	for i, s := range steps {
		got, ok := r.ordered(7, s.source, s.server, s.status)
		if ok != !s.want.IsZero() || (ok && !got.Equal(s.want)) {
			t.Errorf("step %d: ordered(%v, %v, %#x) = %v, %v; want %v", i, s.source, s.server, s.status, got, ok, s.want)
		}
	}
}

// TestHistoryPolicyFromSite: the site file's history: rules reach the historian, a percentage
// deviation scaled by each signal's engineering range.
func TestHistoryPolicyFromSite(t *testing.T) {
	s, err := site.Parse("site.yaml", []byte(`site: Policy
connections:
  - name: sim
    endpoint: embedded
    security: {policy: None, mode: None}
    equipment: {namespace: urn:minebrain:sim, root: Mine}
history:
  retainFor: 2y
  compression:
    - tags: "Crushing.CR1.PowerKW"
      kind: swingingDoor
      deviationPct: 1
      maxInterval: 10m
    - tags: "Water.*"
      kind: deadband
      deviation: 0.05
`))
	if err != nil {
		t.Fatal(err)
	}
	e := startEngine(t, Config{Site: s, HistoryPath: filepath.Join(t.TempDir(), "h.db")})
	power := findSignal(e.Model(), "Crushing.CR1.PowerKW")
	if power == nil || power.Low == nil || power.High == nil {
		t.Fatalf("no range for the crusher's power: %+v", power)
	}
	want := map[string]historian.Compression{
		"Crushing.CR1.PowerKW": {Kind: historian.SwingingDoor, DeviationPct: 1, Span: *power.High - *power.Low, MaxInterval: 10 * time.Minute},
	}
	waitFor(t, 10*time.Second, "the compression settings in the historian", func() bool {
		got := map[string]historian.Compression{}
		water := 0
		for _, ti := range e.rec.store.Tags() {
			got[ti.Name] = ti.Compression
			if strings.HasPrefix(ti.Name, "Water.") && ti.Compression == (historian.Compression{Kind: historian.Deadband, Deviation: 0.05}) {
				water++
			}
		}
		return got["Crushing.CR1.PowerKW"] == want["Crushing.CR1.PowerKW"] && water > 10 &&
			got["Pit.SH01.HoistCurrentA"] == (historian.Compression{})
	})
}
