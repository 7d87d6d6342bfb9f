package simrun

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"minebrain/app/plugins"
	"minebrain/app/plugins/internal/testguest"
	"minebrain/app/plugins/manifest"
	"minebrain/app/sim"
)

// buildPlugin builds the plugin module in src (plugins/<name>) as `minebrain plugin build`
// does, into a temporary directory with a copy of its manifest carrying the module's hash
// (the source tree is left alone); the copy's path.
func buildPlugin(t *testing.T, src string) string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(src, "plugin.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wasmName := regexp.MustCompile(`(?m)^wasm:\s*(\S+)`).FindSubmatch(text)
	if wasmName == nil {
		t.Fatal("no wasm: in the manifest")
	}
	out := filepath.Join(dir, string(wasmName[1]))
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", src, err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(wasm)
	text = regexp.MustCompile(`(?m)^sha256:\s*[0-9a-f]*`).ReplaceAll(text, []byte("sha256: "+hex.EncodeToString(sum[:])))
	path := filepath.Join(dir, "plugin.yaml")
	if err := os.WriteFile(path, text, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCrusherControl runs plugins/crusher-control in AUTO over a simulated hour in which the
// ore gets much softer (seed 2 from the default start: CR1's work index falls from 15.0 to
// 10.2 kWh/t; choke fed at the start, CR1 would draw about 970 kW, near its 1000 kW limit):
// after 5 minutes of settling the cavity level is within ±5 points of its setpoint at least
// 80 % of the time, and CR1's power never exceeds the limit.
func TestCrusherControl(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin and simulates an hour")
	}
	path := buildPlugin(t, filepath.Join("..", "..", "..", "plugins", "crusher-control"))
	man, err := manifest.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := strconv.ParseFloat(man.Config["cavitySP"], 64)
	limit, _ := strconv.ParseFloat(man.Config["powerLimit"], 64)
	var start time.Time
	var n, in int
	maxPower, maxHyd := 0.0, 0.0
	var worst float64
	rep, err := Run(context.Background(), Options{Manifest: path, Seed: 2, For: time.Hour, Mode: plugins.Auto, CacheDir: testguest.CacheDir(t),
		Watch: []string{"Crushing.CR1.CavityLevelPct", "Crushing.CR1.PowerKW", "Crushing.CR1.OreWorkIndexKWhT",
			"Crushing.AF1.FeederSpeedSP", "Crushing.CR1.ThroughputTPH", "Crushing.AF1.BinLevelPct"},
		Sample: func(now time.Time, m *sim.Mine) {
			if start.IsZero() {
				start = now
			}
			p, _ := number(m, "Crushing.CR1.PowerKW")
			h, _ := number(m, "Crushing.CR1.HydraulicPressureBar")
			maxPower, maxHyd = math.Max(maxPower, p), math.Max(maxHyd, h)
			if now.Sub(start) < 5*time.Minute {
				return
			}
			c, _ := number(m, "Crushing.CR1.CavityLevelPct")
			n++
			if math.Abs(c-sp) <= 5 {
				in++
			}
			worst = math.Max(worst, math.Abs(c-sp))
		}})
	if err != nil {
		t.Fatal(err)
	}
	frac := float64(in) / float64(n)
	t.Logf("%d ticks, %d writes (%d done, %d refused), faults %v, %d log lines (%d dropped), %.0f× real time",
		rep.Ticks, rep.Writes, rep.Done, rep.Refused, rep.Faults, rep.Logs, rep.LogDropped, rep.Simulated.Seconds()/rep.Real.Seconds())
	for _, s := range rep.Signals {
		t.Logf("%-32s min %8.2f max %8.2f mean %8.2f last %8.2f", s.Tag, s.Min, s.Max, s.Mean, s.Last)
	}
	t.Logf("cavity within ±5 of %.0f %%: %.1f %% of the time after 5 min (worst %.1f); max power %.1f kW (limit %.0f), max hydraulic %.1f bar",
		sp, 100*frac, worst, maxPower, limit, maxHyd)
	if len(rep.Faults) > 0 || rep.Refused > 0 {
		t.Errorf("faults %v, %d writes refused", rep.Faults, rep.Refused)
	}
	if frac < 0.8 {
		t.Errorf("cavity level within ±5 points of %.0f %% only %.1f %% of the time, want ≥ 80 %%", sp, 100*frac)
	}
	if maxPower > limit {
		t.Errorf("CR1 power reached %.1f kW, above its limit %.0f kW", maxPower, limit)
	}
}
