package alarms

import (
	"sync"
	"testing"
	"time"
)

// clock is the injected clock: tests move time, never sleep.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// journal is the test sink: a slice of transitions.
type journal struct {
	mu sync.Mutex
	ts []Transition
}

func (j *journal) Record(t Transition) {
	j.mu.Lock()
	j.ts = append(j.ts, t)
	j.mu.Unlock()
}

func (j *journal) all() []Transition {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Transition(nil), j.ts...)
}

func (j *journal) last() (Transition, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.ts) == 0 {
		return Transition{}, false
	}
	return j.ts[len(j.ts)-1], true
}

type rig struct {
	t   *testing.T
	e   *Engine
	clk *clock
	j   *journal
}

func newRig(t *testing.T, defs ...Definition) *rig {
	t.Helper()
	clk, j := newClock(), &journal{}
	e, err := New(defs, Options{Sink: j, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, e: e, clk: clk, j: j}
}

// feed sends one good sample at the clock's time.
func (r *rig) feed(tag string, v float64) { r.feedStatus(tag, v, 0) }

func (r *rig) feedStatus(tag string, v float64, status uint32) {
	r.e.Process([]Sample{{Tag: tag, Value: v, Status: status, Time: r.clk.Now()}})
}

// after advances the clock and ticks.
func (r *rig) after(d time.Duration) {
	r.clk.Advance(d)
	r.e.Tick()
}

func (r *rig) state(id string) State {
	r.t.Helper()
	v, ok := r.e.Get(id)
	if !ok {
		r.t.Fatalf("alarm %s not found", id)
	}
	return v.State
}

func (r *rig) want(id string, s State) {
	r.t.Helper()
	if got := r.state(id); got != s {
		r.t.Fatalf("alarm %s: state %s, want %s", id, got, s)
	}
}

const badStatus = 0x80050000 // BadCommunicationError
