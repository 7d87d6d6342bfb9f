package alarms

import (
	"strings"
	"testing"
	"time"
)

func TestDeadbandNoChatter(t *testing.T) {
	cases := []struct {
		name   string
		def    Definition
		values []float64
		want   []bool // active after each value
	}{
		{"HI", Definition{Kind: HI, Limit: 100, Deadband: 2},
			[]float64{99, 100, 99.5, 98.5, 101, 98.1, 97.9, 99.9, 100},
			[]bool{false, true, true, true, true, true, false, false, true}},
		{"HIHI", Definition{Kind: HIHI, Limit: 120, Deadband: 5},
			[]float64{121, 116, 114.9}, []bool{true, true, false}},
		{"LO", Definition{Kind: LO, Limit: 10, Deadband: 1},
			[]float64{10.5, 10, 10.9, 9, 11.1}, []bool{false, true, true, true, false}},
		{"LOLO", Definition{Kind: LOLO, Limit: 5, Deadband: 0.5},
			[]float64{4, 5.4, 5.6}, []bool{true, true, false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.def.ID, c.def.Tag = "P", "level"
			r := newRig(t, c.def)
			for i, v := range c.values {
				r.after(time.Second)
				r.feed("level", v)
				got, _ := r.e.Get("P")
				if got.Active != c.want[i] {
					t.Fatalf("value %g (step %d): active %v, want %v", v, i, got.Active, c.want[i])
				}
			}
		})
	}
	// Chatter around the limit: 1000 samples within the deadband raise exactly once.
	r := newRig(t, Definition{ID: "P", Tag: "level", Kind: HI, Limit: 100, Deadband: 2})
	for i := range 1000 {
		r.after(100 * time.Millisecond)
		r.feed("level", 99+float64(i%3)) // 99, 100, 101
	}
	if n := len(r.j.all()); n != 1 {
		t.Fatalf("%d transitions around the limit, want 1 (raise)", n)
	}
}

func TestOnOffDelays(t *testing.T) {
	r := newRig(t, Definition{ID: "P", Tag: "p", Kind: HI, Limit: 10,
		OnDelay: 5 * time.Second, OffDelay: 3 * time.Second})
	r.feed("p", 11)
	r.after(4 * time.Second)
	r.want("P", Normal)
	r.feed("p", 9) // fleeting: the on-delay restarts
	r.after(10 * time.Second)
	r.want("P", Normal)

	r.feed("p", 11)
	r.after(4 * time.Second)
	r.want("P", Normal)
	r.after(time.Second) // 5 s held: the tick raises it
	r.want("P", Unacknowledged)
	if tr, _ := r.j.last(); !tr.When.Equal(r.clk.Now()) {
		t.Fatalf("raised at %s, want the tick's time %s", tr.When, r.clk.Now())
	}

	r.feed("p", 9)
	r.after(2 * time.Second)
	r.want("P", Unacknowledged)
	r.feed("p", 12) // back before the off-delay ran out: stays active
	r.after(5 * time.Second)
	r.want("P", Unacknowledged)
	r.feed("p", 9)
	r.after(2 * time.Second)
	r.feed("p", 8) // a sample can also complete a delay
	r.want("P", Unacknowledged)
	r.clk.Advance(time.Second)
	r.feed("p", 8)
	r.want("P", RTNUnacknowledged)
}

func TestRateOfChange(t *testing.T) {
	// Bin level must not fall faster than 0.5 %/s over 10 s.
	r := newRig(t, Definition{ID: "R", Tag: "bin", Kind: Rate, Limit: 0.5,
		Window: 10 * time.Second, Deadband: 0.1})
	level := 80.0
	for range 20 { // steady fall of 0.2 %/s
		r.clk.Advance(time.Second)
		level -= 0.2
		r.feed("bin", level)
	}
	r.want("R", Normal)
	for range 5 { // a chute blockage clears: 2 %/s
		r.clk.Advance(time.Second)
		level -= 2
		r.feed("bin", level)
	}
	r.want("R", Unacknowledged)
	for range 30 { // flat again; the 10 s window drains
		r.clk.Advance(time.Second)
		r.feed("bin", level)
	}
	r.want("R", RTNUnacknowledged)

	// Rising counts too, and samples slower than the window still give a rate.
	r2 := newRig(t, Definition{ID: "R", Tag: "t", Kind: Rate, Limit: 1, Window: 2 * time.Second})
	r2.feed("t", 0)
	r2.clk.Advance(5 * time.Second)
	r2.feed("t", 4) // 0.8/s
	r2.want("R", Normal)
	r2.clk.Advance(5 * time.Second)
	r2.feed("t", 10) // 1.2/s
	r2.want("R", Unacknowledged)
}

func TestDiscrete(t *testing.T) {
	r := newRig(t,
		Definition{ID: "TRIP", Tag: "CV1.State", Kind: Discrete, Op: Eq, Limit: 3, Priority: High},
		Definition{ID: "NOTAUTO", Tag: "CV1.Mode", Kind: Discrete, Op: Ne, Limit: 1, Priority: Low},
	)
	r.feed("CV1.State", 1)
	r.feed("CV1.Mode", 1)
	r.want("TRIP", Normal)
	r.want("NOTAUTO", Normal)
	r.feed("CV1.State", 3)
	r.feed("CV1.Mode", 2)
	r.want("TRIP", Unacknowledged)
	r.want("NOTAUTO", Unacknowledged)
	r.feed("CV1.State", 1)
	r.want("TRIP", RTNUnacknowledged)
}

func TestBadQuality(t *testing.T) {
	r := newRig(t,
		Definition{ID: "HI", Tag: "p", Kind: HI, Limit: 10},
		Definition{ID: "BQ", Tag: "p", Kind: BadQuality, Priority: Medium},
		Definition{ID: "ON", Tag: "q", Kind: HI, Limit: 10, OnDelay: 5 * time.Second},
	)
	r.feed("p", 20)
	r.want("HI", Unacknowledged)
	r.feedStatus("p", 0, badStatus) // a bad 0 must not clear the HI alarm
	r.want("HI", Unacknowledged)
	r.want("BQ", Unacknowledged)
	if v, _ := r.e.Get("HI"); v.Value != 20 {
		t.Fatalf("value %g: a bad value replaced the last good one", v.Value)
	}
	r.feedStatus("p", 0, 0x40000000) // uncertain evaluates
	r.want("HI", RTNUnacknowledged)
	r.want("BQ", RTNUnacknowledged)

	// An on-delay does not run through bad data.
	r.feed("q", 20)
	r.after(3 * time.Second)
	r.feedStatus("q", 20, badStatus)
	r.after(3 * time.Second)
	r.want("ON", Normal)
	r.feed("q", 20)
	r.after(5 * time.Second)
	r.want("ON", Unacknowledged)
}

func TestCommunicationLost(t *testing.T) {
	r := newRig(t, Definition{ID: "COMM", Tag: "plc.heartbeat", Kind: BadQuality,
		StaleAfter: 30 * time.Second})
	r.feed("plc.heartbeat", 1)
	r.after(29 * time.Second)
	r.want("COMM", Normal)
	r.after(time.Second)
	r.want("COMM", Unacknowledged)
	r.feed("plc.heartbeat", 2)
	r.want("COMM", RTNUnacknowledged)
}

// A crusher's process alarms are suppressed while it is stopped, and come back when it
// runs with the process still abnormal.
func TestSuppressionByDesign(t *testing.T) {
	stopped, err := ParseCondition("Crushing.CR1.Running == 0")
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t,
		Definition{ID: "CR1.PowerLo", Tag: "Crushing.CR1.Power", Area: "crushing", Unit: "CR1",
			Kind: LO, Limit: 50, SuppressWhen: &stopped, Message: "crusher power low"},
		Definition{ID: "CR1.FeedLo", Tag: "Crushing.CR1.Feed", Area: "crushing", Unit: "CR1",
			Kind: LO, Limit: 100, SuppressWhen: &stopped},
		Definition{ID: "CR1.Fault", Tag: "Crushing.CR1.State", Area: "crushing", Unit: "CR1",
			Kind: Discrete, Op: Eq, Limit: 9}, // not suppressed: a fault matters when stopped
	)
	now := r.clk.Now()
	// Running normally.
	r.e.Process([]Sample{
		{Tag: "Crushing.CR1.Running", Value: 1, Time: now},
		{Tag: "Crushing.CR1.Power", Value: 400, Time: now},
		{Tag: "Crushing.CR1.Feed", Value: 2000, Time: now},
	})
	// The stop arrives in the same batch as the falling values, after them.
	r.clk.Advance(time.Second)
	now = r.clk.Now()
	r.e.Process([]Sample{
		{Tag: "Crushing.CR1.Power", Value: 0, Time: now},
		{Tag: "Crushing.CR1.Feed", Value: 0, Time: now},
		{Tag: "Crushing.CR1.State", Value: 9, Time: now},
		{Tag: "Crushing.CR1.Running", Value: 0, Time: now},
	})
	r.want("CR1.PowerLo", Suppressed)
	r.want("CR1.FeedLo", Suppressed)
	r.want("CR1.Fault", Unacknowledged)
	for _, tr := range r.j.all() {
		if tr.AlarmID != "CR1.Fault" && tr.To == Unacknowledged {
			t.Fatalf("a suppressed alarm flashed: %+v", tr)
		}
	}
	if a := r.e.Active(); len(a) != 1 || a[0].ID != "CR1.Fault" {
		t.Fatalf("active %+v", a)
	}
	c := r.e.Counts("crushing")
	if c.Suppressed != 2 {
		t.Fatalf("counts %+v", c)
	}
	// A bad running flag holds the suppression.
	r.feedStatus("Crushing.CR1.Running", 1, badStatus)
	r.want("CR1.PowerLo", Suppressed)
	// Started, power comes up, feed does not: only the feed alarm raises.
	r.clk.Advance(time.Second)
	now = r.clk.Now()
	r.e.Process([]Sample{
		{Tag: "Crushing.CR1.Running", Value: 1, Time: now},
		{Tag: "Crushing.CR1.Power", Value: 380, Time: now},
	})
	r.want("CR1.PowerLo", Normal)
	r.want("CR1.FeedLo", Unacknowledged)
}

// A suppression release delay keeps a restarting crusher's alarms suppressed while its
// process settles: the empty cavity refills before the low-level alarm is judged again.
func TestSuppressionReleaseDelay(t *testing.T) {
	stopped, _ := ParseCondition("Crushing.CR1.Running == 0")
	r := newRig(t, Definition{ID: "CR1.CavityLO", Tag: "Crushing.CR1.Cavity", Area: "crushing",
		Kind: LO, Limit: 15, SuppressWhen: &stopped, SuppressRelease: 2 * time.Minute})
	r.feed("Crushing.CR1.Running", 0)
	r.feed("Crushing.CR1.Cavity", 2)
	r.want("CR1.CavityLO", Suppressed)
	r.after(time.Second)
	r.feed("Crushing.CR1.Running", 1) // started: the cavity is still empty
	r.after(time.Minute)
	r.want("CR1.CavityLO", Suppressed)
	// Stopped again within the delay: the release starts over on the next start.
	r.feed("Crushing.CR1.Running", 0)
	r.feed("Crushing.CR1.Running", 1)
	r.after(90 * time.Second)
	r.want("CR1.CavityLO", Suppressed)
	r.feed("Crushing.CR1.Cavity", 40) // refilled
	r.after(31 * time.Second)
	r.want("CR1.CavityLO", Normal)
	// Still low when the delay ends: annunciated then.
	r.feed("Crushing.CR1.Running", 0)
	r.feed("Crushing.CR1.Cavity", 2)
	r.feed("Crushing.CR1.Running", 1)
	r.after(2*time.Minute + time.Second)
	r.want("CR1.CavityLO", Unacknowledged)
	for _, tr := range r.j.all() {
		if tr.To == Unacknowledged && tr.When.Before(r.clk.Now().Add(-2*time.Second)) {
			t.Fatalf("raised during the release delay: %+v", tr)
		}
	}
	if d := (Definition{ID: "x", Tag: "t", Kind: HI, SuppressRelease: time.Minute}); d.Validate() == nil {
		t.Fatal("a release delay without a suppression condition validated")
	}
}

func TestActiveOrderAndCounts(t *testing.T) {
	r := newRig(t,
		Definition{ID: "low1", Tag: "a", Area: "pit", Priority: Low, Kind: HI, Limit: 1},
		Definition{ID: "crit1", Tag: "b", Area: "pit", Priority: Critical, Kind: HI, Limit: 1},
		Definition{ID: "crit2", Tag: "c", Area: "plant", Priority: Critical, Kind: HI, Limit: 1},
		Definition{ID: "med1", Tag: "d", Area: "plant", Priority: Medium, Kind: HI, Limit: 1},
		Definition{ID: "quiet", Tag: "e", Area: "plant", Priority: High, Kind: HI, Limit: 1},
	)
	for _, tag := range []string{"a", "b", "c", "d"} {
		r.clk.Advance(time.Second)
		r.feed(tag, 5)
	}
	if err := r.e.Acknowledge("med1", "op1"); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range r.e.Active() {
		ids = append(ids, v.ID)
	}
	if got := strings.Join(ids, " "); got != "crit2 crit1 med1 low1" {
		t.Fatalf("order %q, want critical first, newest first", got)
	}
	all := r.e.Counts("")
	if all.ByPriority != [4]int{2, 0, 1, 1} || all.Unacked != 3 {
		t.Fatalf("counts %+v", all)
	}
	by := r.e.CountsByArea()
	if by["pit"].ByPriority != [4]int{1, 0, 0, 1} || by["plant"].ByPriority != [4]int{1, 0, 1, 0} ||
		by["plant"].Unacked != 1 {
		t.Fatalf("by area %+v", by)
	}
	if err := r.e.Shelve("low1", "op1", "known", r.clk.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if h := r.e.Hidden(); len(h) != 1 || h[0].ID != "low1" || h[0].ShelvedUntil.IsZero() {
		t.Fatalf("hidden %+v", h)
	}
}

func TestSystemAlarms(t *testing.T) {
	r := newRig(t, Definition{ID: "P", Tag: "p", Kind: HI, Limit: 1})
	if err := r.e.RaiseSystem("historian.disk", High, "historian disk 95% full"); err != nil {
		t.Fatal(err)
	}
	r.want("historian.disk", Unacknowledged)
	if err := r.e.RaiseSystem("historian.disk", High, "historian disk 95% full"); err != nil {
		t.Fatal(err)
	}
	if n := len(r.j.all()); n != 1 {
		t.Fatalf("raising again journaled %d transitions, want 1", n)
	}
	v, _ := r.e.Get("historian.disk")
	if v.Area != SystemArea || v.Kind != System || v.Message != "historian disk 95% full" {
		t.Fatalf("view %+v", v)
	}
	if err := r.e.Acknowledge("historian.disk", "op1"); err != nil {
		t.Fatal(err)
	}
	if err := r.e.ClearSystem("historian.disk"); err != nil {
		t.Fatal(err)
	}
	r.want("historian.disk", Normal)
	if tr, _ := r.j.last(); tr.Cause != CauseSystem {
		t.Fatalf("cause %s", tr.Cause)
	}
	// Connection lost, cleared before anyone looked: RTN unacknowledged, then shelvable.
	if err := r.e.RaiseSystem("conn.pit", Critical, "connection to pit PLC lost"); err != nil {
		t.Fatal(err)
	}
	if err := r.e.ClearSystem("conn.pit"); err != nil {
		t.Fatal(err)
	}
	r.want("conn.pit", RTNUnacknowledged)
	if err := r.e.RaiseSystem("P", Low, "x"); err == nil {
		t.Fatal("a system alarm took a configured alarm's id")
	}
	if err := r.e.ClearSystem("nope"); err == nil {
		t.Fatal("cleared an unknown system alarm")
	}
	if err := r.e.ClearSystem("P"); err == nil {
		t.Fatal("cleared a configured alarm as a system alarm")
	}
	if err := r.e.RaiseSystem("", Low, "x"); err == nil {
		t.Fatal("raised a system alarm without id")
	}
}

func TestDefinitionValidation(t *testing.T) {
	ok := Definition{ID: "A", Tag: "t", Kind: HI, Limit: 1}
	cases := []struct {
		name   string
		change func(*Definition)
		want   string
	}{
		{"no id", func(d *Definition) { d.ID = "" }, "without id"},
		{"no tag", func(d *Definition) { d.Tag = "" }, "tag is required"},
		{"priority", func(d *Definition) { d.Priority = 9 }, "priority"},
		{"kind", func(d *Definition) { d.Kind = 42 }, "kind"},
		{"system", func(d *Definition) { d.Kind = System }, "RaiseSystem"},
		{"deadband", func(d *Definition) { d.Deadband = -1 }, "deadband"},
		{"delay", func(d *Definition) { d.OnDelay = -time.Second }, "delays"},
		{"rate window", func(d *Definition) { d.Kind = Rate }, "window"},
		{"rate limit", func(d *Definition) { d.Kind, d.Window, d.Limit = Rate, time.Second, 0 }, "rate-of-change limit"},
		{"stale", func(d *Definition) { d.StaleAfter = time.Second }, "stale-after"},
		{"suppress tag", func(d *Definition) { d.SuppressWhen = &Condition{} }, "suppression"},
	}
	for _, c := range cases {
		d := ok
		c.change(&d)
		_, err := New([]Definition{d}, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := New([]Definition{ok, ok}, Options{}); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate: %v", err)
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Condition{
		"Crushing.CR1.Running == 0": {Tag: "Crushing.CR1.Running", Op: Eq, Value: 0},
		"a != 1.5":                  {Tag: "a", Op: Ne, Value: 1.5},
		"  b <  -2 ":                {Tag: "b", Op: Lt, Value: -2},
		"c > 1e3":                   {Tag: "c", Op: Gt, Value: 1000},
	} {
		got, err := ParseCondition(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "a ==", "a >= 1", "a == x", "a == 1 b"} {
		if _, err := ParseCondition(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if c, _ := ParseCondition("x == 2"); c.String() != "x == 2" {
		t.Errorf("String %q", c.String())
	}
	for _, s := range []string{"critical", "HIGH", "medium", "low"} {
		if _, err := ParsePriority(s); err != nil {
			t.Error(err)
		}
	}
	if _, err := ParsePriority("urgent"); err == nil {
		t.Error("urgent parsed")
	}
	for k := HI; k <= System; k++ {
		if got, err := ParseKind(k.String()); err != nil || got != k {
			t.Errorf("kind %s: %v %v", k, got, err)
		}
	}
}
