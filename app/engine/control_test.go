package engine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"minebrain/app/control"
	"minebrain/app/users"
)

const controlSite = alarmSite + `control:
  interlocks:
    - unit: Haulage.OC2
      command: stop
      require: "Haulage.OC1.RunState == 0"
      message: OC2 stays up while OC1 runs
`

func auditResults(t *testing.T, e *Engine) []string {
	t.Helper()
	list, err := e.Audit(viewer, AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range list {
		out = append(out, x.Who+" "+x.Action+" "+x.Target+": "+x.Result)
	}
	return out
}

// TestControlPathOnTheSimulator drives the control path against the embedded simulator over
// OPC UA: an operator starts the stopped standby conveyor OC2 through select-before-operate and
// the read-back sees it running; refusals (viewer, local mode, the site's interlock, a
// setpoint outside its range) write nothing; every attempt is in the audit log.
func TestControlPathOnTheSimulator(t *testing.T) {
	e := startAlarmEngine(t, controlSite)
	waitFor(t, 10*time.Second, "OC2's run state", func() bool {
		v, ok := equipment{e}.Value("Haulage.OC2.RunState")
		return ok && v.Value != nil
	})

	if _, err := e.SelectCommand(viewer, CommandRequest{Unit: "Haulage.OC2", Command: "start"}); !errors.Is(err, control.ErrRole) {
		t.Fatalf("viewer select: %v", err)
	}
	p, err := e.ControlPanel(viewer, "Haulage.OC2")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Commands {
		if c.Allowed {
			t.Fatalf("viewer may %s", c.Command)
		}
	}

	sel, err := e.SelectCommand(operator, CommandRequest{Unit: "Haulage.OC2", Command: "start"})
	if err != nil {
		t.Fatal(err)
	}
	if sel.Current != "stopped" || sel.Tag != "Haulage.OC2.RunCmd" {
		t.Fatalf("selection %+v", sel)
	}
	res, err := e.OperateCommand(operator, sel.ID, "ore to the stockpile")
	if err != nil || res.Outcome != control.Done {
		t.Fatalf("operate: %+v %v", res, err)
	}
	if list, _ := e.Audit(viewer, AuditQuery{Limit: 1}); len(list) != 1 || list[0].Reason != "ore to the stockpile" || list[0].Result != "done" {
		t.Fatalf("the confirmation's reason is not in the audit entry: %+v", list)
	}
	if v, _ := (equipment{e}).Value("Haulage.OC2.RunState"); number(v.Value) != 1 {
		t.Fatalf("OC2 run state after start: %v", v.Value)
	}

	// Refusals: the site's interlock, local mode, a setpoint outside its range.
	if _, err := e.SelectCommand(operator, CommandRequest{Unit: "Haulage.OC2", Command: "stop"}); !errors.Is(err, control.ErrInterlock) ||
		!strings.Contains(err.Error(), "OC2 stays up while OC1 runs") {
		t.Fatalf("interlock: %v", err)
	}
	if _, err := e.SelectCommand(operator, CommandRequest{Unit: "Pit.DR05", Command: "stop"}); !errors.Is(err, control.ErrMode) {
		t.Fatalf("local mode: %v", err)
	}
	high := 120.0
	if _, err := e.SelectCommand(operator, CommandRequest{Unit: "Crushing.AF1", Command: "setpoint", Tag: "Crushing.AF1.FeederSpeedSP", Value: &high}); !errors.Is(err, control.ErrLimit) {
		t.Fatalf("limit: %v", err)
	}

	// A setpoint inside its range is written and read back.
	sp := 80.0
	sel, err = e.SelectCommand(operator, CommandRequest{Unit: "Crushing.AF1", Command: "setpoint", Tag: "Crushing.AF1.FeederSpeedSP", Value: &sp})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := e.OperateCommand(operator, sel.ID, ""); err != nil || res.Outcome != control.Done {
		t.Fatalf("setpoint: %+v %v", res, err)
	}

	got := strings.Join(auditResults(t, e), "\n")
	for _, want := range []string{"olga start Haulage.OC2", "wall ", "refused", "olga setpoint Crushing.AF1.FeederSpeedSP"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit log lacks %q:\n%s", want, got)
		}
	}
	rep, err := e.VerifyAudit(engineer)
	if err != nil || !rep.OK {
		t.Fatalf("audit chain: %+v %v", rep, err)
	}
}

// TestNoCommandsWithoutAuditLog: without a history file there is no audit log, so nothing
// may be written to equipment.
func TestNoCommandsWithoutAuditLog(t *testing.T) {
	e := startEngine(t, Config{})
	waitFor(t, 10*time.Second, "OC2's run state", func() bool {
		v, ok := equipment{e}.Value("Haulage.OC2.RunState")
		return ok && v.Value != nil
	})
	_, err := e.SelectCommand(Actor{Name: "olga", Role: users.Operator, Face: "desktop"}, CommandRequest{Unit: "Haulage.OC2", Command: "start"})
	if !errors.Is(err, control.ErrAudit) {
		t.Fatalf("select without an audit log: %v", err)
	}
	if v, _ := (equipment{e}).Value("Haulage.OC2.RunCmd"); v.Value != false {
		t.Fatalf("OC2 RunCmd written: %v", v.Value)
	}
}

func number(v any) float64 {
	f, _ := historyValue(v)
	return f
}
