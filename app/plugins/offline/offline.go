// Package offline is the bookkeeping shared by the offline plugin runners, simrun (against the
// simulated mine) and histrun (against recorded history): one plugin in a Manual
// plugins.Runtime stepped in simulated or recorded time, its decisions (the first ones and a
// ring of the last ones), the watched signals' statistics, the alarms and audit entries its
// host collects, its log lines counted, and an optional pace in real time.
//
// A runner builds its plugins.Host with an embedded *Collector (alarms and audit), Starts a
// Session over it, calls Session.Tick at every tick of the manifest and Session.Finish at the
// end, and adds its own fields beside the Summary.
package offline

import (
	"context"
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
)

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

// MaxDecisions is how many decisions a Summary keeps (the last ones); FirstDecisions how
// many of the first ones it keeps besides.
const (
	MaxDecisions   = 1000
	FirstDecisions = 10
)

// Summary is what happened during an offline run, whatever the plugin ran against.
type Summary struct {
	ID         string         `json:"id"`
	Mode       plugins.Mode   `json:"mode"`
	Start      time.Time      `json:"start"`
	Simulated  time.Duration  `json:"simulated"` // simulated (or recorded) time run
	Real       time.Duration  `json:"real"`      // wall time it took
	Ticks      int            `json:"ticks"`
	Writes     int            `json:"writes"`     // setpoint requests recorded
	Suppressed int            `json:"suppressed"` // of them, recorded in SHADOW
	Done       int            `json:"done"`       // of them, applied (AUTO)
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

// Collector is the part of a runner's plugins.Host that collects alarms and audit entries,
// stamped with the run's clock (SetNow). Embed a *Collector in the Host.
type Collector struct {
	mu     sync.Mutex
	now    time.Time
	alarms []AlarmEvent
	active map[string]string
	audits []audit.Entry
}

// NewCollector returns a Collector whose clock is at now.
func NewCollector(now time.Time) *Collector {
	return &Collector{now: now, active: map[string]string{}}
}

// SetNow moves the clock the alarms and audit entries are stamped with.
func (c *Collector) SetNow(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Now is the Collector's clock (for plugins.Options.Now).
func (c *Collector) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// RaiseAlarm records a raise, or a new message of a raised alarm.
func (c *Collector) RaiseAlarm(id string, p alarms.Priority, msg string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.active[id]; ok && m == msg {
		return nil
	}
	c.active[id] = msg
	c.alarms = append(c.alarms, AlarmEvent{Time: c.now, ID: id, Raised: true, Priority: p.String(), Message: msg})
	return nil
}

// ClearAlarm records the clear of a raised alarm.
func (c *Collector) ClearAlarm(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.active[id]; !ok {
		return nil
	}
	delete(c.active, id)
	c.alarms = append(c.alarms, AlarmEvent{Time: c.now, ID: id})
	return nil
}

// Audit records an audit entry, stamped with the clock when it has no time.
func (c *Collector) Audit(e audit.Entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.Time.IsZero() {
		e.Time = c.now
	}
	c.audits = append(c.audits, e)
}

// Options start a Session.
type Options struct {
	Manifest  *manifest.Manifest
	Host      plugins.Host // its alarms and audit go to Collector
	Collector *Collector   // its clock is the plugin's now before the first Tick
	Mode      plugins.Mode // Shadow or Auto
	Watch     []string     // the signals of Summary.Signals, fed by Session.Sample
	Speed     float64      // > 0: Tick paces the run at Speed × real time
	CacheDir  string       // wazero compilation cache; "" = in memory
	Logger    *slog.Logger // the plugin's log lines and the runtime's; discarded when nil
	Who       string       // who sets the mode in the audit ("simrun")
}

// Session is one plugin loaded in a Manual runtime for an offline run.
type Session struct {
	Manifest *manifest.Manifest
	Runtime  *plugins.Runtime

	col       *Collector
	logs      *countN
	sum       Summary
	ring      []Decision
	head      int
	stats     []SignalStats
	sums      []float64
	speed     float64
	wallStart time.Time
	t0        time.Time
}

// Start loads the plugin in a new Manual runtime and puts it in o.Mode. The error is for a
// plugin that cannot be loaded; Close the Session when it is nil.
func Start(o Options) (*Session, error) {
	inner := slog.Handler(slog.NewTextHandler(io.Discard, nil))
	if o.Logger != nil {
		inner = o.Logger.Handler()
	}
	counter := &countingHandler{inner: inner, n: new(countN)}
	rt, err := plugins.New(plugins.Options{Host: o.Host, CacheDir: o.CacheDir, Logger: slog.New(counter),
		Manual: true, Now: o.Collector.Now})
	if err != nil {
		return nil, err
	}
	s := &Session{Manifest: o.Manifest, Runtime: rt, col: o.Collector, logs: counter.n, speed: o.Speed,
		ring: make([]Decision, 0, MaxDecisions)}
	s.t0 = o.Collector.Now()
	s.sum = Summary{ID: o.Manifest.ID, Mode: o.Mode, Start: s.t0}
	if _, err := rt.Load(o.Manifest.File); err != nil {
		rt.Close()
		return nil, err
	}
	if o.Mode != plugins.Shadow {
		if err := rt.SetMode(o.Manifest.ID, o.Mode, o.Who); err != nil {
			rt.Close()
			return nil, err
		}
	}
	s.stats = make([]SignalStats, len(o.Watch))
	s.sums = make([]float64, len(o.Watch))
	for i, tag := range o.Watch {
		s.stats[i] = SignalStats{Tag: tag, Min: math.Inf(1), Max: math.Inf(-1), Last: math.NaN()}
	}
	s.wallStart = time.Now()
	return s, nil
}

// Close frees the runtime.
func (s *Session) Close() error { return s.Runtime.Close() }

// Sample adds a value of watched signal i (an index of Options.Watch).
func (s *Session) Sample(i int, v float64) {
	st := &s.stats[i]
	st.Min, st.Max, st.Last = math.Min(st.Min, v), math.Max(st.Max, v), v
	s.sums[i] += v
	st.N++
}

// Pace waits, at a Speed, until the wall clock has caught up with the run's time now; it
// returns at once without a Speed. The error is ctx's when it is done first.
func (s *Session) Pace(ctx context.Context, now time.Time) error {
	if s.speed <= 0 {
		return ctx.Err()
	}
	due := s.wallStart.Add(time.Duration(float64(now.Sub(s.t0)) / s.speed))
	d := time.Until(due)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Tick runs one tick of the plugin at now (the Collector's clock must be at now) and
// records its setpoint requests; it returns them. The error is Runtime.Step's.
func (s *Session) Tick(now time.Time) ([]Decision, error) {
	if err := s.Runtime.Step(s.Manifest.ID, now); err != nil {
		return nil, err
	}
	st, _ := s.Runtime.Get(s.Manifest.ID)
	var out []Decision
	for _, w := range st.RecentWrites {
		if !w.Time.Equal(now) {
			continue
		}
		s.sum.Writes++
		switch {
		case w.Outcome == "suppressed":
			s.sum.Suppressed++
		case w.Outcome == string(control.Done):
			s.sum.Done++
		case w.Outcome != "pending":
			s.sum.Refused++
		}
		d := Decision{Time: w.Time, Tag: w.Tag, Value: w.Value, Outcome: w.Outcome}
		out = append(out, d)
		if len(s.sum.First) < FirstDecisions {
			s.sum.First = append(s.sum.First, d)
		}
		if len(s.ring) < MaxDecisions {
			s.ring = append(s.ring, d)
		} else {
			s.ring[s.head] = d
			s.head = (s.head + 1) % MaxDecisions
		}
	}
	return out, nil
}

// Finish is the Summary of the run, which ended at end.
func (s *Session) Finish(end time.Time) Summary {
	r := s.sum
	r.Real = time.Since(s.wallStart)
	r.Simulated = end.Sub(s.t0)
	r.Decisions = append(append([]Decision(nil), s.ring[s.head:]...), s.ring[:s.head]...)
	r.Signals = append([]SignalStats(nil), s.stats...)
	for i := range r.Signals {
		if r.Signals[i].N > 0 {
			r.Signals[i].Mean = s.sums[i] / float64(r.Signals[i].N)
		} else {
			r.Signals[i].Min, r.Signals[i].Max, r.Signals[i].Mean = math.NaN(), math.NaN(), math.NaN()
		}
	}
	st, _ := s.Runtime.Get(s.Manifest.ID)
	r.Final = st
	r.Ticks = int(st.Ticks)
	r.LogDropped = st.LogDropped
	r.Logs = int(s.logs.get())
	s.col.mu.Lock()
	r.Alarms = append([]AlarmEvent(nil), s.col.alarms...)
	r.Audit = append([]audit.Entry(nil), s.col.audits...)
	s.col.mu.Unlock()
	for _, e := range r.Audit {
		if e.Action == "plugin.fault" {
			r.Faults = append(r.Faults, e.Time.Format("15:04:05")+": "+strings.TrimPrefix(e.Result, "faulted: "))
		}
	}
	return r
}

// countingHandler counts the plugin's own log lines (plugins.PluginLine) and passes every
// record on.
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
	if _, ok := plugins.PluginLine(r); ok {
		c.n.add()
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
