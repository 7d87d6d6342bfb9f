//go:build !race

// Built only without -race, as plugins_test.go (a Go guest's compile under the race detector
// takes ~25 s); `make test` runs it with -run Plugin.

package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"minebrain/app/plugins"
)

// TestPluginManifestsOutsideThePluginDir loads a plugin named by Config.PluginManifests from a
// directory outside the (empty) plugins directory: it runs on the simulator in SHADOW, the
// plugins directory still lists nothing, and a face still cannot load from outside it.
func TestPluginManifestsOutsideThePluginDir(t *testing.T) {
	data := t.TempDir()
	dev := filepath.Join(t.TempDir(), "dev") // the integrator's working directory
	if err := os.MkdirAll(dev, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := buildGoodGuest(t, dev)
	text := fmt.Sprintf(`id: dev
version: 0.0.1
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
`, sum)
	path := filepath.Join(dev, ManifestName)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	e := startAlarmEngine(t, alarmSite, func(c *Config) {
		c.PluginDir, c.PluginCacheDir = filepath.Join(data, "plugins"), filepath.Join(data, "cache")
		c.PluginManifests = []string{path}
	})
	waitFor(t, 60*time.Second, "the plugin from outside the plugins directory ticking", func() bool {
		s := pluginStatus(t, e, "dev")
		return s.State == plugins.Running && s.Ticks > 2 && len(s.RecentWrites) > 0
	})
	s := pluginStatus(t, e, "dev")
	if s.Mode != plugins.Shadow || s.Manifest != path || s.RecentWrites[0].Outcome != "suppressed" {
		t.Fatalf("status %+v", s)
	}
	if v, _ := (equipment{e}).Value("Crushing.AF1.FeederSpeedSP"); number(v.Value) != 75 {
		t.Fatalf("a SHADOW write reached the simulator: %v", v.Value)
	}
	if list, err := e.AvailablePlugins(viewer); err != nil || len(list) != 0 {
		t.Errorf("the plugins directory lists %v, %v; want nothing", list, err)
	}
	if _, err := e.LoadPlugin(engineer, path); err == nil || !strings.Contains(err.Error(), "outside the plugins directory") {
		t.Errorf("a face loaded %s from outside the plugins directory: %v", path, err)
	}
}
