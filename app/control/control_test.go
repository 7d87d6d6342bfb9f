package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"minebrain/app/audit"
	"minebrain/app/users"
)

var ctx = context.Background()

// TestSelectRefusals: one case per refusal at Select. Each is audited once as
// "select <command>" with "refused: <message>", and nothing reaches the equipment.
func TestSelectRefusals(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(*env)
		actor  Actor
		req    Request
		err    error
		msg    string
		target string
		old    string
		new    string
	}{
		{name: "viewer", actor: vic, req: Request{Unit: "Pit.DR01", Command: Start},
			err: ErrRole, msg: "viewers cannot command equipment", target: "Pit.DR01", old: "stopped", new: "running"},
		{name: "viewer setpoint", actor: vic, req: Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.PullDownSP", Value: 90},
			err: ErrRole, msg: "viewers cannot command equipment", target: "Pit.DR01.PullDownSP"},
		{name: "operator on engineer setpoint", actor: ana,
			req: Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.RotarySP", Value: 70},
			err: ErrRole, msg: "Pit.DR01.RotarySP may be changed only by an engineer or above; ana is an operator",
			target: "Pit.DR01.RotarySP", old: "60 rpm", new: "70 rpm"},
		{name: "below site min", actor: ana,
			req: Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.PullDownSP", Value: 10},
			err: ErrLimit, msg: "Pit.DR01.PullDownSP: 10 kN is below the minimum 20 kN (site limit): enter a value from 20 to 150 kN",
			target: "Pit.DR01.PullDownSP", old: "80 kN", new: "10 kN"},
		{name: "above site max", actor: ana,
			req: Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.PullDownSP", Value: 160},
			err: ErrLimit, msg: "160 kN is above the maximum 150 kN (site limit)", target: "Pit.DR01.PullDownSP"},
		{name: "EURange narrower than site", actor: ana,
			req: Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.FeedSP", Value: 300},
			err: ErrLimit, msg: "300 % is above the maximum 200 % (EURange): enter a value from 0 to 200 %", target: "Pit.DR01.FeedSP"},
		{name: "below EURange", actor: ana,
			req: Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.FeedSP", Value: -1},
			err: ErrLimit, msg: "below the minimum 0 % (EURange)", target: "Pit.DR01.FeedSP"},
		{name: "NaN", actor: ana,
			req: Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.PullDownSP", Value: math.NaN()},
			err: ErrLimit, msg: "NaN is not a valid value: enter a value from 20 to 150 kN", target: "Pit.DR01.PullDownSP"},
		{name: "infinite", actor: ana,
			req: Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.PullDownSP", Value: math.Inf(1)},
			err: ErrLimit, msg: "+Inf is not a valid value", target: "Pit.DR01.PullDownSP"},
		{name: "no limits known", actor: ana,
			setup: func(e *env) { e.eq.signal("Pit.DR01.SpeedSP", SignalInfo{EU: "m/s"}, 1.0) },
			req:   Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.SpeedSP", Value: 2},
			err:   ErrLimit, msg: "has no EURange and no site limits", target: "Pit.DR01.SpeedSP"},
		{name: "local mode", actor: ana, req: Request{Unit: "Pit.DR05", Command: Stop},
			err: ErrMode, msg: "Pit.DR05 is in LOCAL mode: commands are taken at the machine", target: "Pit.DR05", old: "running", new: "stopped"},
		{name: "bad-quality mode", actor: ana,
			setup: func(e *env) { e.eq.setReading("Pit.DR01.Mode", Reading{Value: int32(1), Status: 0x80000000}) },
			req:   Request{Unit: "Pit.DR01", Command: Start},
			err:   ErrMode, msg: "Pit.DR01's mode cannot be verified (Pit.DR01.Mode: bad quality)", target: "Pit.DR01"},
		{name: "stale mode", actor: ana,
			setup: func(e *env) { e.eq.setReading("Pit.DR01.Mode", Reading{Value: int32(1), Stale: true}) },
			req:   Request{Unit: "Pit.DR01", Command: Start},
			err:   ErrMode, msg: "(Pit.DR01.Mode: stale)", target: "Pit.DR01"},
		{name: "missing mode", actor: ana,
			setup: func(e *env) {
				e.eq.signal("Pit.XY01.RunCmd", SignalInfo{}, false)
				e.eq.signal("Pit.XY01.RunState", SignalInfo{}, 0.0)
			},
			req: Request{Unit: "Pit.XY01", Command: Start},
			err: ErrMode, msg: "(Pit.XY01.Mode: no value)", target: "Pit.XY01"},
		{name: "interlock false", actor: ana,
			setup: func(e *env) { e.eq.set("Haulage.OC1.RunState", int32(0)) },
			req:   Request{Unit: "Crushing.CV2", Command: Start},
			err:   ErrInterlock,
			msg: "start of Crushing.CV2 is interlocked: CV2 discharges onto OC1 or OC2 (requires Haulage.OC1.RunState == 1 " +
				"or Haulage.OC2.RunState == 1; now Haulage.OC1.RunState = 0, Haulage.OC2.RunState = 0)",
			target: "Crushing.CV2"},
		{name: "interlock tag unreadable", actor: ana,
			setup: func(e *env) {
				e.eq.setReading("Haulage.OC1.RunState", Reading{Value: int32(1), Status: 0x808A0000})
			},
			req: Request{Unit: "Crushing.CV2", Command: Start},
			err: ErrInterlock, msg: "Haulage.OC1.RunState could not be read (bad quality), Haulage.OC2.RunState = 0", target: "Crushing.CV2"},
		{name: "unknown unit", actor: ana, req: Request{Unit: "Pit.ZZ99", Command: Start},
			err: ErrUnknown, msg: `unknown unit "Pit.ZZ99"`, target: "Pit.ZZ99"},
		{name: "unknown tag", actor: ana,
			req: Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.NoSuchSP", Value: 1},
			err: ErrUnknown, msg: "Pit.DR01 has no signal NoSuchSP", target: "Pit.DR01.NoSuchSP"},
		{name: "unknown command", actor: ana, req: Request{Unit: "Pit.DR01", Command: "reset"},
			err: ErrUnknown, msg: `unknown command "reset"`, target: "Pit.DR01"},
		{name: "non-SP tag", actor: ana,
			req: Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.PowerKW", Value: 1},
			err: ErrTarget, msg: "Pit.DR01.PowerKW is not a setpoint: only signals ending in SP can be set", target: "Pit.DR01.PowerKW"},
		{name: "RunCmd as setpoint", actor: ana,
			req: Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.RunCmd", Value: 1},
			err: ErrTarget, msg: "is not a setpoint", target: "Pit.DR01.RunCmd"},
		{name: "tag of another unit", actor: ana,
			req: Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR02.PullDownSP", Value: 90},
			err: ErrTarget, msg: "Pit.DR02.PullDownSP is not a signal of Pit.DR01", target: "Pit.DR02.PullDownSP"},
		{name: "no setpoint tag", actor: ana, req: Request{Unit: "Pit.DR01", Command: SetValue, Value: 90},
			err: ErrTarget, msg: "no setpoint given", target: "Pit.DR01"},
		{name: "already running", actor: ana, req: Request{Unit: "Pit.DR02", Command: Start},
			err: ErrState, msg: "Pit.DR02 is already running", target: "Pit.DR02", old: "running", new: "running"},
		{name: "already stopped", actor: ana, req: Request{Unit: "Pit.DR01", Command: Stop},
			err: ErrState, msg: "Pit.DR01 is already stopped", target: "Pit.DR01"},
		{name: "faulted", actor: ana, setup: func(e *env) { e.eq.set("Pit.DR01.RunState", int32(2)) },
			req: Request{Unit: "Pit.DR01", Command: Start},
			err: ErrState, msg: "Pit.DR01 is faulted: reset the fault at the machine", target: "Pit.DR01", old: "faulted"},
		{name: "run state unreadable", actor: ana,
			setup: func(e *env) { e.eq.setReading("Pit.DR01.RunState", Reading{Value: int32(0), Status: 0x80000000}) },
			req:   Request{Unit: "Pit.DR01", Command: Start},
			err:   ErrQuality, msg: "Pit.DR01's run state cannot be read", target: "Pit.DR01", old: "unknown (bad quality)"},
		{name: "rate-limited setpoint unreadable", actor: ana,
			setup: func(e *env) { e.eq.setReading("Pit.DR01.PullDownSP", Reading{Value: 80.0, Stale: true}) },
			req:   Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.PullDownSP", Value: 90},
			err:   ErrQuality, msg: "Pit.DR01.PullDownSP cannot be read (stale)", target: "Pit.DR01.PullDownSP", old: "unknown (stale)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testConfig())
			if tc.setup != nil {
				tc.setup(e)
			}
			sel, err := e.c.Select(ctx, tc.actor, tc.req)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Select = %+v, %v; want %v", sel, err, tc.err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message %q\nwant it to contain %q", err, tc.msg)
			}
			e.expect(0, want{who: tc.actor.Name, action: "select " + string(tc.req.Command), target: tc.target,
				old: tc.old, new: tc.new, result: "refused: " + err.Error()})
			// The direct path (plugins) refuses the same way.
			res := e.c.Write(ctx, tc.actor, tc.req)
			if res.Outcome != Refused || !errors.Is(res.Err, tc.err) || res.Message != err.Error() {
				t.Errorf("Write = %+v, want refused like Select", res)
			}
			e.expect(1, want{who: tc.actor.Name, action: string(tc.req.Command), target: tc.target, result: "refused: " + err.Error()})
			e.noWrites()
		})
	}
}

func TestNotLoggedIn(t *testing.T) {
	e := newEnv(t, testConfig())
	for _, a := range []Actor{{}, {Name: "x"}, {Name: "x", Role: users.Admin, Face: "telnet"}} {
		if _, err := e.c.Select(ctx, a, Request{Unit: "Pit.DR01", Command: Start}); !errors.Is(err, ErrRole) {
			t.Errorf("Select by %+v: %v, want ErrRole", a, err)
		}
		if r := e.c.Write(ctx, a, Request{Unit: "Pit.DR01", Command: Start}); !errors.Is(r.Err, ErrRole) {
			t.Errorf("Write by %+v: %+v, want ErrRole", a, r)
		}
	}
	e.expect(0) // nobody to record
	e.noWrites()
}

func TestStartDone(t *testing.T) {
	e := newEnv(t, testConfig())
	sel, err := e.c.Select(ctx, ana, Request{Unit: "Pit.DR01", Command: Start, Reason: "shift start"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sel.ID) < 20 || sel.Unit != "Pit.DR01" || sel.Command != Start || sel.Tag != "Pit.DR01.RunCmd" ||
		sel.Current != "stopped" || sel.New != "running" || sel.ConfirmWithinMs != 30000 ||
		!sel.Expires.Equal(e.clk.now().Add(30*time.Second)) {
		t.Errorf("selection %+v", sel)
	}
	e.noWrites()
	res, err := e.c.Operate(ctx, ana, sel.ID, "")
	if err != nil || res.Outcome != Done || res.Message != "Pit.DR01 is running" {
		t.Fatalf("Operate = %+v, %v", res, err)
	}
	if w := e.eq.written(); len(w) != 1 || w[0] != (fakeWrite{"Pit.DR01.RunCmd", true}) {
		t.Errorf("writes %v", w)
	}
	e.expect(0,
		want{"ana", "select start", "Pit.DR01", "stopped", "running", "selected"},
		want{"ana", "start", "Pit.DR01", "stopped", "running", "sending"},
		want{"ana", "start", "Pit.DR01", "stopped", "running", "done"})
	if got := e.entries(2)[0]; got.Result != "done" || got.Reason != "shift start" || got.Face != audit.FaceDesktop {
		t.Errorf("last entry %+v", got)
	}

	// Operating it again is refused: the selection is spent.
	res, err = e.c.Operate(ctx, ana, sel.ID, "")
	if !errors.Is(err, ErrUnknown) || res.Outcome != Refused || !strings.Contains(res.Message, "already operated at 08:00:00") {
		t.Fatalf("second Operate = %+v, %v", res, err)
	}
	e.expect(3, want{"ana", "start", "Pit.DR01", "", "", "refused: this selection is closed (already operated"})
	if len(e.eq.written()) != 1 {
		t.Error("second Operate wrote")
	}
	// An id never issued.
	if _, err := e.c.Operate(ctx, ana, "nonsense", ""); !errors.Is(err, ErrUnknown) {
		t.Fatal(err)
	}
	e.expect(4, want{"ana", "operate", "selection nonsense", "", "", `refused: there is no open selection "nonsense"`})
}

func TestSetpointDone(t *testing.T) {
	e := newEnv(t, testConfig())
	sel, err := e.c.Select(ctx, eve, Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.PullDownSP", Value: 100, Reason: "hard rock"})
	if err != nil {
		t.Fatal(err)
	}
	if sel.Current != "80 kN" || sel.New != "100 kN" || sel.Tag != "Pit.DR01.PullDownSP" {
		t.Errorf("selection %+v", sel)
	}
	res, err := e.c.Operate(ctx, eve, sel.ID, "")
	if err != nil || res.Outcome != Done || res.Message != "Pit.DR01.PullDownSP reads 100 kN" {
		t.Fatalf("Operate = %+v, %v", res, err)
	}
	if w := e.eq.written(); len(w) != 1 || w[0] != (fakeWrite{"Pit.DR01.PullDownSP", 100.0}) {
		t.Errorf("writes %v", w)
	}
	e.expect(0,
		want{"eve", "select setpoint", "Pit.DR01.PullDownSP", "80 kN", "100 kN", "selected"},
		want{"eve", "setpoint", "Pit.DR01.PullDownSP", "80 kN", "100 kN", "sending"},
		want{"eve", "setpoint", "Pit.DR01.PullDownSP", "80 kN", "100 kN", "done"})

	// An engineer may write the engineer's setpoint.
	r := e.c.Write(ctx, eve, Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.RotarySP", Value: 72.5})
	if r.Outcome != Done {
		t.Fatalf("%+v", r)
	}
	e.expect(3,
		want{"eve", "setpoint", "Pit.DR01.RotarySP", "60 rpm", "72.5 rpm", "sending"},
		want{"eve", "setpoint", "Pit.DR01.RotarySP", "60 rpm", "72.5 rpm", "done"})
}

func TestStopDoneAndPluginWrite(t *testing.T) {
	e := newEnv(t, testConfig())
	r := e.c.Write(ctx, robot, Request{Unit: "Pit.DR02", Command: Stop, Reason: "energy peak"})
	if r.Outcome != Done || r.Message != "Pit.DR02 is stopped" || r.Err != nil {
		t.Fatalf("%+v", r)
	}
	got := e.entries(0)
	if len(got) != 2 || got[1].Face != audit.FacePlugin || got[1].Who != "optimizer" || got[1].Action != "stop" ||
		got[1].Result != "done" || got[1].Reason != "energy peak" {
		t.Errorf("entries %+v", got)
	}
}

func TestRejectedByEquipment(t *testing.T) {
	e := newEnv(t, testConfig())
	e.eq.setRefuse(errors.New("BadInvalidState: the apron feeder is open"))
	sel, err := e.c.Select(ctx, ana, Request{Unit: "Pit.DR01", Command: Start})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.c.Operate(ctx, ana, sel.ID, "")
	if err != nil || res.Outcome != Rejected || res.Message != "BadInvalidState: the apron feeder is open" {
		t.Fatalf("Operate = %+v, %v", res, err)
	}
	e.expect(0,
		want{"ana", "select start", "Pit.DR01", "", "", "selected"},
		want{"ana", "start", "Pit.DR01", "", "", "sending"},
		want{"ana", "start", "Pit.DR01", "stopped", "running", "rejected: BadInvalidState: the apron feeder is open"})
}

func TestTrippedOnStart(t *testing.T) {
	e := newEnv(t, testConfig())
	e.eq.tripOnStart = true
	r := e.c.Write(ctx, ana, Request{Unit: "Pit.DR01", Command: Start})
	if r.Outcome != Rejected || !strings.HasPrefix(r.Message, "tripped on start") {
		t.Fatalf("%+v", r)
	}
	e.expect(0,
		want{"ana", "start", "Pit.DR01", "", "", "sending"},
		want{"ana", "start", "Pit.DR01", "", "", "rejected: tripped on start: Pit.DR01 reports faulted"})
}

func TestReadBackTimeout(t *testing.T) {
	e := newEnv(t, testConfig())
	e.eq.noEffect = true
	start := time.Now()
	r := e.c.Write(ctx, ana, Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.PullDownSP", Value: 90})
	if r.Outcome != TimedOut || r.Message != "written, but not confirmed within 300ms: Pit.DR01.PullDownSP reads 80 kN, not 90 kN" {
		t.Fatalf("%+v", r)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
		t.Errorf("read-back took %v", d)
	}
	e.expect(0,
		want{"ana", "setpoint", "Pit.DR01.PullDownSP", "", "", "sending"},
		want{"ana", "setpoint", "Pit.DR01.PullDownSP", "80 kN", "90 kN", "timed out: written, but not confirmed within 300ms"})

	r = e.c.Write(ctx, ana, Request{Unit: "Pit.DR01", Command: Start})
	if r.Outcome != TimedOut || !strings.HasSuffix(r.Message, "Pit.DR01 is stopped") {
		t.Fatalf("%+v", r)
	}

	// A unit that takes the request but does not run (a standby pump) is told apart.
	e.eq.noEffect, e.eq.standby = false, true
	r = e.c.Write(ctx, ana, Request{Unit: "Pit.DR01", Command: Start})
	if r.Outcome != TimedOut || !strings.Contains(r.Message, "Pit.DR01 is stopped; its RunCmd reads back true, so the unit holds the request") {
		t.Fatalf("%+v", r)
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, testConfig()) // PullDownSP: 0.5 kN/s, window 1 min: at most 30 kN at once
	sp := func(v float64) Request {
		return Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.PullDownSP", Value: v}
	}
	// More than a whole window's worth is never allowed in one step.
	_, err := e.c.Select(ctx, ana, sp(120))
	if !errors.Is(err, ErrRate) || err.Error() != "Pit.DR01.PullDownSP: a step of 40 kN (from 80 to 120 kN) is faster than its limit "+
		"of 0.5 kN/s (30 kN/min): at most 30 kN is allowed now; one step may move it by at most 30 kN: make smaller steps" {
		t.Fatalf("%v", err)
	}
	// The first write may use the whole window.
	if r := e.c.Write(ctx, ana, sp(100)); r.Outcome != Done {
		t.Fatalf("%+v", r)
	}
	// Right after it, nothing more.
	_, err = e.c.Select(ctx, ana, sp(110))
	if !errors.Is(err, ErrRate) || !strings.Contains(err.Error(), "at most 0 kN is allowed now; wait 20s or make a smaller step") {
		t.Fatalf("%v", err)
	}
	e.clk.advance(10 * time.Second)
	_, err = e.c.Select(ctx, ana, sp(110))
	if !errors.Is(err, ErrRate) || !strings.Contains(err.Error(), "at most 5 kN is allowed now; wait 10s") {
		t.Fatalf("%v", err)
	}
	e.clk.advance(10 * time.Second)
	sel, err := e.c.Select(ctx, ana, sp(110))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := e.c.Operate(ctx, ana, sel.ID, ""); err != nil || res.Outcome != Done {
		t.Fatalf("%+v %v", res, err)
	}
	e.expect(0,
		want{"ana", "select setpoint", "Pit.DR01.PullDownSP", "80 kN", "120 kN", "refused: Pit.DR01.PullDownSP: a step of 40 kN"},
		want{"ana", "setpoint", "Pit.DR01.PullDownSP", "80 kN", "100 kN", "sending"},
		want{"ana", "setpoint", "Pit.DR01.PullDownSP", "80 kN", "100 kN", "done"},
		want{"ana", "select setpoint", "Pit.DR01.PullDownSP", "100 kN", "110 kN", "refused: Pit.DR01.PullDownSP: a step of 10 kN"},
		want{"ana", "select setpoint", "Pit.DR01.PullDownSP", "100 kN", "110 kN", "refused: Pit.DR01.PullDownSP: a step of 10 kN"},
		want{"ana", "select setpoint", "Pit.DR01.PullDownSP", "100 kN", "110 kN", "selected"},
		want{"ana", "setpoint", "Pit.DR01.PullDownSP", "100 kN", "110 kN", "sending"},
		want{"ana", "setpoint", "Pit.DR01.PullDownSP", "100 kN", "110 kN", "done"})
	if n := len(e.eq.written()); n != 2 {
		t.Errorf("%d writes, want 2", n)
	}
}

func TestConfirmTimeout(t *testing.T) {
	e := newEnv(t, testConfig())
	sel, err := e.c.Select(ctx, ana, Request{Unit: "Pit.DR01", Command: Start})
	if err != nil {
		t.Fatal(err)
	}
	e.clk.advance(30 * time.Second)
	res, err := e.c.Operate(ctx, ana, sel.ID, "")
	if !errors.Is(err, ErrConfirmTimeout) || res.Outcome != Refused ||
		res.Message != "not confirmed within 30s: select the command again" {
		t.Fatalf("Operate = %+v, %v", res, err)
	}
	// Once more: still a timeout, audited as an attempt on the closed selection.
	if _, err := e.c.Operate(ctx, ana, sel.ID, ""); !errors.Is(err, ErrConfirmTimeout) {
		t.Fatal(err)
	}
	e.expect(0,
		want{"ana", "select start", "Pit.DR01", "", "", "selected"},
		want{"ana", "start", "Pit.DR01", "stopped", "running", "refused: not confirmed within 30s"},
		want{"ana", "start", "Pit.DR01", "", "", "refused: this selection is closed (not confirmed in time at 08:00:30)"})
	e.noWrites()
}

// TestExpiry: a selection nobody confirms is audited once when it expires. The timer runs
// on the wall clock and re-arms while the injected clock is behind.
func TestExpiry(t *testing.T) {
	cfg := testConfig()
	cfg.ConfirmTimeout = 50 * time.Millisecond
	e := newEnv(t, cfg)
	sel, err := e.c.Select(ctx, ana, Request{Unit: "Pit.DR01", Command: Start})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(120 * time.Millisecond) // the timer fired, but the injected clock has not moved
	e.expect(1)
	e.clk.advance(time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for len(e.entries(1)) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // no second entry follows
	e.expect(1, want{"ana", "start", "Pit.DR01", "stopped", "running", "refused: not confirmed within 50ms"})
	if _, err := e.c.Operate(ctx, ana, sel.ID, ""); !errors.Is(err, ErrConfirmTimeout) {
		t.Fatal(err)
	}
	e.noWrites()
}

func TestOperateByAnother(t *testing.T) {
	e := newEnv(t, testConfig())
	sel, err := e.c.Select(ctx, ana, Request{Unit: "Pit.DR01", Command: Start})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []Actor{eve, {Name: "ana", Role: users.Operator, Face: audit.FaceWeb}} {
		res, err := e.c.Operate(ctx, a, sel.ID, "")
		if !errors.Is(err, ErrNotYours) || res.Outcome != Refused ||
			res.Message != "start of Pit.DR01 was selected by ana (desktop): only they can confirm it" {
			t.Fatalf("Operate by %+v = %+v, %v", a, res, err)
		}
		if err := e.c.Cancel(ctx, a, sel.ID); !errors.Is(err, ErrNotYours) {
			t.Fatal(err)
		}
	}
	e.noWrites()
	// The selection is still ana's.
	if res, err := e.c.Operate(ctx, ana, sel.ID, ""); err != nil || res.Outcome != Done {
		t.Fatalf("%+v %v", res, err)
	}
	e.expect(0,
		want{"ana", "select start", "Pit.DR01", "", "", "selected"},
		want{"eve", "start", "Pit.DR01", "", "", "refused: start of Pit.DR01 was selected by ana (desktop)"},
		want{"ana", "start", "Pit.DR01", "", "", "refused: start of Pit.DR01 was selected by ana (desktop)"},
		want{"ana", "start", "Pit.DR01", "", "", "sending"},
		want{"ana", "start", "Pit.DR01", "", "", "done"})
}

// TestOperateRechecks: a selection whose conditions changed is refused at Operate.
func TestOperateRechecks(t *testing.T) {
	e := newEnv(t, testConfig())
	sel, err := e.c.Select(ctx, ana, Request{Unit: "Crushing.CV2", Command: Start})
	if err != nil {
		t.Fatal(err)
	}
	e.eq.set("Haulage.OC1.RunState", int32(0)) // OC1 tripped meanwhile
	res, err := e.c.Operate(ctx, ana, sel.ID, "")
	if !errors.Is(err, ErrInterlock) || res.Outcome != Refused || !strings.Contains(res.Message, "CV2 discharges onto OC1 or OC2") {
		t.Fatalf("%+v %v", res, err)
	}
	e.eq.set("Haulage.OC1.RunState", int32(1))
	sel, _ = e.c.Select(ctx, ana, Request{Unit: "Pit.DR01", Command: Start})
	e.eq.set("Pit.DR01.Mode", int32(0)) // switched to local at the machine
	if _, err := e.c.Operate(ctx, ana, sel.ID, ""); !errors.Is(err, ErrMode) {
		t.Fatal(err)
	}
	sel, _ = e.c.Select(ctx, ana, Request{Unit: "Pit.DR02", Command: Stop})
	roleless := ana
	roleless.Role = users.Viewer // demoted meanwhile
	if _, err := e.c.Operate(ctx, roleless, sel.ID, ""); !errors.Is(err, ErrRole) {
		t.Fatal(err)
	}
	e.noWrites()
	e.expect(0,
		want{"ana", "select start", "Crushing.CV2", "", "", "selected"},
		want{"ana", "start", "Crushing.CV2", "", "", "refused: start of Crushing.CV2 is interlocked"},
		want{"ana", "select start", "Pit.DR01", "", "", "selected"},
		want{"ana", "start", "Pit.DR01", "", "", "refused: Pit.DR01 is in LOCAL mode"},
		want{"ana", "select stop", "Pit.DR02", "", "", "selected"},
		want{"ana", "stop", "Pit.DR02", "", "", "refused: viewers cannot command equipment"})
}

func TestCancelAndReplace(t *testing.T) {
	e := newEnv(t, testConfig())
	first, err := e.c.Select(ctx, ana, Request{Unit: "Pit.DR01", Command: Start})
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.c.Select(ctx, eve, Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.PullDownSP", Value: 90})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Operate(ctx, ana, first.ID, ""); !errors.Is(err, ErrUnknown) ||
		!strings.Contains(err.Error(), "closed (replaced by a newer selection") {
		t.Fatal(err)
	}
	if err := e.c.Cancel(ctx, eve, second.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Cancel(ctx, eve, second.ID); !errors.Is(err, ErrUnknown) {
		t.Fatal(err)
	}
	if _, err := e.c.Operate(ctx, eve, second.ID, ""); !errors.Is(err, ErrUnknown) {
		t.Fatal(err)
	}
	e.noWrites()
	e.expect(0,
		want{"ana", "select start", "Pit.DR01", "", "", "selected"},
		want{"eve", "select setpoint", "Pit.DR01.PullDownSP", "", "", "selected"},
		want{"ana", "start", "Pit.DR01", "", "", "cancelled: replaced by a new selection by eve"},
		want{"ana", "start", "Pit.DR01", "", "", "refused: this selection is closed (replaced"},
		want{"eve", "setpoint", "Pit.DR01.PullDownSP", "80 kN", "90 kN", "cancelled"},
		want{"eve", "setpoint", "Pit.DR01.PullDownSP", "", "", "refused: this selection is closed (cancelled"})
}

// TestAuditFailureRefuses: no audit entry, no write.
func TestAuditFailureRefuses(t *testing.T) {
	e := newEnv(t, testConfig())
	sel, err := e.c.Select(ctx, ana, Request{Unit: "Pit.DR01", Command: Start})
	if err != nil {
		t.Fatal(err)
	}
	e.log.fail.Store(true)
	res, err := e.c.Operate(ctx, ana, sel.ID, "")
	if !errors.Is(err, ErrAudit) || res.Outcome != Refused ||
		res.Message != "start of Pit.DR01 refused: the audit log cannot be written (control: audit log unavailable: disk I/O error); nothing is written to equipment unaudited" {
		t.Fatalf("Operate = %+v, %v", res, err)
	}
	if r := e.c.Write(ctx, robot, Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.PullDownSP", Value: 90}); !errors.Is(r.Err, ErrAudit) {
		t.Fatalf("Write = %+v", r)
	}
	if _, err := e.c.Select(ctx, ana, Request{Unit: "Pit.DR01", Command: Start}); !errors.Is(err, ErrAudit) {
		t.Fatalf("Select: %v", err)
	}
	// A refusal stays a refusal, and says it was not recorded.
	_, err = e.c.Select(ctx, vic, Request{Unit: "Pit.DR01", Command: Start})
	if !errors.Is(err, ErrRole) || err.Error() != "viewers cannot command equipment (the audit log could not record this refusal)" {
		t.Fatalf("Select: %v", err)
	}
	e.noWrites()
	e.log.fail.Store(false)
	e.expect(0, want{"ana", "select start", "Pit.DR01", "", "", "selected"})
}

func TestPanel(t *testing.T) {
	e := newEnv(t, testConfig())
	p, err := e.c.Panel(vic, "Pit.DR01")
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != "remote" || p.RunState == nil || *p.RunState != 0 || len(p.Commands) != 2 || len(p.Setpoints) != 3 {
		t.Fatalf("%+v", p)
	}
	for _, c := range p.Commands {
		if c.Allowed || c.Why != viewersMsg {
			t.Errorf("viewer: %+v", c)
		}
	}
	for _, s := range p.Setpoints {
		if s.Allowed || s.Why != viewersMsg {
			t.Errorf("viewer: %+v", s)
		}
	}

	p, _ = e.c.Panel(ana, "Pit.DR01")
	b, _ := json.Marshal(p)
	want := `{"unit":"Pit.DR01","mode":"remote","runState":0,"commands":[` +
		`{"command":"start","allowed":true,"why":""},{"command":"stop","allowed":false,"why":"Pit.DR01 is already stopped"}],"setpoints":[` +
		`{"tag":"Pit.DR01.FeedSP","signal":"FeedSP","eu":"%","value":50,"quality":"good","min":0,"max":200,"maxRatePerMin":0,"role":"operator","allowed":true,"why":""},` +
		`{"tag":"Pit.DR01.PullDownSP","signal":"PullDownSP","eu":"kN","value":80,"quality":"good","min":20,"max":150,"maxRatePerMin":30,"role":"operator","allowed":true,"why":""},` +
		`{"tag":"Pit.DR01.RotarySP","signal":"RotarySP","eu":"rpm","value":60,"quality":"good","min":0,"max":120,"maxRatePerMin":0,"role":"engineer","allowed":false,` +
		`"why":"Pit.DR01.RotarySP may be changed only by an engineer or above; ana is an operator"}]}`
	if string(b) != want {
		t.Errorf("panel\n%s\nwant\n%s", b, want)
	}

	e.eq.setReading("Pit.DR05.RunState", Reading{Value: int32(1), Status: 0x80000000})
	p, _ = e.c.Panel(eve, "Pit.DR05")
	if p.Mode != "local" || p.RunState != nil || p.Commands[0].Allowed || !strings.Contains(p.Commands[0].Why, "LOCAL") {
		t.Errorf("%+v", p)
	}
	b, _ = json.Marshal(p)
	if !strings.Contains(string(b), `"runState":null`) || !strings.Contains(string(b), `"setpoints":[]`) {
		t.Errorf("%s", b)
	}
	p, _ = e.c.Panel(ana, "Crushing.CV2")
	if p.Commands[0].Allowed != true {
		t.Errorf("%+v", p)
	}
	e.eq.set("Haulage.OC1.RunState", int32(0))
	p, _ = e.c.Panel(ana, "Crushing.CV2")
	if p.Commands[0].Allowed || !strings.Contains(p.Commands[0].Why, "CV2 discharges onto OC1 or OC2") {
		t.Errorf("%+v", p)
	}
	if _, err := e.c.Panel(ana, "Pit.NOPE"); !errors.Is(err, ErrUnknown) {
		t.Error(err)
	}
	e.expect(0) // looking is not audited
}

func TestNewValidates(t *testing.T) {
	e := newEnv(t, Config{})
	bad := []struct {
		cfg Config
		msg string
	}{
		{Config{ConfirmTimeout: -1}, "cannot be negative"},
		{Config{Setpoints: []Setpoint{{Tag: "DR01SP"}}}, "Area.Unit.Signal"},
		{Config{Setpoints: []Setpoint{{Tag: "Pit.DR01.PowerKW"}}}, "PowerKW is not one"},
		{Config{Setpoints: []Setpoint{{Tag: "Pit.DR01.XSP", Min: f64(5), Max: f64(1)}}}, "min 5 is above max 1"},
		{Config{Setpoints: []Setpoint{{Tag: "Pit.DR01.XSP", Max: f64(math.NaN())}}}, "max must be a finite number"},
		{Config{Setpoints: []Setpoint{{Tag: "Pit.DR01.XSP", MaxRate: -1}}}, "maxRate"},
		{Config{Setpoints: []Setpoint{{Tag: "Pit.DR01.XSP", Role: users.Viewer}}}, "viewers cannot command"},
		{Config{Setpoints: []Setpoint{{Tag: "Pit.DR01.XSP"}, {Tag: "Pit.DR01.XSP"}}}, "listed twice"},
		{Config{Interlocks: []Interlock{{Unit: "CV2", Command: Start, Require: mustExpr("A.B.C == 1")}}}, "Area.Unit"},
		{Config{Interlocks: []Interlock{{Unit: "Crushing.CV2", Command: "jog", Require: mustExpr("A.B.C == 1")}}}, "unknown command"},
		{Config{Interlocks: []Interlock{{Unit: "Crushing.CV2", Command: Start}}}, "no condition"},
	}
	for _, b := range bad {
		_, err := New(b.cfg, e.eq, e.log, Options{})
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), b.msg) {
			t.Errorf("%+v: %v, want %q", b.cfg, err, b.msg)
		}
	}
	// Site limits outside the EURange are found when the setpoint is used.
	c, err := New(Config{Setpoints: []Setpoint{{Tag: "Pit.DR01.FeedSP", Min: f64(300), Max: f64(400)}}}, e.eq, e.log, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Select(ctx, ana, Request{Unit: "Pit.DR01", Command: SetValue, Tag: "Pit.DR01.FeedSP", Value: 350})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "the site limits 300..400 lie outside its EURange 0..200 %") {
		t.Fatal(err)
	}
}

func TestExprEval(t *testing.T) {
	x := mustExpr("A.B.X == 1 and A.B.Y > 2 or A.B.Z < 0")
	vals := map[string]float64{"A.B.X": 1, "A.B.Y": 3}
	read := func(tag string) (float64, bool) { v, ok := vals[tag]; return v, ok }
	if !x.Eval(read) {
		t.Error("first alternative holds")
	}
	vals["A.B.Y"] = 2
	if x.Eval(read) {
		t.Error("nothing holds (A.B.Z unreadable)")
	}
	vals["A.B.Z"] = -1
	if !x.Eval(read) {
		t.Error("second alternative holds")
	}
	if (Expr{}).Eval(read) {
		t.Error("empty expression holds")
	}
}

// TestConcurrent: commands, panels, selections and cancels from many goroutines (run with
// -race); every write is audited before it is sent and once more with its outcome, and a unit
// runs one command at a time.
func TestConcurrent(t *testing.T) {
	e := newEnv(t, testConfig())
	e.eq.writeDelay = 2 * time.Millisecond
	for i := range 4 {
		e.eq.machine(fmt.Sprintf("Pit.SH%02d", i), false, true)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[Outcome]int{}
	for g := range 8 {
		wg.Go(func() {
			unit := fmt.Sprintf("Pit.SH%02d", g%4)
			for i := range 10 {
				cmd := Start
				if i%2 == 1 {
					cmd = Stop
				}
				a := Actor{Name: fmt.Sprintf("op%d", g), Role: users.Operator, Face: audit.FaceWeb}
				var out Outcome
				if g%2 == 0 {
					out = e.c.Write(ctx, a, Request{Unit: unit, Command: cmd}).Outcome
				} else if sel, err := e.c.Select(ctx, a, Request{Unit: unit, Command: cmd}); err == nil {
					res, _ := e.c.Operate(ctx, a, sel.ID, "")
					out = res.Outcome
				} else {
					out = Refused
				}
				e.c.Panel(a, unit)
				mu.Lock()
				outcomes[out]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if outcomes[Done] == 0 || outcomes[TimedOut] != 0 || outcomes[Rejected] != 0 {
		t.Errorf("outcomes %v", outcomes)
	}
	sending, done := 0, 0
	for _, en := range e.entries(0) {
		switch en.Result {
		case "sending":
			sending++
		case "done":
			done++
		}
	}
	if writes := len(e.eq.written()); sending != writes || done != outcomes[Done] {
		t.Errorf("%d writes, %d sending entries, %d done entries, %d done", writes, sending, done, outcomes[Done])
	}
}

func TestClose(t *testing.T) {
	e := newEnv(t, testConfig())
	if _, err := e.c.Select(ctx, ana, Request{Unit: "Pit.DR01", Command: Start}); err != nil {
		t.Fatal(err)
	}
	e.c.Close()
	e.c.Close()
	e.expect(1, want{"ana", "start", "Pit.DR01", "", "", "cancelled: Minebrain is shutting down"})
	if _, err := e.c.Select(ctx, ana, Request{Unit: "Pit.DR01", Command: Start}); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if r := e.c.Write(ctx, ana, Request{Unit: "Pit.DR01", Command: Start}); !errors.Is(r.Err, ErrClosed) {
		t.Fatal(r)
	}
	e.noWrites()
}
