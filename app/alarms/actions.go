package alarms

import (
	"fmt"
	"time"
)

// Operator actions. Each one checks who (and reason where the standard asks for one),
// checks that the action is legal in the current state, and journals the transition.

// lookup finds an alarm and validates who; the caller holds the lock.
func (e *Engine) lookup(id, who string) (*alarm, error) {
	i, ok := e.byID[id]
	if !ok {
		return nil, fmt.Errorf("alarm %q: %w", id, ErrUnknownAlarm)
	}
	if who == "" {
		return nil, fmt.Errorf("alarm %q: %w", id, ErrWhoRequired)
	}
	return &e.alarms[i], nil
}

func illegal(a *alarm, action string) error {
	return fmt.Errorf("alarm %q: cannot %s: it is %s: %w", a.def.ID, action, a.state, ErrIllegal)
}

// Acknowledge acknowledges an unacknowledged or returned-to-normal unacknowledged alarm.
func (e *Engine) Acknowledge(id, who string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, err := e.lookup(id, who)
	if err != nil {
		return err
	}
	to, ok := a.afterAck()
	if !ok {
		return illegal(a, "acknowledge")
	}
	e.move(a, to, CauseAcknowledge, who, "", e.now())
	return nil
}

// Shelve hides the alarm until the given time, when it returns to the state the process
// calls for.
func (e *Engine) Shelve(id, who, reason string, until time.Time) error {
	return e.shelve(id, who, reason, until, false)
}

// ShelveOneShot hides the alarm until it next returns to normal.
func (e *Engine) ShelveOneShot(id, who, reason string) error {
	return e.shelve(id, who, reason, time.Time{}, true)
}

func (e *Engine) shelve(id, who, reason string, until time.Time, oneShot bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, err := e.lookup(id, who)
	if err != nil {
		return err
	}
	if reason == "" {
		return fmt.Errorf("alarm %q: shelve: %w", id, ErrReasonRequired)
	}
	now := e.now()
	if !oneShot && !until.After(now) {
		return fmt.Errorf("alarm %q: shelve until %s: the time has passed", id, until.Format(time.RFC3339))
	}
	// Shelving is for nuisance alarms the operator sees; a hidden alarm has nothing to shelve.
	if a.state.hidden() {
		return illegal(a, "shelve")
	}
	a.shelved, a.oneShot, a.shelvedUntil = true, oneShot, until
	a.shelvedBy, a.shelveReason = who, reason
	e.move(a, Shelved, CauseShelve, who, reason, now)
	return nil
}

// Unshelve returns a shelved alarm before its time.
func (e *Engine) Unshelve(id, who string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, err := e.lookup(id, who)
	if err != nil {
		return err
	}
	if a.state != Shelved {
		return illegal(a, "unshelve")
	}
	a.shelved = false
	e.move(a, a.settled(), CauseUnshelve, who, "", e.now())
	return nil
}

// Reset clears a latched alarm that is acknowledged and back to normal.
func (e *Engine) Reset(id, who string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, err := e.lookup(id, who)
	if err != nil {
		return err
	}
	if a.state != Latched {
		if !a.def.Latched {
			return fmt.Errorf("alarm %q: cannot reset: it is not a latched alarm: %w", id, ErrIllegal)
		}
		return illegal(a, "reset")
	}
	e.move(a, Normal, CauseReset, who, "", e.now())
	return nil
}

// RemoveFromService takes the alarm out of service (maintenance, broken instrument).
// It also ends any shelving: out of service is the stronger, engineered state.
func (e *Engine) RemoveFromService(id, who, reason string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, err := e.lookup(id, who)
	if err != nil {
		return err
	}
	if reason == "" {
		return fmt.Errorf("alarm %q: remove from service: %w", id, ErrReasonRequired)
	}
	if a.state == OutOfService {
		return illegal(a, "remove from service")
	}
	a.outOfService, a.oosBy, a.oosReason = true, who, reason
	a.shelved = false
	e.move(a, OutOfService, CauseRemoveFromService, who, reason, e.now())
	return nil
}

// ReturnToService puts an out-of-service alarm back; an active condition raises at once.
func (e *Engine) ReturnToService(id, who, reason string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, err := e.lookup(id, who)
	if err != nil {
		return err
	}
	if reason == "" {
		return fmt.Errorf("alarm %q: return to service: %w", id, ErrReasonRequired)
	}
	if a.state != OutOfService {
		return illegal(a, "return to service")
	}
	a.outOfService = false
	e.move(a, a.settled(), CauseReturnToService, who, reason, e.now())
	return nil
}

// SystemArea is the area of system alarms, so that they count and flood like any other.
const SystemArea = "system"

// RaiseSystem raises an alarm of the application itself (connection lost, historian disk
// full, plugin faulted). The first call creates it; it then follows the same state model.
func (e *Engine) RaiseSystem(id string, p Priority, message string) error {
	if id == "" || p >= numPriorities {
		return fmt.Errorf("system alarm %q: id and a valid priority are required", id)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	i, ok := e.byID[id]
	if !ok {
		now := e.now()
		d := &Definition{ID: id, Area: SystemArea, Priority: p, Kind: System, Message: message}
		e.alarms = append(e.alarms, alarm{def: d, lastSeen: now})
		i = len(e.alarms) - 1
		e.byID[id] = i
	}
	a := &e.alarms[i]
	if a.def.Kind != System {
		return fmt.Errorf("system alarm %q: the id belongs to a configured %s alarm", id, a.def.Kind)
	}
	if a.def.Message != message || a.def.Priority != p {
		// Copy: views handed out earlier keep their message.
		d := *a.def
		d.Message, d.Priority = message, p
		a.def = &d
	}
	if !a.active {
		e.setActive(a, true, e.now())
	}
	return nil
}

// ClearSystem reports that the system condition is gone.
func (e *Engine) ClearSystem(id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	i, ok := e.byID[id]
	if !ok || e.alarms[i].def.Kind != System {
		return fmt.Errorf("system alarm %q: %w", id, ErrUnknownAlarm)
	}
	if a := &e.alarms[i]; a.active {
		e.setActive(a, false, e.now())
	}
	return nil
}
