package main

import (
	"math"
	"testing"
)

func simPlan(t *testing.T) tariffPlan {
	t.Helper()
	peak, err := parseWindows("7-10,17-21")
	if err != nil {
		t.Fatal(err)
	}
	night, err := parseWindows("23-7")
	if err != nil {
		t.Fatal(err)
	}
	return tariffPlan{Peak: peak, Night: night}
}

func TestTariffPlan(t *testing.T) {
	p := simPlan(t)
	// The simulated mine's tariff (app/sim/environment.go).
	for _, tc := range []struct {
		h    float64
		want int
	}{{0, periodNight}, {6.99, periodNight}, {7, periodPeak}, {9.5, periodPeak}, {10, periodShoulder},
		{16.9, periodShoulder}, {17, periodPeak}, {21, periodShoulder}, {23, periodNight}, {23.5, periodNight}} {
		if got := p.at(tc.h); got != tc.want {
			t.Errorf("at(%g) = %d, want %d", tc.h, got, tc.want)
		}
	}
	for _, tc := range []struct {
		h           float64
		next        int
		toPeak, dur float64
	}{
		{3, periodPeak, 4, 3},     // night → the morning peak
		{8, periodShoulder, 9, 4}, // in the morning peak: the next one is the evening's
		{12, periodPeak, 5, 4},    // shoulder → evening peak
		{22, periodNight, 9, 3},   // late shoulder → night, then the morning peak
	} {
		la := p.ahead(tc.h)
		if la.Next != tc.next || math.Abs(la.ToPeak-tc.toPeak) > 0.02 || math.Abs(la.PeakHr-tc.dur) > 0.02 {
			t.Errorf("ahead(%g) = %+v, want next %d, peak in %g h for %g h", tc.h, la, tc.next, tc.toPeak, tc.dur)
		}
	}
	for _, bad := range []string{"7", "7-7", "25-3", "a-b"} {
		if _, err := parseWindows(bad); err == nil {
			t.Errorf("parseWindows(%q): no error", bad)
		}
	}
}

var su1 = sumpConfig{Name: "SU1", LowM: 0.8, HighM: 5, MarginLow: 0.4, MarginHi: 0.6, Band: 0.3, AreaM2: 450}

func TestDecideSump(t *testing.T) {
	p := simPlan(t)
	in := sumpInput{LevelM: 3, Good: true, InflowM3H: 270, Available: 2}
	// Night: pump down, every pump.
	if d := decideSump(su1, in, periodNight, p.ahead(2)); d.Pumps != 2 || d.Target != su1.floor() {
		t.Errorf("night at 3 m: %+v", d)
	}
	// Peak, mid-sump: nothing.
	if d := decideSump(su1, in, periodPeak, p.ahead(8)); d.Pumps != 0 {
		t.Errorf("peak at 3 m: %+v", d)
	}
	// Peak near the ceiling: one pump; at the ceiling: all.
	in.LevelM = su1.ceiling() - 0.1
	if d := decideSump(su1, in, periodPeak, p.ahead(8)); d.Pumps != 1 {
		t.Errorf("peak just below the ceiling: %+v", d)
	}
	in.LevelM = su1.ceiling()
	if d := decideSump(su1, in, periodPeak, p.ahead(8)); d.Pumps != 2 {
		t.Errorf("peak at the ceiling: %+v", d)
	}
	// Shoulder before a 4 h peak with 0.6 m/h inflow: needs room for 3 m — pump.
	in.LevelM = 2.5
	if d := decideSump(su1, in, periodShoulder, p.ahead(12)); d.Pumps != 2 {
		t.Errorf("shoulder at 2.5 m before the evening peak: %+v", d)
	}
	// Shoulder before the night with little inflow: wait.
	in.InflowM3H = 50
	if d := decideSump(su1, in, periodShoulder, p.ahead(22)); d.Pumps != 0 {
		t.Errorf("late shoulder at 2.5 m: %+v", d)
	}
	// Never below the floor, whatever the period.
	in.LevelM, in.Pumping = su1.floor()-0.01, true
	for _, per := range []int{periodNight, periodShoulder, periodPeak} {
		if d := decideSump(su1, in, per, p.ahead(2)); d.Pumps != 0 || d.Pumping {
			t.Errorf("period %d at the floor: %+v", per, d)
		}
	}
	// Hysteresis: pumping down at night carries on between the levels.
	in.LevelM, in.Pumping = su1.floor()+0.1, true
	if d := decideSump(su1, in, periodNight, p.ahead(2)); d.Pumps != 2 {
		t.Errorf("night, pumping, inside the band: %+v", d)
	}
	in.Pumping = false
	if d := decideSump(su1, in, periodNight, p.ahead(2)); d.Pumps != 0 {
		t.Errorf("night, stopped, inside the band: %+v", d)
	}
	// The downstream sump is full: wait, unless this one is at its ceiling.
	in.LevelM, in.DownstreamFull = 3, true
	if d := decideSump(su1, in, periodNight, p.ahead(2)); d.Pumps != 0 {
		t.Errorf("downstream full: %+v", d)
	}
	in.LevelM = su1.ceiling()
	if d := decideSump(su1, in, periodNight, p.ahead(2)); d.Pumps != 2 {
		t.Errorf("downstream full, at the ceiling: %+v", d)
	}
	// No level: every pump (the pumps' own cut-out protects them).
	if d := decideSump(su1, sumpInput{LevelM: math.NaN(), Available: 3}, periodPeak, p.ahead(8)); d.Pumps != 3 {
		t.Errorf("no level: %+v", d)
	}
}

func TestAssignDuty(t *testing.T) {
	ps := []pumpInput{
		{Name: "P101", InService: true, Remote: true},
		{Name: "P102", InService: true, Remote: true, Duty: true},
		{Name: "P103", InService: true, Remote: false},
		{Name: "P104", InService: true, Remote: true, Faulted: true},
	}
	if n := available(ps); n != 2 {
		t.Fatalf("available = %d, want 2", n)
	}
	for _, tc := range []struct {
		n    int
		want [4]bool
	}{{0, [4]bool{}}, {1, [4]bool{false, true}}, {2, [4]bool{true, true}}, {4, [4]bool{true, true}}} {
		got := assignDuty(ps, tc.n)
		if [4]bool(got) != tc.want {
			t.Errorf("assignDuty(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

// TestScheduleDay runs the schedule in closed loop against a plain two-sump mass balance
// with the simulated mine's sizes (SU1 450 m², P101–P103 260 m³/h at ≈69 kW; SU2 300 m²,
// P201–P202 420 m³/h at ≈167 kW), for two days from the sim's initial levels: no sump leaves
// its limits and the peaks take under 5% of the pumping energy.
func TestScheduleDay(t *testing.T) {
	p := simPlan(t)
	su2 := sumpConfig{Name: "SU2", LowM: 0.8, HighM: 4.2, MarginLow: 0.4, MarginHi: 0.6, Band: 0.3, AreaM2: 300}
	l1, l2 := 2.6, 2.0
	var s1, s2 bool
	var kwh [3]float64
	const dt = 10.0 / 3600 // h
	min1, max1, min2, max2 := l1, l1, l2, l2
	for step := 0; step < int(48/dt); step++ {
		hour := math.Mod(float64(step)*dt, 24)
		per := p.at(hour)
		la := p.ahead(hour)
		in1 := 270 + 30*math.Sin(float64(step)*dt/3) // groundwater
		seep := 55.0
		q1 := 0.0
		// SU2 first, as the plugin does.
		d2 := decideSump(su2, sumpInput{LevelM: l2, Good: true, InflowM3H: seep, Available: 2, Pumping: s2}, per, la)
		d1 := decideSump(su1, sumpInput{LevelM: l1, Good: true, InflowM3H: in1, Available: 3, Pumping: s1,
			DownstreamFull: l2 >= su2.ceiling()-su2.Band}, per, la)
		s1, s2 = d1.Pumping, d2.Pumping
		q1 = 260 * float64(d1.Pumps)
		q2 := 420 * float64(d2.Pumps)
		kwh[per] += (69*float64(d1.Pumps) + 167*float64(d2.Pumps)) * dt
		l1 += (in1 - q1) * dt / 450
		l2 += (seep + q1 - q2) * dt / 300
		min1, max1, min2, max2 = math.Min(min1, l1), math.Max(max1, l1), math.Min(min2, l2), math.Max(max2, l2)
	}
	t.Logf("SU1 %.2f–%.2f m, SU2 %.2f–%.2f m; kWh night %.0f shoulder %.0f peak %.0f", min1, max1, min2, max2, kwh[0], kwh[1], kwh[2])
	if min1 <= su1.LowM || max1 >= su1.HighM || min2 <= su2.LowM || max2 >= su2.HighM {
		t.Errorf("a sump left its limits: SU1 %.2f–%.2f (%g–%g), SU2 %.2f–%.2f (%g–%g)",
			min1, max1, su1.LowM, su1.HighM, min2, max2, su2.LowM, su2.HighM)
	}
	total := kwh[0] + kwh[1] + kwh[2]
	// The sumps hold about five hours of inflow, so the night alone cannot take a day's
	// pumping: the shoulder takes the rest, the peaks nothing.
	if kwh[2] > 0.05*total || kwh[0] < 0.3*total {
		t.Errorf("energy by period night/shoulder/peak %.0f/%.0f/%.0f kWh: want under 5%% in peak, at least 30%% at night", kwh[0], kwh[1], kwh[2])
	}
}
