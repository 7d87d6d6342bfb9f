package sim

import (
	"math"
	"testing"
	"time"
)

// average steps the mine for d and returns the mean of a tag over the
// period, sampled every step.
func average(t *testing.T, m *Mine, tag string, d time.Duration) float64 {
	t.Helper()
	sum, n := 0.0, 0
	for end := m.Elapsed() + d; m.Elapsed() < end; {
		m.Step(StepInterval)
		sum += num(t, m, tag)
		n++
	}
	return sum / float64(n)
}

func TestCrusherPowerFollowsFeedHardnessAndCSS(t *testing.T) {
	t.Parallel()
	// Same seed, same ore: only the feed rate differs.
	lo, hi := NewMine(Config{Seed: 5}), NewMine(Config{Seed: 5})
	mustWrite(t, lo, "Crushing.AF1.FeederSpeedSP", 45.0)
	mustWrite(t, hi, "Crushing.AF1.FeederSpeedSP", 70.0)
	pLo := average(t, lo, "Crushing.CR1.PowerKW", 5*time.Minute)
	pHi := average(t, hi, "Crushing.CR1.PowerKW", 5*time.Minute)
	if !(pHi > pLo*1.2) {
		t.Errorf("CR1 power %.0f kW at 70 %% feeder speed vs %.0f kW at 45 %%: should rise with feed", pHi, pLo)
	}

	// Same feed, CSS open vs closed: a coarser product takes less energy,
	// and the wider gap empties the cavity faster.
	closed, open := NewMine(Config{Seed: 5}), NewMine(Config{Seed: 5})
	for _, m := range []*Mine{closed, open} {
		mustWrite(t, m, "Crushing.AF1.FeederSpeedSP", 55.0) // 4400 t/h: below capacity at both settings
	}
	mustWrite(t, closed, "Crushing.CR1.CssSP", 140.0)
	mustWrite(t, open, "Crushing.CR1.CssSP", 200.0)
	closed.Step(3 * time.Minute)
	open.Step(3 * time.Minute)
	if v := num(t, open, "Crushing.CR1.CssMM"); math.Abs(v-200) > 1 {
		t.Fatalf("CSS did not follow its setpoint: %v", v)
	}
	pClosed := average(t, closed, "Crushing.CR1.PowerKW", 5*time.Minute)
	pOpen := average(t, open, "Crushing.CR1.PowerKW", 5*time.Minute)
	if !(pOpen < pClosed*0.95) {
		t.Errorf("CR1 power %.0f kW at CSS 200 vs %.0f kW at CSS 140: should fall as the CSS opens", pOpen, pClosed)
	}
	if lc, lo := num(t, closed, "Crushing.CR1.CavityLevelPct"), num(t, open, "Crushing.CR1.CavityLevelPct"); !(lo < lc) {
		t.Errorf("cavity level %.1f %% at CSS 200 vs %.1f %% at CSS 140", lo, lc)
	}

	// Hardness: over a long run the specific energy of crushing tracks the
	// ore's work index (the feed is steady, the ore is not).
	m := NewMine(Config{Seed: 5})
	var wi, spec []float64
	for i := 0; i < 45; i++ {
		m.Step(time.Minute)
		q := m.p.cr1.throughput
		if q < 1000 {
			continue
		}
		wi = append(wi, m.env.workIndex)
		spec = append(spec, (m.p.cr1.powerKW-m.p.cr1.spec.idleKW)/q)
	}
	if len(wi) < 35 {
		t.Fatalf("the crusher ran in only %d of 45 minutes", len(wi))
	}
	if r := correlation(wi, spec); r < 0.8 {
		t.Errorf("specific crushing energy vs ore work index: correlation %.2f, want > 0.8", r)
	}
	if !(bondEnergy(16, 700, 144) > bondEnergy(12, 700, 144) && bondEnergy(13, 700, 180) < bondEnergy(13, 700, 120)) {
		t.Error("Bond energy must rise with work index and fall with product size")
	}
}

func correlation(x, y []float64) float64 {
	n := float64(len(x))
	var sx, sy, sxx, syy, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		syy += y[i] * y[i]
		sxy += x[i] * y[i]
	}
	return (n*sxy - sx*sy) / math.Sqrt((n*sxx-sx*sx)*(n*syy-sy*sy))
}

func TestCavityIntegratesFeedMinusThroughput(t *testing.T) {
	t.Parallel()
	m := NewMine(Config{Seed: 2})
	c := m.p.cr1
	// Overfeed a closed crusher: 8000 t/h into 120 mm x 40 t/h/mm = 4800 t/h.
	mustWrite(t, m, "Crushing.CR1.CssSP", 120.0)
	mustWrite(t, m, "Crushing.AF1.FeederSpeedSP", 100.0)
	start := c.cavityT
	balance := 0.0
	sawInterlock := false
	peak := 0.0
	for i := 0; i < 4*60*20; i++ { // 20 minutes, step by step
		m.Step(StepInterval)
		balance += (c.feedTPH - c.throughput) * StepInterval.Seconds() / 3600
		if got := c.cavityT - start; math.Abs(got-balance) > 1e-6 {
			t.Fatalf("step %d: cavity changed by %.6f t, feed minus throughput is %.6f t", i, got, balance)
		}
		peak = math.Max(peak, c.cavityPct())
		sawInterlock = sawInterlock || value(t, m, "Crushing.AF1.Interlock") == true
	}
	if !sawInterlock || peak < 97 || peak > 100 {
		t.Errorf("overfed crusher: peak cavity %.1f %%, interlock seen %v; want the feeder held near 98 %%", peak, sawInterlock)
	}
}

func TestSumpMassBalanceAndPumpControl(t *testing.T) {
	t.Parallel()
	m := NewMine(Config{Seed: 3})
	su1 := m.p.su1
	// Start near the low cut-out so the half hour below exercises it.
	su1.volM3 = 0.95 * su1.area
	m.Step(StepInterval)
	vol0 := num(t, m, "Water.SU1.VolumeM3")
	in0 := num(t, m, "Water.SU1.InflowTotalM3")
	out0 := num(t, m, "Water.SU1.PumpedTotalM3")
	integrated := 0.0
	minLevel := math.Inf(1)
	cutOut := false
	for i := 0; i < 4*60*30; i++ { // half an hour, step by step
		m.Step(StepInterval)
		// What the pumps report they pump, and what the sump reports flows in.
		flows := 0.0
		for _, p := range m.p.pumps[:3] {
			flows += p.flow
		}
		integrated += (su1.inflowM3H - flows) * StepInterval.Seconds() / 3600
		minLevel = math.Min(minLevel, su1.levelM)
		cutOut = cutOut || (value(t, m, "Water.P101.PumpOnCmd") == true && num(t, m, "Water.P101.RunState") == float64(RunStopped))
	}
	vol := num(t, m, "Water.SU1.VolumeM3")
	in := num(t, m, "Water.SU1.InflowTotalM3")
	out := num(t, m, "Water.SU1.PumpedTotalM3")
	if d := (vol - vol0) - ((in - in0) - (out - out0)); math.Abs(d) > 0.3 {
		t.Errorf("SU1 volume changed by %.1f m³ but inflow minus pumped is %.1f m³", vol-vol0, (in-in0)-(out-out0))
	}
	if d := (vol - vol0) - integrated; math.Abs(d) > 1 {
		t.Errorf("SU1 volume changed by %.1f m³; integrating reported inflow and pump flows gives %.1f m³", vol-vol0, integrated)
	}
	if lvl := num(t, m, "Water.SU1.LevelM"); math.Abs(lvl*su1.area-vol) > 5 {
		t.Errorf("level %.3f m x %.0f m² != volume %.1f m³", lvl, su1.area, vol)
	}
	if !cutOut || minLevel < 0.7 {
		t.Errorf("low cut-out: seen %v, lowest level %.2f m; the pumps should stop at 0.8 m", cutOut, minLevel)
	}

	// Take the duty request away from every pit pump: the level rises until
	// the flood protection starts even the standby pump.
	su1.volM3 = 4.8 * su1.area
	for _, p := range []string{"Water.P101", "Water.P102", "Water.P103"} {
		mustWrite(t, m, p+".PumpOnCmd", false)
	}
	m.Step(StepInterval)
	if num(t, m, "Water.P101.RunState") != float64(RunStopped) {
		t.Fatal("P101 runs without a duty request")
	}
	starts := num(t, m, "Water.P103.Starts")
	level := num(t, m, "Water.SU1.LevelM")
	for i := 0; i < 2*60 && num(t, m, "Water.P103.RunState") != float64(RunRunning); i++ {
		m.Step(time.Minute)
		l := num(t, m, "Water.SU1.LevelM")
		if l+0.02 < level {
			t.Fatalf("SU1 level fell from %.2f to %.2f m with no pump running", level, l)
		}
		level = l
	}
	if num(t, m, "Water.P103.RunState") != float64(RunRunning) || level < 4.9 {
		t.Fatalf("flood protection: P103 RunState %v at level %.2f m", value(t, m, "Water.P103.RunState"), level)
	}
	if num(t, m, "Water.P103.Starts") != starts+1 {
		t.Error("P103's start was not counted")
	}
}

func TestFeederPowerSumsItsLoads(t *testing.T) {
	t.Parallel()
	m := NewMine(Config{Seed: 4})
	m.Step(5 * time.Minute)
	sum := func(units []string) float64 {
		s := 0.0
		for _, u := range units {
			s += num(t, m, u+".PowerKW")
		}
		return s
	}
	pit := []string{}
	for _, u := range m.Units() {
		if u.Area == "Pit" {
			pit = append(pit, u.ID)
		}
	}
	f1 := num(t, m, "Power.F1.PowerKW")
	if want := sum(pit) * (1 + feederLossShare); math.Abs(f1-want) > 0.01*want {
		t.Errorf("F1 %.1f kW, pit machines %.1f kW plus losses", f1, want)
	}
	f4 := num(t, m, "Power.F4.PowerKW")
	if want := sum([]string{"Water.P101", "Water.P102", "Water.P103", "Water.P201", "Water.P202"}) * (1 + feederLossShare); math.Abs(f4-want) > 0.01*want+1 {
		t.Errorf("F4 %.1f kW, pumps %.1f kW plus losses", f4, want)
	}
	total := num(t, m, "Power.SS1.TotalPowerKW")
	if feeders := sum([]string{"Power.F1", "Power.F2", "Power.F3", "Power.F4", "Power.F5"}); math.Abs(total-feeders) > 0.005*feeders {
		t.Errorf("substation %.0f kW, feeders %.0f kW", total, feeders)
	}
	// Energy meters integrate power.
	e0 := num(t, m, "Power.F2.EnergyKWh")
	p := average(t, m, "Power.F2.PowerKW", 12*time.Minute)
	if de := num(t, m, "Power.F2.EnergyKWh") - e0; math.Abs(de-p/5) > 0.01*p/5+0.2 {
		t.Errorf("F2 used %.1f kWh in 12 min at an average %.1f kW", de, p)
	}
}

func TestAirHeaterFollowsSetpointWithLag(t *testing.T) {
	t.Parallel()
	m := NewMine(Config{Seed: 2}) // a mild morning: the burner has room to spare
	h := m.p.heaters[0]
	out0 := num(t, m, "Heating.AH1.OutletTempC")
	if math.Abs(out0-5) > 0.3 {
		t.Fatalf("AH1 starts at %.2f °C, not at its setpoint of 5 °C", out0)
	}
	mustWrite(t, m, "Heating.AH1.OutletTempSP", 12.0)
	m.Step(30 * time.Second)
	// Burner and duct lags in series: after 30 s the outlet has only begun
	// to move towards the new setpoint.
	if v := num(t, m, "Heating.AH1.OutletTempC"); v-out0 > 0.3*(12-out0) || v <= out0 {
		t.Errorf("outlet went from %.2f to %.2f °C in the 30 s after a step to 12 °C: want a lag", out0, v)
	}
	m.Step(12 * time.Minute)
	outdoor := num(t, m, "Heating.WS1.OutdoorTempC")
	want := math.Min(12, outdoor+h.maxRise())
	if v := num(t, m, "Heating.AH1.OutletTempC"); math.Abs(v-want) > 0.7 {
		t.Errorf("outlet %.2f °C, want %.2f (setpoint 12, outdoor %.1f, max rise %.1f)", v, want, outdoor, h.maxRise())
	}
	// A stopped heater's outlet drifts to the outdoor temperature.
	mustWrite(t, m, "Heating.AH1.RunCmd", false)
	m.Step(40 * time.Minute)
	if v, o := num(t, m, "Heating.AH1.OutletTempC"), num(t, m, "Heating.WS1.OutdoorTempC"); math.Abs(v-o) > 1.5 {
		t.Errorf("stopped heater outlet %.1f °C, outdoor %.1f °C", v, o)
	}
	if v := num(t, m, "Heating.AH1.CoPpm"); v != 0 {
		t.Errorf("stopped heater reports %v ppm CO", v)
	}
	// The boiler house holds its supply temperature; return is cooler.
	if s, r := num(t, m, "Heating.BH1.SupplyTempC"), num(t, m, "Heating.BH1.ReturnTempC"); math.Abs(s-85) > 2 || r >= s-10 {
		t.Errorf("boiler supply %.1f °C (setpoint 85), return %.1f °C", s, r)
	}
}

func TestWearScheduleIsSeededAndTrips(t *testing.T) {
	t.Parallel()
	a, b := NewMine(Config{Seed: 29}), NewMine(Config{Seed: 29}) // a seed with an early trip keeps the test short
	if len(a.WearFaults()) != wearFaultCount {
		t.Fatalf("%d wear faults", len(a.WearFaults()))
	}
	for i, f := range a.WearFaults() {
		if f != b.WearFaults()[i] {
			t.Fatalf("same seed, different schedules: %v vs %v", a.WearFaults(), b.WearFaults())
		}
		if f.Onset < 15*time.Minute || f.Onset > 45*time.Minute || f.Trip <= f.Onset {
			t.Errorf("implausible schedule %+v", f)
		}
	}
	distinct := map[string]bool{}
	for s := int64(1); s <= 6; s++ {
		f := NewMine(Config{Seed: s}).WearFaults()[0]
		distinct[f.Unit+f.Onset.String()] = true
	}
	if len(distinct) < 4 {
		t.Errorf("six seeds gave only %d different schedules", len(distinct))
	}

	// Follow the earliest fault: healthy before onset, rising after it,
	// tripped at the scheduled time.
	f := a.WearFaults()[0]
	for _, g := range a.WearFaults() {
		if g.Trip < f.Trip {
			f = g
		}
	}
	vib, temp := f.Unit+".VibrationMmS", f.Unit+".BearingTempC"
	a.Step(f.Onset - time.Minute)
	vib0, temp0 := num(t, a, vib), num(t, a, temp)
	if vib0 > 4.5 {
		t.Errorf("%s vibration %.2f mm/s before the wear starts", f.Unit, vib0)
	}
	a.Step(f.Onset + (f.Trip-f.Onset)*8/10 - a.Elapsed())
	if v := num(t, a, vib); v < vib0+5 {
		t.Errorf("%s vibration %.2f mm/s at 80 %% of its wear, %.2f before", f.Unit, v, vib0)
	}
	if v := num(t, a, temp); v < temp0+10 {
		t.Errorf("%s bearing %.1f °C at 80 %% of its wear, %.1f before", f.Unit, v, temp0)
	}
	if num(t, a, f.Unit+".RunState") != float64(RunRunning) {
		t.Fatalf("%s stopped before its trip time", f.Unit)
	}
	a.Step(f.Trip + time.Second - a.Elapsed())
	if num(t, a, f.Unit+".RunState") != float64(RunFaulted) || value(t, a, f.Unit+".RunCmd") != false {
		t.Fatalf("%s at its trip time: RunState %v", f.Unit, value(t, a, f.Unit+".RunState"))
	}
	if err := a.Write(f.Unit+".RunCmd", true); err == nil {
		t.Fatal("a faulted unit accepted a start")
	}
	if err := a.Repair(f.Unit); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, a, f.Unit+".RunCmd", true)
	a.Step(3 * time.Minute)
	if num(t, a, f.Unit+".RunState") != float64(RunRunning) || num(t, a, vib) > 4.5 {
		t.Errorf("%s after repair: RunState %v, vibration %v", f.Unit, value(t, a, f.Unit+".RunState"), value(t, a, vib))
	}
}
