package alarms

import (
	"errors"
	"strconv"
	"time"
)

// State is the ISA-18.2 / IEC 62682 state of one alarm as the operator sees it.
type State uint8

// The states. Shelved, Suppressed and OutOfService hide the alarm from the list; the
// engine keeps tracking the process condition underneath so that leaving them lands in
// the state the process calls for.
const (
	Normal            State = iota // condition false, nothing to do
	Unacknowledged                 // active, not yet acknowledged
	Acknowledged                   // active, acknowledged
	RTNUnacknowledged              // returned to normal before anyone acknowledged it
	Latched                        // latched alarm, normal and acknowledged, waiting for Reset
	Shelved                        // hidden by an operator, timed or one-shot, with a reason
	Suppressed                     // suppressed by design (SuppressWhen holds)
	OutOfService                   // removed from service for maintenance, with a reason
)

var stateNames = [...]string{"normal", "unacknowledged", "acknowledged", "rtn-unacknowledged",
	"latched", "shelved", "suppressed", "out-of-service"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// listed reports whether the alarm belongs in the operator's alarm list.
func (s State) listed() bool {
	return s == Unacknowledged || s == Acknowledged || s == RTNUnacknowledged || s == Latched
}

func (s State) hidden() bool { return s == Shelved || s == Suppressed || s == OutOfService }

// Cause says why a transition happened.
type Cause uint8

// The causes: a process value, an operator action, or the engine's clock.
const (
	CauseValue             Cause = iota // the process condition changed
	CauseAcknowledge                    // Acknowledge
	CauseShelve                         // Shelve / ShelveOneShot
	CauseUnshelve                       // Unshelve
	CauseShelveExpired                  // a timed shelve ran out
	CauseOneShotEnded                   // a one-shot shelve ended when the alarm returned to normal
	CauseReset                          // Reset of a latched alarm
	CauseRemoveFromService              // RemoveFromService
	CauseReturnToService                // ReturnToService
	CauseSuppress                       // the suppression condition started to hold
	CauseUnsuppress                     // the suppression condition stopped holding
	CauseSystem                         // RaiseSystem / ClearSystem
)

var causeNames = [...]string{"value", "acknowledge", "shelve", "unshelve", "shelve-expired",
	"one-shot-ended", "reset", "remove-from-service", "return-to-service", "suppress",
	"unsuppress", "system"}

func (c Cause) String() string {
	if int(c) < len(causeNames) {
		return causeNames[c]
	}
	return "cause(" + strconv.Itoa(int(c)) + ")"
}

// Transition is one state change, everything the journal needs.
type Transition struct {
	AlarmID string
	From    State
	To      State
	Cause   Cause
	Who     string // the operator, or "" for the process and the clock
	Reason  string // shelve and out-of-service reasons
	When    time.Time
	Value   float64 // the last value of the alarm's tag
}

// Sink receives every transition, in order. Record is called with the engine's lock held,
// so that the journal order is the transition order: it must be quick (hand the event to a
// write job) and must not call back into the engine.
type Sink interface {
	Record(Transition)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(Transition)

// Record calls f.
func (f SinkFunc) Record(t Transition) { f(t) }

// Errors returned by operator actions; they are wrapped with the alarm id and state.
var (
	ErrUnknownAlarm   = errors.New("unknown alarm")
	ErrIllegal        = errors.New("not allowed in this state")
	ErrWhoRequired    = errors.New("the operator (who) is required")
	ErrReasonRequired = errors.New("a reason is required")
)

// alarm is the per-alarm run-time state. The fields used on every sample come first.
type alarm struct {
	def          *Definition
	state        State
	active       bool // the process condition after deadband and delays
	pending      bool // the condition differs from active and a delay is running
	pendingSince time.Time
	value        float64
	lastSeen     time.Time
	since        time.Time // when it last raised (entered Unacknowledged)
	rate         *rateRing // Rate alarms only

	// Overlays: shelving, suppression and out-of-service hide the alarm.
	shelved      bool
	oneShot      bool
	shelvedUntil time.Time
	shelvedBy    string
	shelveReason string
	suppressed   bool
	releaseAt    time.Time // while suppressed: when the release delay ends (zero: not releasing)
	outOfService bool
	oosBy        string
	oosReason    string
}

// settled is the state the alarm belongs in given its overlays and process condition;
// leaving an overlay re-annunciates an alarm that is still active (ISA-18.2: the alarm
// returns through Normal and is evaluated again).
func (a *alarm) settled() State {
	switch {
	case a.outOfService:
		return OutOfService
	case a.shelved:
		return Shelved
	case a.suppressed:
		return Suppressed
	case a.active:
		return Unacknowledged
	default:
		return Normal
	}
}

// afterActivity is the state a change of the process condition leads to from the
// current (visible, not hidden) state.
func (a *alarm) afterActivity() State {
	s := a.state
	if a.active {
		switch s {
		case Normal, RTNUnacknowledged, Latched:
			return Unacknowledged
		}
		return s
	}
	switch s {
	case Unacknowledged:
		return RTNUnacknowledged
	case Acknowledged:
		if a.def.Latched {
			return Latched
		}
		return Normal
	}
	return s
}

// afterAck is the state an acknowledgement leads to, or false when it is illegal.
func (a *alarm) afterAck() (State, bool) {
	switch a.state {
	case Unacknowledged:
		return Acknowledged, true
	case RTNUnacknowledged:
		if a.def.Latched {
			return Latched, true
		}
		return Normal, true
	}
	return a.state, false
}
