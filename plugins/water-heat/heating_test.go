package main

import (
	"math"
	"strings"
	"testing"
)

func mustCurve(t *testing.T, s string) curve {
	t.Helper()
	c, err := parseCurve(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCurve(t *testing.T) {
	c := mustCurve(t, " 0:2, -30:8 ,-20:6,-10:4") // any order
	for _, tc := range []struct{ out, want float64 }{
		{-45, 8}, {-30, 8}, {-25, 7}, {-20, 6}, {-15, 5}, {-12, 4.4}, {-10, 4}, {-5, 3}, {0, 2}, {20, 2},
	} {
		if got := c.at(tc.out); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("at(%g) = %g, want %g", tc.out, got, tc.want)
		}
	}
	if got := mustCurve(t, "-5:3").at(-40); got != 3 {
		t.Errorf("one point: %g", got)
	}
	for _, bad := range []string{"", " , ", "-20", "a:b", "-20:6,-20:7", "NaN:1", "1:Inf"} {
		if _, err := parseCurve(bad); err == nil {
			t.Errorf("parseCurve(%q): no error", bad)
		}
	}
}

func TestRampTo(t *testing.T) {
	for _, tc := range []struct{ cur, target, step, want float64 }{
		{5, 4.4, 0.5, 4.5}, {4.5, 4.4, 0.5, 4.4}, {2, 8, 1, 3}, {8, 2, 10, 2}, {3, 3, 0, 3}, {5, 6, 0, 5},
	} {
		if got := rampTo(tc.cur, tc.target, tc.step); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("rampTo(%g, %g, %g) = %g, want %g", tc.cur, tc.target, tc.step, got, tc.want)
		}
	}
}

func heatCfg(t *testing.T) heatConfig {
	return heatConfig{Curve: mustCurve(t, "-30:8,-20:6,-10:4,0:2"), RateKMin: 0.5, Deadband: 0.1, MinSP: 0, MaxSP: 15, COLimit: 30, COHyst: 3}
}

func TestDecideHeatRamps(t *testing.T) {
	cfg := heatCfg(t)
	h := heaterInput{Name: "AH1", SP: 5, SPGood: true, Remote: true, CO: 8, COGood: true, LastWrite: math.NaN(), SinceS: 10}
	// -25 °C wants 7 °C; from 5 at 0.5 K/min, 10 s allow 0.083 K.
	d := decideHeat(cfg, -25, true, []heaterInput{h}, false)
	if d.Target != 7 || math.Abs(d.Writes[0]-5.08) > 1e-9 {
		t.Fatalf("target %g write %g, want 7 and 5.08", d.Target, d.Writes[0])
	}
	// Ramp a simulated hour: never faster than the rate, ends on the target.
	sp, last := 5.0, math.NaN()
	for i := 0; i < 360; i++ {
		h.SP, h.LastWrite = sp, last
		d := decideHeat(cfg, -25, true, []heaterInput{h}, false)
		if v := d.Writes[0]; !math.IsNaN(v) {
			h.Ramping = v != d.Target
			if math.Abs(v-sp) > 0.5*10/60+0.006 {
				t.Fatalf("step %d: %g → %g is faster than 0.5 K/min", i, sp, v)
			}
			sp, last = v, v
		}
	}
	if sp != 7 {
		t.Fatalf("after an hour the setpoint is %g, want 7", sp)
	}
	// At the target, noise in the outdoor temperature makes no writes.
	h.SP, h.LastWrite, h.Ramping = 7, 7, false
	for _, out := range []float64{-25.2, -24.8, -25.1} {
		if d := decideHeat(cfg, out, true, []heaterInput{h}, false); !math.IsNaN(d.Writes[0]) {
			t.Errorf("outdoor %g: wrote %g for a %g K change", out, d.Writes[0], cfg.Curve.at(out)-7)
		}
	}
}

func TestDecideHeatHolds(t *testing.T) {
	cfg := heatCfg(t)
	base := heaterInput{Name: "AH1", SP: 5, SPGood: true, Remote: true, LastWrite: math.NaN(), SinceS: 60}
	local := base
	local.Remote = false
	noSP := base
	noSP.SPGood = false
	d := decideHeat(cfg, -25, false, []heaterInput{base}, false)
	if !math.IsNaN(d.Target) || !math.IsNaN(d.Writes[0]) {
		t.Errorf("bad outdoor temperature: target %g, write %g; want none", d.Target, d.Writes[0])
	}
	d = decideHeat(cfg, -25, true, []heaterInput{local, noSP, base}, false)
	if !math.IsNaN(d.Writes[0]) || !math.IsNaN(d.Writes[1]) || math.IsNaN(d.Writes[2]) {
		t.Errorf("local / no setpoint / ok: writes %v, want NaN NaN value", d.Writes)
	}
	// The manifest's band: a curve above MaxSP is clamped.
	cfg.MaxSP = 6
	if d := decideHeat(cfg, -40, true, nil, false); d.Target != 6 {
		t.Errorf("clamped target %g, want 6", d.Target)
	}
}

func TestCOAlarm(t *testing.T) {
	cfg := heatCfg(t)
	hs := []heaterInput{{Name: "AH1", CO: 12, COGood: true}, {Name: "AH2", CO: 31.5, COGood: true}, {Name: "AH3", CO: 99, COGood: false}}
	d := decideHeat(cfg, -25, true, hs, false)
	if !d.COHigh || !strings.Contains(d.COMsg, "AH2 CO 31.5 ppm") {
		t.Fatalf("CO 31.5 > 30: high %v %q", d.COHigh, d.COMsg)
	}
	hs[1].CO = 28 // below the limit, above limit - hysteresis
	if d := decideHeat(cfg, -25, true, hs, false); d.COHigh {
		t.Error("28 ppm raised the alarm")
	}
	if d := decideHeat(cfg, -25, true, hs, true); !d.COHigh {
		t.Error("28 ppm cleared an active alarm (hysteresis 3)")
	}
	hs[1].CO = 26.9
	if d := decideHeat(cfg, -25, true, hs, true); d.COHigh {
		t.Error("26.9 ppm kept the alarm")
	}
}
