package alarms

import (
	"cmp"
	"slices"
	"time"
)

// View is a snapshot of one alarm for lists and the UI.
type View struct {
	ID, Tag, Area, Unit string
	Priority            Priority
	Kind                Kind
	State               State
	Message             string
	Active              bool // the process condition, also while hidden
	Value               float64
	Limit               float64   // the definition's limit (reference value, rate)
	Since               time.Time // last raise
	ShelvedBy           string
	ShelveReason        string
	ShelvedUntil        time.Time // zero for one-shot
	OneShot             bool
	OutOfServiceBy      string
	OutOfServiceReason  string
}

func (a *alarm) view() View {
	d := a.def
	v := View{ID: d.ID, Tag: d.Tag, Area: d.Area, Unit: d.Unit, Priority: d.Priority,
		Kind: d.Kind, State: a.state, Message: d.Message, Active: a.active, Value: a.value,
		Limit: d.Limit, Since: a.since}
	if a.shelved {
		v.ShelvedBy, v.ShelveReason, v.ShelvedUntil, v.OneShot =
			a.shelvedBy, a.shelveReason, a.shelvedUntil, a.oneShot
	}
	if a.outOfService {
		v.OutOfServiceBy, v.OutOfServiceReason = a.oosBy, a.oosReason
	}
	return v
}

// Get returns one alarm's snapshot.
func (e *Engine) Get(id string) (View, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	i, ok := e.byID[id]
	if !ok {
		return View{}, false
	}
	return e.alarms[i].view(), true
}

// Active lists the alarms the operator must see (unacknowledged, acknowledged,
// returned-to-normal unacknowledged, latched): most urgent priority first, newest first
// within a priority.
func (e *Engine) Active() []View {
	e.mu.Lock()
	var out []View
	for i := range e.alarms {
		if e.alarms[i].state.listed() {
			out = append(out, e.alarms[i].view())
		}
	}
	e.mu.Unlock()
	slices.SortFunc(out, func(a, b View) int {
		if c := cmp.Compare(a.Priority, b.Priority); c != 0 {
			return c
		}
		if c := b.Since.Compare(a.Since); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// Hidden lists shelved, suppressed and out-of-service alarms, for the review screens
// ISA-18.2 asks for (nothing may disappear without a trace).
func (e *Engine) Hidden() []View {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []View
	for i := range e.alarms {
		if e.alarms[i].state.hidden() {
			out = append(out, e.alarms[i].view())
		}
	}
	return out
}

// Counts is the banner's summary of one area (or all).
type Counts struct {
	ByPriority   [numPriorities]int // listed alarms per priority
	Unacked      int                // unacknowledged and RTN unacknowledged
	Shelved      int
	Suppressed   int
	OutOfService int
}

// Counts sums the alarms of area, or of every area when area is "".
func (e *Engine) Counts(area string) Counts {
	e.mu.Lock()
	defer e.mu.Unlock()
	var c Counts
	for i := range e.alarms {
		a := &e.alarms[i]
		if area == "" || a.def.Area == area {
			c.add(a)
		}
	}
	return c
}

// CountsByArea returns Counts for every area that has alarms.
func (e *Engine) CountsByArea() map[string]Counts {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]Counts{}
	for i := range e.alarms {
		a := &e.alarms[i]
		c := out[a.def.Area]
		c.add(a)
		out[a.def.Area] = c
	}
	return out
}

func (c *Counts) add(a *alarm) {
	switch a.state {
	case Shelved:
		c.Shelved++
	case Suppressed:
		c.Suppressed++
	case OutOfService:
		c.OutOfService++
	case Unacknowledged, RTNUnacknowledged:
		c.Unacked++
		c.ByPriority[a.def.Priority]++
	case Acknowledged, Latched:
		c.ByPriority[a.def.Priority]++
	}
}
