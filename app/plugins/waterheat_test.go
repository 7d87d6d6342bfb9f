package plugins_test

// The water-heat example plugin (plugins/water-heat) against the simulated mine, in AUTO,
// over a simulated day: heating curve, rate limit and CO alarm of the shaft air heaters,
// and its tariff-aware dewatering, which writes the pumps' duty setpoints (DutySP).

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
		if strings.HasSuffix(w.Tag, ".OutletTempSP") {
			maxRate = w.MaxRate // K/s, the same for every heater
		}
	}
	sumpOf := map[string]string{}
	for _, k := range []string{"su1Pumps", "su2Pumps"} {
		for _, p := range strings.Split(man.Config[k], ",") {
			sumpOf[strings.TrimSpace(p)] = strings.ToUpper(k[:3])
		}
	}
	if len(sumpOf) != len(waterPumps) {
		t.Fatalf("config su1Pumps/su2Pumps name %v; want the mine's %v", sumpOf, waterPumps)
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
		cutOutS      = map[string]float64{} // s a pump on duty was held by its sump's low cut-out
		dutyMismatch int                    // samples where DutySP and PumpOnCmd disagree
	)
	col := &lineCollector{}
	sample := func(now time.Time, m *sim.Mine) {
		per := int(num(t, m, "Power.SS1.TariffPeriod"))
		for _, p := range waterPumps {
			kwh[per] += num(t, m, "Water."+p+".PowerKW") * step.Hours()
			on := num(t, m, "Water."+p+".PumpOnCmd")
			if num(t, m, "Water."+p+".DutySP") != on {
				dutyMismatch++
			}
			// On duty, in service, remote, powered (feeder F4 is never opened here) and not
			// faulted, yet stopped: only the sim's low cut-out stops such a pump (it starts
			// on the step after the duty is set, and Sample runs after the step).
			if on == 1 && num(t, m, "Water."+p+".RunCmd") == 1 && num(t, m, "Water."+p+".Mode") == 1 &&
				num(t, m, "Water."+p+".RunState") == float64(sim.RunStopped) {
				cutOutS[sumpOf[p]] += step.Seconds()
			}
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
			if !strings.HasSuffix(d.Tag, ".OutletTempSP") && !strings.HasSuffix(d.Tag, ".DutySP") {
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
		share := func(k int) float64 { return 100 * kwh[k] / total }
		t.Logf("pumping energy: night %.0f kWh (%.1f%%), shoulder %.0f (%.1f%%), peak %.0f (%.1f%%); SU1 %.2f–%.2f m, SU2 %.2f–%.2f m; low cut-out held a pump on duty SU1 %.0f s, SU2 %.0f s",
			kwh[0], share(0), kwh[1], share(1), kwh[2], share(2),
			sumpMin["SU1"], sumpMax["SU1"], sumpMin["SU2"], sumpMax["SU2"], cutOutS["SU1"], cutOutS["SU2"])
		duties := 0
		kept := rep.Decisions // every decision while there are at most MaxDecisions
		if rep.Writes > simrun.MaxDecisions {
			kept = append(append([]simrun.Decision(nil), rep.First...), kept...)
		}
		for _, d := range kept {
			if !strings.HasSuffix(d.Tag, ".DutySP") {
				continue
			}
			duties++
			if d.Value != 0 && d.Value != 1 {
				t.Errorf("%s written %g at %s; want 0 or 1", d.Tag, d.Value, d.Time.Format("15:04:05"))
			}
		}
		var advice []string
		col.mu.Lock()
		for _, l := range col.lines {
			if strings.HasPrefix(l, "dewatering advice ") {
				advice = append(advice, l)
			}
		}
		col.mu.Unlock()
		t.Logf("the schedule changed %d times; %d DutySP writes among the decisions kept", len(advice), duties)
		if duties == 0 {
			t.Error("the plugin wrote no DutySP")
		}
		if dutyMismatch > 0 {
			t.Errorf("DutySP and PumpOnCmd disagreed in %d samples", dutyMismatch)
		}
		for _, l := range advice {
			// In a peak at most one pump per sump runs unless a sump is at its ceiling.
			if strings.HasPrefix(l, "dewatering advice peak:") && strings.Count(l, "=on") > 2 && !strings.Contains(l, "ceiling: every pump") {
				t.Errorf("peak schedule runs %d pumps: %s", strings.Count(l, "=on"), l)
			}
		}
		// Most of the pumping energy (pump power × time, by the tariff period at that time)
		// falls in the night and shoulder periods.
		if off := share(0) + share(1); !(off > 50) {
			t.Errorf("only %.1f%% of the pumping energy off-peak (peak %.1f%%); want more than half", off, share(2))
		}
		for s, lim := range sumpLimits {
			low, flood := lim[0], lim[1]
			// No overflow: the level stays below the flood level (where the mine's own
			// override would start every pump).
			if sumpMax[s] >= flood {
				t.Errorf("%s reached %.2f m, its flood level is %.1f m", s, sumpMax[s], flood)
			}
			// No dry running: the plugin stops pumping at its floor (low cut-out +
			// marginLowM, 0.4 m); a 10 s tick and the pumps' run-down may overshoot it by
			// centimetres, so the level must stay 0.2 m above the cut-out, and the mine's
			// own low cut-out must never have had to hold a pump the plugin left on duty.
			if sumpMin[s] < low+0.2 {
				t.Errorf("%s fell to %.2f m, within 0.2 m of its low cut-out %.1f m", s, sumpMin[s], low)
			}
			if cutOutS[s] > 0 {
				t.Errorf("%s: the low cut-out held a pump on duty for %.0f s", s, cutOutS[s])
			}
		}
	})
}

// TestWaterHeatPumpDutySP checks the mine's side of the contract the plugin relies on: every
// dewatering pump has a writable setpoint DutySP (0..1) that is its PumpOnCmd as a number.
func TestWaterHeatPumpDutySP(t *testing.T) {
	m := sim.NewMine(sim.Config{Seed: 1})
	info := map[string]sim.SignalInfo{}
	for _, s := range m.Signals() {
		info[s.Tag] = s
	}
	for _, p := range waterPumps {
		tag := "Water." + p + ".DutySP"
		si, ok := info[tag]
		if !ok || !si.Writable || si.DataType != sim.Double || si.Low != 0 || si.High != 1 {
			t.Fatalf("%s: %+v (present %v); want a writable Double 0..1", tag, si, ok)
		}
		for _, w := range []struct {
			v  float64
			on bool
		}{{1, true}, {0.2, false}, {0.5, true}, {0, false}, {0.7, true}} {
			if err := m.Write(tag, w.v); err != nil {
				t.Fatalf("write %s %g: %v", tag, w.v, err)
			}
			want := 0.0
			if w.on {
				want = 1
			}
			if on, d := num(t, m, "Water."+p+".PumpOnCmd"), num(t, m, tag); on != want || d != want {
				t.Errorf("%s := %g: PumpOnCmd %g, DutySP %g; want both %g", tag, w.v, on, d, want)
			}
		}
		if err := m.Write("Water."+p+".PumpOnCmd", false); err != nil || num(t, m, tag) != 0 {
			t.Errorf("PumpOnCmd false: %v, DutySP %g", err, num(t, m, tag))
		}
		if err := m.Write(tag, 1.5); !errors.Is(err, sim.ErrOutOfRange) {
			t.Errorf("%s := 1.5: %v; want out of range", tag, err)
		}
		if err := m.SetMode("Water."+p, sim.ModeLocal); err != nil {
			t.Fatal(err)
		}
		if err := m.Write(tag, 1.0); !errors.Is(err, sim.ErrLocalMode) || num(t, m, tag) != 0 {
			t.Errorf("%s := 1 in local mode: %v (DutySP now %g); want refused", tag, err, num(t, m, tag))
		}
	}
	// A plugin's manifest may grant it.
	dir := t.TempDir()
	y := "id: x\nversion: 0.1.0\nwasm: x.wasm\nsha256: " + strings.Repeat("0", 64) +
		"\nabi: 1\ntick: 1s\nmemory: 16MiB\nbudget: 20ms\nreads:\n  - Water.P101.PumpOnCmd\nwrites:\n  - tag: Water.P101.DutySP\n    min: 0\n    max: 1\n"
	p := filepath.Join(dir, "plugin.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := manifest.Load(p); err != nil {
		t.Errorf("a manifest granting Water.P101.DutySP: %v", err)
	}
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
