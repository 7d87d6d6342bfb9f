package control

import (
	"math"
	"slices"
	"strings"

	"minebrain/app/tags"
)

// Panel is a unit's command panel for one actor: what it may command now, and why not.
type Panel struct {
	Unit      string          `json:"unit"`
	Mode      string          `json:"mode"`     // remote, local or unknown
	RunState  *int            `json:"runState"` // 0 stopped, 1 running, 2 faulted; null when unreadable
	Commands  []CommandState  `json:"commands"` // start and stop, when the unit has a RunCmd
	Setpoints []SetpointState `json:"setpoints"`
}

// CommandState is whether start or stop is allowed now, and why not.
type CommandState struct {
	Command Command `json:"command"`
	Allowed bool    `json:"allowed"`
	Why     string  `json:"why"`
}

// SetpointState is one setpoint of the panel with its limits.
type SetpointState struct {
	Tag           string   `json:"tag"`
	Signal        string   `json:"signal"`
	EU            string   `json:"eu"`
	Value         *float64 `json:"value"`   // null when there is no numeric value
	Quality       string   `json:"quality"` // good, uncertain, bad, stale, no value
	Min           float64  `json:"min"`     // 0 and 0 when no limits are known (then not allowed)
	Max           float64  `json:"max"`
	MaxRatePerMin float64  `json:"maxRatePerMin"` // 0: no rate limit
	Role          string   `json:"role"`          // the least role that may write it
	Allowed       bool     `json:"allowed"`
	Why           string   `json:"why"`
}

// Panel returns unit's command panel for a. Allowed and Why apply the actor's role, the
// unit's mode, its state and the interlocks (a viewer sees everything disabled); the value
// checks (limits, rate) apply when a value is selected.
func (c *Controller) Panel(a Actor, unit string) (Panel, error) {
	if err := a.check(); err != nil {
		return Panel{}, err
	}
	signals := c.eq.Signals(unit)
	if len(signals) == 0 {
		return Panel{}, refuse(ErrUnknown, "unknown unit %q: there is no such unit (Area.Unit) in the connected equipment", clip(unit))
	}
	p := Panel{Unit: unit, Commands: []CommandState{}, Setpoints: []SetpointState{}}
	p.Mode, _ = c.mode(unit)
	if v, why := c.number(unit + ".RunState"); why == "" && v == math.Trunc(v) && math.Abs(v) < 1e9 {
		rs := int(v)
		p.RunState = &rs
	}
	busy := c.isBusy(unit)
	why := func(err error) (bool, string) {
		if err == nil && busy {
			return false, "a command to " + unit + " is in progress"
		}
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	}
	if _, ok := c.eq.Signal(unit + ".RunCmd"); ok {
		for _, cmd := range []Command{Start, Stop} {
			_, err := c.check(a, Request{Unit: unit, Command: cmd}, true)
			cs := CommandState{Command: cmd}
			cs.Allowed, cs.Why = why(err)
			p.Commands = append(p.Commands, cs)
		}
	}
	signals = slices.Clone(signals)
	slices.Sort(signals)
	for _, tag := range signals {
		u, signal, ok := splitTag(tag)
		if !ok || u != unit || !strings.HasSuffix(signal, "SP") {
			continue
		}
		sig, ok := c.eq.Signal(tag)
		if !ok {
			continue
		}
		sp := c.setpoint(tag)
		st := SetpointState{Tag: tag, Signal: signal, EU: sig.EU, Quality: c.quality(tag),
			MaxRatePerMin: sp.MaxRate * 60, Role: sp.Role.String()}
		if rd, ok := c.eq.Value(tag); ok {
			if v, ok := tags.Number(rd.Value); ok && finite(v) {
				st.Value = &v
			}
		}
		if lo, hi, _, _, err := limits(tag, sig, sp); err == nil {
			st.Min, st.Max = lo, hi
		}
		_, err := c.check(a, Request{Unit: unit, Command: SetValue, Tag: tag, Value: math.NaN()}, true)
		st.Allowed, st.Why = why(err)
		p.Setpoints = append(p.Setpoints, st)
	}
	return p, nil
}

// quality is a tag's reading class for the panel.
func (c *Controller) quality(tag string) string {
	rd, ok := c.eq.Value(tag)
	switch {
	case !ok:
		return "no value"
	case tags.QualityOf(rd.Status) != tags.Good:
		return tags.QualityOf(rd.Status).String()
	case rd.Stale:
		return "stale"
	}
	return "good"
}
