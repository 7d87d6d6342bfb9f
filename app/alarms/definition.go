package alarms

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Priority orders alarms for the operator; lower values are more urgent so that sorting
// ascending puts critical alarms first.
type Priority uint8

// The four priorities of the alarm philosophy (ISA-18.2 recommends three or four).
const (
	Critical Priority = iota
	High
	Medium
	Low
	numPriorities
)

var priorityNames = [...]string{"critical", "high", "medium", "low"}

func (p Priority) String() string {
	if p < numPriorities {
		return priorityNames[p]
	}
	return "priority(" + strconv.Itoa(int(p)) + ")"
}

// ParsePriority reads the site-file spelling of a priority.
func ParsePriority(s string) (Priority, error) {
	for i, n := range priorityNames {
		if strings.EqualFold(s, n) {
			return Priority(i), nil
		}
	}
	return 0, fmt.Errorf("unknown priority %q (want critical, high, medium or low)", s)
}

// Kind is what makes an alarm's condition true.
type Kind uint8

// The alarm kinds. System alarms are raised by the application itself, never by samples.
const (
	HI         Kind = iota // value >= Limit, clears below Limit-Deadband
	HIHI                   // as HI, a second, more severe limit
	LO                     // value <= Limit, clears above Limit+Deadband
	LOLO                   // as LO, a second, more severe limit
	Discrete               // value Op Limit, e.g. a state == 3 (tripped)
	Rate                   // |change per second over Window| > Limit
	BadQuality             // the sample's status is bad, or no sample for StaleAfter
	System                 // raised by RaiseSystem, cleared by ClearSystem
)

var kindNames = [...]string{"HI", "HIHI", "LO", "LOLO", "discrete", "rate", "bad-quality", "system"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind reads the site-file spelling of a kind.
func ParseKind(s string) (Kind, error) {
	for i, n := range kindNames {
		if strings.EqualFold(s, n) {
			return Kind(i), nil
		}
	}
	return 0, fmt.Errorf("unknown alarm kind %q (want HI, HIHI, LO, LOLO, discrete, rate or bad-quality)", s)
}

// Op compares a value with a number, in discrete alarms and suppression conditions.
type Op uint8

// The comparison operators; deliberately few so that conditions stay readable.
const (
	Eq Op = iota // ==
	Ne           // !=
	Lt           // <
	Gt           // >
)

var opNames = [...]string{"==", "!=", "<", ">"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

func (o Op) holds(v, ref float64) bool {
	switch o {
	case Eq:
		return v == ref
	case Ne:
		return v != ref
	case Lt:
		return v < ref
	default:
		return v > ref
	}
}

// Condition is a suppression-by-design expression: "Tag Op Value", for example
// "Crushing.CR1.Running == 0". It is kept this simple on purpose: an alarm philosophy
// reviewer must be able to read it at a glance.
type Condition struct {
	Tag   string
	Op    Op
	Value float64
}

func (c Condition) String() string {
	return c.Tag + " " + c.Op.String() + " " + strconv.FormatFloat(c.Value, 'g', -1, 64)
}

// ParseCondition reads "Tag Op Number" with the three parts separated by spaces.
func ParseCondition(s string) (Condition, error) {
	f := strings.Fields(s)
	if len(f) != 3 {
		return Condition{}, fmt.Errorf("condition %q: want \"TAG OP NUMBER\", e.g. \"Crushing.CR1.Running == 0\"", s)
	}
	op := -1
	for i, n := range opNames {
		if f[1] == n {
			op = i
		}
	}
	if op < 0 {
		return Condition{}, fmt.Errorf("condition %q: operator %q is not one of == != < >", s, f[1])
	}
	v, err := strconv.ParseFloat(f[2], 64)
	if err != nil {
		return Condition{}, fmt.Errorf("condition %q: %q is not a number", s, f[2])
	}
	return Condition{Tag: f[0], Op: Op(op), Value: v}, nil
}

// Definition is one configured alarm. The zero values of the optional fields mean "none".
type Definition struct {
	ID       string // unique, stable: the journal and the operator refer to it
	Tag      string // the tag whose samples drive the alarm
	Area     string // grouping for lists, counts and flood detection
	Unit     string // the equipment unit, e.g. "CR1"
	Priority Priority
	Kind     Kind
	Message  string

	// Limit is the limit of HI/HIHI/LO/LOLO, the reference value of Discrete and the
	// rate (units per second) of Rate.
	Limit float64
	// Op is the comparison of a Discrete alarm: active while value Op Limit.
	Op Op
	// Deadband is how far back past the limit the value must go to clear, so that a
	// value hovering at the limit does not chatter.
	Deadband float64
	// OnDelay and OffDelay: the condition must hold this long before the alarm raises or
	// clears (ISA-18.2 filtering of fleeting alarms).
	OnDelay, OffDelay time.Duration
	// Window is the rate-of-change span of a Rate alarm.
	Window time.Duration
	// StaleAfter makes a BadQuality alarm raise when no sample arrived for this long
	// (communication lost without a status from the server).
	StaleAfter time.Duration
	// SuppressWhen, when set, suppresses the alarm by design while the condition holds.
	SuppressWhen *Condition
	// SuppressRelease keeps the suppression this long after the condition stops holding, so
	// that a process restarting (a crusher's empty cavity refilling) settles before its
	// alarms are judged again.
	SuppressRelease time.Duration
	// Latched alarms stay in the list after returning to normal until reset.
	Latched bool
}

// Validate reports the first problem of a definition, naming its id and field.
func (d *Definition) Validate() error {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("alarm %q: %s", d.ID, fmt.Sprintf(format, a...))
	}
	switch {
	case d.ID == "":
		return errors.New("alarm definition without id")
	case d.Priority >= numPriorities:
		return fail("priority %d out of range", d.Priority)
	case d.Kind > System:
		return fail("kind %d out of range", d.Kind)
	case d.Kind == System:
		return fail("system alarms are raised with RaiseSystem, not defined")
	case d.Tag == "":
		return fail("tag is required")
	case d.Deadband < 0:
		return fail("deadband %g is negative", d.Deadband)
	case d.OnDelay < 0 || d.OffDelay < 0:
		return fail("delays must not be negative")
	case d.Op > Gt:
		return fail("operator %d out of range", d.Op)
	case d.Kind == Rate && d.Window <= 0:
		return fail("rate-of-change alarm needs a window > 0")
	case d.Kind == Rate && d.Limit <= 0:
		return fail("rate-of-change limit must be > 0 units per second")
	case d.StaleAfter < 0 || (d.StaleAfter > 0 && d.Kind != BadQuality):
		return fail("stale-after applies to bad-quality alarms only and must not be negative")
	case d.SuppressWhen != nil && d.SuppressWhen.Tag == "":
		return fail("suppression condition without tag")
	case d.SuppressWhen != nil && d.SuppressWhen.Op > Gt:
		return fail("suppression operator out of range")
	case d.SuppressRelease < 0 || (d.SuppressRelease > 0 && d.SuppressWhen == nil):
		return fail("a suppression release delay needs a suppression condition and must not be negative")
	}
	return nil
}
