package control

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"time"

	"minebrain/app/audit"
)

// Select checks r for a and, if every check passes, opens a selection that a's Operate
// confirms before its Expires. The attempt is audited ("select start": "selected" or
// "refused: …"). A unit has at most one open selection: a new one replaces (cancels) the
// old. A refusal wraps its sentinel (ErrRole, ErrLimit, …).
func (c *Controller) Select(ctx context.Context, a Actor, r Request) (Selection, error) {
	if err := a.check(); err != nil {
		return Selection{}, err
	}
	if c.isClosed() {
		return Selection{}, refuse(ErrClosed, "control is shut down")
	}
	action := "select " + clip(string(r.Command))
	p, err := c.check(a, r, false)
	if err == nil && c.isBusy(r.Unit) {
		err = refuse(ErrBusy, "a command to %s is in progress: wait for its result", r.Unit)
	}
	if err != nil {
		return Selection{}, c.refused(ctx, a, action, p, r.Reason, err)
	}
	if err := c.record(ctx, a, action, p, r.Reason, "selected"); err != nil {
		return Selection{}, unaudited(p, err)
	}
	s := &selection{
		Selection: Selection{ID: rand.Text(), Unit: r.Unit, Command: r.Command, Tag: p.tag,
			Current: p.current, New: p.new, Expires: c.now().Add(c.cfg.ConfirmTimeout),
			ConfirmWithinMs: c.cfg.ConfirmTimeout.Milliseconds()},
		actor: a, req: r, plan: p,
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.record(context.WithoutCancel(ctx), a, string(r.Command), p, r.Reason, "cancelled: Minebrain is shutting down")
		return Selection{}, refuse(ErrClosed, "control is shut down")
	}
	old := c.byUnit[r.Unit]
	if old != nil {
		c.closeLocked(old, "replaced by a newer selection")
	}
	c.open[s.ID], c.byUnit[r.Unit] = s, s
	s.timer = time.AfterFunc(c.cfg.ConfirmTimeout, func() { c.expire(s.ID) })
	c.mu.Unlock()
	if old != nil {
		c.record(context.WithoutCancel(ctx), old.actor, string(old.req.Command), old.plan, old.req.Reason,
			"cancelled: replaced by a new selection by "+a.Name)
	}
	return s.Selection, nil
}

// Operate confirms the selection id: only the actor that selected it (same name and face),
// before it expires. Every check runs again, then the command is written and read back.
// The Result is always set; err is non-nil exactly when Outcome is Refused (and is
// Result.Err). A non-empty reason, given in the confirmation, replaces the selection's. Every
// attempt is audited.
func (c *Controller) Operate(ctx context.Context, a Actor, id, reason string) (Result, error) {
	if err := a.check(); err != nil {
		return refusedResult(err), err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		err := refuse(ErrClosed, "control is shut down")
		return refusedResult(err), err
	}
	s := c.open[id]
	if s == nil {
		f, known := c.finished[id]
		c.mu.Unlock()
		action, p := "operate", plan{target: "selection " + clip(id)}
		err := refuse(ErrUnknown, "there is no open selection %q: select the command again", clip(id))
		if known {
			action, p.target = f.action, f.target
			kind := ErrUnknown
			if f.how == notConfirmed {
				kind = ErrConfirmTimeout
			}
			err = refuse(kind, "this selection is closed (%s at %s): select the command again", f.how, f.at.Format("15:04:05"))
		}
		err = c.refused(ctx, a, action, p, "", err)
		return refusedResult(err), err
	}
	action := string(s.req.Command)
	if s.actor.Name != a.Name || s.actor.Face != a.Face {
		c.mu.Unlock()
		err := refuse(ErrNotYours, "%s of %s was selected by %s (%s): only they can confirm it", action, s.plan.target, s.actor.Name, s.actor.Face)
		err = c.refused(ctx, a, action, s.plan, s.req.Reason, err)
		return refusedResult(err), err
	}
	if !c.now().Before(s.Expires) {
		c.closeLocked(s, notConfirmed)
		c.mu.Unlock()
		err := refuse(ErrConfirmTimeout, "%s: select the command again", c.expiredText())
		err = c.refused(ctx, a, action, s.plan, s.req.Reason, err)
		return refusedResult(err), err
	}
	c.closeLocked(s, "already operated")
	c.mu.Unlock()
	if reason != "" {
		s.req.Reason = reason
	}
	res := c.execute(ctx, a, s.req)
	return res, res.Err
}

// Cancel closes the selection id without writing; only its actor may. Audited "cancelled".
func (c *Controller) Cancel(ctx context.Context, a Actor, id string) error {
	if err := a.check(); err != nil {
		return err
	}
	c.mu.Lock()
	s := c.open[id]
	if s == nil {
		c.mu.Unlock()
		return refuse(ErrUnknown, "there is no open selection %q (it was operated, cancelled or expired)", clip(id))
	}
	if s.actor.Name != a.Name || s.actor.Face != a.Face {
		c.mu.Unlock()
		return refuse(ErrNotYours, "%s of %s was selected by %s (%s): only they can cancel it", s.req.Command, s.plan.target, s.actor.Name, s.actor.Face)
	}
	c.closeLocked(s, "cancelled")
	c.mu.Unlock()
	c.record(context.WithoutCancel(ctx), a, string(s.req.Command), s.plan, s.req.Reason, "cancelled")
	return nil
}

// Write executes r for a without select-before-operate (plugins): the same checks, audit,
// write and read-back as Operate.
func (c *Controller) Write(ctx context.Context, a Actor, r Request) Result {
	if err := a.check(); err != nil {
		return refusedResult(err)
	}
	return c.execute(ctx, a, r)
}

// execute runs the checks of r with the unit reserved, audits, writes and reads back.
func (c *Controller) execute(ctx context.Context, a Actor, r Request) Result {
	action := clip(string(r.Command))
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return refusedResult(refuse(ErrClosed, "control is shut down"))
	}
	if c.busy[r.Unit] {
		c.mu.Unlock()
		return refusedResult(c.refused(ctx, a, action, c.plan(r), r.Reason,
			refuse(ErrBusy, "a command to %s is in progress: wait for its result", r.Unit)))
	}
	c.busy[r.Unit] = true
	c.wg.Add(1)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.busy, r.Unit)
		c.mu.Unlock()
		c.wg.Done()
	}()

	p, err := c.check(a, r, false)
	if err != nil {
		return refusedResult(c.refused(ctx, a, action, p, r.Reason, err))
	}
	// No unaudited writes: the entry is committed before anything reaches the equipment.
	if err := c.record(ctx, a, action, p, r.Reason, "sending"); err != nil {
		return refusedResult(unaudited(p, err))
	}
	actx := context.WithoutCancel(ctx)
	if err := c.eq.Write(ctx, p.tag, p.value); err != nil {
		msg := err.Error()
		c.record(actx, a, action, p, r.Reason, "rejected: "+msg)
		return Result{Outcome: Rejected, Message: msg}
	}
	if r.Command == SetValue {
		c.mu.Lock()
		c.lastWrite[p.tag] = c.now()
		c.mu.Unlock()
	}
	out, msg := c.readBack(p)
	result := string(out)
	if out != Done {
		result += ": " + msg
	}
	if err := c.record(actx, a, action, p, r.Reason, result); err != nil {
		msg += " (the audit log could not record this outcome)"
	}
	return Result{Outcome: out, Message: msg}
}

// readBack polls the equipment until the command shows its effect or ReadBackTimeout.
func (c *Controller) readBack(p plan) (Outcome, string) {
	deadline := time.NewTimer(c.cfg.ReadBackTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(c.poll)
	defer tick.Stop()
	for {
		out, msg := c.readOnce(p)
		if out != "" {
			return out, msg
		}
		select {
		case <-tick.C:
			continue
		case <-deadline.C:
		case <-c.ctx.Done():
			return TimedOut, fmt.Sprintf("Minebrain shut down before %s confirmed the command: %s", p.unit, msg)
		}
		if out, msg2 := c.readOnce(p); out != "" {
			return out, msg2
		}
		return TimedOut, fmt.Sprintf("written, but not confirmed within %s: %s%s", c.cfg.ReadBackTimeout, msg, c.requestTaken(p))
	}
}

// requestTaken says, for a start or stop that timed out, whether the unit at least holds the
// request: a standby pump takes "in service" and starts only when its duty needs it, a unit
// may wait for a permissive. Not the same as a request the unit never saw.
func (c *Controller) requestTaken(p plan) string {
	if p.cmd == SetValue {
		return ""
	}
	want := 0.0
	if p.cmd == Start {
		want = 1
	}
	if v, why := c.number(p.unit + ".RunCmd"); why == "" && v == want {
		return fmt.Sprintf("; its RunCmd reads back %v, so the unit holds the request but has not followed it yet (standing by, or waiting for a permissive)", want == 1)
	}
	return ""
}

// readOnce reads the effect of p once: an outcome with its message, or "" and what it reads.
func (c *Controller) readOnce(p plan) (Outcome, string) {
	if p.cmd == SetValue {
		want := p.value.(float64)
		v, why := c.number(p.tag)
		if why != "" {
			return "", fmt.Sprintf("%s cannot be read (%s)", p.tag, why)
		}
		if math.Abs(v-want) <= math.Max(1e-9, 1e-6*math.Abs(want)) {
			return Done, fmt.Sprintf("%s reads %s", p.tag, withEU(num(v), p.eu))
		}
		return "", fmt.Sprintf("%s reads %s, not %s", p.tag, withEU(num(v), p.eu), withEU(exact(want), p.eu))
	}
	rs, why := c.number(p.unit + ".RunState")
	switch {
	case why != "":
		return "", fmt.Sprintf("%s.RunState cannot be read (%s)", p.unit, why)
	case p.cmd == Start && rs == 1:
		return Done, p.unit + " is running"
	case p.cmd == Start && rs == 2:
		return Rejected, "tripped on start: " + p.unit + " reports faulted"
	case p.cmd == Stop && rs == 0:
		return Done, p.unit + " is stopped"
	case p.cmd == Stop && rs == 2:
		return Done, p.unit + " is stopped (it reports faulted)"
	}
	return "", fmt.Sprintf("%s is %s", p.unit, runStateName(rs, ""))
}

// expire closes an unconfirmed selection when its time is up and audits it, once.
func (c *Controller) expire(id string) {
	c.mu.Lock()
	s := c.open[id]
	if s == nil || c.closed {
		c.mu.Unlock()
		return
	}
	if left := s.Expires.Sub(c.now()); left > 0 { // the clock (Options.Now) is behind the timer
		s.timer = time.AfterFunc(max(left, 10*time.Millisecond), func() { c.expire(id) })
		c.mu.Unlock()
		return
	}
	c.closeLocked(s, notConfirmed)
	c.wg.Add(1)
	c.mu.Unlock()
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.record(ctx, s.actor, string(s.req.Command), s.plan, s.req.Reason, "refused: "+c.expiredText())
}

// notConfirmed is how an expired selection ended.
const notConfirmed = "not confirmed in time"

func (c *Controller) expiredText() string {
	return "not confirmed within " + c.cfg.ConfirmTimeout.String()
}

// closeLocked removes an open selection and remembers how it ended. c.mu is held.
func (c *Controller) closeLocked(s *selection, how string) {
	s.timer.Stop()
	delete(c.open, s.ID)
	if c.byUnit[s.Unit] == s {
		delete(c.byUnit, s.Unit)
	}
	now := c.now()
	for id, f := range c.finished {
		if now.Sub(f.at) > keepFinished {
			delete(c.finished, id)
		}
	}
	c.finished[s.ID] = finished{at: now, how: how, action: string(s.req.Command), target: s.plan.target}
}

func (c *Controller) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *Controller) isBusy(unit string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.busy[unit]
}

// record appends an audit entry for an attempt on p; the error wraps ErrAudit.
func (c *Controller) record(ctx context.Context, a Actor, action string, p plan, reason, result string) error {
	_, err := c.log.Append(ctx, auditEntry(a, action, p, reason, result))
	if err != nil {
		c.logger.Error("control: audit entry not recorded", "who", a.Name, "face", a.Face,
			"action", action, "target", p.target, "result", result, "err", err)
		return fmt.Errorf("%w: %v", ErrAudit, err)
	}
	return nil
}

// refused audits a refusal and returns it (noting when the audit failed too).
func (c *Controller) refused(ctx context.Context, a Actor, action string, p plan, reason string, err error) error {
	if aerr := c.record(context.WithoutCancel(ctx), a, action, p, reason, "refused: "+err.Error()); aerr != nil {
		return &refusal{kind: err, msg: err.Error() + " (the audit log could not record this refusal)"}
	}
	return err
}

// unaudited is the refusal of a command whose audit entry could not be written.
func unaudited(p plan, err error) error {
	return &refusal{kind: ErrAudit, msg: fmt.Sprintf("%s of %s refused: the audit log cannot be written (%v); nothing is written to equipment unaudited",
		p.cmd, p.target, err)}
}

func refusedResult(err error) Result {
	return Result{Outcome: Refused, Message: err.Error(), Err: err}
}

func auditEntry(a Actor, action string, p plan, reason, result string) audit.Entry {
	return audit.Entry{Who: a.Name, Face: a.Face, Action: action, Target: p.target,
		Old: p.current, New: p.new, Reason: reason, Result: result}
}
