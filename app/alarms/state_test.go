package alarms

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The state-model rig: alarm "A" is HI 100 on tag "x", "L" the same but latched; both
// are suppressed by design while "run == 0".
func stateRig(t *testing.T) *rig {
	cond := &Condition{Tag: "run", Op: Eq, Value: 0}
	return newRig(t,
		Definition{ID: "A", Tag: "x", Area: "a", Kind: HI, Limit: 100, SuppressWhen: cond},
		Definition{ID: "L", Tag: "x", Area: "a", Kind: HI, Limit: 100, SuppressWhen: cond, Latched: true},
	)
}

// step performs one named step on alarm id. Process steps act on both alarms (same tag).
func step(r *rig, id, s string) error {
	switch s {
	case "high":
		r.feed("x", 150)
	case "low":
		r.feed("x", 50)
	case "stop":
		r.feed("run", 0)
	case "start":
		r.feed("run", 1)
	case "expire":
		r.after(2 * time.Hour)
	case "ack":
		return r.e.Acknowledge(id, "op1")
	case "shelve":
		return r.e.Shelve(id, "op1", "nuisance", r.clk.Now().Add(time.Hour))
	case "oneshot":
		return r.e.ShelveOneShot(id, "op1", "sensor being cleaned")
	case "unshelve":
		return r.e.Unshelve(id, "op1")
	case "reset":
		return r.e.Reset(id, "op1")
	case "oos":
		return r.e.RemoveFromService(id, "tech", "transmitter replaced")
	case "rts":
		return r.e.ReturnToService(id, "tech", "transmitter back")
	default:
		panic("unknown step " + s)
	}
	return nil
}

// TestTransitions walks every legal transition of the state model: the steps bring the
// alarm to the "from" state, the last step must move it to "to" with the given cause.
func TestTransitions(t *testing.T) {
	cases := []struct {
		id    string
		steps string
		from  State
		to    State
		cause Cause
	}{
		// Plain alarm.
		{"A", "high", Normal, Unacknowledged, CauseValue},
		{"A", "high ack", Unacknowledged, Acknowledged, CauseAcknowledge},
		{"A", "high low", Unacknowledged, RTNUnacknowledged, CauseValue},
		{"A", "high ack low", Acknowledged, Normal, CauseValue},
		{"A", "high low ack", RTNUnacknowledged, Normal, CauseAcknowledge},
		{"A", "high low high", RTNUnacknowledged, Unacknowledged, CauseValue},
		// Latched alarm: stays until reset after acknowledged and normal.
		{"L", "high low", Unacknowledged, RTNUnacknowledged, CauseValue},
		{"L", "high low ack", RTNUnacknowledged, Latched, CauseAcknowledge},
		{"L", "high ack low", Acknowledged, Latched, CauseValue},
		{"L", "high ack low reset", Latched, Normal, CauseReset},
		{"L", "high ack low high", Latched, Unacknowledged, CauseValue},
		// Shelving from every visible state, and back.
		{"A", "shelve", Normal, Shelved, CauseShelve},
		{"A", "high shelve", Unacknowledged, Shelved, CauseShelve},
		{"A", "high ack shelve", Acknowledged, Shelved, CauseShelve},
		{"A", "high low shelve", RTNUnacknowledged, Shelved, CauseShelve},
		{"L", "high ack low shelve", Latched, Shelved, CauseShelve},
		{"A", "shelve unshelve", Shelved, Normal, CauseUnshelve},
		{"A", "high ack shelve unshelve", Shelved, Unacknowledged, CauseUnshelve},
		{"A", "shelve expire", Shelved, Normal, CauseShelveExpired},
		{"A", "high shelve expire", Shelved, Unacknowledged, CauseShelveExpired},
		{"A", "high oneshot low", Shelved, Normal, CauseOneShotEnded},
		{"A", "oneshot high low", Shelved, Normal, CauseOneShotEnded},
		// Suppression by design.
		{"A", "stop", Normal, Suppressed, CauseSuppress},
		{"A", "high stop", Unacknowledged, Suppressed, CauseSuppress},
		{"A", "high ack stop", Acknowledged, Suppressed, CauseSuppress},
		{"A", "high low stop", RTNUnacknowledged, Suppressed, CauseSuppress},
		{"A", "stop start", Suppressed, Normal, CauseUnsuppress},
		{"A", "stop high start", Suppressed, Unacknowledged, CauseUnsuppress},
		{"A", "shelve stop unshelve", Shelved, Suppressed, CauseUnshelve},
		// Out of service from every state, and back.
		{"A", "oos", Normal, OutOfService, CauseRemoveFromService},
		{"A", "high oos", Unacknowledged, OutOfService, CauseRemoveFromService},
		{"A", "high ack oos", Acknowledged, OutOfService, CauseRemoveFromService},
		{"A", "high low oos", RTNUnacknowledged, OutOfService, CauseRemoveFromService},
		{"L", "high ack low oos", Latched, OutOfService, CauseRemoveFromService},
		{"A", "shelve oos", Shelved, OutOfService, CauseRemoveFromService},
		{"A", "stop oos", Suppressed, OutOfService, CauseRemoveFromService},
		{"A", "oos rts", OutOfService, Normal, CauseReturnToService},
		{"A", "oos high rts", OutOfService, Unacknowledged, CauseReturnToService},
		{"A", "oos stop rts", OutOfService, Suppressed, CauseReturnToService},
	}
	for _, c := range cases {
		name := c.id + ": " + c.steps
		t.Run(name, func(t *testing.T) {
			r := stateRig(t)
			steps := strings.Fields(c.steps)
			for _, s := range steps[:len(steps)-1] {
				if err := step(r, c.id, s); err != nil {
					t.Fatalf("setup step %s: %v", s, err)
				}
			}
			r.want(c.id, c.from)
			before := len(r.j.all())
			if err := step(r, c.id, steps[len(steps)-1]); err != nil {
				t.Fatal(err)
			}
			r.want(c.id, c.to)
			var got *Transition
			for _, tr := range r.j.all()[before:] {
				if tr.AlarmID == c.id {
					got = &tr
				}
			}
			if got == nil {
				t.Fatal("no transition journaled")
			}
			if got.From != c.from || got.To != c.to || got.Cause != c.cause {
				t.Fatalf("journaled %s -> %s (%s), want %s -> %s (%s)",
					got.From, got.To, got.Cause, c.from, c.to, c.cause)
			}
			if got.When.IsZero() {
				t.Fatal("transition without time")
			}
		})
	}
}

// TestHiddenStatesHold checks that process changes while hidden move no visible state.
func TestHiddenStatesHold(t *testing.T) {
	for _, setup := range []string{"shelve", "stop", "oos"} {
		t.Run(setup, func(t *testing.T) {
			r := stateRig(t)
			if err := step(r, "A", setup); err != nil {
				t.Fatal(err)
			}
			s := r.state("A")
			n := len(r.j.all())
			r.feed("x", 150)
			r.feed("x", 50)
			r.feed("x", 150)
			r.want("A", s)
			for _, tr := range r.j.all()[n:] {
				if tr.AlarmID == "A" {
					t.Fatalf("hidden alarm journaled %+v", tr)
				}
			}
		})
	}
}

// TestIllegalTransitions: every action in a state where it makes no sense is refused with
// ErrIllegal, a message naming alarm, action and state, and no transition.
func TestIllegalTransitions(t *testing.T) {
	cases := []struct {
		id, steps string
		state     State
	}{
		{"A", "ack", Normal},
		{"A", "high ack ack", Acknowledged},
		{"L", "high ack low ack", Latched},
		{"A", "shelve ack", Shelved},
		{"A", "stop high ack", Suppressed},
		{"A", "oos ack", OutOfService},
		{"A", "reset", Normal},
		{"L", "reset", Normal},
		{"L", "high reset", Unacknowledged},
		{"L", "high ack reset", Acknowledged},
		{"L", "high low reset", RTNUnacknowledged},
		{"A", "high ack low reset", Normal},
		{"A", "unshelve", Normal},
		{"A", "high unshelve", Unacknowledged},
		{"A", "stop unshelve", Suppressed},
		{"A", "oos unshelve", OutOfService},
		{"A", "shelve shelve", Shelved},
		{"A", "shelve oneshot", Shelved},
		{"A", "stop shelve", Suppressed},
		{"A", "stop high oneshot", Suppressed},
		{"A", "oos shelve", OutOfService},
		{"A", "oos oos", OutOfService},
		{"A", "rts", Normal},
		{"A", "high rts", Unacknowledged},
		{"A", "shelve rts", Shelved},
		{"A", "stop rts", Suppressed},
	}
	for _, c := range cases {
		t.Run(c.id+": "+c.steps, func(t *testing.T) {
			r := stateRig(t)
			steps := strings.Fields(c.steps)
			for _, s := range steps[:len(steps)-1] {
				if err := step(r, c.id, s); err != nil {
					t.Fatalf("setup step %s: %v", s, err)
				}
			}
			n := len(r.j.all())
			err := step(r, c.id, steps[len(steps)-1])
			if !errors.Is(err, ErrIllegal) {
				t.Fatalf("err = %v, want ErrIllegal", err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", c.id)) {
				t.Fatalf("error %q does not name the alarm", err)
			}
			r.want(c.id, c.state)
			if len(r.j.all()) != n {
				t.Fatal("a refused action journaled a transition")
			}
		})
	}
}

func TestIllegalMessages(t *testing.T) {
	r := stateRig(t)
	err := r.e.Acknowledge("A", "op1")
	if err == nil || err.Error() != `alarm "A": cannot acknowledge: it is normal: not allowed in this state` {
		t.Fatalf("got %v", err)
	}
	err = r.e.Reset("A", "op1")
	if err == nil || !strings.Contains(err.Error(), "not a latched alarm") {
		t.Fatalf("got %v", err)
	}
}

func TestActionValidation(t *testing.T) {
	r := stateRig(t)
	now := r.clk.Now()
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"unknown alarm", r.e.Acknowledge("nope", "op1"), ErrUnknownAlarm},
		{"ack without who", r.e.Acknowledge("A", ""), ErrWhoRequired},
		{"shelve without reason", r.e.Shelve("A", "op1", "", now.Add(time.Hour)), ErrReasonRequired},
		{"one-shot without reason", r.e.ShelveOneShot("A", "op1", ""), ErrReasonRequired},
		{"shelve in the past", r.e.Shelve("A", "op1", "x", now), nil},
		{"oos without reason", r.e.RemoveFromService("A", "tech", ""), ErrReasonRequired},
		{"rts without reason", r.e.ReturnToService("A", "tech", ""), ErrReasonRequired},
		{"unshelve unknown", r.e.Unshelve("nope", "op1"), ErrUnknownAlarm},
		{"reset without who", r.e.Reset("L", ""), ErrWhoRequired},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if c.want != nil && !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
	r.want("A", Normal)
	if len(r.j.all()) != 0 {
		t.Fatal("refused actions journaled transitions")
	}
}

func TestJournalCarriesWhoReasonValue(t *testing.T) {
	r := stateRig(t)
	r.feed("x", 150)
	if err := r.e.Shelve("A", "op7", "chattering transmitter", r.clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	tr, _ := r.j.last()
	want := Transition{AlarmID: "A", From: Unacknowledged, To: Shelved, Cause: CauseShelve,
		Who: "op7", Reason: "chattering transmitter", When: r.clk.Now(), Value: 150}
	if tr != want {
		t.Fatalf("got %+v\nwant %+v", tr, want)
	}
	if err := r.e.RemoveFromService("L", "tech", "transmitter replaced"); err != nil {
		t.Fatal(err)
	}
	if v, _ := r.e.Get("L"); v.OutOfServiceBy != "tech" || v.OutOfServiceReason != "transmitter replaced" {
		t.Fatalf("view %+v", v)
	}
	v, _ := r.e.Get("A")
	if v.ShelvedBy != "op7" || v.ShelveReason != "chattering transmitter" || v.OneShot {
		t.Fatalf("view %+v", v)
	}
}
