package plugins

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// C guests: the C SDK (sdk/c/minebrain.h) and its example, built with clang for wasm32-wasi
// (Debian 12: clang, lld, wasi-libc, libclang-rt-14-dev-wasm32; `make deps-plugin-c`).
// Without that toolchain these tests are skipped, unless $MINEBRAIN_REQUIRE_CLANG is set
// (make go-test sets it), when they fail.

const (
	cSDKDir         = "../../sdk/c"
	cExampleDir     = "../../sdk/c/examples/minimal"
	requireClangEnv = "MINEBRAIN_REQUIRE_CLANG"
)

// cToolchain returns clang and the wasi-libc sysroot after proving they build a reactor; it
// skips the test (or fails it when $MINEBRAIN_REQUIRE_CLANG is set) when they cannot.
func cToolchain(t *testing.T) (clang, sysroot string) {
	t.Helper()
	missing := func(why string) {
		t.Helper()
		msg := "no C toolchain for wasm32-wasi (" + why + "); `make deps-plugin-c` installs it " +
			"(apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32)"
		if os.Getenv(requireClangEnv) != "" {
			t.Fatalf("%s, and $%s is set", msg, requireClangEnv)
		}
		t.Skip(msg)
	}
	var err error
	if clang, err = exec.LookPath("clang"); err != nil {
		missing("clang is not on PATH")
	}
	sysroot = os.Getenv("WASI_SYSROOT")
	if sysroot == "" {
		sysroot = "/usr"
	}
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe.c")
	if err := os.WriteFile(probe, []byte("int probe(void) { return 1; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(clang, "--target=wasm32-wasi", "--sysroot="+sysroot, "-O2", "-mexec-model=reactor",
		"-o", filepath.Join(dir, "probe.wasm"), probe)
	if b, err := cmd.CombinedOutput(); err != nil {
		missing(strings.TrimSpace(string(b)))
	}
	return clang, sysroot
}

// buildC compiles the .c files of srcDir with the C SDK into a module in t.TempDir() and
// returns its bytes, as `minebrain plugin build` does.
func buildC(t *testing.T, srcDir string) []byte {
	t.Helper()
	clang, sysroot := cToolchain(t)
	srcs, err := filepath.Glob(filepath.Join(srcDir, "*.c"))
	if err != nil || len(srcs) == 0 {
		t.Fatalf("no .c files in %s: %v", srcDir, err)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(srcDir)+".wasm")
	args := append([]string{"--target=wasm32-wasi", "--sysroot=" + sysroot, "-O2", "-mexec-model=reactor",
		"-Wall", "-Wextra", "-Werror", "-I", cSDKDir, "-o", out}, srcs...)
	if b, err := exec.Command(clang, args...).CombinedOutput(); err != nil {
		t.Fatalf("clang %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return readFile(t, out)
}

// exampleBody is the C example's plugin.yaml after its abi: line, ticking every 20 ms within
// a 15 ms budget.
func exampleBody(t *testing.T) string {
	t.Helper()
	src := string(readFile(t, filepath.Join(cExampleDir, "plugin.yaml")))
	_, body, ok := strings.Cut(src, "\nabi: 1\n")
	if !ok {
		t.Fatalf("%s/plugin.yaml has no abi: 1 line", cExampleDir)
	}
	tick := regexp.MustCompile(`(?m)^tick: .*$`)
	if !tick.MatchString(body) {
		t.Fatalf("%s/plugin.yaml has no tick: line after abi:", cExampleDir)
	}
	body = tick.ReplaceAllString(body, "tick: 20ms")
	return regexp.MustCompile(`(?m)^budget: .*$`).ReplaceAllString(body, "budget: 15ms")
}

// cSite is the simulated mine's tags the C example uses, and one it is not granted.
var cSite = map[string]float64{
	"Crushing.CR1.CavityLevelPct": 90, // above alarmAbove (85) and cavitySP (70): feed slower
	"Crushing.AF1.FeederSpeedSP":  60,
	"Crushing.CR1.PowerKW":        500,
}

const cExampleID = "minimal-c"

// TestCGuestExample loads sdk/c/examples/minimal: it reads the cavity level, writes the
// feeder's setpoint within its grant (recorded in SHADOW), raises and clears its alarm and
// keeps its tick counter in the key-value store across a reload and a new Runtime.
func TestCGuestExample(t *testing.T) {
	wasm := buildC(t, cExampleDir)
	h := newFakeHost(cSite)
	store := openStore(t, filepath.Join(t.TempDir(), "history.db"))
	r := newRuntime(t, h, store)
	path := plug(t, t.TempDir(), cExampleID, wasm, exampleBody(t))
	st, err := r.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != Running || st.Mode != Shadow {
		t.Fatalf("state %s mode %s (%s), want running in shadow", st.State, st.Mode, st.LastError)
	}
	if want := []string{"Crushing.AF1.FeederSpeedSP", "Crushing.CR1.CavityLevelPct"}; strings.Join(st.Reads, ",") != strings.Join(want, ",") {
		t.Fatalf("reads %v, want %v", st.Reads, want)
	}

	// The level (90) is above cavitySP: the feeder is slowed, 0.5 %/s at most, in SHADOW.
	eventually(t, 5*time.Second, "shadowed writes", func() bool {
		st, _ := r.Get(cExampleID)
		return len(st.RecentWrites) >= 3
	})
	st, _ = r.Get(cExampleID)
	prev := 60.0
	for _, w := range st.RecentWrites {
		if w.Tag != "Crushing.AF1.FeederSpeedSP" || w.Mode != Shadow || w.Outcome != "suppressed" {
			t.Errorf("write record %+v", w)
		}
		if !(w.Value < prev && w.Value > prev-0.5) {
			t.Errorf("write %.4f after %.4f: want a small step down", w.Value, prev)
		}
		prev = w.Value
	}
	if n := len(h.hostWrites()); n != 0 {
		t.Errorf("%d host writes in SHADOW", n)
	}
	const alarmID = "plugin." + cExampleID + ".cavity-high"
	if msg, ok := h.alarm(alarmID); !ok || !contains(msg, "cavity level above") {
		t.Errorf("alarm %s: %q %v", alarmID, msg, ok)
	}

	// Below the alarm and the setpoint: the alarm is cleared and the feeder sped up.
	h.set("Crushing.CR1.CavityLevelPct", 50)
	eventually(t, 5*time.Second, "alarm cleared", func() bool { _, ok := h.alarm(alarmID); return !ok })
	eventually(t, 5*time.Second, "feeder sped up", func() bool {
		st, _ := r.Get(cExampleID)
		n := len(st.RecentWrites)
		return n >= 2 && st.RecentWrites[n-1].Value > st.RecentWrites[n-2].Value
	})
	if st, _ := r.Get(cExampleID); st.State != Running || st.LastError != "" {
		t.Errorf("after ticking: %s %q", st.State, st.LastError)
	}

	// The "ticks" counter survives a reload and a new Runtime on the same database.
	var k1 uint64
	eventually(t, 5*time.Second, "ticks stored", func() bool { k1 = storedTicks(t, store, cExampleID); return k1 > 3 })
	if err := r.Reload(cExampleID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "ticks counted on after reload", func() bool { return storedTicks(t, store, cExampleID) > k1+2 })
	k2 := storedTicks(t, store, cExampleID)
	r.Close()
	r2 := newRuntime(t, h, store)
	if _, err := r2.Load(path); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "ticks counted on in a new runtime", func() bool { return storedTicks(t, store, cExampleID) > k2 })
	if got := storedTicks(t, store, cExampleID); got > k2+1000 {
		t.Errorf("ticks %d after %d", got, k2)
	}
	r2.Close()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCGuestAPI runs testdata/cguest/api, which checks every helper of minebrain.h against
// the host in mb_init and mb_tick and returns the number of the first check that fails.
func TestCGuestAPI(t *testing.T) {
	wasm := buildC(t, "testdata/cguest/api")
	h := newFakeHost(map[string]float64{"A.U.x": 1, "A.U.ySP": 2, "B.U.z": 3})
	r := newRuntime(t, h, nil)
	body := "tick: 20ms\nmemory: 1MiB\nbudget: 10ms\nreads: [\"A.U.*\"]\nwrites:\n  - tag: A.U.ySP\n    min: 0\n    max: 10\n" +
		"config:\n  name: hello\n  num: 2.5\n  flag: true\n"
	st, err := r.Load(plug(t, t.TempDir(), "capi", wasm, body))
	if err != nil {
		t.Fatal(err)
	}
	if st.State != Running {
		t.Fatalf("capi: %s: %s (the number is the failed check in api.c)", st.State, st.LastError)
	}
	eventually(t, 5*time.Second, "ticks", func() bool { return ticks(r, "capi") > 5 })
	if st, _ := r.Get("capi"); st.State != Running {
		t.Fatalf("capi: %s: %s (the number is the failed check in api.c)", st.State, st.LastError)
	}
	eventually(t, 5*time.Second, "alarm raised and cleared", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.raised) > 0 && h.raised[0] == "plugin.capi.api.check" && len(h.cleared) > 0 && h.cleared[0] == "plugin.capi.api.check"
	})
}

// TestCGuestTrap: a C guest that traps in its tick faults, alone: the example beside it keeps
// ticking.
func TestCGuestTrap(t *testing.T) {
	good, trap := buildC(t, cExampleDir), buildC(t, "testdata/cguest/trap")
	h := newFakeHost(cSite)
	r := newRuntime(t, h, nil)
	dir := t.TempDir()
	if st, err := r.Load(plug(t, dir, cExampleID, good, exampleBody(t))); err != nil || st.State != Running {
		t.Fatalf("%s: %v %+v", cExampleID, err, st)
	}
	if _, err := r.Load(plug(t, dir, "ctrap", trap, "tick: 20ms\nmemory: 1MiB\nbudget: 10ms\n")); err != nil {
		t.Fatal(err)
	}
	var st Status
	eventually(t, 10*time.Second, "ctrap faulted", func() bool {
		st, _ = r.Get("ctrap")
		return st.State == Faulted
	})
	if !contains(st.LastError, "trap: ") || !contains(st.LastError, "unreachable") {
		t.Errorf("reason %q, want a trap (unreachable)", st.LastError)
	}
	if msg, ok := h.alarm("plugin.ctrap"); !ok || !contains(msg, "trap") {
		t.Errorf("alarm plugin.ctrap = %q, %v", msg, ok)
	}
	eventually(t, 10*time.Second, "ctrap restarted", func() bool {
		st, _ = r.Get("ctrap")
		return st.Restarts >= 1
	})
	before := ticks(r, cExampleID)
	eventually(t, 5*time.Second, "the example keeps ticking", func() bool { return ticks(r, cExampleID) > before+5 })
	if st, _ := r.Get(cExampleID); st.State != Running {
		t.Errorf("%s: %s %s", cExampleID, st.State, st.LastError)
	}
}
