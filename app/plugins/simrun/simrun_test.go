package simrun

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"minebrain/app/plugins"
	"minebrain/app/plugins/internal/testguest"
	"minebrain/app/sim"
)

// goodPlugin writes the good guest with a manifest: it reads CR1's power (tag 0), raises
// alarm "high" above 500 kW and writes 60 to AF1's speed setpoint every second.
func TestMain(m *testing.M) {
	code := m.Run()
	testguest.Cleanup()
	os.Exit(code)
}

func TestRunShadow(t *testing.T) {
	path := testguest.GoodPlugin(t, "Crushing.CR1.PowerKW", 500)
	steps := 0
	rep, err := Run(context.Background(), Options{Manifest: path, Seed: 3, For: 10 * time.Minute, CacheDir: testguest.CacheDir(t),
		Watch:  []string{"Crushing.AF1.FeederSpeedSP", "Crushing.CR1.PowerKW"},
		Sample: func(time.Time, *sim.Mine) { steps++ }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("shadow: %d ticks, %d writes in %v (%.0f× real time)", rep.Ticks, rep.Writes, rep.Real, rep.Simulated.Seconds()/rep.Real.Seconds())
	if steps != 2400 || rep.Ticks != 600 || rep.Writes != 600 || rep.Suppressed != 600 || rep.Done != 0 || rep.Refused != 0 {
		t.Errorf("%d steps, %d ticks, %d writes, %d suppressed, %d done, %d refused; want 2400, 600, 600, 600, 0, 0",
			steps, rep.Ticks, rep.Writes, rep.Suppressed, rep.Done, rep.Refused)
	}
	if len(rep.Decisions) != 600 || rep.Decisions[0].Value != 60 || !rep.Decisions[0].Time.Equal(rep.Start.Add(time.Second)) ||
		rep.Decisions[599].Outcome != "suppressed" {
		t.Errorf("decisions: %d, first %+v", len(rep.Decisions), rep.Decisions[0])
	}
	if sp := rep.Signals[0]; sp.Min != 75 || sp.Max != 75 || sp.Last != 75 {
		t.Errorf("SHADOW touched the mine: %+v", sp)
	}
	if p := rep.Signals[1]; p.Min < 300 || p.Max > 1300 || p.Mean < p.Min || p.Mean > p.Max || p.N != 2400 {
		t.Errorf("power stats %+v", p)
	}
	if len(rep.Alarms) == 0 || rep.Alarms[0].ID != "plugin.good.high" || !rep.Alarms[0].Raised || rep.Alarms[0].Priority == "" {
		t.Errorf("alarms %+v", rep.Alarms)
	}
	if len(rep.Faults) != 0 || rep.Logs < 60 {
		t.Errorf("faults %v, %d log lines", rep.Faults, rep.Logs)
	}
}

func TestRunAuto(t *testing.T) {
	path := testguest.GoodPlugin(t, "Crushing.CR1.PowerKW", 500)
	var last float64
	rep, err := Run(context.Background(), Options{Manifest: path, Seed: 3, For: 2 * time.Minute, Mode: plugins.Auto,
		CacheDir: testguest.CacheDir(t), Watch: []string{"Crushing.AF1.FeederSpeedSP"},
		Sample: func(_ time.Time, m *sim.Mine) { v, _ := m.Value("Crushing.AF1.SpeedPct"); last = v.(float64) }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Ticks != 120 || rep.Writes != 120 || rep.Done != 120 || rep.Refused != 0 {
		t.Errorf("%d ticks, %d writes, %d done, %d refused", rep.Ticks, rep.Writes, rep.Done, rep.Refused)
	}
	if sp := rep.Signals[0]; sp.Last != 60 || sp.Max != 75 {
		t.Errorf("setpoint %+v, want 75 then 60", sp)
	}
	if last < 59 || last > 61 {
		t.Errorf("feeder speed %.1f at the end, want ≈ 60", last)
	}

	// The feeder in local mode: the mine refuses every write, and says why.
	rep, err = Run(context.Background(), Options{Manifest: path, Seed: 3, For: 30 * time.Second, Mode: plugins.Auto,
		CacheDir: testguest.CacheDir(t), Setup: func(m *sim.Mine) { m.SetMode("Crushing.AF1", sim.ModeLocal) }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Writes != 30 || rep.Refused != 30 || !strings.Contains(rep.Decisions[0].Outcome, "local mode") {
		t.Errorf("local mode: %d writes, %d refused, %+v", rep.Writes, rep.Refused, rep.Decisions)
	}
}

func TestRunCancel(t *testing.T) {
	path := testguest.GoodPlugin(t, "Crushing.CR1.PowerKW", 500)
	ctx, cancel := context.WithCancel(context.Background())
	rep, err := Run(ctx, Options{Manifest: path, For: 24 * time.Hour, CacheDir: testguest.CacheDir(t),
		Sample: func(t time.Time, _ *sim.Mine) {
			if t.Sub(time.Date(2025, 1, 15, 6, 0, 0, 0, time.UTC)) >= time.Minute {
				cancel()
			}
		}})
	if err != context.Canceled || rep.Ticks < 59 || rep.Ticks > 61 {
		t.Errorf("cancelled: %v, %d ticks", err, rep.Ticks)
	}
	if _, err := Run(context.Background(), Options{Manifest: path, Mode: "manual"}); err == nil {
		t.Error("mode manual accepted")
	}
	if _, err := Run(context.Background(), Options{Manifest: path, Watch: []string{"No.Such.Tag"}}); err == nil {
		t.Error("unknown watch tag accepted")
	}
}
