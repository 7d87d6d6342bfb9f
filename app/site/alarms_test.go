package site

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"minebrain/app/alarms"
	"minebrain/app/control"
	"minebrain/app/users"
)

// withAlarms returns a valid site with the alarms: section body appended (the first alarm
// item's line is 6).
func withAlarms(body string) string {
	return "site: x\nconnections:\n  - {name: a, endpoint: embedded, equipment: {}}\nalarms:\n" + body
}

// withControl returns a valid site with the control: section body appended (its first line
// is 5).
func withControl(body string) string {
	return "site: x\nconnections:\n  - {name: a, endpoint: embedded, equipment: {}}\ncontrol:\n" + body
}

func TestAlarmFields(t *testing.T) {
	cond := func(tag string, op alarms.Op, v float64) *alarms.Condition {
		return &alarms.Condition{Tag: tag, Op: op, Value: v}
	}
	tests := []struct {
		name, yaml string
		want       alarms.Definition
	}{
		{"HI with every field", `  - id: CR1.PowerHI
    tag: Crushing.CR1.PowerKW
    kind: HI
    limit: 1050
    deadband: 20
    onDelay: 5s
    offDelay: 1m
    priority: high
    area: Primary
    unit: Gyratory
    message: CR1 power high
    suppressWhen: "Crushing.CR1.RunState != 1"
    latched: true
`, alarms.Definition{ID: "CR1.PowerHI", Tag: "Crushing.CR1.PowerKW", Area: "Primary", Unit: "Gyratory", Priority: alarms.High, Kind: alarms.HI,
			Message: "CR1 power high", Limit: 1050, Deadband: 20, OnDelay: 5 * time.Second, OffDelay: time.Minute,
			SuppressWhen: cond("Crushing.CR1.RunState", alarms.Ne, 1), Latched: true}},
		{"defaults: area, unit, message", "  - {id: a, tag: Water.SU1.LevelM, kind: HIHI, limit: 5.3, priority: critical}\n",
			alarms.Definition{ID: "a", Tag: "Water.SU1.LevelM", Area: "Water", Unit: "SU1", Priority: alarms.Critical, Kind: alarms.HIHI, Limit: 5.3, Message: "Water.SU1.LevelM high high"}},
		{"LO", "  - {id: a, tag: A.B.C, kind: LO, limit: -1.5, priority: low}\n",
			alarms.Definition{ID: "a", Tag: "A.B.C", Area: "A", Unit: "B", Priority: alarms.Low, Kind: alarms.LO, Limit: -1.5, Message: "A.B.C low"}},
		{"LOLO", "  - {id: a, tag: A.B.C, kind: lolo, limit: 0, priority: Medium}\n",
			alarms.Definition{ID: "a", Tag: "A.B.C", Area: "A", Unit: "B", Priority: alarms.Medium, Kind: alarms.LOLO, Limit: 0, Message: "A.B.C low low"}},
		{"discrete default op", "  - {id: a, tag: Pit.DR05.Mode, kind: discrete, limit: 0, priority: low}\n",
			alarms.Definition{ID: "a", Tag: "Pit.DR05.Mode", Area: "Pit", Unit: "DR05", Priority: alarms.Low, Kind: alarms.Discrete, Op: alarms.Eq, Message: "Pit.DR05.Mode == 0"}},
		{"discrete ops", "  - {id: a, tag: A.B.RunState, kind: discrete, op: \">\", limit: 1, priority: high}\n",
			alarms.Definition{ID: "a", Tag: "A.B.RunState", Area: "A", Unit: "B", Priority: alarms.High, Kind: alarms.Discrete, Op: alarms.Gt, Limit: 1, Message: "A.B.RunState > 1"}},
		{"discrete !=", "  - {id: a, tag: A.B.C, kind: discrete, op: \"!=\", limit: 1, priority: high}\n",
			alarms.Definition{ID: "a", Tag: "A.B.C", Area: "A", Unit: "B", Priority: alarms.High, Kind: alarms.Discrete, Op: alarms.Ne, Limit: 1, Message: "A.B.C != 1"}},
		{"discrete <", "  - {id: a, tag: A.B.C, kind: discrete, op: <, limit: 1, priority: high}\n",
			alarms.Definition{ID: "a", Tag: "A.B.C", Area: "A", Unit: "B", Priority: alarms.High, Kind: alarms.Discrete, Op: alarms.Lt, Limit: 1, Message: "A.B.C < 1"}},
		{"rate per hour", "  - {id: a, tag: Water.SU1.VolumeM3, kind: rate, limit: 360/h, window: 1m, deadband: 0.01, priority: medium}\n",
			alarms.Definition{ID: "a", Tag: "Water.SU1.VolumeM3", Area: "Water", Unit: "SU1", Priority: alarms.Medium, Kind: alarms.Rate, Limit: 0.1, Deadband: 0.01, Window: time.Minute, Message: "Water.SU1.VolumeM3 changing fast"}},
		{"rate per minute", "  - {id: a, tag: A.B.C, kind: rate, limit: 3/min, window: 30s, priority: medium}\n",
			alarms.Definition{ID: "a", Tag: "A.B.C", Area: "A", Unit: "B", Priority: alarms.Medium, Kind: alarms.Rate, Limit: 0.05, Window: 30 * time.Second, Message: "A.B.C changing fast"}},
		{"rate per second", "  - {id: a, tag: A.B.C, kind: rate, limit: 2.5/s, window: 10s, priority: medium}\n",
			alarms.Definition{ID: "a", Tag: "A.B.C", Area: "A", Unit: "B", Priority: alarms.Medium, Kind: alarms.Rate, Limit: 2.5, Window: 10 * time.Second, Message: "A.B.C changing fast"}},
		{"bad-quality", "  - {id: a, tag: A.B.C, kind: bad-quality, staleAfter: 30s, priority: high, message: lost}\n",
			alarms.Definition{ID: "a", Tag: "A.B.C", Area: "A", Unit: "B", Priority: alarms.High, Kind: alarms.BadQuality, StaleAfter: 30 * time.Second, Message: "lost"}},
		{"bad-quality without staleAfter", "  - {id: a, tag: A.B.C, kind: bad-quality, priority: high}\n",
			alarms.Definition{ID: "a", Tag: "A.B.C", Area: "A", Unit: "B", Priority: alarms.High, Kind: alarms.BadQuality, Message: "A.B.C bad quality"}},
		{"latched false, delay 0", "  - {id: a, tag: A.B.C, kind: HI, limit: 1, priority: low, latched: false, onDelay: 0}\n",
			alarms.Definition{ID: "a", Tag: "A.B.C", Area: "A", Unit: "B", Priority: alarms.Low, Kind: alarms.HI, Limit: 1, Message: "A.B.C high"}},
		{"suppressWhen with spaces and decimals", "  - {id: a, tag: A.B.C, kind: HI, limit: 1, priority: low, suppressWhen: \"  X.Y.Z   <  0.5 \"}\n",
			alarms.Definition{ID: "a", Tag: "A.B.C", Area: "A", Unit: "B", Priority: alarms.Low, Kind: alarms.HI, Limit: 1, Message: "A.B.C high", SuppressWhen: cond("X.Y.Z", alarms.Lt, 0.5)}},
		{"suppressRelease", "  - {id: a, tag: A.B.C, kind: LO, limit: 1, priority: low, suppressWhen: \"X.Y.Z == 0\", suppressRelease: 3m}\n",
			alarms.Definition{ID: "a", Tag: "A.B.C", Area: "A", Unit: "B", Priority: alarms.Low, Kind: alarms.LO, Limit: 1, Message: "A.B.C low", SuppressWhen: cond("X.Y.Z", alarms.Eq, 0), SuppressRelease: 3 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("site.yaml", []byte(withAlarms(tt.yaml)))
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Alarms) != 1 || len(s.AlarmPos) != 1 {
				t.Fatalf("alarms = %+v", s.Alarms)
			}
			if !reflect.DeepEqual(s.Alarms[0], tt.want) {
				t.Errorf("got  %+v\nwant %+v", s.Alarms[0], tt.want)
			}
			if p := s.AlarmPos[0]; p.Line != 5 || p.Col != 5 || p.Path != "alarms[0]" || p.File != "site.yaml" {
				t.Errorf("pos = %+v", p)
			}
			if p, ok := s.AlarmAt(tt.want.ID); !ok || p.Line != 5 {
				t.Errorf("AlarmAt = %+v, %v", p, ok)
			}
		})
	}
}

func TestAlarmsEmpty(t *testing.T) {
	for _, body := range []string{"", "  []\n"} {
		s, err := Parse("site.yaml", []byte(withAlarms(body)))
		if err != nil || len(s.Alarms) != 0 {
			t.Errorf("%q: %v %+v", body, err, s)
		}
	}
	if _, ok := Default().AlarmAt("no such alarm"); ok {
		t.Error("AlarmAt found a missing alarm")
	}
}

func TestControlFields(t *testing.T) {
	s, err := Parse("site.yaml", []byte(withControl(`  confirmTimeout: 20s
  readBackTimeout: 1m
  setpoints:
    - {tag: Crushing.AF1.FeederSpeedSP, min: 20, max: 95, maxRate: 10/min}
    - tag: Crushing.CR1.CssSP
      maxRate: 0.5/s
      role: engineer
    - {tag: A.B.CSP, min: -5, maxRate: 0, role: Admin}
    - {tag: A.B.DSP, max: 7, maxRate: 36/h, role: operator}
  interlocks:
    - unit: Crushing.CV2
      command: start
      require: "Haulage.OC1.RunState == 1 or Haulage.OC2.RunState == 1"
      message: CV2 discharges onto OC1 or OC2
    - {unit: A.B, command: SetPoint, require: "A.B.X > 1 and A.B.Y < 2 or A.C.Z == 0"}
`)))
	if err != nil {
		t.Fatal(err)
	}
	f := func(v float64) *float64 { return &v }
	expr := func(s string) control.Expr {
		e, err := control.ParseExpr(s)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	want := control.Config{
		ConfirmTimeout:  20 * time.Second,
		ReadBackTimeout: time.Minute,
		Setpoints: []control.Setpoint{
			{Tag: "Crushing.AF1.FeederSpeedSP", Min: f(20), Max: f(95), MaxRate: 10.0 / 60, Role: users.Operator},
			{Tag: "Crushing.CR1.CssSP", MaxRate: 0.5, Role: users.Engineer},
			{Tag: "A.B.CSP", Min: f(-5), Role: users.Admin},
			{Tag: "A.B.DSP", Max: f(7), MaxRate: 0.01, Role: users.Operator},
		},
		Interlocks: []control.Interlock{
			{Unit: "Crushing.CV2", Command: control.Start, Require: expr("Haulage.OC1.RunState == 1 or Haulage.OC2.RunState == 1"), Message: "CV2 discharges onto OC1 or OC2"},
			{Unit: "A.B", Command: control.SetValue, Require: expr("A.B.X > 1 and A.B.Y < 2 or A.C.Z == 0"), Message: "A.B setpoint interlock"},
		},
	}
	if !reflect.DeepEqual(s.Control, want) {
		t.Errorf("got  %+v\nwant %+v", s.Control, want)
	}
	if len(s.Control.Interlocks[1].Require.Any) != 2 || len(s.Control.Interlocks[1].Require.Any[0]) != 2 {
		t.Errorf("and/or precedence: %+v", s.Control.Interlocks[1].Require)
	}
	wantPos := func(ps []Pos, lines ...int) {
		t.Helper()
		if len(ps) != len(lines) {
			t.Fatalf("positions %+v, want lines %v", ps, lines)
		}
		for i, p := range ps {
			if p.Line != lines[i] {
				t.Errorf("position %d = %+v, want line %d", i, p, lines[i])
			}
		}
	}
	wantPos(s.SetpointPos, 8, 9, 12, 13)
	wantPos(s.InterlockPos, 15, 19)
	if s.SetpointPos[1].Path != "control.setpoints[1]" || s.InterlockPos[1].Path != "control.interlocks[1]" {
		t.Errorf("paths %+v %+v", s.SetpointPos[1], s.InterlockPos[1])
	}
}

func TestControlDefaults(t *testing.T) {
	for _, src := range []string{withControl(""), withControl("  setpoints: []\n"), "site: x\nconnections: [{name: a, endpoint: embedded, equipment: {}}]\n"} {
		s, err := Parse("site.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		c := s.Control
		if c.ConfirmTimeout != control.DefaultConfirmTimeout || c.ReadBackTimeout != control.DefaultReadBackTimeout || len(c.Setpoints)+len(c.Interlocks) != 0 {
			t.Errorf("%q: control = %+v", src, c)
		}
	}
}

// alarmErrorCases are alarms: and control: sections with one problem each: the line of the
// error must start with want (file:line:col: path:) and contain frag.
var alarmErrorCases = []struct {
	name, yaml, want, frag string
}{
	// alarms:
	{"alarms not a list", withAlarms("  a: {}\n"), "site.yaml:5:3: alarms: ", "expected a list (lines starting with \"- \") of alarms"},
	{"alarm not a mapping", withAlarms("  - CR1.PowerHI\n"), "site.yaml:5:5: alarms[0]: ", "expected an alarm (id:, tag:, kind:"},
	{"alarm typo", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 1, priority: low, dedband: 1}\n"), "site.yaml:5:60: alarms[0].dedband: ", "unknown key; did you mean deadband?"},
	{"alarm typo case", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 1, priority: low, ondelay: 1s}\n"), "site.yaml:5:60: alarms[0].ondelay: ", "did you mean onDelay?"},
	{"alarm missing id", withAlarms("  - {tag: A.B.C, kind: HI, limit: 1, priority: low}\n"), "site.yaml:5:5: alarms[0].id: ", "missing; every alarm needs a unique, stable id"},
	{"alarm bad id", withAlarms("  - {id: CR1 power, tag: A.B.C, kind: HI, limit: 1, priority: low}\n"), "site.yaml:5:10: alarms[0].id: ", `"CR1 power" is not an alarm id; use letters, digits, _, -, . and : only`},
	{"alarm duplicate id", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 1, priority: low}\n  - {id: a, tag: A.B.D, kind: HI, limit: 1, priority: low}\n"), "site.yaml:6:10: alarms[1].id: ", `"a" is already the id of alarms[0] (line 5); alarm ids must be unique`},
	{"alarm missing tag", withAlarms("  - {id: a, kind: HI, limit: 1, priority: low}\n"), "site.yaml:5:5: alarms[0].tag: ", "missing; the tag whose values drive the alarm"},
	{"alarm bad tag", withAlarms("  - {id: a, tag: Crushing.CR1, kind: HI, limit: 1, priority: low}\n"), "site.yaml:5:18: alarms[0].tag: ", `"Crushing.CR1" is not a tag; a tag is Area.Unit.Signal`},
	{"alarm missing kind", withAlarms("  - {id: a, tag: A.B.C, limit: 1, priority: low}\n"), "site.yaml:5:5: alarms[0].kind: ", "missing; use HI, HIHI, LO, LOLO, discrete, rate or bad-quality"},
	{"alarm bad kind", withAlarms("  - {id: a, tag: A.B.C, kind: above, limit: 1, priority: low}\n"), "site.yaml:5:31: alarms[0].kind: ", `"above" is not an alarm kind; use HI, HIHI, LO, LOLO, discrete, rate or bad-quality`},
	{"alarm kind high", withAlarms("  - {id: a, tag: A.B.C, kind: high, limit: 1, priority: low}\n"), "site.yaml:5:31: alarms[0].kind: ", `"high" is not an alarm kind; write HI (or HIHI for the second, more severe limit)`},
	{"alarm kind system", withAlarms("  - {id: a, tag: A.B.C, kind: system, priority: low}\n"), "site.yaml:5:31: alarms[0].kind: ", "system alarms are raised by Minebrain itself"},
	{"alarm missing priority", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 1}\n"), "site.yaml:5:5: alarms[0].priority: ", "missing; use critical, high, medium or low"},
	{"alarm bad priority", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 1, priority: urgent}\n"), "site.yaml:5:55: alarms[0].priority: ", `"urgent" is not a priority; use critical, high, medium or low`},
	{"alarm priority number", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 1, priority: 1}\n"), "site.yaml:5:55: alarms[0].priority: ", `"1" is not a priority`},
	{"HI without limit", withAlarms("  - {id: a, tag: A.B.C, kind: HI, priority: low}\n"), "site.yaml:5:5: alarms[0].limit: ", "missing; a HI alarm needs limit:, the value at or above which it is active"},
	{"LOLO without limit", withAlarms("  - {id: a, tag: A.B.C, kind: LOLO, priority: low}\n"), "site.yaml:5:5: alarms[0].limit: ", "missing; a LOLO alarm needs limit:, the value at or below which it is active"},
	{"discrete without limit", withAlarms("  - {id: a, tag: A.B.C, kind: discrete, op: \"==\", priority: low}\n"), "site.yaml:5:5: alarms[0].limit: ", "missing; a discrete alarm needs limit:, the number compared with op:"},
	{"rate without limit", withAlarms("  - {id: a, tag: A.B.C, kind: rate, window: 1m, priority: low}\n"), "site.yaml:5:5: alarms[0].limit: ", "missing; a rate alarm needs limit:, the largest normal change, NUMBER/s"},
	{"limit text", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: high, priority: low}\n"), "site.yaml:5:42: alarms[0].limit: ", `expected a number, got the text "high"`},
	{"limit on bad-quality", withAlarms("  - {id: a, tag: A.B.C, kind: bad-quality, limit: 1, priority: low}\n"), "site.yaml:5:44: alarms[0].limit: ", "a bad-quality alarm has no limit; it is active while the signal's quality is bad"},
	{"rate limit no unit", withAlarms("  - {id: a, tag: A.B.C, kind: rate, limit: 5, window: 1m, priority: low}\n"), "site.yaml:5:44: alarms[0].limit: ", "5 has no time unit; write a rate-of-change limit as 5/s, 5/min or 5/h"},
	{"rate limit bad unit", withAlarms("  - {id: a, tag: A.B.C, kind: rate, limit: 5/day, window: 1m, priority: low}\n"), "site.yaml:5:44: alarms[0].limit: ", `"5/day" is not a rate; write a rate-of-change limit as NUMBER/s, NUMBER/min or NUMBER/h`},
	{"rate limit zero", withAlarms("  - {id: a, tag: A.B.C, kind: rate, limit: 0/s, window: 1m, priority: low}\n"), "site.yaml:5:44: alarms[0].limit: ", "0/s: a rate-of-change limit is greater than 0"},
	{"rate limit negative", withAlarms("  - {id: a, tag: A.B.C, kind: rate, limit: -1/s, window: 1m, priority: low}\n"), "site.yaml:5:44: alarms[0].limit: ", `"-1/s" is negative`},
	{"rate without window", withAlarms("  - {id: a, tag: A.B.C, kind: rate, limit: 1/s, priority: low}\n"), "site.yaml:5:5: alarms[0].window: ", "missing; a rate alarm needs window:, the span the change is measured over, 1s to 1h"},
	{"window on HI", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 1, window: 1m, priority: low}\n"), "site.yaml:5:45: alarms[0].window: ", "a HI alarm has no window; window: is the span of a rate-of-change alarm; remove it"},
	{"window too short", withAlarms("  - {id: a, tag: A.B.C, kind: rate, limit: 1/s, window: 100ms, priority: low}\n"), "site.yaml:5:57: alarms[0].window: ", "100ms is out of range; use 1s to 1h"},
	{"op on HI", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 1, op: \">\", priority: low}\n"), "site.yaml:5:45: alarms[0].op: ", "a HI alarm has no op; op: compares the value of a discrete alarm; remove it"},
	{"op unknown", withAlarms("  - {id: a, tag: A.B.C, kind: discrete, limit: 1, op: \">=\", priority: low}\n"), "site.yaml:5:55: alarms[0].op: ", `">=" is not a comparison; use ==, !=, < or >`},
	{"op unquoted !=", withAlarms("  - id: a\n    tag: A.B.C\n    kind: discrete\n    limit: 1\n    op: !=\n    priority: low\n"), "site.yaml:9:9: alarms[0].op: ", `write the operator in quotes, e.g. op: "!=" or op: ">"`},
	{"op unquoted >", withAlarms("  - id: a\n    tag: A.B.C\n    kind: discrete\n    limit: 1\n    op: >\n    priority: low\n"), "site.yaml:9:9: alarms[0].op: ", `write the operator in quotes`},
	{"deadband on discrete", withAlarms("  - {id: a, tag: A.B.C, kind: discrete, limit: 2, deadband: 1, priority: low}\n"), "site.yaml:5:51: alarms[0].deadband: ", "a discrete alarm has no deadband; a deadband applies to HI, HIHI, LO, LOLO and rate alarms"},
	{"deadband negative", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 2, deadband: -1, priority: low}\n"), "site.yaml:5:55: alarms[0].deadband: ", "-1 is negative; a deadband is 0 or more"},
	{"staleAfter on HI", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 2, staleAfter: 30s, priority: low}\n"), "site.yaml:5:45: alarms[0].staleAfter: ", "a HI alarm has no staleAfter; staleAfter: belongs to bad-quality alarms"},
	{"staleAfter short", withAlarms("  - {id: a, tag: A.B.C, kind: bad-quality, staleAfter: 500ms, priority: low}\n"), "site.yaml:5:56: alarms[0].staleAfter: ", "500ms is out of range; use 1s to 2h"},
	{"onDelay no unit", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 2, onDelay: 5, priority: low}\n"), "site.yaml:5:54: alarms[0].onDelay: ", "5 has no unit; write a duration with its unit, such as 5ms or 5s"},
	{"offDelay too long", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 2, offDelay: 2h, priority: low}\n"), "site.yaml:5:55: alarms[0].offDelay: ", "2h is out of range; use 0s to 1h (or 0)"},
	{"onDelay negative", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 2, onDelay: -1s, priority: low}\n"), "site.yaml:5:54: alarms[0].onDelay: ", "-1s is out of range"},
	{"bad area", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 2, area: North Pit, priority: low}\n"), "site.yaml:5:51: alarms[0].area: ", `"North Pit" contains ' '`},
	{"bad unit", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 2, unit: B.1, priority: low}\n"), "site.yaml:5:51: alarms[0].unit: ", `"B.1" contains '.'`},
	{"message a list", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 2, message: [x], priority: low}\n"), "site.yaml:5:54: alarms[0].message: ", "expected a value, got a list"},
	{"latched text", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 2, latched: yes, priority: low}\n"), "site.yaml:5:54: alarms[0].latched: ", `expected true or false, got the text "yes"`},
	{"suppressWhen two parts", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 2, suppressWhen: \"A.B.Run 0\", priority: low}\n"), "site.yaml:5:59: alarms[0].suppressWhen: ", `"A.B.Run 0" is not a condition; write "TAG OP NUMBER"`},
	{"suppressWhen =", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 2, suppressWhen: \"A.B.Run = 0\", priority: low}\n"), "site.yaml:5:59: alarms[0].suppressWhen: ", `"A.B.Run = 0": write the operator = as ==`},
	{"suppressWhen >=", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 2, suppressWhen: \"A.B.Run >= 0\", priority: low}\n"), "site.yaml:5:59: alarms[0].suppressWhen: ", `"A.B.Run >= 0": the operator >= is not one of ==, !=, < or >`},
	{"suppressWhen not a number", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 2, suppressWhen: \"A.B.Run == on\", priority: low}\n"), "site.yaml:5:59: alarms[0].suppressWhen: ", `"A.B.Run == on": "on" is not a number`},
	{"suppressRelease alone", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 2, suppressRelease: 1m, priority: low}\n"), "site.yaml:5:45: alarms[0].suppressRelease: ", "it needs suppressWhen:"},
	{"suppressWhen bad tag", withAlarms("  - {id: a, tag: A.B.C, kind: HI, limit: 2, suppressWhen: \"Run == 0\", priority: low}\n"), "site.yaml:5:59: alarms[0].suppressWhen: ", `in "Run == 0": "Run" is not a tag`},
	{"HIHI below HI", withAlarms("  - {id: hi, tag: A.B.C, kind: HI, limit: 10, priority: low}\n  - {id: hihi, tag: A.B.C, kind: HIHI, limit: 10, priority: high}\n"), "site.yaml:6:47: alarms[1].limit: ", "the HIHI limit 10 is not above the HI limit 10 of hi (alarms[0], line 5) on the same tag"},
	{"LOLO above LO", withAlarms("  - {id: lo, tag: A.B.C, kind: LO, limit: 1, priority: low}\n  - {id: lolo, tag: A.B.C, kind: LOLO, limit: 2, priority: high}\n"), "site.yaml:6:47: alarms[1].limit: ", "the LOLO limit 2 is not below the LO limit 1 of lo (alarms[0], line 5)"},

	// control:
	{"control a list", withControl("  - a\n"), "site.yaml:5:3: control: ", "expected a mapping with confirmTimeout:, readBackTimeout:, setpoints: and interlocks:"},
	{"control typo", withControl("  setpoint: []\n"), "site.yaml:5:3: control.setpoint: ", "did you mean setpoints?"},
	{"confirmTimeout no unit", withControl("  confirmTimeout: 30\n"), "site.yaml:5:19: control.confirmTimeout: ", "30 has no unit"},
	{"readBackTimeout range", withControl("  readBackTimeout: 1h\n"), "site.yaml:5:20: control.readBackTimeout: ", "1h is out of range; use 1s to 10m"},
	{"setpoints a mapping", withControl("  setpoints: {tag: A.B.CSP}\n"), "site.yaml:5:14: control.setpoints: ", "expected a list"},
	{"setpoint missing tag", withControl("  setpoints:\n    - {min: 1}\n"), "site.yaml:6:7: control.setpoints[0].tag: ", "missing; the setpoint's tag, a signal ending in SP"},
	{"setpoint bad tag", withControl("  setpoints:\n    - {tag: ASP}\n"), "site.yaml:6:13: control.setpoints[0].tag: ", `"ASP" is not a tag`},
	{"setpoint not SP", withControl("  setpoints:\n    - {tag: Crushing.AF1.SpeedPct}\n"), "site.yaml:6:13: control.setpoints[0].tag: ", `"Crushing.AF1.SpeedPct" is not a setpoint; only signals whose name ends in SP are written as setpoints`},
	{"setpoint duplicate", withControl("  setpoints:\n    - {tag: A.B.CSP}\n    - {tag: A.B.CSP, max: 2}\n"), "site.yaml:7:13: control.setpoints[1].tag: ", "A.B.CSP is already limited by control.setpoints[0] (line 6); give each setpoint once"},
	{"setpoint min not below max", withControl("  setpoints:\n    - {tag: A.B.CSP, min: 95, max: 20}\n"), "site.yaml:6:36: control.setpoints[0].max: ", "max 20 is not above min 95; give min below max"},
	{"setpoint min equals max", withControl("  setpoints:\n    - {tag: A.B.CSP, min: 5, max: 5}\n"), "site.yaml:6:35: control.setpoints[0].max: ", "max 5 is not above min 5"},
	{"setpoint min text", withControl("  setpoints:\n    - {tag: A.B.CSP, min: low}\n"), "site.yaml:6:27: control.setpoints[0].min: ", `expected a number, got the text "low"`},
	{"maxRate no unit", withControl("  setpoints:\n    - {tag: A.B.CSP, maxRate: 10}\n"), "site.yaml:6:31: control.setpoints[0].maxRate: ", "10 has no time unit; write the largest change as 10/s, 10/min or 10/h"},
	{"maxRate bad", withControl("  setpoints:\n    - {tag: A.B.CSP, maxRate: 10 per min}\n"), "site.yaml:6:31: control.setpoints[0].maxRate: ", `"10 per min" is not a rate; write the largest change as NUMBER/s, NUMBER/min or NUMBER/h`},
	{"maxRate percent", withControl("  setpoints:\n    - {tag: A.B.CSP, maxRate: 10%/min}\n"), "site.yaml:6:31: control.setpoints[0].maxRate: ", `"10%/min" is not a rate`},
	{"maxRate negative", withControl("  setpoints:\n    - {tag: A.B.CSP, maxRate: -1/s}\n"), "site.yaml:6:31: control.setpoints[0].maxRate: ", `"-1/s" is negative; a rate is 0 or more`},
	{"role viewer", withControl("  setpoints:\n    - {tag: A.B.CSP, role: viewer}\n"), "site.yaml:6:28: control.setpoints[0].role: ", "viewer: viewers never write; use operator, engineer or admin"},
	{"role unknown", withControl("  setpoints:\n    - {tag: A.B.CSP, role: supervisor}\n"), "site.yaml:6:28: control.setpoints[0].role: ", `"supervisor" is not a role; use operator, engineer or admin`},
	{"interlocks not a list", withControl("  interlocks: {unit: A.B}\n"), "site.yaml:5:15: control.interlocks: ", "expected a list"},
	{"interlock missing unit", withControl("  interlocks:\n    - {command: start, require: \"A.B.C == 1\"}\n"), "site.yaml:6:7: control.interlocks[0].unit: ", "missing; the unit whose command it holds back, Area.Unit"},
	{"interlock unit is a tag", withControl("  interlocks:\n    - {unit: A.B.RunCmd, command: start, require: \"A.B.C == 1\"}\n"), "site.yaml:6:14: control.interlocks[0].unit: ", `"A.B.RunCmd" is not a unit; a unit is Area.Unit`},
	{"interlock bad unit part", withControl("  interlocks:\n    - {unit: A.B 2, command: start, require: \"A.B.C == 1\"}\n"), "site.yaml:6:14: control.interlocks[0].unit: ", `"A.B 2": the unit "B 2" contains ' '`},
	{"interlock missing command", withControl("  interlocks:\n    - {unit: A.B, require: \"A.B.C == 1\"}\n"), "site.yaml:6:7: control.interlocks[0].command: ", "missing; the command it holds back: start, stop, setpoint"},
	{"interlock bad command", withControl("  interlocks:\n    - {unit: A.B, command: starts, require: \"A.B.C == 1\"}\n"), "site.yaml:6:28: control.interlocks[0].command: ", `"starts" is not a command; did you mean start? (use start, stop, setpoint)`},
	{"interlock far command", withControl("  interlocks:\n    - {unit: A.B, command: reset, require: \"A.B.C == 1\"}\n"), "site.yaml:6:28: control.interlocks[0].command: ", `"reset" is not a command; use start, stop, setpoint`},
	{"interlock missing require", withControl("  interlocks:\n    - {unit: A.B, command: start}\n"), "site.yaml:6:7: control.interlocks[0].require: ", "missing; the condition that must hold for the command"},
	{"interlock require bad term", withControl("  interlocks:\n    - {unit: A.B, command: start, require: \"A.B.C == 1 or A.B.D = 1\"}\n"), "site.yaml:6:44: control.interlocks[0].require: ", `in "A.B.C == 1 or A.B.D = 1": "A.B.D = 1": write the operator = as ==`},
	{"interlock require dangling and", withControl("  interlocks:\n    - {unit: A.B, command: start, require: \"A.B.C == 1 and\"}\n"), "site.yaml:6:44: control.interlocks[0].require: ", `"A.B.C == 1 and": and / or without a term on both sides`},
	{"interlock require bad tag", withControl("  interlocks:\n    - {unit: A.B, command: start, require: \"OC1.RunState == 1\"}\n"), "site.yaml:6:44: control.interlocks[0].require: ", `in "OC1.RunState == 1": "OC1.RunState" is not a tag`},
	{"interlock require empty", withControl("  interlocks:\n    - {unit: A.B, command: start, require: \"\"}\n"), "site.yaml:6:44: control.interlocks[0].require: ", "is empty"},
	{"interlock typo", withControl("  interlocks:\n    - {unit: A.B, command: start, require: \"A.B.C == 1\", mesage: x}\n"), "site.yaml:6:58: control.interlocks[0].mesage: ", "did you mean message?"},
}

func TestAlarmAndControlErrors(t *testing.T) {
	for _, tt := range alarmErrorCases {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("site.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("no error; parsed %+v", s)
			}
			var e *Error
			if !errors.As(err, &e) || len(e.Problems) == 0 {
				t.Fatalf("error %T %v is not an *Error with problems", err, err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if strings.HasPrefix(line, tt.want) && strings.Contains(line, tt.frag) {
					if len(e.Problems) != 1 {
						t.Errorf("%d problems, want 1:\n%v", len(e.Problems), err)
					}
					return
				}
			}
			t.Errorf("no line starts with %q and contains %q:\n%v", tt.want, tt.frag, err)
		})
	}
}

// A bad kind is one problem, not one more for each key that depends on the kind.
func TestAlarmBadKindOneProblem(t *testing.T) {
	_, err := Parse("site.yaml", []byte(withAlarms("  - {id: a, tag: A.B.C, kind: hi-hi, limit: 1, op: \"==\", window: 1m, priority: low}\n")))
	var e *Error
	if !errors.As(err, &e) || len(e.Problems) != 1 {
		t.Errorf("want one problem, got %v", err)
	}
}

func TestUnreadTags(t *testing.T) {
	src := `site: x
connections:
  - name: plc
    endpoint: opc.tcp://h:4840
    browse:
      - under: Objects/Plant/Water
    nodes:
      - {node: "ns=2;s=A", tag: Crushing.CR1.PowerKW}
alarms:
  - {id: ok, tag: Crushing.CR1.PowerKW, kind: HI, limit: 1, priority: low}
  - {id: browsed, tag: Water.SU1.LevelM, kind: HI, limit: 1, priority: low}
  - {id: unread, tag: Crushing.CR1.CssMM, kind: HI, limit: 1, priority: low, suppressWhen: "Crushing.CR1.RunState != 1"}
control:
  interlocks:
    - {unit: Crushing.CV2, command: start, require: "Haulage.OC1.RunState == 1 or Haulage.OC2.RunState == 1 or Water.P1.RunState == 1"}
    - {unit: Crushing.CV1, command: start, require: "Crushing.CR1.PowerKW > 1"}
`
	s, err := Parse("site.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range s.UnreadTags() {
		got = append(got, w.Error())
	}
	want := []string{
		"site.yaml:12:5: alarms[2].tag: alarm unread: tag Crushing.CR1.CssMM is never read, so the alarm never raises; no connection reads it (no nodes: entry names it and no browse: rule reads its area)",
		"site.yaml:12:5: alarms[2].suppressWhen: alarm unread: suppression tag Crushing.CR1.RunState is never read, so the alarm is never suppressed; no connection reads it (no nodes: entry names it and no browse: rule reads its area)",
		"site.yaml:15:7: control.interlocks[0].require: interlock on start Crushing.CV2: tags Haulage.OC1.RunState, Haulage.OC2.RunState are never read, so the command is always refused; no connection reads it (no nodes: entry names it and no browse: rule reads its area)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UnreadTags:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// With equipment: the server decides what is read: nothing to warn about.
	if w := Default().UnreadTags(); len(w) != 0 {
		t.Errorf("Default().UnreadTags() = %v", w)
	}
}
