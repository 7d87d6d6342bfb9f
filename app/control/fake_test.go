package control

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"minebrain/app/audit"
	"minebrain/app/historian"
	"minebrain/app/users"
)

// fakeEq models units with RunCmd, RunState (0 stopped, 1 running, 2 faulted), Mode (0
// local, 1 remote) and setpoints, like the simulated mine: a RunCmd write moves RunState, a
// setpoint write moves the setpoint, and a unit in local mode refuses writes.
type fakeEq struct {
	mu      sync.Mutex
	units   map[string][]string
	signals map[string]SignalInfo
	values  map[string]Reading
	writes  []fakeWrite

	refuse      error // every write returns it
	noEffect    bool  // writes are accepted but change nothing (read-back times out)
	standby     bool  // RunCmd is taken but RunState does not follow (a standby pump)
	tripOnStart bool  // a start ends in RunState 2
	writeDelay  time.Duration
}

type fakeWrite struct {
	Tag   string
	Value any
}

func newFakeEq() *fakeEq {
	return &fakeEq{units: map[string][]string{}, signals: map[string]SignalInfo{}, values: map[string]Reading{}}
}

// machine adds a unit with RunCmd, RunState and Mode.
func (f *fakeEq) machine(unit string, running, remote bool) {
	f.signal(unit+".RunCmd", SignalInfo{}, running)
	f.signal(unit+".RunState", SignalInfo{}, map[bool]int32{true: 1, false: 0}[running])
	f.signal(unit+".Mode", SignalInfo{}, map[bool]int32{true: 1, false: 0}[remote])
}

// signal adds a signal with its value.
func (f *fakeEq) signal(tag string, info SignalInfo, v any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	unit, _, _ := splitTag(tag)
	f.units[unit] = append(f.units[unit], tag)
	f.signals[tag] = info
	f.values[tag] = Reading{Value: v, Time: time.Now()}
}

func (f *fakeEq) set(tag string, v any) { f.setReading(tag, Reading{Value: v, Time: time.Now()}) }

func (f *fakeEq) setReading(tag string, r Reading) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.values[tag] = r
}

func (f *fakeEq) setRefuse(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refuse = err
}

func (f *fakeEq) written() []fakeWrite {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeWrite(nil), f.writes...)
}

func (f *fakeEq) Value(tag string) (Reading, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.values[tag]
	return r, ok
}

func (f *fakeEq) Signal(tag string) (SignalInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.signals[tag]
	return s, ok
}

func (f *fakeEq) Signals(unit string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.units[unit]...)
}

func (f *fakeEq) Write(ctx context.Context, tag string, v any) error {
	f.mu.Lock()
	delay := f.writeDelay
	f.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.signals[tag]; !ok {
		return errors.New("BadNodeIdUnknown: no such node")
	}
	f.writes = append(f.writes, fakeWrite{tag, v})
	if f.refuse != nil {
		return f.refuse
	}
	unit, signal, _ := splitTag(tag)
	if m, ok := f.values[unit+".Mode"]; ok && m.Value == int32(0) {
		return errors.New("BadInvalidState: unit is in local mode")
	}
	if f.noEffect {
		return nil
	}
	now := time.Now()
	if signal == "RunCmd" {
		on := v.(bool)
		f.values[tag] = Reading{Value: on, Time: now}
		if f.standby {
			return nil
		}
		rs := int32(0)
		if on {
			rs = 1
			if f.tripOnStart {
				rs = 2
			}
		}
		f.values[unit+".RunState"] = Reading{Value: rs, Time: now}
		return nil
	}
	f.values[tag] = Reading{Value: v.(float64), Time: now}
	return nil
}

// clock is the injected Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// failingLog is the real audit log, made to fail on demand.
type failingLog struct {
	*audit.Log
	fail atomic.Bool
}

func (l *failingLog) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	if l.fail.Load() {
		return audit.Entry{}, errors.New("disk I/O error")
	}
	return l.Log.Append(ctx, e)
}

type env struct {
	t   *testing.T
	eq  *fakeEq
	log *failingLog
	clk *clock
	c   *Controller
}

var (
	ana   = Actor{Name: "ana", Role: users.Operator, Face: audit.FaceDesktop}
	eve   = Actor{Name: "eve", Role: users.Engineer, Face: audit.FaceWeb}
	vic   = Actor{Name: "vic", Role: users.Viewer, Face: audit.FaceWeb}
	robot = Actor{Name: "optimizer", Role: users.Operator, Face: audit.FacePlugin}
)

func f64(v float64) *float64 { return &v }

// testConfig is the site of the tests.
func testConfig() Config {
	return Config{
		ReadBackTimeout: 300 * time.Millisecond,
		Setpoints: []Setpoint{
			{Tag: "Pit.DR01.PullDownSP", Min: f64(20), Max: f64(150), MaxRate: 0.5},
			{Tag: "Pit.DR01.RotarySP", Role: users.Engineer},
			{Tag: "Pit.DR01.FeedSP", Max: f64(500)}, // wider than its EURange 0..200
		},
		Interlocks: []Interlock{{
			Unit: "Crushing.CV2", Command: Start,
			Require: mustExpr("Haulage.OC1.RunState == 1 or Haulage.OC2.RunState == 1"),
			Message: "CV2 discharges onto OC1 or OC2",
		}},
	}
}

func mustExpr(s string) Expr {
	e, err := ParseExpr(s)
	if err != nil {
		panic(err)
	}
	return e
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	ctx := context.Background()
	s, err := historian.Open(ctx, filepath.Join(t.TempDir(), "history.db"), historian.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	l, err := audit.New(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	eq := newFakeEq()
	eq.machine("Pit.DR01", false, true)
	eq.signal("Pit.DR01.PullDownSP", SignalInfo{EU: "kN", Low: 0, High: 200, HasRange: true}, 80.0)
	eq.signal("Pit.DR01.RotarySP", SignalInfo{EU: "rpm", Low: 0, High: 120, HasRange: true}, 60.0)
	eq.signal("Pit.DR01.FeedSP", SignalInfo{EU: "%", Low: 0, High: 200, HasRange: true}, 50.0)
	eq.signal("Pit.DR01.PowerKW", SignalInfo{EU: "kW", Low: 0, High: 900, HasRange: true}, 410.0)
	eq.machine("Pit.DR02", true, true)
	eq.signal("Pit.DR02.PullDownSP", SignalInfo{EU: "kN", Low: 0, High: 200, HasRange: true}, 80.0)
	eq.machine("Pit.DR05", true, false)
	eq.machine("Crushing.CV2", false, true)
	eq.machine("Haulage.OC1", true, true)
	eq.machine("Haulage.OC2", false, true)
	clk := &clock{t: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)}
	fl := &failingLog{Log: l}
	c, err := New(cfg, eq, fl, Options{Now: clk.now, Poll: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &env{t: t, eq: eq, log: fl, clk: clk, c: c}
}

// entries returns the audit entries after the first skip.
func (e *env) entries(skip int) []audit.Entry {
	e.t.Helper()
	all, err := e.log.List(context.Background(), time.Time{}, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	if skip > len(all) {
		return nil
	}
	return all[skip:]
}

// want is an expected audit entry: the result is a prefix, the rest exact ("" not checked
// for Old and New).
type want struct {
	who, action, target, old, new, result string
}

func (e *env) expect(skip int, ws ...want) {
	e.t.Helper()
	got := e.entries(skip)
	if len(got) != len(ws) {
		for _, g := range got {
			e.t.Logf("entry: %s %s %s %q→%q %q", g.Who, g.Action, g.Target, g.Old, g.New, g.Result)
		}
		e.t.Fatalf("%d audit entries, want %d", len(got), len(ws))
	}
	for i, w := range ws {
		g := got[i]
		if g.Who != w.who || g.Action != w.action || g.Target != w.target || !strings.HasPrefix(g.Result, w.result) ||
			(w.old != "" && g.Old != w.old) || (w.new != "" && g.New != w.new) {
			e.t.Errorf("entry %d = %s/%s %s %s %q→%q %q,\nwant %s %s %s %q→%q %q…", i, g.Who, g.Face, g.Action, g.Target,
				g.Old, g.New, g.Result, w.who, w.action, w.target, w.old, w.new, w.result)
		}
	}
}

func (e *env) noWrites() {
	e.t.Helper()
	if w := e.eq.written(); len(w) != 0 {
		e.t.Errorf("equipment saw writes %v, want none", w)
	}
}
