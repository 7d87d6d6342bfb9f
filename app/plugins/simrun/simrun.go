// Package simrun runs a plugin offline against the simulated mine (app/sim) in simulated
// time, as fast as the machine allows: `minebrain plugin test --against sim`, and the tests
// of the example plugins.
//
// The mine is stepped by Options.SimStep; at every multiple of the manifest's tick the
// plugin ticks once (plugins.Runtime with Manual, Runtime.Step) with the simulated clock as
// its now. In SHADOW its writes are recorded and the mine is untouched; in AUTO they are
// applied to the mine through Mine.Write after the runtime's own checks of the manifest's
// limits, and the mine's refusals (local mode, interlock, out of range) are reported. Its
// alarms, audit entries, faults and log lines are collected into the Report.
package simrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"minebrain/app/alarms"
	"minebrain/app/audit"
	"minebrain/app/control"
	"minebrain/app/plugins"
	"minebrain/app/plugins/manifest"
	"minebrain/app/sim"
)

// Options configure a Run; zero fields take the defaults given.
type Options struct {
	Manifest string        // the plugin's plugin.yaml
	Seed     int64         // the simulation's seed (sim.Config.Seed)
	Start    time.Time     // the simulated clock at the start; zero = the simulation's default
	For      time.Duration // simulated time to run; 1 h when zero
	SimStep  time.Duration // the simulation's step; 250 ms (sim.StepInterval) when zero

	// Mode is plugins.Shadow (the default: decisions recorded, the mine untouched) or
	// plugins.Auto (writes applied to the simulated mine).
	Mode plugins.Mode

	// Watch are the key signals summarised in Report.Signals (sampled after every sim step).
	Watch []string

	// Sample, when set, is called after every sim step (before the plugin's tick at that
	// time) with the simulated clock and the mine; it must not keep m.
	Sample func(t time.Time, m *sim.Mine)

	// Setup, when set, is called with the new mine before the plugin is loaded (for
	// scenarios: SetMode to local, a unit stopped, …).
	Setup func(m *sim.Mine)

	CacheDir string       // wazero compilation cache; "" = in memory
	Logger   *slog.Logger // the plugin's log lines and the runtime's; discarded when nil
}

// Decision is one setpoint request of the plugin and what became of it.
type Decision struct {
	Time    time.Time `json:"time"`
	Tag     string    `json:"tag"`
	Value   float64   `json:"value"`
	Outcome string    `json:"outcome"` // "suppressed" (SHADOW), "done", "rejected: …", "refused: …"
}

// SignalStats summarises one watched signal over the run.
type SignalStats struct {
	Tag  string  `json:"tag"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
	Last float64 `json:"last"`
	N    int     `json:"n"` // samples with a number
}

// AlarmEvent is an alarm the plugin (or the runtime, plugin.<id> on a fault) raised or
// cleared.
type AlarmEvent struct {
	Time     time.Time `json:"time"`
	ID       string    `json:"id"`
	Raised   bool      `json:"raised"`
	Priority string    `json:"priority,omitempty"`
	Message  string    `json:"message,omitempty"`
}

// MaxDecisions is how many decisions a Report keeps (the last ones); FirstDecisions how
// many of the first ones it keeps besides.
const (
	MaxDecisions   = 1000
	FirstDecisions = 10
)

// Report is what happened during a Run.
type Report struct {
	ID         string         `json:"id"`
	Mode       plugins.Mode   `json:"mode"`
	Seed       int64          `json:"seed"`
	Start      time.Time      `json:"start"`
	Simulated  time.Duration  `json:"simulated"` // simulated time run
	Real       time.Duration  `json:"real"`      // wall time it took
	Ticks      int            `json:"ticks"`
	Writes     int            `json:"writes"`     // setpoint requests recorded
	Suppressed int            `json:"suppressed"` // of them, recorded in SHADOW
	Done       int            `json:"done"`       // of them, applied to the mine (AUTO)
	Refused    int            `json:"refused"`    // of them, refused or rejected
	Faults     []string       `json:"faults"`     // "15:04:05: reason", in order
	First      []Decision     `json:"first"`      // the first FirstDecisions
	Decisions  []Decision     `json:"decisions"`  // the last MaxDecisions
	Signals    []SignalStats  `json:"signals"`
	Alarms     []AlarmEvent   `json:"alarms"`
	Audit      []audit.Entry  `json:"audit"`
	Logs       int            `json:"logs"`       // the plugin's log lines
	LogDropped uint64         `json:"logDropped"` // dropped by the runtime's rate limit (real time)
	Final      plugins.Status `json:"final"`      // the plugin's status at the end
}

// Run loads the plugin of o.Manifest over a new simulated mine and runs it for o.For of
// simulated time. The error is for a plugin that cannot be loaded, bad options or ctx being
// done (the Report then holds what was run so far); faults of the plugin are in the Report.
func Run(ctx context.Context, o Options) (Report, error) {
	if o.For <= 0 {
		o.For = time.Hour
	}
	if o.SimStep <= 0 {
		o.SimStep = sim.StepInterval
	}
	if o.SimStep%sim.StepInterval != 0 {
		return Report{}, fmt.Errorf("simrun: SimStep %v is not a multiple of the simulation's %v", o.SimStep, sim.StepInterval)
	}
	switch o.Mode {
	case "":
		o.Mode = plugins.Shadow
	case plugins.Shadow, plugins.Auto:
	default:
		return Report{}, fmt.Errorf("simrun: mode %q: use shadow or auto", o.Mode)
	}
	man, err := manifest.Load(o.Manifest)
	if err != nil {
		return Report{}, err
	}
	mine := sim.NewMine(sim.Config{Seed: o.Seed, Start: o.Start})
	if o.Setup != nil {
		o.Setup(mine)
	}
	h := newHost(mine)
	for _, tag := range o.Watch {
		if _, ok := h.info[tag]; !ok {
			return Report{}, fmt.Errorf("simrun: watch %s: the simulated mine has no such tag", tag)
		}
	}
	inner := slog.Handler(slog.NewTextHandler(io.Discard, nil))
	if o.Logger != nil {
		inner = o.Logger.Handler()
	}
	counter := &countingHandler{inner: inner, n: new(countN)}
	rt, err := plugins.New(plugins.Options{Host: h, CacheDir: o.CacheDir, Logger: slog.New(counter),
		Manual: true, Now: h.clock})
	if err != nil {
		return Report{}, err
	}
	defer rt.Close()
	t0 := h.clock()
	rep := Report{ID: man.ID, Mode: o.Mode, Seed: o.Seed, Start: t0}
	if _, err := rt.Load(man.File); err != nil {
		return rep, err
	}
	if o.Mode != plugins.Shadow {
		if err := rt.SetMode(man.ID, o.Mode, "simrun"); err != nil {
			return rep, err
		}
	}

	stats := make([]SignalStats, len(o.Watch))
	sums := make([]float64, len(o.Watch))
	for i, tag := range o.Watch {
		stats[i] = SignalStats{Tag: tag, Min: math.Inf(1), Max: math.Inf(-1), Last: math.NaN()}
	}
	ring := make([]Decision, 0, MaxDecisions)
	head := 0
	addDecision := func(d Decision) {
		if len(rep.First) < FirstDecisions {
			rep.First = append(rep.First, d)
		}
		if len(ring) < MaxDecisions {
			ring = append(ring, d)
			return
		}
		ring[head] = d
		head = (head + 1) % MaxDecisions
	}

	wallStart := time.Now()
	tick := man.Tick
	nextTick := t0.Add(tick)
	var runErr error
	for elapsed := time.Duration(0); elapsed < o.For; {
		if err := ctx.Err(); err != nil {
			runErr = err
			break
		}
		dt := min(o.SimStep, o.For-elapsed)
		dt = max(dt/sim.StepInterval*sim.StepInterval, sim.StepInterval)
		h.mu.Lock()
		mine.Step(dt)
		now := mine.Clock()
		h.now = now
		for i, tag := range o.Watch {
			v, ok := number(mine, tag)
			if !ok {
				continue
			}
			s := &stats[i]
			s.Min, s.Max, s.Last = math.Min(s.Min, v), math.Max(s.Max, v), v
			sums[i] += v
			s.N++
		}
		if o.Sample != nil {
			o.Sample(now, mine)
		}
		h.mu.Unlock()
		elapsed += dt
		if now.Before(nextTick) {
			continue
		}
		for !nextTick.After(now) {
			nextTick = nextTick.Add(tick)
		}
		if err := rt.Step(man.ID, now); err != nil {
			runErr = err
			break
		}
		st, _ := rt.Get(man.ID)
		for _, w := range st.RecentWrites {
			if !w.Time.Equal(now) {
				continue
			}
			rep.Writes++
			switch {
			case w.Outcome == "suppressed":
				rep.Suppressed++
			case w.Outcome == string(control.Done):
				rep.Done++
			case w.Outcome != "pending":
				rep.Refused++
			}
			addDecision(Decision{Time: w.Time, Tag: w.Tag, Value: w.Value, Outcome: w.Outcome})
		}
	}
	rep.Real = time.Since(wallStart)
	rep.Simulated = mine.Clock().Sub(t0)

	rep.Decisions = append(append([]Decision(nil), ring[head:]...), ring[:head]...)
	for i := range stats {
		if stats[i].N > 0 {
			stats[i].Mean = sums[i] / float64(stats[i].N)
		} else {
			stats[i].Min, stats[i].Max, stats[i].Mean = math.NaN(), math.NaN(), math.NaN()
		}
	}
	rep.Signals = stats
	st, _ := rt.Get(man.ID)
	rep.Final = st
	rep.Ticks = int(st.Ticks)
	rep.LogDropped = st.LogDropped
	rep.Logs = int(counter.n.get())
	h.mu.Lock()
	rep.Alarms = h.alarms
	rep.Audit = h.audits
	h.mu.Unlock()
	for _, e := range rep.Audit {
		if e.Action == "plugin.fault" {
			rep.Faults = append(rep.Faults, e.Time.Format("15:04:05")+": "+strings.TrimPrefix(e.Result, "faulted: "))
		}
	}
	return rep, runErr
}

// number reads a tag of the mine as a number (booleans 0/1); false for strings and unknown
// tags.
func number(m *sim.Mine, tag string) (float64, bool) {
	v, ok := m.Value(tag)
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case float64:
		return x, true
	case int32:
		return float64(x), true
	case uint32:
		return float64(x), true
	case int:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// host is plugins.Host over the simulated mine.
type host struct {
	mu     sync.Mutex
	mine   *sim.Mine
	now    time.Time
	tags   []string
	info   map[string]sim.SignalInfo
	alarms []AlarmEvent
	active map[string]string
	audits []audit.Entry
}

func newHost(m *sim.Mine) *host {
	h := &host{mine: m, now: m.Clock(), info: map[string]sim.SignalInfo{}, active: map[string]string{}}
	for _, s := range m.Signals() {
		h.tags = append(h.tags, s.Tag)
		h.info[s.Tag] = s
	}
	return h
}

func (h *host) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *host) Tags() []string { return append([]string(nil), h.tags...) }

// Value: a number of the mine, good and fresh, stamped with the simulated time; a string
// signal is Missing (it has no number).
func (h *host) Value(tag string) (plugins.Value, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.info[tag]; !ok {
		return plugins.Value{}, false
	}
	v, ok := number(h.mine, tag)
	if !ok {
		return plugins.Value{V: math.NaN(), Missing: true}, true
	}
	return plugins.Value{V: v, Time: h.now}, true
}

// Write applies an AUTO write to the mine, converted to the signal's type.
func (h *host) Write(_ context.Context, _, tag string, v float64) control.Result {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.info[tag]
	if !ok {
		return control.Result{Outcome: control.Refused, Message: "the simulated mine has no tag " + tag}
	}
	var x any
	switch s.DataType {
	case sim.Double:
		x = v
	case sim.Int32:
		x = int32(math.Round(v))
	case sim.UInt32:
		x = uint32(math.Round(math.Max(0, v)))
	case sim.Boolean:
		x = v != 0
	default:
		return control.Result{Outcome: control.Refused, Message: tag + " is not a number"}
	}
	if err := h.mine.Write(tag, x); err != nil {
		msg := strings.TrimPrefix(err.Error(), "sim: write "+tag+": ")
		if errors.Is(err, sim.ErrUnknownTag) || errors.Is(err, sim.ErrNotWritable) || errors.Is(err, sim.ErrTypeMismatch) {
			return control.Result{Outcome: control.Refused, Message: msg}
		}
		return control.Result{Outcome: control.Rejected, Message: msg}
	}
	return control.Result{Outcome: control.Done}
}

func (h *host) RaiseAlarm(id string, p alarms.Priority, msg string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m, ok := h.active[id]; ok && m == msg {
		return nil
	}
	h.active[id] = msg
	h.alarms = append(h.alarms, AlarmEvent{Time: h.now, ID: id, Raised: true, Priority: p.String(), Message: msg})
	return nil
}

func (h *host) ClearAlarm(id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.active[id]; !ok {
		return nil
	}
	delete(h.active, id)
	h.alarms = append(h.alarms, AlarmEvent{Time: h.now, ID: id})
	return nil
}

func (h *host) Audit(e audit.Entry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e.Time.IsZero() {
		e.Time = h.now
	}
	h.audits = append(h.audits, e)
}

// countingHandler counts the plugin's own log lines (records whose only attribute is
// plugin=<id>) and passes every record on.
type countingHandler struct {
	inner slog.Handler
	n     *countN
}

type countN struct {
	mu sync.Mutex
	n  int64
}

func (c *countN) add() { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *countN) get() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *countingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (c *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.NumAttrs() == 1 {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "plugin" {
				c.n.add()
			}
			return false
		})
	}
	if c.inner.Enabled(ctx, r.Level) {
		return c.inner.Handle(ctx, r)
	}
	return nil
}

func (c *countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &countingHandler{inner: c.inner.WithAttrs(as), n: c.n}
}

func (c *countingHandler) WithGroup(name string) slog.Handler {
	return &countingHandler{inner: c.inner.WithGroup(name), n: c.n}
}

// Reads is the simulated mine's tags the manifest's reads grant (sorted), for a default
// Watch list.
func Reads(man *manifest.Manifest) []string {
	var tags []string
	for _, s := range sim.NewMine(sim.Config{Seed: 1}).Signals() {
		tags = append(tags, s.Tag)
	}
	return man.Readable(tags)
}
