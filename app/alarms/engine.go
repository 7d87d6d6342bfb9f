// Package alarms is the alarm engine: ISA-18.2 / IEC 62682 alarm states evaluated from
// tag samples, operator actions, system alarms and EEMUA 191 flood detection. It knows
// nothing of OPC UA, the UI or SQLite; callers feed samples and journal transitions.
package alarms

import (
	"fmt"
	"sync"
	"time"
)

// Sample is one value of a tag as the alarm engine needs it.
type Sample struct {
	Tag    string
	Value  float64
	Status uint32 // OPC UA status code; 0 is good
	Time   time.Time
}

// bad mirrors tags.QualityOf: the top two bits 10 or 11 are bad; uncertain values still
// evaluate, because an operator would rather see an alarm on a doubtful value than none.
func bad(status uint32) bool { return status>>30 >= 2 }

// Options configure an Engine.
type Options struct {
	Sink Sink             // receives every transition; nil discards them
	Now  func() time.Time // the clock of Tick and operator actions; nil is time.Now
}

// Engine evaluates alarm definitions. All methods are safe for concurrent use.
type Engine struct {
	mu          sync.Mutex
	sink        Sink
	now         func() time.Time
	alarms      []alarm
	byID        map[string]int
	byTag       map[string]*tagEntry
	suppressors int // how many tags carry a suppression condition
	flood       *floodTracker
}

// tagEntry is everything one tag's sample touches, found with one map lookup.
type tagEntry struct {
	alarms      []int32       // indices into Engine.alarms
	suppressors []*suppressor // suppression conditions on this tag
}

// suppressor is one distinct suppression condition, shared by the alarms naming it.
type suppressor struct {
	cond    Condition
	holds   bool
	targets []int32
}

// New validates the definitions and builds an engine with every alarm Normal and no
// suppression in force (until its condition tag reports, alarms are shown: fail visible).
func New(defs []Definition, opt Options) (*Engine, error) {
	e := &Engine{
		sink:   opt.Sink,
		now:    opt.Now,
		alarms: make([]alarm, 0, len(defs)),
		byID:   make(map[string]int, len(defs)),
		byTag:  make(map[string]*tagEntry, len(defs)),
	}
	if e.sink == nil {
		e.sink = SinkFunc(func(Transition) {})
	}
	if e.now == nil {
		e.now = time.Now
	}
	start := e.now()
	e.flood = newFloodTracker(start)
	conds := map[Condition]*suppressor{}
	for i := range defs {
		d := defs[i] // a copy: later changes to the caller's slice must not leak in
		if err := d.Validate(); err != nil {
			return nil, err
		}
		if _, dup := e.byID[d.ID]; dup {
			return nil, fmt.Errorf("alarm %q: duplicate id", d.ID)
		}
		idx := int32(len(e.alarms))
		a := alarm{def: &d, lastSeen: start}
		if d.Kind == Rate {
			a.rate = &rateRing{}
		}
		e.alarms = append(e.alarms, a)
		e.byID[d.ID] = int(idx)
		e.entry(d.Tag).alarms = append(e.entry(d.Tag).alarms, idx)
		if d.SuppressWhen != nil {
			s := conds[*d.SuppressWhen]
			if s == nil {
				s = &suppressor{cond: *d.SuppressWhen}
				conds[s.cond] = s
				ent := e.entry(s.cond.Tag)
				if len(ent.suppressors) == 0 {
					e.suppressors++
				}
				ent.suppressors = append(ent.suppressors, s)
			}
			s.targets = append(s.targets, idx)
		}
	}
	return e, nil
}

func (e *Engine) entry(tag string) *tagEntry {
	t := e.byTag[tag]
	if t == nil {
		t = &tagEntry{}
		e.byTag[tag] = t
	}
	return t
}

// Process evaluates a batch of samples against every definition on their tags.
// Suppression starts before the batch's alarms are evaluated and ends after them, so that
// a crusher stopping (or starting) in the same batch as its process values moving never
// flashes process alarms.
func (e *Engine) Process(batch []Sample) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.suppressors > 0 {
		e.suppressBatch(batch, true)
	}
	for i := range batch {
		s := &batch[i]
		t := e.byTag[s.Tag]
		if t == nil {
			continue
		}
		for _, idx := range t.alarms {
			e.evaluate(&e.alarms[idx], s)
		}
	}
	if e.suppressors > 0 {
		e.suppressBatch(batch, false)
	}
}

// suppressBatch applies the suppression conditions that start (start true) or end.
func (e *Engine) suppressBatch(batch []Sample, start bool) {
	for i := range batch {
		s := &batch[i]
		t := e.byTag[s.Tag]
		if t == nil || len(t.suppressors) == 0 || bad(s.Status) {
			continue // a bad running flag must neither hide nor release alarms
		}
		for _, sp := range t.suppressors {
			holds := sp.cond.Op.holds(s.Value, sp.cond.Value)
			if holds == sp.holds || holds != start {
				continue
			}
			sp.holds = holds
			cause := CauseUnsuppress
			if holds {
				cause = CauseSuppress
			}
			for _, idx := range sp.targets {
				a := &e.alarms[idx]
				a.releaseAt = time.Time{}
				if !holds && a.def.SuppressRelease > 0 {
					a.releaseAt = s.Time.Add(a.def.SuppressRelease) // Tick releases it
					continue
				}
				a.suppressed = holds
				e.move(a, a.settled(), cause, "", "", s.Time)
			}
		}
	}
}

// evaluate is the hot path: one definition, one sample, no allocation.
func (e *Engine) evaluate(a *alarm, s *Sample) {
	a.lastSeen = s.Time
	isBad := bad(s.Status)
	if a.def.Kind == BadQuality {
		e.condition(a, isBad, s.Time)
		return
	}
	if isBad {
		a.pending = false // hold the state; a delay must run on good data only
		return
	}
	a.value = s.Value
	d := a.def
	var cond bool
	switch d.Kind {
	case HI, HIHI:
		if a.active {
			cond = s.Value >= d.Limit-d.Deadband
		} else {
			cond = s.Value >= d.Limit
		}
	case LO, LOLO:
		if a.active {
			cond = s.Value <= d.Limit+d.Deadband
		} else {
			cond = s.Value <= d.Limit
		}
	case Discrete:
		cond = d.Op.holds(s.Value, d.Limit)
	case Rate:
		r, ok := a.rate.add(s.Time, s.Value, d.Window)
		if !ok {
			return // one sample is no rate yet
		}
		if a.active {
			cond = r > d.Limit-d.Deadband
		} else {
			cond = r > d.Limit
		}
	}
	e.condition(a, cond, s.Time)
}

// condition applies the on/off delays to the raw condition.
func (e *Engine) condition(a *alarm, cond bool, t time.Time) {
	if cond == a.active {
		a.pending = false
		return
	}
	delay := a.def.OffDelay
	if cond {
		delay = a.def.OnDelay
	}
	if delay > 0 {
		if !a.pending {
			a.pending, a.pendingSince = true, t
		}
		if t.Sub(a.pendingSince) < delay {
			return
		}
	}
	a.pending = false
	e.setActive(a, cond, t)
}

// setActive records a change of the process condition and moves the visible state.
func (e *Engine) setActive(a *alarm, active bool, t time.Time) {
	a.active = active
	if !active && a.shelved && a.oneShot {
		a.shelved = false
		e.move(a, a.settled(), CauseOneShotEnded, "", "", t)
		return
	}
	if a.state.hidden() {
		return
	}
	cause := CauseValue
	if a.def.Kind == System {
		cause = CauseSystem
	}
	e.move(a, a.afterActivity(), cause, "", "", t)
}

// move changes the state, journals it, and counts raises for flood detection.
func (e *Engine) move(a *alarm, to State, cause Cause, who, reason string, t time.Time) {
	from := a.state
	if from == to {
		return
	}
	a.state = to
	if to == Unacknowledged {
		a.since = t
		e.flood.raise(a.def.Area, t)
	}
	e.sink.Record(Transition{AlarmID: a.def.ID, From: from, To: to, Cause: cause,
		Who: who, Reason: reason, When: t, Value: a.value})
}

// Tick advances time: on/off delays, timed shelve expiry, stale tags and flood windows.
// Call it about once a second with the injected clock.
func (e *Engine) Tick() {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	for i := range e.alarms {
		a := &e.alarms[i]
		if a.pending {
			delay := a.def.OffDelay
			if !a.active {
				delay = a.def.OnDelay
			}
			if now.Sub(a.pendingSince) >= delay {
				a.pending = false
				e.setActive(a, !a.active, now)
			}
		}
		if a.def.StaleAfter > 0 && !a.active && now.Sub(a.lastSeen) >= a.def.StaleAfter {
			e.condition(a, true, now)
		}
		if !a.releaseAt.IsZero() && !now.Before(a.releaseAt) {
			a.releaseAt, a.suppressed = time.Time{}, false
			e.move(a, a.settled(), CauseUnsuppress, "", "", now)
		}
		if a.shelved && !a.oneShot && !now.Before(a.shelvedUntil) {
			a.shelved = false
			e.move(a, a.settled(), CauseShelveExpired, "", "", now)
		}
	}
	e.flood.expire(now)
}
