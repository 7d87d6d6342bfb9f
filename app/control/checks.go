package control

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"minebrain/app/audit"
	"minebrain/app/tags"
	"minebrain/app/users"
)

// plan is a checked command: what is written where, and how it is shown and audited.
type plan struct {
	unit    string
	cmd     Command
	tag     string // the tag written: Unit.RunCmd or the setpoint
	target  string // the audit target: the unit for start/stop, the setpoint's tag
	value   any    // what is written: bool for RunCmd, float64 for a setpoint
	eu      string
	current string // as shown: "stopped", "62.5 %", "unknown (bad quality)"
	new     string
}

const viewersMsg = "viewers cannot command equipment"

// check validates an actor's identity (not its role): who and face must be recorded.
func (a Actor) check() error {
	if a.Name == "" || !a.Role.Valid() {
		return refuse(ErrRole, "not logged in: log in to command equipment")
	}
	switch a.Face {
	case audit.FaceDesktop, audit.FaceWeb, audit.FacePlugin, audit.FaceCLI:
		return nil
	}
	return refuse(ErrRole, "commands from %q are not accepted (desktop, web, plugin or cli)", a.Face)
}

// check runs every check of r for a, in order: command, role, target, limits, mode, state,
// rate, interlocks. A preview (the command panel) skips what needs the value (limits of
// the value, rate). The plan is filled as far as the checks got, for the audit entry.
func (c *Controller) check(a Actor, r Request, preview bool) (plan, error) {
	p := c.plan(r)
	switch r.Command {
	case Start, Stop, SetValue:
	default:
		return p, refuse(ErrUnknown, "unknown command %q for %s: start, stop or setpoint", clip(string(r.Command)), clip(r.Unit))
	}
	if !a.Role.Allows(users.Operator) {
		return p, refuse(ErrRole, viewersMsg)
	}
	if len(c.eq.Signals(r.Unit)) == 0 {
		return p, refuse(ErrUnknown, "unknown unit %q: there is no such unit (Area.Unit) in the connected equipment", clip(r.Unit))
	}
	var runState float64
	var runWhy string
	if r.Command == SetValue {
		if err := c.checkSetpoint(a, r, &p, preview); err != nil {
			return p, err
		}
	} else {
		if _, ok := c.eq.Signal(p.tag); !ok {
			return p, refuse(ErrTarget, "%s has no RunCmd: it cannot be started or stopped from Minebrain", r.Unit)
		}
		if r.Tag != "" && r.Tag != p.tag {
			return p, refuse(ErrTarget, "%s of %s writes %s, not %s", r.Command, r.Unit, p.tag, clip(r.Tag))
		}
		runState, runWhy = c.number(r.Unit + ".RunState")
		p.current = runStateName(runState, runWhy)
	}
	if err := c.checkMode(r.Unit); err != nil {
		return p, err
	}
	if r.Command != SetValue {
		switch {
		case runWhy != "":
			return p, refuse(ErrQuality, "%s's run state cannot be read (%s.RunState: %s): commands are refused until it reads again", r.Unit, r.Unit, runWhy)
		case r.Command == Start && runState == 1:
			return p, refuse(ErrState, "%s is already running", r.Unit)
		case r.Command == Start && runState == 2:
			return p, refuse(ErrState, "%s is faulted: reset the fault at the machine before starting it", r.Unit)
		case r.Command == Stop && runState == 0:
			return p, refuse(ErrState, "%s is already stopped", r.Unit)
		}
	} else if !preview {
		if err := c.checkRate(r, &p); err != nil {
			return p, err
		}
	}
	return p, c.checkInterlocks(r.Unit, r.Command)
}

// plan describes r — what it writes, how it is shown (current and new value with the EU) —
// before any check, so that even an early refusal is audited with them.
func (c *Controller) plan(r Request) plan {
	p := plan{unit: r.Unit, cmd: r.Command, target: clip(r.Unit)}
	switch r.Command {
	case Start, Stop:
		p.tag = r.Unit + ".RunCmd"
		p.value = r.Command == Start
		p.new = map[bool]string{true: "running", false: "stopped"}[r.Command == Start]
		if _, ok := c.eq.Signal(r.Unit + ".RunState"); ok {
			p.current = runStateName(c.number(r.Unit + ".RunState"))
		}
	case SetValue:
		p.tag, p.value = r.Tag, r.Value
		if r.Tag != "" {
			p.target = clip(r.Tag)
		}
		p.new = exact(r.Value)
		if sig, ok := c.eq.Signal(r.Tag); ok {
			p.eu = sig.EU
			p.new = withEU(p.new, sig.EU)
			cur, why := c.number(r.Tag)
			p.current = c.shown(cur, why, sig.EU)
		}
	}
	return p
}

// checkSetpoint checks the target, role and limits of a setpoint write.
func (c *Controller) checkSetpoint(a Actor, r Request, p *plan, preview bool) error {
	if r.Tag == "" {
		return refuse(ErrTarget, "no setpoint given: name one of %s's setpoints (a signal ending in SP)", r.Unit)
	}
	unit, signal, ok := splitTag(r.Tag)
	if !ok || unit != r.Unit {
		return refuse(ErrTarget, "%s is not a signal of %s: only %s's own setpoints can be set here", clip(r.Tag), r.Unit, r.Unit)
	}
	if !strings.HasSuffix(signal, "SP") {
		return refuse(ErrTarget, "%s is not a setpoint: only signals ending in SP can be set (start and stop write RunCmd)", r.Tag)
	}
	sig, ok := c.eq.Signal(r.Tag)
	if !ok {
		return refuse(ErrUnknown, "%s has no signal %s", r.Unit, signal)
	}
	sp := c.setpoint(r.Tag)
	if !a.Role.Allows(sp.Role) {
		return refuse(ErrRole, "%s may be changed only by %s or above; %s is %s", r.Tag, article(sp.Role), a.Name, article(a.Role))
	}
	lo, hi, loSrc, hiSrc, err := limits(r.Tag, sig, sp)
	if err != nil {
		return err
	}
	if preview {
		return nil
	}
	v := r.Value
	fix := fmt.Sprintf("enter a value from %s to %s", exact(lo), withEU(exact(hi), sig.EU))
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return refuse(ErrLimit, "%s: %s is not a valid value: %s", r.Tag, exact(v), fix)
	case v < lo:
		return refuse(ErrLimit, "%s: %s is below the minimum %s (%s): %s", r.Tag, withEU(exact(v), sig.EU), withEU(exact(lo), sig.EU), loSrc, fix)
	case v > hi:
		return refuse(ErrLimit, "%s: %s is above the maximum %s (%s): %s", r.Tag, withEU(exact(v), sig.EU), withEU(exact(hi), sig.EU), hiSrc, fix)
	}
	return nil
}

// setpoint is the site's entry for tag, or the default: operator, EURange, no rate limit.
func (c *Controller) setpoint(tag string) Setpoint {
	if sp, ok := c.setpoints[tag]; ok {
		return sp
	}
	return Setpoint{Tag: tag, Role: users.Operator}
}

// limits are the bounds of a setpoint: the narrower of the site's Min/Max and the EURange.
func limits(tag string, sig SignalInfo, sp Setpoint) (lo, hi float64, loSrc, hiSrc string, err error) {
	lo, hi = math.Inf(-1), math.Inf(1)
	hasRange := sig.HasRange && finite(sig.Low) && finite(sig.High) && sig.Low <= sig.High
	if hasRange {
		lo, hi, loSrc, hiSrc = sig.Low, sig.High, "EURange", "EURange"
	}
	if sp.Min != nil && *sp.Min > lo {
		lo, loSrc = *sp.Min, "site limit"
	}
	if sp.Max != nil && *sp.Max < hi {
		hi, hiSrc = *sp.Max, "site limit"
	}
	switch {
	case !finite(lo) || !finite(hi):
		return 0, 0, "", "", refuse(ErrLimit, "%s has no EURange and no site limits, so no value can be checked: add min and max for it in the site file's control: section", tag)
	case lo > hi:
		return 0, 0, "", "", refuse(ErrLimit, "%s: the site limits %s..%s lie outside its EURange %s..%s: correct min/max in the site file's control: section",
			tag, bound(sp.Min), bound(sp.Max), exact(sig.Low), withEU(exact(sig.High), sig.EU))
	}
	return lo, hi, loSrc, hiSrc, nil
}

// checkMode refuses a unit that does not read remote with good quality.
func (c *Controller) checkMode(unit string) error {
	switch mode, why := c.mode(unit); mode {
	case "remote":
		return nil
	case "local":
		return refuse(ErrMode, "%s is in LOCAL mode: commands are taken at the machine; it must be switched to REMOTE there first", unit)
	default:
		return refuse(ErrMode, "%s's mode cannot be verified (%s.Mode: %s): commands are refused until it reads REMOTE", unit, unit, why)
	}
}

// mode reads a unit's Mode: "remote", "local" or "unknown" with why.
func (c *Controller) mode(unit string) (string, string) {
	v, why := c.number(unit + ".Mode")
	switch {
	case why != "":
		return "unknown", why
	case v == 1:
		return "remote", ""
	case v == 0:
		return "local", ""
	}
	return "unknown", "reads " + num(v) + ", neither 0 (local) nor 1 (remote)"
}

// checkRate applies the setpoint's MaxRate to the step from its current value.
func (c *Controller) checkRate(r Request, p *plan) error {
	sp := c.setpoint(r.Tag)
	if sp.MaxRate <= 0 {
		return nil
	}
	cur, why := c.number(r.Tag)
	if why != "" {
		return refuse(ErrQuality, "%s cannot be read (%s), so its rate limit cannot be checked: it cannot be changed until it reads again", r.Tag, why)
	}
	now := c.now()
	c.mu.Lock()
	last, had := c.lastWrite[r.Tag]
	c.mu.Unlock()
	span := RateWindow
	if had {
		span = min(max(now.Sub(last), 0), RateWindow)
	}
	allowed := sp.MaxRate * span.Seconds()
	step := math.Abs(r.Value - cur)
	if step <= allowed+1e-9*math.Max(1, allowed) {
		return nil
	}
	msg := fmt.Sprintf("%s: a step of %s (from %s to %s) is faster than its limit of %s/s (%s/min): at most %s is allowed now",
		r.Tag, withEU(num(step), p.eu), num(cur), withEU(exact(r.Value), p.eu), withEU(num(sp.MaxRate), p.eu),
		withEU(num(sp.MaxRate*60), p.eu), withEU(num(allowed), p.eu))
	if need := time.Duration(step / sp.MaxRate * float64(time.Second)); need > RateWindow {
		msg += fmt.Sprintf("; one step may move it by at most %s: make smaller steps", withEU(num(sp.MaxRate*RateWindow.Seconds()), p.eu))
	} else {
		msg += fmt.Sprintf("; wait %s or make a smaller step", time.Duration(math.Ceil((need-span).Seconds()))*time.Second)
	}
	return refuse(ErrRate, "%s", msg)
}

// checkInterlocks refuses a command while any of its interlocks does not hold.
func (c *Controller) checkInterlocks(unit string, cmd Command) error {
	var failed []string
	for _, il := range c.interlocks[ilKey(unit, cmd)] {
		if il.Require.Eval(func(tag string) (float64, bool) {
			v, why := c.number(tag)
			return v, why == ""
		}) {
			continue
		}
		var now []string
		seen := map[string]bool{}
		for _, tag := range il.Require.Tags() {
			if seen[tag] {
				continue
			}
			seen[tag] = true
			if v, why := c.number(tag); why != "" {
				now = append(now, fmt.Sprintf("%s could not be read (%s)", tag, why))
			} else {
				now = append(now, tag+" = "+num(v))
			}
		}
		failed = append(failed, fmt.Sprintf("%s (requires %s; now %s)", il.Message, il.Require, strings.Join(now, ", ")))
	}
	if len(failed) == 0 {
		return nil
	}
	what := string(cmd) + " of " + unit
	if cmd == SetValue {
		what = "changing a setpoint of " + unit
	}
	return refuse(ErrInterlock, "%s is interlocked: %s", what, strings.Join(failed, "; "))
}

// number reads a tag as a number; why is "" when it is a good, fresh, finite number, else
// why it cannot be used ("no value", "bad quality", "stale", "not a number").
func (c *Controller) number(tag string) (float64, string) {
	rd, ok := c.eq.Value(tag)
	if !ok {
		return 0, "no value"
	}
	if q := tags.QualityOf(rd.Status); q != tags.Good {
		return 0, q.String() + " quality"
	}
	if rd.Stale {
		return 0, "stale"
	}
	v, ok := tags.Number(rd.Value)
	if !ok || !finite(v) {
		return 0, "not a number"
	}
	return v, ""
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func runStateName(v float64, why string) string {
	if why != "" {
		return "unknown (" + why + ")"
	}
	switch v {
	case 0:
		return "stopped"
	case 1:
		return "running"
	case 2:
		return "faulted"
	}
	return "RunState " + num(v)
}

// shown is a reading as the operator sees it.
func (c *Controller) shown(v float64, why, eu string) string {
	if why != "" {
		return "unknown (" + why + ")"
	}
	return withEU(num(v), eu)
}

// exact formats a value given by a user or the configuration, all digits.
func exact(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// num formats a measured value to 7 significant digits.
func num(v float64) string { return strconv.FormatFloat(v, 'g', 7, 64) }

func bound(p *float64) string {
	if p == nil {
		return "-"
	}
	return exact(*p)
}

func withEU(s, eu string) string {
	if eu == "" {
		return s
	}
	return s + " " + eu
}

// clip shortens text from a request before it goes into a message or the audit log.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// article is "an operator", "a viewer", …
func article(r users.Role) string {
	if strings.ContainsRune("aeiou", rune(r.String()[0])) {
		return "an " + r.String()
	}
	return "a " + r.String()
}
