package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"minebrain/app/alarms"
	"minebrain/app/users"
)

// EventAlarms carries AlarmSummary after alarm transitions (coalesced per subscriber).
const EventAlarms = "alarms"

// alarmEngine returns the running alarm engine, or an error before Start.
func (e *Engine) alarmEngine() (*alarms.Engine, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.alarms == nil {
		return nil, errors.New("alarms: the engine is not started")
	}
	return e.alarms.engine, nil
}

// Alarms returns the alarm banner's and list's summary.
func (e *Engine) Alarms(a Actor) (AlarmSummary, error) {
	if err := a.need(users.Viewer, "seeing alarms"); err != nil {
		return AlarmSummary{}, err
	}
	return e.alarmSummary()
}

func (e *Engine) alarmSummary() (AlarmSummary, error) {
	ae, err := e.alarmEngine()
	if err != nil {
		return AlarmSummary{}, err
	}
	sum := AlarmSummary{Active: []AlarmView{}, Hidden: []AlarmView{}, Floods: []Flood{}}
	for _, v := range ae.Active() {
		av := alarmView(v)
		sum.Active = append(sum.Active, av)
		switch v.Priority {
		case alarms.Critical:
			sum.Counts.Critical++
		case alarms.High:
			sum.Counts.High++
		case alarms.Medium:
			sum.Counts.Medium++
		default:
			sum.Counts.Low++
		}
		if v.State == alarms.Unacknowledged || v.State == alarms.RTNUnacknowledged {
			sum.Counts.Unacknowledged++
		}
		if sum.Newest == nil || v.Since.After(parseTime(sum.Newest.Since)) {
			n := av
			sum.Newest = &n
		}
	}
	sum.Counts.Total = len(sum.Active)
	for _, v := range ae.Hidden() {
		sum.Hidden = append(sum.Hidden, alarmView(v))
	}
	for _, f := range ae.Floods() {
		sum.Floods = append(sum.Floods, Flood{Area: f.Area, Count: f.Count, Since: f.Since.UTC().Format(time.RFC3339Nano)})
	}
	return sum, nil
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func alarmView(v alarms.View) AlarmView {
	av := AlarmView{ID: v.ID, Tag: v.Tag, Area: v.Area, Unit: v.Unit, Priority: v.Priority.String(),
		Kind: v.Kind.String(), Message: v.Message, State: v.State.String(), Active: v.Active,
		Since: v.Since.UTC().Format(time.RFC3339Nano)}
	if v.Kind != alarms.System && !math.IsNaN(v.Value) {
		val := v.Value
		av.Value = &val
	}
	if v.Kind != alarms.System && v.Kind != alarms.BadQuality {
		lim := v.Limit
		av.Limit = &lim
	}
	if !v.Since.IsZero() {
		r := av.Since
		av.Raised = &r
	}
	switch {
	case v.OutOfServiceBy != "":
		av.By, av.Reason = v.OutOfServiceBy, v.OutOfServiceReason
	case v.ShelvedBy != "":
		av.By, av.Reason = v.ShelvedBy, v.ShelveReason
		if !v.OneShot {
			av.ShelvedUntil = v.ShelvedUntil.UTC().Format(time.RFC3339Nano)
		}
	}
	return av
}

// alarmAction runs one operator action on the alarm engine as a, then tells subscribers.
func (e *Engine) alarmAction(a Actor, min users.Role, what string, fn func(ae *alarms.Engine, who string) error) error {
	if err := a.need(min, what); err != nil {
		return err
	}
	ae, err := e.alarmEngine()
	if err != nil {
		return err
	}
	if err := fn(ae, a.Name); err != nil {
		return err
	}
	e.notifySubscribers(func(s *subscriber) chan struct{} { return s.alarms })
	return nil
}

// AcknowledgeAlarms acknowledges each alarm of ids; one that cannot be acknowledged (already
// acknowledged meanwhile) is reported in Errors without stopping the rest.
func (e *Engine) AcknowledgeAlarms(a Actor, ids []string) (AckResult, error) {
	res := AckResult{Errors: []string{}}
	err := e.alarmAction(a, users.Operator, "acknowledging alarms", func(ae *alarms.Engine, who string) error {
		for _, id := range ids {
			if err := ae.Acknowledge(id, who); err != nil {
				res.Errors = append(res.Errors, err.Error())
				continue
			}
			res.Acknowledged++
		}
		return nil
	})
	return res, err
}

// maxShelve is the longest an operator may shelve an alarm for: a shift and a half, so that
// nothing stays hidden past the next handover unnoticed.
const maxShelve = 12 * time.Hour

// ShelveAlarm shelves an alarm for minutes (0: one-shot, until it next returns to normal).
func (e *Engine) ShelveAlarm(a Actor, id, reason string, minutes float64) error {
	return e.alarmAction(a, users.Operator, "shelving alarms", func(ae *alarms.Engine, who string) error {
		switch d := time.Duration(minutes * float64(time.Minute)); {
		case minutes == 0:
			return ae.ShelveOneShot(id, who, reason)
		case math.IsNaN(minutes) || d < time.Minute || d > maxShelve:
			return fmt.Errorf("alarm %q: shelve for 1 minute to %v, or 0 for one-shot; %g minutes is not allowed", id, maxShelve, minutes)
		default:
			return ae.Shelve(id, who, reason, time.Now().Add(d))
		}
	})
}

// UnshelveAlarm returns a shelved alarm.
func (e *Engine) UnshelveAlarm(a Actor, id string) error {
	return e.alarmAction(a, users.Operator, "unshelving alarms", func(ae *alarms.Engine, who string) error {
		return ae.Unshelve(id, who)
	})
}

// ResetAlarm resets a latched alarm.
func (e *Engine) ResetAlarm(a Actor, id string) error {
	return e.alarmAction(a, users.Operator, "resetting alarms", func(ae *alarms.Engine, who string) error {
		return ae.Reset(id, who)
	})
}

// RemoveAlarmFromService takes an alarm out of service (maintenance), with a reason.
func (e *Engine) RemoveAlarmFromService(a Actor, id, reason string) error {
	return e.alarmAction(a, users.Engineer, "removing alarms from service", func(ae *alarms.Engine, who string) error {
		return ae.RemoveFromService(id, who, reason)
	})
}

// ReturnAlarmToService returns an alarm to service.
func (e *Engine) ReturnAlarmToService(a Actor, id, reason string) error {
	return e.alarmAction(a, users.Engineer, "returning alarms to service", func(ae *alarms.Engine, who string) error {
		return ae.ReturnToService(id, who, reason)
	})
}

// AlarmHistory searches the alarm journal, newest first.
func (e *Engine) AlarmHistory(a Actor, q AlarmHistoryQuery) ([]JournalEntry, error) {
	if err := a.need(users.Viewer, "reading the alarm journal"); err != nil {
		return nil, err
	}
	e.mu.Lock()
	j := e.journal
	e.mu.Unlock()
	if j == nil {
		return nil, errors.New("alarm history: no history file (start Minebrain with a data directory)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return j.query(ctx, q)
}

// AlarmKPIs returns the alarm-rate figures per area (EEMUA 191).
func (e *Engine) AlarmKPIs(a Actor) ([]AreaKPI, error) {
	if err := a.need(users.Viewer, "reading alarm KPIs"); err != nil {
		return nil, err
	}
	ae, err := e.alarmEngine()
	if err != nil {
		return nil, err
	}
	out := []AreaKPI{}
	for _, k := range ae.KPIs() {
		out = append(out, AreaKPI{Area: k.Area, Last10Min: k.Last10Min, Peak10Min: k.Peak10Min, Total: k.Total,
			AvgPer10Min: k.AvgPer10Min, AvgPerHour: k.AvgPerHour, Floods: k.Floods, FloodShare: k.FloodPercent / 100})
	}
	return out, nil
}
