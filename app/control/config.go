package control

import (
	"fmt"
	"strings"
	"time"

	"minebrain/app/alarms"
	"minebrain/app/users"
)

// Config is the site file's control: section: what may be written, within which limits, and
// which interlocks hold commands back. The zero value allows start/stop of every unit with a
// RunCmd and every setpoint within its EURange, by operators, with the default timeouts.
type Config struct {
	// ConfirmTimeout is how long a selected command waits for its confirmation
	// (select-before-operate); default DefaultConfirmTimeout.
	ConfirmTimeout time.Duration
	// ReadBackTimeout is how long the result of a write is awaited in the read-back (the
	// setpoint reads back the new value, the unit reports running or stopped); default
	// DefaultReadBackTimeout.
	ReadBackTimeout time.Duration
	// Setpoints narrow what may be written to individual setpoints; a setpoint not listed
	// may be written by an operator within its EURange, with no rate limit.
	Setpoints []Setpoint
	// Interlocks hold commands back while their condition does not hold.
	Interlocks []Interlock
}

// Defaults of Config.
const (
	DefaultConfirmTimeout  = 30 * time.Second
	DefaultReadBackTimeout = 15 * time.Second
)

// Setpoint is one writable setpoint's engineering limits.
type Setpoint struct {
	Tag string // Area.Unit.Signal, a signal ending in SP
	// Min and Max bound the value; nil leaves the EURange's bound.
	Min, Max *float64
	// MaxRate is the largest change per second (0: no limit). A write may move the setpoint by
	// at most MaxRate × the time since its last change, counting at most RateWindow.
	MaxRate float64
	// Role is who may write it: Operator (the default) or Engineer, Admin.
	Role users.Role
}

// RateWindow caps the time MaxRate is multiplied by: however long a setpoint stood still, one
// write moves it by at most MaxRate × RateWindow.
const RateWindow = time.Minute

// Command is what an operator asks of a unit.
type Command string

// The commands of a unit's command panel. Start and Stop write the unit's RunCmd.
const (
	Start    Command = "start"
	Stop     Command = "stop"
	SetValue Command = "setpoint"
)

// ParseCommand reads the site-file spelling of a command an interlock applies to.
func ParseCommand(s string) (Command, error) {
	switch c := Command(strings.ToLower(s)); c {
	case Start, Stop, SetValue:
		return c, nil
	}
	return "", fmt.Errorf("unknown command %q (want start, stop or setpoint)", s)
}

// Interlock permits Command on Unit only while Require holds: "do not start CV2 while
// neither overland conveyor runs" is {Unit: "Crushing.CV2", Command: Start, Require:
// "Haulage.OC1.RunState == 1 or Haulage.OC2.RunState == 1"}.
type Interlock struct {
	Unit    string  // Area.Unit
	Command Command // start, stop or setpoint (any setpoint of the unit)
	Require Expr
	Message string // shown when the interlock refuses, e.g. "CV2 discharges onto OC1 or OC2"
}

// Expr is a condition of interlocks: terms "TAG OP NUMBER" joined by "and" and "or", "and"
// binding tighter; no parentheses, so that a reviewer reads it at a glance. It is stored as
// alternatives (or) of conjunctions (and).
type Expr struct {
	Any [][]alarms.Condition
}

// ParseExpr reads an interlock condition, e.g.
// "Haulage.OC1.RunState == 1 or Haulage.OC2.RunState == 1".
func ParseExpr(s string) (Expr, error) {
	var e Expr
	if strings.TrimSpace(s) == "" {
		return e, fmt.Errorf("empty condition: want \"TAG OP NUMBER\" terms joined by and/or, e.g. \"Haulage.OC1.RunState == 1\"")
	}
	for _, alt := range Terms(s) {
		var all []alarms.Condition
		for _, term := range alt {
			c, err := alarms.ParseCondition(term)
			if err != nil {
				return Expr{}, err
			}
			all = append(all, c)
		}
		e.Any = append(e.Any, all)
	}
	return e, nil
}

// Terms splits a condition into its alternatives ("or") of terms ("and"), unparsed, for
// callers that report a bad term by itself (the site file).
func Terms(s string) [][]string {
	var out [][]string
	for _, alt := range splitWord(s, "or") {
		out = append(out, splitWord(alt, "and"))
	}
	return out
}

// splitWord splits s at the whole word w (any case), surrounded by spaces.
func splitWord(s, w string) []string {
	f := strings.Fields(s)
	var out []string
	start := 0
	for i, x := range f {
		if strings.EqualFold(x, w) {
			out = append(out, strings.Join(f[start:i], " "))
			start = i + 1
		}
	}
	return append(out, strings.Join(f[start:], " "))
}

func (e Expr) String() string {
	alts := make([]string, len(e.Any))
	for i, all := range e.Any {
		terms := make([]string, len(all))
		for j, c := range all {
			terms[j] = c.String()
		}
		alts[i] = strings.Join(terms, " and ")
	}
	return strings.Join(alts, " or ")
}

// Tags lists every tag the expression reads.
func (e Expr) Tags() []string {
	var out []string
	for _, all := range e.Any {
		for _, c := range all {
			out = append(out, c.Tag)
		}
	}
	return out
}

// Eval reports whether e holds, reading each term's tag with value. A term whose tag cannot be
// read (value returns false) is false: an interlock that cannot be verified does not hold.
func (e Expr) Eval(value func(tag string) (float64, bool)) bool {
	for _, all := range e.Any {
		ok := len(all) > 0
		for _, c := range all {
			v, read := value(c.Tag)
			if !read || !holds(c.Op, v, c.Value) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// holds applies one comparison of a condition.
func holds(op alarms.Op, v, ref float64) bool {
	switch op {
	case alarms.Eq:
		return v == ref
	case alarms.Ne:
		return v != ref
	case alarms.Lt:
		return v < ref
	case alarms.Gt:
		return v > ref
	}
	return false
}
