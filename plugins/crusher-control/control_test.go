package main

import (
	"math"
	"testing"
	"time"
)

func testConfig() Config {
	return Config{CavitySP: 70, Kp: 3, Ki: 0.05, PowerLimit: 1000, PowerMargin: 40, KPower: 0.02,
		HydLimit: 70, HydMargin: 3, KHyd: 0.2, FeedMin: 30, FeedMax: 90, FeedMaxRate: 0.5,
		Deadband: 0.05, Refresh: 10 * time.Second, CssWearMM: 5, CssWearDelay: time.Minute}
}

func okInputs(cav, power float64) Inputs {
	return Inputs{Cavity: cav, Power: power, Hyd: 18 + 50*(power-180)/820, Css: 160, CssSP: 160, FeedSP: 75,
		CavityOK: true, PowerOK: true, HydOK: true, CssOK: true, FeedSPOK: true, Feeding: true}
}

var t0 = time.Date(2025, 1, 15, 6, 0, 0, 0, time.UTC)

func TestLevelRaisesFeedWithinRate(t *testing.T) {
	c, s := testConfig(), &State{}
	d := Decide(c, s, okInputs(60, 800), t0)
	if !d.Write || d.Value <= 75 || d.Value > 75+0.5+1e-9 {
		t.Fatalf("low cavity: %+v", d)
	}
	// Above the setpoint the feed comes down.
	s = &State{}
	d = Decide(c, s, okInputs(80, 800), t0)
	if !d.Write || d.Value >= 75 {
		t.Fatalf("high cavity: %+v", d)
	}
}

func TestPowerOverride(t *testing.T) {
	c, s := testConfig(), &State{}
	in := okInputs(60, 970) // level wants more feed, power is 10 kW into the margin
	d := Decide(c, s, in, t0)
	if d.Limiter != "power" || d.Value >= 75 {
		t.Fatalf("near the power limit: %+v", d)
	}
	d = Decide(c, s, okInputs(60, 1005), t0.Add(time.Second))
	if d.Limiter != "power" || math.Abs(s.Out-(d.Value)) > 1e-9 || d.Value > 75-0.6 {
		t.Fatalf("over the power limit: %+v out %.2f", d, s.Out)
	}
}

func TestHydraulicOverride(t *testing.T) {
	c, s := testConfig(), &State{}
	in := okInputs(60, 800)
	in.Hyd = 69
	if d := Decide(c, s, in, t0); d.Limiter != "hydraulic" || d.Value >= 75 {
		t.Fatalf("near the hydraulic limit: %+v", d)
	}
}

// TestNoWindup: held at the maximum for a long time with the level far below its setpoint,
// the output comes off the maximum on the first tick the level is above its setpoint.
func TestNoWindup(t *testing.T) {
	c, s := testConfig(), &State{}
	now := t0
	for i := 0; i < 600; i++ {
		Decide(c, s, okInputs(40, 700), now)
		now = now.Add(time.Second)
	}
	if s.Out != 90 {
		t.Fatalf("out %.2f after 10 min of low level, want 90", s.Out)
	}
	Decide(c, s, okInputs(72, 700), now)
	if s.Out >= 90 {
		t.Fatalf("out %.2f: wound up", s.Out)
	}
}

func TestHoldWhenNotFeeding(t *testing.T) {
	c, s := testConfig(), &State{}
	in := okInputs(60, 800)
	in.Feeding = false
	in.FeedSP = 50
	if d := Decide(c, s, in, t0); d.Write || d.Limiter != "hold" || s.Out != 50 {
		t.Fatalf("not feeding: %+v out %.1f", d, s.Out)
	}
	in = okInputs(60, 800)
	in.CavityOK = false
	if d := Decide(c, s, in, t0.Add(time.Second)); d.Write || d.Limiter != "bad input" {
		t.Fatalf("bad cavity reading: %+v", d)
	}
}

func TestDeadbandAndRefresh(t *testing.T) {
	c, s := testConfig(), &State{}
	now := t0
	Decide(c, s, okInputs(70, 800), now) // at the setpoint: no change
	writes := 0
	for i := 1; i <= 20; i++ {
		if d := Decide(c, s, okInputs(70, 800), now.Add(time.Duration(i)*time.Second)); d.Write {
			writes++
		}
	}
	if writes != 2 {
		t.Fatalf("%d writes in 20 s at the setpoint, want 2 (refresh every 10 s)", writes)
	}
}

func TestCssWorn(t *testing.T) {
	c, s := testConfig(), &State{}
	in := okInputs(70, 800)
	in.Css = 167 // 7 mm open
	if d := Decide(c, s, in, t0); d.RaiseCss {
		t.Fatal("raised at once")
	}
	d := Decide(c, s, in, t0.Add(time.Minute))
	if !d.RaiseCss || d.CssMessage == "" {
		t.Fatalf("not raised after the delay: %+v", d)
	}
	if d := Decide(c, s, in, t0.Add(2*time.Minute)); d.RaiseCss {
		t.Fatal("raised twice")
	}
	in.Css = 164.5 // within the 1 mm hysteresis: stays
	if d := Decide(c, s, in, t0.Add(3*time.Minute)); d.ClearCss {
		t.Fatal("cleared within the hysteresis")
	}
	in.Css = 161
	if d := Decide(c, s, in, t0.Add(4*time.Minute)); !d.ClearCss {
		t.Fatal("not cleared")
	}
	in.Css = 155 // closed from the setpoint: not wear
	Decide(c, s, in, t0.Add(5*time.Minute))
	if d := Decide(c, s, in, t0.Add(7*time.Minute)); d.RaiseCss {
		t.Fatal("raised for a closed CSS")
	}
}
