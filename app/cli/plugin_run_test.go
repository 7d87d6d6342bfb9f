//go:build !race

// Left out of the -race run: under the race detector wazero's compile of the Go guest alone
// takes over a minute here (the test ~2 min). The Makefile runs it without -race:
// go test -count=1 -run PluginRun ./app/cli/

package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPluginRunRefusals: what `plugin run` refuses before it starts an engine.
func TestPluginRunRefusals(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "z")
	if code, out, errOut := run("plugin", "new", "z", "--dir", parent, "--sdk", repoSDK(t)); code != exitOK {
		t.Fatalf("new: %d %q %q", code, out, errOut)
	}
	notDir := filepath.Join(parent, "file")
	os.WriteFile(notDir, []byte("x"), 0o644)
	badManifest := filepath.Join(parent, "bad")
	os.MkdirAll(badManifest, 0o755)
	os.WriteFile(filepath.Join(badManifest, "plugin.yaml"), []byte("id: Bad\n"), 0o644)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"auto against an endpoint", []string{dir, "--mode", "auto", "--endpoint", "opc.tcp://127.0.0.1:1"}, exitUsage,
			"--mode auto writes only to the embedded simulated mine, not to opc.tcp://127.0.0.1:1: writing real equipment needs a running Minebrain and an engineer's confirmation on the Plugins page"},
		{"mode off", []string{dir, "--mode", "off"}, exitUsage, `--mode "off": use shadow or auto`},
		{"negative for", []string{dir, "--for", "-1s"}, exitUsage, "cannot be negative"},
		{"bad endpoint", []string{dir, "--endpoint", "localhost:4840"}, exitUsage, "is not an OPC UA address"},
		{"not built", []string{dir, "--for", "1s"}, exitError, "build it with `minebrain plugin build " + dir + "`"},
		{"no such directory", []string{filepath.Join(parent, "nope")}, exitError, "nope: no such directory"},
		{"a file", []string{notDir}, exitError, "is not a directory"},
		{"no manifest", []string{parent}, exitError, "has no plugin.yaml: it is not a plugin's directory"},
		{"bad manifest", []string{badManifest}, exitError, `"Bad" is not a plugin id`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(append([]string{"plugin", "run"}, tc.args...)...)
			if tc.code == exitUsage {
				out = "" // the usage is on stderr
			}
			if code != tc.code || !strings.Contains(errOut, tc.want) || out != "" {
				t.Errorf("plugin run %v: %d\nstdout %q\nstderr %q\nwant %d and %q", tc.args, code, out, errOut, tc.code, tc.want)
			}
		})
	}
	// A module that matches its hash but is no WebAssembly: the engine refuses to load it.
	junk := filepath.Join(parent, "junk")
	os.MkdirAll(junk, 0o755)
	os.WriteFile(filepath.Join(junk, "live.wasm"), []byte("not a module"), 0o644)
	os.WriteFile(filepath.Join(junk, "plugin.yaml"),
		[]byte(strings.Replace(runGuestManifest, strings.Repeat("0", 64), sha256Hex([]byte("not a module")), 1)), 0o644)
	code, out, errOut := run("plugin", "run", junk, "--for", "1s")
	if code != exitError || !strings.Contains(errOut, "minebrain plugin run: "+filepath.Join(junk, "plugin.yaml")+": not loaded: ") ||
		strings.Contains(out, "stopped after") {
		t.Errorf("plugin run of a module that is not WebAssembly: %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	if code, out, _ := run("plugin", "help"); code != exitOK || !strings.Contains(out, "\n  run [DIR] [--mode shadow|auto] [--for D] [--endpoint URL]  ") {
		t.Errorf("plugin help: %d\n%s", code, out)
	}
}

// runGuest is a plugin made with `plugin new` whose Tick wants the feeder's speed at 80 % every
// tick (the simulated mine has it at 75 %) and logs each tick; the first time it starts (its
// key-value store says whether it started before) it raises an alarm on its 2nd tick, clears
// it on its 4th and faults on its 5th.
const runGuest = `package main

import (
	"errors"
	"time"

	"minebrain.dev/sdk/minebrain"
)

type plugin struct {
	sp        minebrain.SetpointRef
	ticks     int
	restarted bool
}

func (p *plugin) Init(h *minebrain.Host) error {
	sp, err := h.Setpoint("Crushing.AF1.FeederSpeedSP")
	if err != nil {
		return err
	}
	_, restarted, err := h.KV().Get("started")
	if err != nil {
		return err
	}
	p.sp, p.restarted = sp, restarted
	return nil
}

func (p *plugin) Tick(h *minebrain.Host, now time.Time) error {
	p.ticks++
	h.Logf(minebrain.LevelInfo, "tick %d", p.ticks)
	if err := h.Write(p.sp, 80); err != nil {
		return err
	}
	switch p.ticks {
	case 1:
		return h.KV().Set("started", []byte("yes"))
	}
	if p.restarted {
		return nil
	}
	switch p.ticks {
	case 2:
		return h.RaiseAlarm("feed", minebrain.PriorityMedium, "feeder wanted at 80 %")
	case 4:
		return h.ClearAlarm("feed")
	case 5:
		return errors.New("deliberate fault")
	}
	return nil
}

func init() { minebrain.Register(&plugin{}) }

func main() {}
`

const runGuestManifest = `id: live
version: 0.2.0
wasm: live.wasm
sha256: 0000000000000000000000000000000000000000000000000000000000000000
abi: 1
tick: 400ms
memory: 16MiB
budget: 50ms
reads:
  - Crushing.AF1.FeederSpeedSP
writes:
  - tag: Crushing.AF1.FeederSpeedSP
    min: 30
    max: 90
`

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// syncBuffer is a bytes.Buffer for a writer and a reader on different goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPluginRunOnTheSimulator builds a real plugin and runs it with `plugin run` in SHADOW on
// the embedded simulated mine: its ticks, log lines, suppressed decisions (the setpoint never
// changes: nothing was written), its alarm raised and cleared, its fault with the reason, a
// reload when its manifest changes on disk, status lines and the summary.
func TestPluginRunOnTheSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm module with the go command and runs an engine")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	useUserGoCache(t, goCmd)
	parent := t.TempDir()
	dir := filepath.Join(parent, "live")
	if code, out, errOut := run("plugin", "new", "live", "--dir", parent, "--sdk", repoSDK(t)); code != exitOK {
		t.Fatalf("new: %d %q %q", code, out, errOut)
	}
	os.Remove(filepath.Join(dir, "main_test.go")) // the template's, for the template's main.go
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(runGuest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plugin.yaml"), []byte(runGuestManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run("plugin", "build", dir); code != exitOK {
		t.Fatalf("build: %d %q %q", code, out, errOut)
	}

	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main([]string{"plugin", "run", dir, "--for", "8s", "--status", "3s"}, &stdout, &stderr)
	}()
	// Once the fault is out, the manifest changes on disk: the runtime's watch reloads it.
	deadline := time.After(4 * time.Minute) // the module's first compile takes ~25 s under -race
	for !strings.Contains(stdout.String(), "FAULT") {
		select {
		case code := <-done:
			t.Fatalf("plugin run ended (%d) before the plugin faulted\n%s\n%s", code, stdout.String(), stderr.String())
		case <-deadline:
			t.Fatalf("no fault after 4 min\n%s\n%s", stdout.String(), stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, "plugin.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("# changed\n")
	f.Close()
	var code int
	select {
	case code = <-done:
	case <-deadline:
		t.Fatalf("plugin run --for 8s did not end\n%s\n%s", stdout.String(), stderr.String())
	}
	out, errOut := stdout.String(), stderr.String()
	t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
	if code != exitError { // it faulted
		t.Errorf("exit status %d, want %d (a fault)", code, exitError)
	}
	for _, want := range []string{
		"plugin live 0.2.0 from " + filepath.Join(dir, "plugin.yaml"),
		"on the embedded simulated mine at opc.tcp://127.0.0.1:",
		"a temporary data directory",
		"loaded    ",
		"mode      SHADOW: writes are recorded, nothing is sent",
		"log       INFO  tick 1\n",
		"log       INFO  tick 5\n",
		"alarm     plugin.live.feed raised (medium): feeder wanted at 80 %",
		"alarm     plugin.live.feed cleared",
		"FAULT     mb_tick returned 1 (restart in 1s)",
		"log       ERROR tick: deliberate fault",
		"alarm     plugin.live raised (high): plugin live faulted: mb_tick returned 1",
		"alarm     plugin.live cleared",
		"reload    the module or manifest changed on disk: reloading",
		"reloaded  same module, mode shadow",
		"status    running, mode shadow: ",
		", 1 faults, 4 alarm events, ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	// Every tick wanted 80 and was only recorded: the setpoint stayed at 75.
	decision := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{3}  decision  (.*)$`)
	ds := decision.FindAllStringSubmatch(out, -1)
	if len(ds) < 8 {
		t.Errorf("%d decisions printed, want at least 8", len(ds))
	}
	for _, d := range ds {
		if d[1] != "Crushing.AF1.FeederSpeedSP  want 80  now 75  suppressed" {
			t.Errorf("decision %q", d[1])
		}
	}
	// One decision a tick (the faulting tick counts neither; the ticks are read from the status
	// 10 times a second, so one around the reload or at the end may be counted or not), all
	// of them only recorded.
	summary := regexp.MustCompile(`\nstopped after 8(\.\d)?s: (\d+) ticks \(mean [^,]+, max [^)]+\), (\d+) decisions, 0 writes applied, (\d+) suppressed \(SHADOW\)`).FindStringSubmatch(out)
	if summary == nil {
		t.Errorf("no summary")
	} else if ticks, decisions, suppressed := atoi(summary[2]), atoi(summary[3]), atoi(summary[4]); ticks < 8 || decisions != suppressed ||
		decisions != len(ds) || decisions < ticks-2 || decisions > ticks+2 {
		t.Errorf("summary %q: %d ticks, %d decisions (%d printed), %d suppressed", summary[0], ticks, decisions, len(ds), suppressed)
	}
	if strings.Contains(errOut, "level=ERROR") {
		t.Errorf("engine errors on stderr:\n%s", errOut)
	}

	// In AUTO on the embedded simulated mine its writes go through the control path and the
	// setpoint follows (the same module: compiled once, from the cache). Once it has, the run
	// is interrupted (Ctrl-C) and still prints its summary.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var aout, aerr syncBuffer
	go func() { done <- runPlugin(ctx, []string{"run", dir, "--mode", "auto"}, &aout, &aerr) }()
	for !strings.Contains(aout.String(), "now 80  done") {
		select {
		case code := <-done:
			t.Fatalf("--mode auto ended (%d) before its setpoint reached the simulated mine\n%s\n%s", code, aout.String(), aerr.String())
		case <-deadline:
			t.Fatalf("--mode auto: the setpoint did not reach the simulated mine\n%s\n%s", aout.String(), aerr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	cancel()
	select {
	case code = <-done:
	case <-deadline:
		t.Fatalf("--mode auto did not stop when interrupted\n%s\n%s", aout.String(), aerr.String())
	}
	out, errOut = aout.String(), aerr.String()
	t.Logf("--mode auto:\n%s\n%s", out, errOut)
	if want := exitOK; code != want && !strings.Contains(out, "FAULT") { // it faults on its 5th tick
		t.Errorf("--mode auto interrupted: exit status %d, want %d", code, want)
	}
	for _, want := range []string{
		"mode      shadow → auto by minebrain plugin run (cli)",
		"mode      AUTO: writes go to the simulated mine through the control path as plugin:live",
		"decision  Crushing.AF1.FeederSpeedSP  want 80  now 75  done",
		"decision  Crushing.AF1.FeederSpeedSP  want 80  now 80  done",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--mode auto: the output lacks %q", want)
		}
	}
	if !regexp.MustCompile(`\ninterrupted after \S+: \d+ ticks .*, \d+ decisions, [1-9]\d* writes applied, `).MatchString(out) {
		t.Errorf("--mode auto: no summary with writes applied after the interruption")
	}
}
