package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// repoSDK is the Go SDK of this source tree (the tests run in app/cli).
func repoSDK(t *testing.T) string {
	t.Helper()
	sdk, err := filepath.Abs(filepath.Join("..", "..", "sdk", "go"))
	if err != nil {
		t.Fatal(err)
	}
	return sdk
}

// TestPluginLifecycle runs the whole path with the real go command: new, the plugin's own
// go test, build, check, list; then a tampered module and a broken source. The wasm build
// takes a few seconds, so it is done once.
func TestPluginLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm module with the go command")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	useUserGoCache(t, goCmd)
	sdk := repoSDK(t)
	parent := t.TempDir()
	dir := filepath.Join(parent, "x")

	code, out, errOut := run("plugin", "new", "x", "--dir", parent, "--sdk", sdk)
	if code != exitOK || !strings.Contains(out, "created "+dir) {
		t.Fatalf("new: %d %q %q", code, out, errOut)
	}
	for _, f := range []string{"go.mod", "main.go", "main_test.go", "plugin.yaml", "README.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("new wrote no %s: %v", f, err)
		}
	}
	gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	for _, s := range []string{"module x\n", "go 1.26\n", "require minebrain.dev/sdk v0.0.0\n", "replace minebrain.dev/sdk => " + sdk + "\n"} {
		if !strings.Contains(string(gomod), s) {
			t.Errorf("go.mod lacks %q:\n%s", s, gomod)
		}
	}

	// The plugin's own test passes on this machine, against the SDK's non-wasm stand-ins.
	cmd := exec.Command(goCmd, "test", "-count=1", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test in the new plugin: %v\n%s", err, b)
	}

	code, out, errOut = run("plugin", "build", dir)
	if code != exitOK {
		t.Fatalf("build: %d %q %q", code, out, errOut)
	}
	wasm, err := os.ReadFile(filepath.Join(dir, "x.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	manifestText, _ := os.ReadFile(filepath.Join(dir, "plugin.yaml"))
	hash := sha256Hex(wasm)
	if !strings.Contains(out, filepath.Join(dir, "x.wasm")) || !strings.Contains(out, hash) {
		t.Errorf("build printed %q; want the path and hash %s", out, hash)
	}
	// Only the hash changed: the comment on its line and the rest are kept.
	if !strings.Contains(string(manifestText), "\nsha256: "+hash+"  # written by: minebrain plugin build .\n") ||
		!strings.Contains(string(manifestText), "# The manifest of plugin x") {
		t.Errorf("plugin.yaml after build:\n%s", manifestText)
	}

	if code, out, errOut := run("plugin", "check", dir); code != exitOK || !strings.HasPrefix(out, "ok") {
		t.Errorf("check: %d %q %q", code, out, errOut)
	}

	// Installed into a data directory, list shows it.
	data := t.TempDir()
	inst := filepath.Join(data, "plugins", "x")
	if err := os.MkdirAll(inst, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(inst, "plugin.yaml"), manifestText, 0o644)
	os.WriteFile(filepath.Join(inst, "x.wasm"), wasm, 0o644)
	broken := filepath.Join(data, "plugins", "broken")
	os.MkdirAll(broken, 0o755)
	os.WriteFile(filepath.Join(broken, "plugin.yaml"), []byte("id: Broken\n"), 0o644)
	code, out, errOut = run("plugin", "list", "--data", data)
	if code != exitOK {
		t.Fatalf("list: %d %q %q", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[1], "broken/") ||
		!strings.Contains(lines[1], " plugin.yaml:1:1: version: missing") || !strings.Contains(lines[1], "(and 7 more: minebrain plugin check "+broken+")") {
		t.Errorf("list:\n%s", out)
	}
	if f := strings.Fields(lines[2]); len(f) != 7 || strings.Join(f, " ") != "x 0.1.0 1 1s 1 0 OK" {
		t.Errorf("list row %q", lines[2])
	}
	code, out, _ = run("plugin", "list", "--data", data, "--json")
	var bad, got pluginJSON
	jsonLines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || len(jsonLines) != 2 || json.Unmarshal([]byte(jsonLines[0]), &bad) != nil || json.Unmarshal([]byte(jsonLines[1]), &got) != nil ||
		got.ID != "x" || got.Status != "OK" || got.Reads != 1 || got.Tick != "1s" || got.ABI != 1 || got.Dir != inst ||
		!strings.Contains(bad.Error, `"Broken" is not a plugin id`) || bad.Dir != broken {
		t.Errorf("list --json: %d %q", code, out)
	}

	// A module changed behind the manifest's back.
	tampered := append([]byte(nil), wasm...)
	tampered[len(tampered)-1] ^= 1
	os.WriteFile(filepath.Join(inst, "x.wasm"), tampered, 0o644)
	if code, _, errOut := run("plugin", "check", inst); code != exitError || !strings.Contains(errOut, "has SHA-256 "+sha256Hex(tampered)) {
		t.Errorf("check of a tampered module: %d %q", code, errOut)
	}
	if code, out, _ := run("plugin", "list", "--data", data); code != exitOK || !strings.Contains(out, "hash mismatch: rebuild") {
		t.Errorf("list with a tampered module: %d %q", code, out)
	}
	os.Remove(filepath.Join(inst, "x.wasm"))
	if code, _, errOut := run("plugin", "check", inst); code != exitError || !strings.Contains(errOut, "does not exist; build it") {
		t.Errorf("check without a module: %d %q", code, errOut)
	}

	// A source that does not compile: exit 1 with the compiler's message, manifest untouched.
	src := filepath.Join(dir, "main.go")
	b, _ := os.ReadFile(src)
	os.WriteFile(src, []byte(strings.Replace(string(b), "count++", "count += notDeclared", 1)), 0o644)
	code, out, errOut = run("plugin", "build", dir)
	if code != exitError || !strings.Contains(errOut, "undefined: notDeclared") || !strings.Contains(errOut, "go build in "+dir+" failed") {
		t.Errorf("build of a broken source: %d %q %q", code, out, errOut)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "plugin.yaml")); string(after) != string(manifestText) {
		t.Errorf("a failed build changed plugin.yaml:\n%s", after)
	}
}

// useUserGoCache points the go command at the user's build cache. TestMain moved HOME to an
// empty directory, which gives it an empty cache: building the standard library for wasm
// and for the host from scratch would take a minute instead of seconds.
func useUserGoCache(t *testing.T, goCmd string) {
	if os.Getenv("GOCACHE") != "" {
		return
	}
	u, err := user.Current()
	if err != nil || u.HomeDir == "" {
		return
	}
	cmd := exec.Command(goCmd, "env", "GOCACHE")
	cmd.Env = append(os.Environ(), "HOME="+u.HomeDir)
	if out, err := cmd.Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		t.Setenv("GOCACHE", strings.TrimSpace(string(out)))
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestPluginNewRefusals(t *testing.T) {
	sdk := repoSDK(t)
	parent := t.TempDir()
	for _, name := range []string{"X", "a_b", "a.b", strings.Repeat("a", 64), ""} {
		code, _, errOut := run("plugin", "new", name, "--dir", parent, "--sdk", sdk)
		if code != exitUsage || !strings.Contains(errOut, "is not a plugin name") || !strings.Contains(errOut, "Usage") {
			t.Errorf("new %q: %d %q", name, code, errOut)
		}
	}
	if code, _, errOut := run("plugin", "new", "--", "-x"); code != exitUsage || !strings.Contains(errOut, `"-x" is not a plugin name`) {
		t.Errorf("new -- -x: %d %q", code, errOut)
	}
	if code, _, errOut := run("plugin", "new", "--dir", parent); code != exitUsage || !strings.Contains(errOut, "missing NAME") {
		t.Errorf("new without NAME: %d %q", code, errOut)
	}
	if code, _, errOut := run("plugin", "new", "a", "b"); code != exitUsage || !strings.Contains(errOut, `unexpected argument "b"`) {
		t.Errorf("new a b: %d %q", code, errOut)
	}
	if code, _, errOut := run("plugin", "new", "y", "--dir", parent, "--sdk", parent); code != exitUsage || !strings.Contains(errOut, "is not the Go SDK") {
		t.Errorf("new with a bad --sdk: %d %q", code, errOut)
	}

	// An existing non-empty directory is refused and left alone; an empty one is used.
	full := filepath.Join(parent, "full")
	os.MkdirAll(full, 0o755)
	os.WriteFile(filepath.Join(full, "keep.txt"), []byte("mine"), 0o644)
	if code, _, errOut := run("plugin", "new", "full", "--dir", parent, "--sdk", sdk); code != exitError || !strings.Contains(errOut, "already exists and is not empty") {
		t.Errorf("new into a non-empty directory: %d %q", code, errOut)
	}
	if entries, _ := os.ReadDir(full); len(entries) != 1 {
		t.Errorf("the non-empty directory was changed: %v", entries)
	}
	os.WriteFile(filepath.Join(parent, "file"), nil, 0o644)
	if code, _, errOut := run("plugin", "new", "file", "--dir", parent, "--sdk", sdk); code != exitError || !strings.Contains(errOut, "is not a directory") {
		t.Errorf("new over a file: %d %q", code, errOut)
	}
	os.MkdirAll(filepath.Join(parent, "empty"), 0o755)
	if code, _, errOut := run("plugin", "new", "empty", "--dir", parent, "--sdk", sdk); code != exitOK {
		t.Errorf("new into an empty directory: %d %q", code, errOut)
	}
}

func TestPluginFindSDK(t *testing.T) {
	sdk := repoSDK(t)
	parent := t.TempDir()

	// Found by walking up from the current directory (app/cli of this tree).
	t.Setenv(sdkEnv, "")
	if code, _, errOut := run("plugin", "new", "up", "--dir", parent); code != exitOK {
		t.Fatalf("new without --sdk: %d %q", code, errOut)
	}
	gomod, _ := os.ReadFile(filepath.Join(parent, "up", "go.mod"))
	if !strings.Contains(string(gomod), "replace minebrain.dev/sdk => "+sdk+"\n") {
		t.Errorf("go.mod:\n%s", gomod)
	}

	// $MINEBRAIN_SDK, here a source tree's root.
	t.Setenv(sdkEnv, filepath.Dir(filepath.Dir(sdk)))
	if code, _, errOut := run("plugin", "new", "env", "--dir", parent); code != exitOK {
		t.Fatalf("new with $%s: %d %q", sdkEnv, code, errOut)
	}
	gomod, _ = os.ReadFile(filepath.Join(parent, "env", "go.mod"))
	if !strings.Contains(string(gomod), "=> "+sdk+"\n") {
		t.Errorf("go.mod:\n%s", gomod)
	}
	t.Setenv(sdkEnv, parent)
	if code, _, errOut := run("plugin", "new", "bad-env", "--dir", parent); code != exitError || !strings.Contains(errOut, "$"+sdkEnv) {
		t.Errorf("new with a bad $%s: %d %q", sdkEnv, code, errOut)
	}

	// Nowhere to be found: the error says how to give it.
	t.Setenv(sdkEnv, "")
	t.Chdir(parent)
	exe := executable
	executable = func() (string, error) { return filepath.Join(parent, "bin", "minebrain"), nil }
	t.Cleanup(func() { executable = exe })
	code, _, errOut := run("plugin", "new", "none", "--dir", parent)
	if code != exitError || !strings.Contains(errOut, "cannot find the Go SDK") || !strings.Contains(errOut, "--sdk DIR or $"+sdkEnv) {
		t.Errorf("new with no SDK: %d %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(parent, "none")); err == nil {
		t.Error("a directory was created without an SDK")
	}
}

func TestPluginManifestHash(t *testing.T) {
	h := strings.Repeat("ab", 32)
	tests := []struct{ name, in, want string }{
		{"replaced, comment kept", "id: x\nwasm: x.wasm\nsha256: 00  # set by build\nabi: 1\n", "id: x\nwasm: x.wasm\nsha256: " + h + "  # set by build\nabi: 1\n"},
		{"empty value", "wasm: x.wasm\nsha256:\n", "wasm: x.wasm\nsha256: " + h + "\n"},
		{"quoted value", "wasm: x.wasm\nsha256: \"00\"\n", "wasm: x.wasm\nsha256: " + h + "\n"},
		{"CRLF kept", "wasm: x.wasm\r\nsha256: 00\r\nabi: 1\r\n", "wasm: x.wasm\r\nsha256: " + h + "\r\nabi: 1\r\n"},
		{"added after wasm", "id: x\nwasm: x.wasm # m\nabi: 1\n", "id: x\nwasm: x.wasm # m\nsha256: " + h + "\nabi: 1\n"},
		{"added after a last wasm line", "id: x\nwasm: x.wasm", "id: x\nwasm: x.wasm\nsha256: " + h + "\n"},
		{"indented keys are not it", "config:\n  sha256: 1\nwasm: x.wasm\n", "config:\n  sha256: 1\nwasm: x.wasm\nsha256: " + h + "\n"},
	}
	for _, tt := range tests {
		got, err := setManifestHash([]byte(tt.in), h)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: got %q, %v\nwant %q", tt.name, got, err, tt.want)
		}
	}
	if _, err := setManifestHash([]byte("id: x\n"), h); err == nil {
		t.Error("no error without sha256: and wasm: lines")
	}
}

func TestPluginBuildRefusals(t *testing.T) {
	dir := t.TempDir()
	// A manifest with problems besides its hash is not built.
	os.WriteFile(filepath.Join(dir, "plugin.yaml"), []byte("id: x\nversion: 1\nwasm: x.wasm\nabi: 1\ntick: 1s\nmemory: 16MB\nbudget: 20ms\n"), 0o644)
	code, _, errOut := run("plugin", "build", dir)
	if code != exitError || !strings.Contains(errOut, "memory: \"16MB\" is not a size") || strings.Contains(errOut, "sha256") ||
		!strings.Contains(errOut, "nothing built") {
		t.Errorf("build with a bad manifest: %d %q", code, errOut)
	}
	if code, _, errOut := run("plugin", "build", filepath.Join(dir, "none")); code != exitError || !strings.Contains(errOut, "no such file") {
		t.Errorf("build without a manifest: %d %q", code, errOut)
	}
	if code, _, errOut := run("plugin", "check", dir); code != exitError || !strings.Contains(errOut, "2 problem(s)") {
		t.Errorf("check of a bad manifest: %d %q", code, errOut)
	}
	if code, _, _ := run("plugin"); code != exitUsage {
		t.Errorf("plugin without a command: %d", code)
	}
	if code, _, errOut := run("plugin", "frob"); code != exitUsage || !strings.Contains(errOut, `unknown command "frob"`) {
		t.Errorf("plugin frob: %d %q", code, errOut)
	}
	if code, out, _ := run("plugin", "help"); code != exitOK || !strings.Contains(out, "build [DIR]") {
		t.Errorf("plugin help: %d %q", code, out)
	}
	if code, out, _ := run("help"); code != exitOK || !strings.Contains(out, "plugin ") {
		t.Errorf("help does not list plugin: %q", out)
	}
	if code, out, _ := run("plugin", "list", "--data", dir); code != exitOK || !strings.Contains(out, "no plugins in") {
		t.Errorf("list of an empty data directory: %d %q", code, out)
	}
}

// TestPluginTest: `plugin test` refuses what it cannot do, asks for a build when the module
// does not match, and runs a new plugin against the simulated mine and against recorded
// history (plugin_test_history_test.go), with one build of it.
func TestPluginTest(t *testing.T) {
	for _, args := range [][]string{{}, {"--against", "sim", "--mode", "off"}} {
		code, _, errOut := run(append([]string{"plugin", "test", "."}, args...)...)
		if code != exitUsage {
			t.Errorf("plugin test %v: %d %q", args, code, errOut)
		}
	}
	testRefusalsHistory(t)
	if testing.Short() {
		t.Skip("builds a wasm module with the go command")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	useUserGoCache(t, goCmd)
	parent := t.TempDir()
	dir := filepath.Join(parent, "y")
	if code, out, errOut := run("plugin", "new", "y", "--dir", parent, "--sdk", repoSDK(t)); code != exitOK {
		t.Fatalf("new: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := run("plugin", "test", dir, "--against", "sim"); code != exitError || !strings.Contains(errOut, "minebrain plugin build") {
		t.Errorf("test before build: %d %q", code, errOut)
	}
	if code, out, errOut := run("plugin", "build", dir); code != exitOK {
		t.Fatalf("build: %d %q %q", code, out, errOut)
	}
	code, out, errOut := run("plugin", "test", dir, "--against", "sim", "--for", "2m", "--seed", "2")
	if code != exitOK || !strings.Contains(out, "plugin y against the simulated mine (seed 2") ||
		!strings.Contains(out, "Crushing.CR1.PowerKW") || !strings.Contains(out, "\nOK: 120 ticks, 0 writes") ||
		!strings.Contains(out, "simulated seconds per second") {
		t.Errorf("test: %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = run("plugin", "test", dir, "--against", "sim", "--for", "1m", "--json", "--watch", "Crushing.CR1.CavityLevelPct")
	var rep struct {
		Ticks   int    `json:"ticks"`
		Verdict string `json:"verdict"`
		Signals []struct{ Tag string }
	}
	if err := json.Unmarshal([]byte(out), &rep); code != exitOK || err != nil || rep.Ticks != 60 ||
		len(rep.Signals) != 1 || rep.Signals[0].Tag != "Crushing.CR1.CavityLevelPct" || !strings.HasPrefix(rep.Verdict, "OK") {
		t.Errorf("test --json: %d %v %+v\n%s", code, err, rep, out)
	}
	testPluginTestHistory(t, dir)
}
