package plugins_test

// The water-heat example plugin (plugins/water-heat) against the simulated mine, in AUTO,
// over a simulated day: heating curve, rate limit and CO alarm of the shaft air heaters,
// and its tariff-aware dewatering as far as the mine lets a plugin do it.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"minebrain/app/plugins"
	"minebrain/app/plugins/manifest"
	"minebrain/app/plugins/simrun"
	"minebrain/app/sim"
)

const waterHeatDir = "../../plugins/water-heat"

var (
	whOnce sync.Once
	whWasm []byte
	whErr  error
)

// waterHeatWasm builds plugins/water-heat as Minebrain's users do (once per test binary).
func waterHeatWasm(t *testing.T) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Go plugin and runs a simulated day: not with -short")
	}
	whOnce.Do(func() {
		out := filepath.Join(os.TempDir(), "minebrain-water-heat-"+strconv.Itoa(os.Getpid())+".wasm")
		defer os.Remove(out)
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
		cmd.Dir = waterHeatDir
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOFLAGS=")
		if b, err := cmd.CombinedOutput(); err != nil {
			whErr = errors.New("building plugins/water-heat: " + err.Error() + "\n" + string(b))
			return
		}
		whWasm, whErr = os.ReadFile(out)
	})
	if whErr != nil {
		t.Fatal(whErr)
	}
	return whWasm
}

var shaLine = regexp.MustCompile(`(?m)^sha256:[ \t]*[0-9a-f]*`)

// waterHeatManifest writes the built module and a copy of plugin.yaml with its hash into a
// temporary directory; edit changes the manifest's text first (config for a scenario).
func waterHeatManifest(t *testing.T, edit func(string) string) string {
	wasm := waterHeatWasm(t)
	src, err := os.ReadFile(filepath.Join(waterHeatDir, "plugin.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(wasm)
	text := shaLine.ReplaceAllString(string(src), "sha256: "+hex.EncodeToString(sum[:]))
	if edit != nil {
		text = edit(text)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "water-heat.wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "plugin.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// testCurve is the heating curve of the manifest's config, read independently of the
// plugin's code: OUTDOOR:OUTLET pairs, linear between, flat beyond.
type testCurve [][2]float64

func parseTestCurve(t *testing.T, s string) testCurve {
	var c testCurve
	for _, f := range strings.Split(s, ",") {
		a, b, _ := strings.Cut(strings.TrimSpace(f), ":")
		x, err1 := strconv.ParseFloat(a, 64)
		y, err2 := strconv.ParseFloat(b, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("curve %q: %q", s, f)
		}
		c = append(c, [2]float64{x, y})
	}
	sort.Slice(c, func(i, j int) bool { return c[i][0] < c[j][0] })
	return c
}

func (c testCurve) at(x float64) float64 {
	if x <= c[0][0] {
		return c[0][1]
	}
	for i := 1; i < len(c); i++ {
		if x <= c[i][0] {
			return c[i-1][1] + (c[i][1]-c[i-1][1])*(x-c[i-1][0])/(c[i][0]-c[i-1][0])
		}
	}
	return c[len(c)-1][1]
}

func num(t *testing.T, m *sim.Mine, tag string) float64 {
	v, ok := m.Value(tag)
	if !ok {
		t.Fatalf("the mine has no %s", tag)
	}
	switch x := v.(type) {
	case float64:
		return x
	case int32:
		return float64(x)
	case bool:
		if x {
			return 1
		}
		return 0
	}
	t.Fatalf("%s is %T", tag, v)
	return 0
}

// lineCollector keeps the plugin's log messages.
type lineCollector struct {
	mu    sync.Mutex
	lines []string
}

func (c *lineCollector) Enabled(context.Context, slog.Level) bool { return true }
func (c *lineCollector) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	c.lines = append(c.lines, r.Message)
	c.mu.Unlock()
	return nil
}
func (c *lineCollector) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *lineCollector) WithGroup(string) slog.Handler      { return c }

var (
	waterPumps = []string{"P101", "P102", "P103", "P201", "P202"}
	heaters    = []string{"AH1", "AH2", "AH3"}
)

// sumpLimits are the simulated mine's low cut-out and flood levels (app/sim/layout.go).
var sumpLimits = map[string][2]float64{"SU1": {0.8, 5.0}, "SU2": {0.8, 4.2}}

func TestWaterHeatDay(t *testing.T) {
	path := waterHeatManifest(t, nil)
	man, err := manifest.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	curve := parseTestCurve(t, man.Config["curve"])
	coLimit, _ := strconv.ParseFloat(man.Config["coLimitPpm"], 64)
	maxRate := 0.0
	for _, w := range man.Writes {
		maxRate = w.MaxRate // K/s, the same for every heater
	}

	start := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC) // a whole tariff day
	const step = time.Second
	var (
		kwh          [3]float64 // pumping energy by tariff period
		sumpMin      = map[string]float64{"SU1": math.Inf(1), "SU2": math.Inf(1)}
		sumpMax      = map[string]float64{"SU1": math.Inf(-1), "SU2": math.Inf(-1)}
		worstDev     float64 // |OutletTempSP - curve(outdoor)| after the first hour
		worstDevAt   string
		worstRate    float64 // K/min between samples a minute apart
		lastSP       = map[string]float64{}
		lastMin      time.Time
		maxCO        float64
		outMin       = math.Inf(1)
		outMax       = math.Inf(-1)
		firstWriteAt time.Time
	)
	col := &lineCollector{}
	sample := func(now time.Time, m *sim.Mine) {
		per := int(num(t, m, "Power.SS1.TariffPeriod"))
		for _, p := range waterPumps {
			kwh[per] += num(t, m, "Water."+p+".PowerKW") * step.Hours()
		}
		for s := range sumpMin {
			l := num(t, m, "Water."+s+".LevelM")
			sumpMin[s], sumpMax[s] = math.Min(sumpMin[s], l), math.Max(sumpMax[s], l)
		}
		out := num(t, m, "Heating.WS1.OutdoorTempC")
		outMin, outMax = math.Min(outMin, out), math.Max(outMax, out)
		want := curve.at(out)
		for _, h := range heaters {
			sp := num(t, m, "Heating."+h+".OutletTempSP")
			maxCO = math.Max(maxCO, num(t, m, "Heating."+h+".CoPpm"))
			if firstWriteAt.IsZero() && sp != 5 { // 5 °C is the mine's initial setpoint
				firstWriteAt = now
			}
			if now.Sub(start) >= time.Hour {
				if d := math.Abs(sp - want); d > worstDev {
					worstDev, worstDevAt = d, h+" at "+now.Format("15:04:05")+" outdoor "+strconv.FormatFloat(out, 'f', 2, 64)+
						" SP "+strconv.FormatFloat(sp, 'f', 2, 64)+" curve "+strconv.FormatFloat(want, 'f', 2, 64)
				}
			}
		}
		if now.Sub(lastMin) >= time.Minute {
			for _, h := range heaters {
				sp := num(t, m, "Heating."+h+".OutletTempSP")
				if prev, ok := lastSP[h]; ok {
					worstRate = math.Max(worstRate, math.Abs(sp-prev)/now.Sub(lastMin).Minutes())
				}
				lastSP[h] = sp
			}
			lastMin = now
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rep, err := simrun.Run(ctx, simrun.Options{Manifest: path, Seed: 1, Start: start, For: 24 * time.Hour,
		SimStep: step, Mode: plugins.Auto, Sample: sample, Logger: slog.New(col),
		Watch: []string{"Water.SU1.LevelM", "Water.SU2.LevelM", "Heating.WS1.OutdoorTempC", "Heating.AH1.OutletTempSP",
			"Heating.AH1.OutletTempC", "Heating.AH1.RunState", "Heating.AH1.CoPpm", "Heating.AH2.CoPpm"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a simulated day in %v: %d ticks (mean %v, max %v), %d writes (%d done, %d refused), %d log lines, faults %v",
		rep.Real.Round(time.Millisecond), rep.Ticks, rep.Final.TickAvg, rep.Final.TickMax, rep.Writes, rep.Done, rep.Refused, rep.Logs, rep.Faults)
	for _, s := range rep.Signals {
		t.Logf("  %-26s min %8.2f  max %8.2f  mean %8.2f", s.Tag, s.Min, s.Max, s.Mean)
	}
	if len(rep.Faults) > 0 || rep.Final.State != plugins.Running {
		t.Fatalf("the plugin faulted: %v (final state %s, %s)", rep.Faults, rep.Final.State, rep.Final.LastError)
	}
	if rep.Ticks < 8000 {
		t.Errorf("%d ticks in a day of 10 s ticks", rep.Ticks)
	}

	t.Run("heating", func(t *testing.T) {
		t.Logf("outdoor %.1f to %.1f °C; worst |SP - curve| after the first hour %.3f K (%s); fastest SP change %.2f K/min; first write %s; max CO %.1f ppm",
			outMin, outMax, worstDev, worstDevAt, worstRate, firstWriteAt.Format("15:04:05"), maxCO)
		if rep.Done == 0 || rep.Refused > 0 {
			t.Errorf("%d setpoint writes done, %d refused; want all done", rep.Done, rep.Refused)
		}
		for _, d := range rep.Decisions {
			if !strings.HasSuffix(d.Tag, ".OutletTempSP") {
				t.Errorf("wrote %s", d.Tag)
			}
		}
		// The plugin writes only for a curve change of at least its 0.1 K deadband,
		// rounds to 0.01 K and sees the outdoor temperature of its tick (up to 10 s old,
		// ±0.05 K of noise); the curve moves far slower than the ramp: within 0.2 K of the
		// curve once the first ramp is done.
		if worstDev > 0.2 {
			t.Errorf("an outlet setpoint was %.3f K off the curve: %s", worstDev, worstDevAt)
		}
		if worstRate > maxRate*60+1e-6 {
			t.Errorf("a setpoint moved %.2f K/min, faster than the manifest's %.2f K/min", worstRate, maxRate*60)
		}
		// CO alarm: raised iff CO crossed the limit (a margin either side for the tick).
		raised := 0
		for _, a := range rep.Alarms {
			if a.ID == "plugin.water-heat.co-high" && a.Raised {
				raised++
			}
		}
		switch {
		case maxCO > coLimit+0.5 && raised == 0:
			t.Errorf("CO reached %.1f ppm (limit %g) and co-high was not raised", maxCO, coLimit)
		case maxCO < coLimit-0.5 && raised > 0:
			t.Errorf("co-high raised %d times with CO at most %.1f ppm (limit %g): %v", raised, maxCO, coLimit, rep.Alarms)
		}
	})

	t.Run("dewatering", func(t *testing.T) {
		total := kwh[0] + kwh[1] + kwh[2]
		t.Logf("pumping energy, pumps as the mine left them (P101, P102, P201 on duty): night %.0f kWh (%.0f%%), shoulder %.0f (%.0f%%), peak %.0f (%.0f%%); SU1 %.2f–%.2f m, SU2 %.2f–%.2f m",
			kwh[0], 100*kwh[0]/total, kwh[1], 100*kwh[1]/total, kwh[2], 100*kwh[2]/total,
			sumpMin["SU1"], sumpMax["SU1"], sumpMin["SU2"], sumpMax["SU2"])
		var advice []string
		col.mu.Lock()
		for _, l := range col.lines {
			if strings.HasPrefix(l, "dewatering advice ") {
				advice = append(advice, l)
			}
		}
		col.mu.Unlock()
		t.Logf("the plugin's duty advice changed %d times", len(advice))
		if len(advice) == 0 {
			t.Error("the plugin logged no dewatering advice")
		}
		for _, l := range advice {
			// In a peak the advice is at most one pump per sump unless a sump is at its
			// ceiling.
			if strings.HasPrefix(l, "dewatering advice peak:") && strings.Count(l, "=on") > 2 && !strings.Contains(l, "ceiling: every pump") {
				t.Errorf("peak advice runs %d pumps: %s", strings.Count(l, "=on"), l)
			}
		}
		if n := len(advice); n > 0 {
			t.Logf("last advice: %s", advice[n-1])
		}
		if reason := pumpDutyUnwritable(t); reason != "" {
			t.Skip(reason)
		}
		t.Fatal("the mine now has a writable pump setpoint: set the plugin's config dutySignal, grant it in writes: and assert the schedule here")
	})
}

// pumpDutyUnwritable says why a plugin cannot run the pumps, after checking that it is
// still so; "" once it no longer is.
func pumpDutyUnwritable(t *testing.T) string {
	var sps []string
	for _, s := range sim.NewMine(sim.Config{Seed: 1}).Signals() {
		if strings.HasPrefix(s.Tag, "Water.") && s.Writable && strings.HasSuffix(s.Name, "SP") {
			sps = append(sps, s.Tag)
		}
	}
	if len(sps) > 0 {
		return ""
	}
	// The manifest refuses the duty command itself.
	dir := t.TempDir()
	y := "id: x\nversion: 0.1.0\nwasm: x.wasm\nsha256: " + strings.Repeat("0", 64) +
		"\nabi: 1\ntick: 1s\nmemory: 16MiB\nbudget: 20ms\nreads:\n  - Water.P101.PumpOnCmd\nwrites:\n  - tag: Water.P101.PumpOnCmd\n    min: 0\n    max: 1\n"
	p := filepath.Join(dir, "plugin.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := manifest.Load(p); err == nil || !strings.Contains(err.Error(), "not a setpoint") {
		return "" // the manifest would now take it
	}
	return "the mine has no writable pump setpoint: the pumps' duty is Water.P1xx/P2xx.PumpOnCmd (Boolean), " +
		"a plugin may write only setpoints whose signal ends in SP (app/plugins/manifest refuses " +
		"writes: Water.P101.PumpOnCmd: \"not a setpoint\"), and no Water.* signal ending in SP is writable; " +
		"the plugin's schedule runs as advice only (its log and key-value \"advice\"), so AUTO cannot move pumping off-peak"
}

// TestWaterHeatCOAlarm runs the plugin with a CO limit the day's readings cross (the mine's
// heaters stay far below the manifest's 30 ppm on a mild day): co-high is raised when a
// heater's CO goes above the limit, names it, is not repeated every tick, and is cleared
// below the limit less the hysteresis.
func TestWaterHeatCOAlarm(t *testing.T) {
	const limit, hyst = 7.0, 3.0
	path := waterHeatManifest(t, func(s string) string {
		s = regexp.MustCompile(`(?m)^  coLimitPpm: .*$`).ReplaceAllString(s, "  coLimitPpm: 7")
		return regexp.MustCompile(`(?m)^  coHysteresisPpm: .*$`).ReplaceAllString(s, "  coHysteresisPpm: 3")
	})
	start := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	type pt struct {
		t   time.Time
		max float64
	}
	var co []pt
	rep, err := simrun.Run(context.Background(), simrun.Options{Manifest: path, Seed: 1, Start: start, For: 12 * time.Hour,
		SimStep: time.Second, Mode: plugins.Auto, Sample: func(now time.Time, m *sim.Mine) {
			x := 0.0
			for _, h := range heaters {
				x = math.Max(x, num(t, m, "Heating."+h+".CoPpm"))
			}
			co = append(co, pt{now, x})
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Faults) > 0 {
		t.Fatalf("faults: %v", rep.Faults)
	}
	at := func(tm time.Time) float64 { // the highest CO at tm, as the plugin's tick read it
		i := sort.Search(len(co), func(i int) bool { return !co[i].t.Before(tm) })
		if i == len(co) || !co[i].t.Equal(tm) {
			t.Fatalf("no sample at %s", tm)
		}
		return co[i].max
	}
	msg := regexp.MustCompile(`^AH[1-3] CO [0-9.]+ ppm above the 7 ppm limit$`)
	raises, clears, active := 0, 0, false
	for _, a := range rep.Alarms {
		if a.ID != "plugin.water-heat.co-high" {
			t.Errorf("unexpected alarm %+v", a)
			continue
		}
		if a.Raised {
			raises++
			if !msg.MatchString(a.Message) || a.Priority == "" {
				t.Errorf("raise %q (priority %q)", a.Message, a.Priority)
			}
			if x := at(a.Time); x <= limit {
				t.Errorf("raised at %s with CO at most %.2f ppm", a.Time.Format("15:04:05"), x)
			}
			active = true
			continue
		}
		clears++
		if !active {
			t.Errorf("cleared at %s while not raised", a.Time.Format("15:04:05"))
		}
		if x := at(a.Time); x > limit-hyst {
			t.Errorf("cleared at %s with CO %.2f ppm", a.Time.Format("15:04:05"), x)
		}
		active = false
	}
	t.Logf("12 h with limit %g ppm: %d raises, %d clears, %d alarm events", limit, raises, clears, len(rep.Alarms))
	if raises == 0 {
		t.Fatal("co-high never raised")
	}
	if raises != clears && raises != clears+1 {
		t.Errorf("%d raises and %d clears: want one raise per episode", raises, clears)
	}
}
