package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requireCToolchain skips the test when clang cannot build a wasm32-wasi reactor here, or
// fails it when $MINEBRAIN_REQUIRE_CLANG is set (make go-test sets it).
func requireCToolchain(t *testing.T) {
	t.Helper()
	missing := func(why string) {
		t.Helper()
		msg := "no C toolchain for wasm32-wasi (" + why + "); `make deps-plugin-c` installs it"
		if os.Getenv("MINEBRAIN_REQUIRE_CLANG") != "" {
			t.Fatalf("%s, and $MINEBRAIN_REQUIRE_CLANG is set", msg)
		}
		t.Skip(msg)
	}
	clang, err := findClang()
	if err != nil {
		missing(err.Error())
	}
	sysroot, err := cSysroot()
	if err != nil {
		missing(err.Error())
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "probe.c"), []byte("int probe(void) { return 1; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(clang, cBuildArgs(sysroot, dir, filepath.Join(dir, "probe.wasm"), []string{"probe.c"})...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		missing(strings.TrimSpace(string(b)))
	}
}

// copyCExample copies sdk/c/examples/minimal into a new directory and returns it.
func copyCExample(t *testing.T) string {
	t.Helper()
	src := filepath.Join("..", "..", "sdk", "c", "examples", "minimal")
	dst := filepath.Join(t.TempDir(), "minimal")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"minimal.c", "plugin.yaml"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestPluginBuildC builds the C example with `plugin build` (clang), checks the hash it
// writes and `plugin check`; then a source that does not compile leaves plugin.yaml as it was.
func TestPluginBuildC(t *testing.T) {
	requireCToolchain(t)
	dir := copyCExample(t)
	before, _ := os.ReadFile(filepath.Join(dir, "plugin.yaml"))

	code, out, errOut := run("plugin", "build", dir)
	if code != exitOK {
		t.Fatalf("build: %d %q %q", code, out, errOut)
	}
	wasm, err := os.ReadFile(filepath.Join(dir, "minimal.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	hash := sha256Hex(wasm)
	if !strings.Contains(out, filepath.Join(dir, "minimal.wasm")) || !strings.Contains(out, hash) {
		t.Errorf("build printed %q; want the path and hash %s", out, hash)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "plugin.yaml"))
	want := strings.Replace(string(before), "sha256: "+strings.Repeat("0", 64), "sha256: "+hash, 1)
	if string(after) != want || !strings.Contains(string(after), "\nsha256: "+hash+"  # written by: minebrain plugin build .\n") {
		t.Errorf("plugin.yaml after build:\n%s\nwant only the hash changed:\n%s", after, want)
	}
	if code, out, errOut := run("plugin", "check", dir); code != exitOK || !strings.HasPrefix(out, "ok: minimal-c 0.1.0") {
		t.Errorf("check: %d %q %q", code, out, errOut)
	}

	// A source that does not compile: exit 1 with clang's message, plugin.yaml untouched.
	src := filepath.Join(dir, "minimal.c")
	b, _ := os.ReadFile(src)
	broken := strings.Replace(string(b), "ticks++;", "ticks += not_declared;", 1)
	if broken == string(b) {
		t.Fatal("minimal.c has no ticks++ to break")
	}
	os.WriteFile(src, []byte(broken), 0o644)
	os.WriteFile(filepath.Join(dir, "extra.c"), []byte("int extra(void) { return 2; }\n"), 0o644)
	code, out, errOut = run("plugin", "build", dir)
	if code != exitError || !strings.Contains(errOut, "use of undeclared identifier 'not_declared'") ||
		!strings.Contains(errOut, "minimal.c:") || !strings.Contains(errOut, "clang in "+dir+" failed") {
		t.Errorf("build of a broken source: %d %q %q", code, out, errOut)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "plugin.yaml")); string(now) != string(after) {
		t.Errorf("a failed build changed plugin.yaml:\n%s", now)
	}
}

// TestPluginBuildNoSource: a directory with neither go.mod nor .c files, and a C plugin
// without clang, are refused with what to do.
func TestPluginBuildNoSource(t *testing.T) {
	dir := copyCExample(t)
	os.Remove(filepath.Join(dir, "minimal.c"))
	before, _ := os.ReadFile(filepath.Join(dir, "plugin.yaml"))
	code, _, errOut := run("plugin", "build", dir)
	if code != exitError || !strings.Contains(errOut, "no go.mod or .go files") || !strings.Contains(errOut, "no .c files") {
		t.Errorf("build without sources: %d %q", code, errOut)
	}

	dir = copyCExample(t)
	t.Setenv("PATH", t.TempDir())
	code, _, errOut = run("plugin", "build", dir)
	if code != exitError || !strings.Contains(errOut, "clang is not on PATH") ||
		!strings.Contains(errOut, "apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32") || !strings.Contains(errOut, "make deps-plugin-c") {
		t.Errorf("build without clang: %d %q", code, errOut)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "plugin.yaml")); string(after) != string(before) {
		t.Errorf("a failed build changed plugin.yaml:\n%s", after)
	}
}
