// Package simrun runs a plugin offline against the simulated mine (app/sim) in simulated
// time, as fast as the machine allows: `minebrain plugin test --against sim`, and the tests
// of the example plugins.
//
// The mine is stepped by Options.SimStep; at every multiple of the manifest's tick the
// plugin ticks once (plugins.Runtime with Manual, Runtime.Step) with the simulated clock as
// its now. In SHADOW its writes are recorded and the mine is untouched; in AUTO they are
// applied to the mine through Mine.Write after the runtime's own checks of the manifest's
// limits, and the mine's refusals (local mode, interlock, out of range) are reported. Its
// alarms, audit entries, faults and log lines are collected into the Report (the
// bookkeeping is app/plugins/offline's, shared with histrun).
package simrun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"minebrain/app/control"
	"minebrain/app/plugins"
	"minebrain/app/plugins/manifest"
	"minebrain/app/plugins/offline"
	"minebrain/app/sim"
	"minebrain/app/tags"
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

	// Speed, when above 0, paces the run at Speed × real time (60: a simulated minute per
	// second); 0 runs as fast as the machine goes.
	Speed float64

	CacheDir string       // wazero compilation cache; "" = in memory
	Logger   *slog.Logger // the plugin's log lines and the runtime's; discarded when nil
}

// The report's parts, shared with histrun (app/plugins/offline).
type (
	Decision    = offline.Decision
	SignalStats = offline.SignalStats
	AlarmEvent  = offline.AlarmEvent
)

// MaxDecisions is how many decisions a Report keeps (the last ones); FirstDecisions how
// many of the first ones it keeps besides.
const (
	MaxDecisions   = offline.MaxDecisions
	FirstDecisions = offline.FirstDecisions
)

// Report is what happened during a Run: the offline Summary and the simulation's seed.
type Report struct {
	offline.Summary
	Seed int64 `json:"seed"`
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
	if o.Speed < 0 || math.IsNaN(o.Speed) {
		return Report{}, fmt.Errorf("simrun: speed %v: use 0 (as fast as it goes) or above", o.Speed)
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
	t0 := mine.Clock()
	rep := Report{Summary: offline.Summary{ID: man.ID, Mode: o.Mode, Start: t0}, Seed: o.Seed}
	s, err := offline.Start(offline.Options{Manifest: man, Host: h, Collector: h.Collector, Mode: o.Mode,
		Watch: o.Watch, Speed: o.Speed, CacheDir: o.CacheDir, Logger: o.Logger, Who: "simrun"})
	if err != nil {
		return rep, err
	}
	defer s.Close()

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
		if err := s.Pace(ctx, mine.Clock().Add(dt)); err != nil {
			runErr = err
			break
		}
		h.mu.Lock()
		mine.Step(dt)
		now := mine.Clock()
		h.SetNow(now)
		for i, tag := range o.Watch {
			if v, ok := number(mine, tag); ok {
				s.Sample(i, v)
			}
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
		if _, err := s.Tick(now); err != nil {
			runErr = err
			break
		}
	}
	rep.Summary = s.Finish(mine.Clock())
	return rep, runErr
}

// number reads a tag of the mine as a number (booleans 0/1); false for strings and unknown
// tags.
func number(m *sim.Mine, tag string) (float64, bool) {
	v, ok := m.Value(tag)
	if !ok {
		return 0, false
	}
	return tags.Number(v)
}

// host is plugins.Host over the simulated mine; alarms and audit go to its Collector, whose
// clock is the simulated one.
type host struct {
	*offline.Collector
	mu   sync.Mutex // guards mine
	mine *sim.Mine
	tags []string
	info map[string]sim.SignalInfo
}

func newHost(m *sim.Mine) *host {
	h := &host{Collector: offline.NewCollector(m.Clock()), mine: m, info: map[string]sim.SignalInfo{}}
	for _, s := range m.Signals() {
		h.tags = append(h.tags, s.Tag)
		h.info[s.Tag] = s
	}
	return h
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
	return plugins.Value{V: v, Time: h.Now()}, true
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

// Reads is the simulated mine's tags the manifest's reads grant (sorted), for a default
// Watch list.
func Reads(man *manifest.Manifest) []string {
	var tags []string
	for _, s := range sim.NewMine(sim.Config{Seed: 1}).Signals() {
		tags = append(tags, s.Tag)
	}
	return man.Readable(tags)
}
