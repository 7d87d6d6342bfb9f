package sim

import (
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

// value reads a tag or fails the test.
func value(t *testing.T, m *Mine, tag string) any {
	t.Helper()
	v, ok := m.Value(tag)
	if !ok {
		t.Fatalf("no tag %s", tag)
	}
	return v
}

func num(t *testing.T, m *Mine, tag string) float64 {
	t.Helper()
	switch v := value(t, m, tag).(type) {
	case float64:
		return v
	case int32:
		return float64(v)
	case uint32:
		return float64(v)
	default:
		t.Fatalf("%s is %T, not a number", tag, v)
		return 0
	}
}

func mustWrite(t *testing.T, m *Mine, tag string, v any) {
	t.Helper()
	if err := m.Write(tag, v); err != nil {
		t.Fatalf("write %s=%v: %v", tag, v, err)
	}
}

func TestLayoutFollowsContract(t *testing.T) {
	m := NewMine(Config{Seed: 1})
	wantAreas := []string{"Pit", "Crushing", "Haulage", "Water", "Power", "Heating"}
	if got := m.Areas(); strings.Join(got, ",") != strings.Join(wantAreas, ",") {
		t.Fatalf("areas = %v, want %v", got, wantAreas)
	}
	pascal := regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
	kinds := map[string]int{}
	remote, local := 0, 0
	stoppedRemoteConveyor := false
	for _, u := range m.Units() {
		kinds[u.Kind]++
		if u.ID != u.Area+"."+u.Name || u.DisplayName == "" || u.Kind == "" {
			t.Errorf("unit %+v: bad naming", u)
		}
		sig := map[string]SignalInfo{}
		for _, s := range u.Signals {
			sig[s.Name] = s
			if !pascal.MatchString(s.Name) || s.Tag != u.ID+"."+s.Name || s.Description == "" {
				t.Errorf("signal %+v: bad naming", s)
			}
			if s.Writable != (strings.HasSuffix(s.Name, "Cmd") || strings.HasSuffix(s.Name, "SP")) {
				t.Errorf("%s: writable=%v; only commands (…Cmd) and setpoints (…SP) may be writable", s.Tag, s.Writable)
			}
			if s.Analog && (s.DataType != Double || s.High <= s.Low) {
				t.Errorf("%s: analog signal needs a Double type and a range, got %s [%g, %g]", s.Tag, s.DataType, s.Low, s.High)
			}
			if v, _ := m.Value(s.Tag); !checkType(s.DataType, v) {
				t.Errorf("%s: value %v (%T) does not match %s", s.Tag, v, v, s.DataType)
			}
		}
		if u.Area == "Pit" || u.Area == "Crushing" || u.Area == "Haulage" {
			if u.Kind == "SurgeBin" {
				continue
			}
			remote++
			for name, dt := range map[string]DataType{"RunState": Int32, "Mode": Int32, "RunCmd": Boolean,
				"BearingTempC": Double, "VibrationMmS": Double, "WindingTempC": Double, "OperatingHours": Double, "Starts": UInt32} {
				if s, ok := sig[name]; !ok || s.DataType != dt {
					t.Errorf("%s: missing %s (%s)", u.ID, name, dt)
				}
			}
		}
		if _, ok := sig["Mode"]; ok && num(t, m, u.ID+".Mode") == float64(ModeLocal) {
			local++
		}
		if u.Kind == "Conveyor" && num(t, m, u.ID+".RunState") == float64(RunStopped) && num(t, m, u.ID+".Mode") == float64(ModeRemote) {
			stoppedRemoteConveyor = true
		}
	}
	if remote < 28 {
		t.Errorf("%d remote-controlled units in Pit, Crushing and Haulage, want at least 28", remote)
	}
	if local != 1 {
		t.Errorf("%d units in local mode, want exactly 1", local)
	}
	if !stoppedRemoteConveyor {
		t.Error("no conveyor is stopped and in remote mode, ready to be started")
	}
	for _, k := range []string{"ElectricShovel", "DrillRig", "WasteDumper", "GyratoryCrusher", "ConeCrusher", "Conveyor",
		"ApronFeeder", "DewateringPump", "Sump", "Substation", "Feeder", "BoilerHouse", "ShaftAirHeater", "WeatherStation"} {
		if kinds[k] == 0 {
			t.Errorf("no unit of kind %s", k)
		}
	}
	for _, tag := range []string{"Pit.SH01.HoistCurrentA", "Pit.SH01.CrowdCurrentA", "Pit.SH01.SwingAngleDeg", "Pit.SH01.PayloadT",
		"Pit.DR01.PenetrationRateMH", "Pit.DR01.PullDownForceKN", "Pit.DR01.RotationTorqueKNm", "Pit.DR01.HoleDepthM",
		"Crushing.CR1.PowerKW", "Crushing.CR1.CssMM", "Crushing.CR1.CssSP", "Crushing.CR1.CavityLevelPct", "Crushing.CR1.HydraulicPressureBar",
		"Crushing.CR1.FeedRateTPH", "Crushing.AF1.FeederSpeedSP", "Crushing.CV1.BeltSpeedMS", "Crushing.CV1.LoadTPH",
		"Water.P101.FlowM3H", "Water.P101.DischargePressureBar", "Water.P101.MotorCurrentA", "Water.P101.PumpOnCmd", "Water.SU1.LevelM",
		"Water.SU1.InflowM3H", "Power.F1.PowerKW", "Power.F1.EnergyKWh", "Power.F1.PowerFactor", "Power.SS1.TariffPeriod",
		"Heating.AH1.OutletTempC", "Heating.AH1.OutletTempSP", "Heating.AH1.CoPpm", "Heating.BH1.SupplyTempC", "Heating.BH1.ReturnTempC",
		"Heating.WS1.OutdoorTempC"} {
		if _, ok := m.Value(tag); !ok {
			t.Errorf("missing signal %s", tag)
		}
	}
}

func TestSameSeedSameValuesHoweverTimeIsChunked(t *testing.T) {
	t.Parallel()
	a := NewMine(Config{Seed: 42})
	b := NewMine(Config{Seed: 42})
	c := NewMine(Config{Seed: 43})
	a.Step(10 * time.Minute)
	// b gets the same 10 minutes in uneven pieces, as a server's ticks would.
	for b.Elapsed()+b.pending < 10*time.Minute {
		d := time.Duration(37+b.steps%11) * 13 * time.Millisecond
		if rest := 10*time.Minute - b.Elapsed() - b.pending; d > rest {
			d = rest
		}
		b.Step(d)
	}
	c.Step(10 * time.Minute)
	if a.Elapsed() != b.Elapsed() {
		t.Fatalf("elapsed %v vs %v", a.Elapsed(), b.Elapsed())
	}
	differ := 0
	for _, s := range a.Signals() {
		va, _ := a.Value(s.Tag)
		vb, _ := b.Value(s.Tag)
		vc, _ := c.Value(s.Tag)
		if va != vb {
			t.Errorf("%s: %v with one step, %v in pieces", s.Tag, va, vb)
		}
		if va != vc {
			differ++
		}
	}
	if differ < len(a.Signals())/2 {
		t.Errorf("seed 43 differs from seed 42 in only %d of %d signals", differ, len(a.Signals()))
	}
}

func TestStepCarriesRemainder(t *testing.T) {
	m := NewMine(Config{Seed: 1})
	for i := 0; i < 10; i++ {
		m.Step(100 * time.Millisecond)
	}
	if m.Elapsed() != time.Second {
		t.Fatalf("ten steps of 100 ms simulated %v, want 1s", m.Elapsed())
	}
	if got := m.Clock(); !got.Equal(time.Date(2025, 1, 15, 6, 0, 1, 0, time.UTC)) {
		t.Fatalf("clock = %v", got)
	}
}

func TestWritesAndRunCommands(t *testing.T) {
	m := NewMine(Config{Seed: 1})

	// OC2 starts stopped in remote: a start request starts it and counts.
	starts := num(t, m, "Haulage.OC2.Starts")
	mustWrite(t, m, "Haulage.OC2.RunCmd", true)
	if num(t, m, "Haulage.OC2.RunState") != float64(RunRunning) || num(t, m, "Haulage.OC2.Starts") != starts+1 {
		t.Fatalf("OC2 after start: RunState %v, Starts %v (was %v)", value(t, m, "Haulage.OC2.RunState"), value(t, m, "Haulage.OC2.Starts"), starts)
	}
	mustWrite(t, m, "Haulage.OC2.RunCmd", true) // already running: no second start
	if num(t, m, "Haulage.OC2.Starts") != starts+1 {
		t.Fatal("a start request for a running unit counted a start")
	}
	m.Step(time.Minute)
	if v := num(t, m, "Haulage.OC2.BeltSpeedMS"); v < 4.5 {
		t.Fatalf("OC2 belt speed %v a minute after start", v)
	}
	mustWrite(t, m, "Haulage.OC2.RunCmd", false)
	if num(t, m, "Haulage.OC2.RunState") != float64(RunStopped) || value(t, m, "Haulage.OC2.RunCmd") != false {
		t.Fatal("OC2 did not stop")
	}

	// DR05 is in local mode: remote commands are refused and change nothing.
	if err := m.Write("Pit.DR05.RunCmd", false); !errors.Is(err, ErrLocalMode) {
		t.Fatalf("RunCmd to a local unit: %v", err)
	}
	if err := m.Write("Pit.DR05.PullDownSP", 200.0); !errors.Is(err, ErrLocalMode) {
		t.Fatalf("setpoint to a local unit: %v", err)
	}
	if num(t, m, "Pit.DR05.RunState") != float64(RunRunning) || num(t, m, "Pit.DR05.PullDownSP") != 300 {
		t.Fatal("a refused command changed DR05")
	}
	if err := m.SetMode("Pit.DR05", ModeRemote); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, m, "Pit.DR05.RunCmd", false)

	for _, tc := range []struct {
		tag  string
		v    any
		want error
	}{
		{"Pit.SH01.HoistCurrentA", 5.0, ErrNotWritable},
		{"Crushing.CR1.CssSP", int32(150), ErrTypeMismatch},
		{"Crushing.CR1.CssSP", 500.0, ErrOutOfRange},
		{"Crushing.CR1.CssSP", math.NaN(), ErrOutOfRange},
		{"Crushing.CR9.CssSP", 150.0, ErrUnknownTag},
		{"Crushing.CR1.RunCmd", 1.0, ErrTypeMismatch},
	} {
		if err := m.Write(tc.tag, tc.v); !errors.Is(err, tc.want) {
			t.Errorf("write %s=%v: got %v, want %v", tc.tag, tc.v, err, tc.want)
		} else if !strings.Contains(err.Error(), tc.tag) {
			t.Errorf("error %q does not name the tag", err)
		}
	}
	mustWrite(t, m, "Crushing.CR1.CssSP", 150.0)
	if num(t, m, "Crushing.CR1.CssSP") != 150 {
		t.Fatal("setpoint not stored")
	}
}

func TestFeederBreakerAndSequenceInterlocks(t *testing.T) {
	m := NewMine(Config{Seed: 1})
	// Opening feeder F1 stops every pit machine; they cannot start while it
	// is open.
	mustWrite(t, m, "Power.F1.RunCmd", false)
	m.Step(StepInterval)
	for _, u := range []string{"Pit.SH01", "Pit.SH06", "Pit.DR01"} {
		if num(t, m, u+".RunState") != float64(RunStopped) {
			t.Errorf("%s still running with its feeder open", u)
		}
	}
	if err := m.Write("Pit.SH01.RunCmd", true); !errors.Is(err, ErrInterlocked) {
		t.Fatalf("start with the feeder open: %v", err)
	}
	if v := num(t, m, "Power.F1.PowerKW"); v != 0 {
		t.Fatalf("open feeder carries %v kW", v)
	}
	mustWrite(t, m, "Power.F1.RunCmd", true)
	mustWrite(t, m, "Pit.SH01.RunCmd", true)

	// Stopping the only running overland conveyor trips CV2 behind it, and
	// CV2 cannot start again until something downstream runs.
	mustWrite(t, m, "Haulage.OC1.RunCmd", false)
	m.Step(StepInterval)
	if num(t, m, "Crushing.CV2.RunState") != float64(RunStopped) {
		t.Fatal("CV2 kept running with nothing downstream")
	}
	if err := m.Write("Crushing.CV2.RunCmd", true); !errors.Is(err, ErrInterlocked) {
		t.Fatalf("CV2 start with both overland conveyors stopped: %v", err)
	}
	mustWrite(t, m, "Haulage.OC2.RunCmd", true)
	mustWrite(t, m, "Crushing.CV2.RunCmd", true)
	m.Step(15 * time.Minute) // the belt is 3.2 km long
	if v := num(t, m, "Haulage.OC2.LoadTPH"); v < 3000 {
		t.Fatalf("OC2 carries %v t/h after taking over from OC1", v)
	}
}

func TestTariffPeriods(t *testing.T) {
	for _, tc := range []struct {
		hour float64
		want int32
	}{{0, TariffNight}, {6.99, TariffNight}, {7, TariffPeak}, {9.5, TariffPeak}, {10, TariffShoulder},
		{16.9, TariffShoulder}, {17, TariffPeak}, {21, TariffShoulder}, {23, TariffNight}} {
		if got := tariffAt(tc.hour); got != tc.want {
			t.Errorf("tariffAt(%v) = %d, want %d", tc.hour, got, tc.want)
		}
	}
	m := NewMine(Config{Seed: 1, Start: time.Date(2025, 1, 15, 6, 59, 0, 0, time.UTC)})
	if v := value(t, m, "Power.SS1.TariffPeriod"); v != TariffNight {
		t.Fatalf("06:59 tariff %v", v)
	}
	m.Step(2 * time.Minute)
	if v, n := value(t, m, "Power.SS1.TariffPeriod"), value(t, m, "Power.SS1.TariffName"); v != TariffPeak || n != "Peak" {
		t.Fatalf("07:01 tariff %v %v", v, n)
	}
}
