//go:build !race

// The race detector makes wazero compile a Go guest in ~25 s instead of ~1 s, so this test is
// left out of the -race run; `make test` runs it on its own (see the Makefile's go-test).

package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"minebrain/app/plugins"
)

// buildGoodGuest builds app/plugins' well-behaved test guest into dir and returns its hash.
func buildGoodGuest(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "good.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "./good")
	cmd.Dir = filepath.Join("..", "plugins", "testdata", "guests")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the guest: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func pluginStatus(t *testing.T, e *Engine, id string) plugins.Status {
	t.Helper()
	list, err := e.Plugins(viewer)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.ID == id {
			return s
		}
	}
	return plugins.Status{}
}

// TestPluginOnTheSimulator loads a plugin from the plugins directory at start: it reads live
// simulator tags, raises its alarm through the alarm engine, and in SHADOW its writes are only
// recorded. An operator cannot switch it to AUTO; an engineer can, and its setpoint then
// reaches the simulator through the control path, audited as the plugin.
func TestPluginOnTheSimulator(t *testing.T) {
	data := t.TempDir()
	dir := filepath.Join(data, "plugins", "good")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := buildGoodGuest(t, dir)
	manifest := fmt.Sprintf(`id: good
version: 1.0.0
wasm: good.wasm
sha256: %s
abi: 1
tick: 200ms
memory: 32MiB
budget: 100ms
reads:
  - Crushing.AF1.FeederSpeedSP
writes:
  - tag: Crushing.AF1.FeederSpeedSP
    min: 20
    max: 95
config:
  target: 80
  limit: 70
`, sum)
	if err := os.WriteFile(filepath.Join(dir, ManifestName), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	e := startAlarmEngine(t, alarmSite, func(c *Config) {
		c.PluginDir, c.PluginCacheDir = filepath.Join(data, "plugins"), filepath.Join(data, "cache")
	})

	waitFor(t, 60*time.Second, "the plugin ticking with a shadowed write", func() bool {
		s := pluginStatus(t, e, "good")
		return s.State == plugins.Running && s.Ticks > 2 && len(s.RecentWrites) > 0
	})
	s := pluginStatus(t, e, "good")
	if s.Mode != plugins.Shadow || s.RecentWrites[0].Outcome != "suppressed" || len(s.Reads) != 1 {
		t.Fatalf("status %+v", s)
	}
	if v, _ := (equipment{e}).Value("Crushing.AF1.FeederSpeedSP"); number(v.Value) != 75 {
		t.Fatalf("a SHADOW write reached the simulator: %v", v.Value)
	}
	// The plugin's alarm (the setpoint, 75 %, is above its limit 70) is in the alarm engine.
	waitFor(t, 10*time.Second, "the plugin's alarm", func() bool { return activeAlarm(t, e, "plugin.good.high") != nil })

	if err := e.SetPluginMode(operator, "good", "auto"); err == nil || !strings.Contains(err.Error(), "engineer role") {
		t.Fatalf("an operator switched the plugin to AUTO: %v", err)
	}
	if err := e.SetPluginMode(engineer, "good", "auto"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the plugin's setpoint in the simulator", func() bool {
		v, _ := (equipment{e}).Value("Crushing.AF1.FeederSpeedSP")
		return number(v.Value) == 80
	})
	waitFor(t, 20*time.Second, "the plugin's write audited as done", func() bool {
		return strings.Contains(strings.Join(auditResults(t, e), "\n"), "plugin:good setpoint Crushing.AF1.FeederSpeedSP: done")
	})
	got := strings.Join(auditResults(t, e), "\n")
	for _, want := range []string{"olga plugin.mode plugin good: refused", "emil (desktop) plugin.mode good: done"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit log lacks %q:\n%s", want, got)
		}
	}

	// Loading from outside the plugins directory is refused.
	if _, err := e.LoadPlugin(engineer, "/etc/plugin.yaml"); err == nil || !strings.Contains(err.Error(), "outside the plugins directory") {
		t.Fatalf("load outside the plugins directory: %v", err)
	}
}
