package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"minebrain/app/audit"
	"minebrain/app/control"
	"minebrain/app/opcua"
)

// equipment is the plant as app/control sees it: the live tag table for values, the model
// for engineering units and ranges, and the connections for writes. Nothing else in the
// engine writes to equipment.
type equipment struct{ e *Engine }

// linkOf returns the connection that reads tag, nil if none does.
func (q equipment) linkOf(tag string) *link {
	q.e.mu.Lock()
	links := q.e.links
	q.e.mu.Unlock()
	for _, l := range links {
		if l.conn.Reads(tag) {
			return l
		}
	}
	return nil
}

func (q equipment) Value(tag string) (control.Reading, bool) {
	id, ok := q.e.table.Lookup(tag)
	if !ok {
		return control.Reading{}, false
	}
	s, ok := q.e.table.Get(id)
	if !ok {
		return control.Reading{}, false
	}
	r := control.Reading{Value: s.Value, Status: s.Status, Time: s.SourceTime}
	// A value is only as fresh as its connection: OPC UA reports changes, so a mode that has
	// not changed for hours is current while the connection is up, and unknown when it is not.
	if l := q.linkOf(tag); l == nil || l.conn.Status().State != opcua.StateConnected {
		r.Stale = true
	}
	return r, true
}

// unit returns the model's unit "Area.Unit".
func (q equipment) unit(id string) (Unit, bool) {
	m := q.e.Model()
	for _, a := range m.Areas {
		for _, u := range a.Units {
			if u.ID == id {
				return u, true
			}
		}
	}
	return Unit{}, false
}

func (q equipment) Signal(tag string) (control.SignalInfo, bool) {
	m := q.e.Model()
	for _, a := range m.Areas {
		for _, u := range a.Units {
			for _, s := range u.Signals {
				if s.Tag != tag {
					continue
				}
				info := control.SignalInfo{EU: s.Unit}
				if s.Low != nil && s.High != nil {
					info.Low, info.High, info.HasRange = *s.Low, *s.High, true
				}
				return info, true
			}
		}
	}
	return control.SignalInfo{}, false
}

func (q equipment) Signals(unit string) []string {
	u, ok := q.unit(unit)
	if !ok {
		return nil
	}
	out := make([]string, len(u.Signals))
	for i, s := range u.Signals {
		out[i] = s.Tag
	}
	return out
}

func (q equipment) Write(ctx context.Context, tag string, value any) error {
	l := q.linkOf(tag)
	if l == nil {
		return fmt.Errorf("no connection reads %s", tag)
	}
	return l.conn.Write(ctx, tag, value)
}

// noAudit refuses every entry: without a history file there is no audit log, so the control
// path writes nothing.
type noAudit struct{}

func (noAudit) Append(context.Context, audit.Entry) (audit.Entry, error) {
	return audit.Entry{}, errNoUsers
}

func (e *Engine) auditor() control.Auditor {
	if _, log := e.parts(); log != nil {
		return log
	}
	return noAudit{}
}

func (e *Engine) controller() (*control.Controller, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.control == nil {
		return nil, errors.New("control: the engine is not started")
	}
	return e.control, nil
}

func (a Actor) control() control.Actor {
	return control.Actor{Name: a.Name, Role: a.Role, Face: a.Face}
}

// CommandRequest is a command from a face's command panel.
type CommandRequest struct {
	Unit    string   `json:"unit"`
	Command string   `json:"command"` // start, stop or setpoint
	Tag     string   `json:"tag,omitempty"`
	Value   *float64 `json:"value,omitempty"`
	Reason  string   `json:"reason,omitempty"`
}

// ControlPanel returns what a can command on a unit, with the reason for everything it cannot.
func (e *Engine) ControlPanel(a Actor, unit string) (control.Panel, error) {
	c, err := e.controller()
	if err != nil {
		return control.Panel{}, err
	}
	return c.Panel(a.control(), unit)
}

// commandTimeout bounds a select or operate call: the write and its read-back.
const commandTimeout = time.Minute

// SelectCommand checks a command and holds it for confirmation (select-before-operate).
func (e *Engine) SelectCommand(a Actor, req CommandRequest) (control.Selection, error) {
	c, err := e.controller()
	if err != nil {
		return control.Selection{}, err
	}
	cmd, err := control.ParseCommand(req.Command)
	if err != nil {
		return control.Selection{}, err
	}
	r := control.Request{Unit: req.Unit, Command: cmd, Tag: req.Tag, Value: math.NaN(), Reason: req.Reason}
	if req.Value != nil {
		r.Value = *req.Value
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	return c.Select(ctx, a.control(), r)
}

// OperateCommand executes a selected command and waits for its read-back; a reason given in
// the confirmation dialog replaces the selection's. A refusal (the
// confirmation expired, a check failed again) is a result with outcome "refused", not an
// error: the confirmation dialog shows every outcome the same way.
func (e *Engine) OperateCommand(a Actor, id, reason string) (control.Result, error) {
	c, err := e.controller()
	if err != nil {
		return control.Result{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	res, err := c.Operate(ctx, a.control(), id, reason)
	if res.Outcome == control.Refused {
		err = nil
	}
	return res, err
}

// CancelCommand drops a selected command.
func (e *Engine) CancelCommand(a Actor, id string) error {
	c, err := e.controller()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	return c.Cancel(ctx, a.control(), id)
}
