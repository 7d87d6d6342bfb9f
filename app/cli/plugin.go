package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"

	"minebrain/app/plugins"
	"minebrain/app/plugins/manifest"
	"minebrain/app/plugins/offline"
	"minebrain/app/plugins/simrun"
	"minebrain/app/sim"
)

// The plugin tools: a new Go plugin from a template, building it into a module and writing
// its hash into the manifest, checking a plugin directory and listing the installed plugins.

const (
	manifestFile = "plugin.yaml"
	sdkModule    = "minebrain.dev/sdk"
	sdkEnv       = "MINEBRAIN_SDK"
)

// pluginIDRE is a valid plugin id, as the manifest's id: field requires.
var pluginIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// executable is os.Executable; tests replace it.
var executable = os.Executable

// pluginCommand is one `minebrain plugin` subcommand.
type pluginCommand struct {
	name, args, summary string
	minArgs, maxArgs    int // positional arguments
	run                 func(p *pluginRun) int
}

func pluginCommands() []pluginCommand {
	return []pluginCommand{
		{"new", "NAME [--dir PARENT] [--sdk DIR]", "create PARENT/NAME: a Go plugin that builds, with its test, manifest and README", 1, 1, (*pluginRun).new},
		{"build", "[DIR]", "build DIR's module for wasm and write its sha256 into DIR/plugin.yaml", 0, 1, (*pluginRun).build},
		{"check", "[DIR]", "check DIR/plugin.yaml and that the module matches its sha256", 0, 1, (*pluginRun).check},
		{"test", "[DIR] --against sim|history [--for 1h] [--speed N] [--mode shadow|auto] [--seed N] [--history FILE] [--from TIME] [--watch TAG,...] [--json]",
			"run DIR's built module against the simulated mine, or in SHADOW against recorded history, in simulated time, and summarise it", 0, 1, (*pluginRun).test},
		{"run", "[DIR] [--mode shadow|auto] [--for D] [--endpoint URL]",
			"run DIR's built module live in an engine on the embedded simulated mine (or --endpoint), printing its decisions, alarms, faults and log as they happen; reloads it when rebuilt", 0, 1, (*pluginRun).runLive},
		{"list", "[--data DIR] [--json]", "the plugins in <data>/plugins: id, version, ABI, tick, grants, hash", 0, 0, (*pluginRun).list},
	}
}

// pluginRun is one run of a plugin subcommand.
type pluginRun struct {
	ctx            context.Context
	name           string // "plugin new"
	fs             *flag.FlagSet
	args           []string // the positional arguments
	dir, sdk, data string
	json           bool
	dataErr        error // why there is no default data directory
	tf             testFlags
	rf             *runFlags // plugin run
	stdout, stderr io.Writer
}

func runPlugin(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) == 0 {
			pluginUsage(stderr)
			return exitUsage
		}
		pluginUsage(stdout)
		return exitOK
	}
	for _, c := range pluginCommands() {
		if c.name != args[0] {
			continue
		}
		p := &pluginRun{ctx: ctx, name: "plugin " + c.name, stdout: stdout, stderr: stderr}
		p.fs = newFlagSet(p.name, p.name+" "+c.args, stderr)
		switch c.name {
		case "new":
			p.fs.StringVar(&p.dir, "dir", ".", "the directory to create the plugin's directory NAME in")
			p.fs.StringVar(&p.sdk, "sdk", "", "the Go SDK's directory (sdk/go of Minebrain's source, module "+sdkModule+
				"); default $"+sdkEnv+", else found above the current directory or the minebrain executable")
		case "test":
			p.fs.StringVar(&p.tf.against, "against", "", "what to run it against (required): sim (the simulated mine) or history (a recorded history file, in SHADOW)")
			p.fs.DurationVar(&p.tf.dur, "for", time.Hour, "simulated (or recorded) time to run")
			p.fs.Float64Var(&p.tf.speed, "speed", 0, "pace the run at N× real time (60: a simulated minute per second); 0 = as fast as it goes")
			p.fs.StringVar(&p.tf.mode, "mode", "shadow", "shadow (writes recorded, the mine untouched) or auto (writes applied to the simulated mine; not with history)")
			var def string
			def, p.dataErr = defaultDataDir()
			if def != "" {
				def = filepath.Join(def, historyFile)
			}
			p.fs.StringVar(&p.tf.history, "history", def, "with --against history: the history file (read-only)")
			p.fs.StringVar(&p.tf.from, "from", "", "with --against history: the recorded time to start at (RFC 3339; default --for before the newest sample)")
			p.fs.Int64Var(&p.tf.seed, "seed", 1, "the simulation's seed (weather, ore hardness, wear, noise)")
			p.fs.StringVar(&p.tf.watch, "watch", "", "comma-separated tags to summarise (default: the tags the manifest reads)")
			p.fs.BoolVar(&p.json, "json", false, "print the whole report as JSON")
		case "run":
			p.rf = addRunFlags(p.fs) // the engine's flags, --mode, --for and --status
		case "list":
			var def string
			def, p.dataErr = defaultDataDir()
			p.fs.StringVar(&p.data, "data", def, "Minebrain's data directory (the plugins are in its plugins/)")
			p.fs.BoolVar(&p.json, "json", false, "print JSON lines")
		}
		pos, code := parseInterleaved(p.fs, args[1:])
		if code >= 0 {
			return code
		}
		switch {
		case len(pos) < c.minArgs:
			return usageError(p.fs, stderr, p.name, "missing NAME")
		case len(pos) > c.maxArgs:
			return usageError(p.fs, stderr, p.name, fmt.Sprintf("unexpected argument %q", pos[c.maxArgs]))
		}
		p.args = pos
		return c.run(p)
	}
	fmt.Fprintf(stderr, "minebrain plugin: unknown command %q\n\n", args[0])
	pluginUsage(stderr)
	return exitUsage
}

func pluginUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: minebrain plugin <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Tools for plugins: WebAssembly modules with a plugin.yaml manifest beside them")
	fmt.Fprintln(w, "(docs/plugins.md). DIR is a plugin's directory, the current one when left out.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range pluginCommands() {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.args, c.summary)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "build, for a Go plugin (DIR has a go.mod), runs the go command from PATH: GOOS=wasip1")
	fmt.Fprintln(w, "GOARCH=wasm CGO_ENABLED=0 go build -buildmode=c-shared -o <the manifest's wasm:> . in DIR;")
	fmt.Fprintln(w, "for a C plugin (DIR has .c files), clang for wasm32-wasi with wasi-libc and sdk/c's minebrain.h.")
	fmt.Fprintln(w, "Exit status: 0 success, 1 failure (a failed build, problems found by check), 2 usage error.")
	fmt.Fprintln(w, "Run `minebrain plugin <command> --help` for a command's flags.")
}

// dirArg is the DIR argument, "." when left out.
func (p *pluginRun) dirArg() string {
	if len(p.args) > 0 {
		return p.args[0]
	}
	return "."
}

// --- new ------------------------------------------------------------------------------------

func (p *pluginRun) new() int {
	name := p.args[0]
	if !pluginIDRE.MatchString(name) {
		return usageError(p.fs, p.stderr, p.name, fmt.Sprintf("%q is not a plugin name; use 1 to 63 lower-case letters, digits and -, "+
			"starting with a letter or digit, e.g. crusher-feed (it becomes the plugin's id)", name))
	}
	var sdk string
	if p.sdk != "" {
		var err error
		if sdk, err = sdkAt(p.sdk); err != nil {
			return usageError(p.fs, p.stderr, p.name, "--sdk: "+err.Error())
		}
	} else {
		var err error
		if sdk, err = findSDK(); err != nil {
			return failed(p.stderr, p.name, err)
		}
	}
	dir := filepath.Join(p.dir, name)
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return failed(p.stderr, p.name, fmt.Errorf("%s exists and is not a directory; choose another NAME or --dir", dir))
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return failed(p.stderr, p.name, err)
		}
		if len(entries) > 0 {
			return failed(p.stderr, p.name, fmt.Errorf("%s already exists and is not empty; choose another NAME or --dir, or remove it", dir))
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return failed(p.stderr, p.name, err)
	}
	created := false
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		created = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return failed(p.stderr, p.name, err)
	}
	for _, f := range pluginTemplate(name, sdk) {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.text), 0o644); err != nil {
			if created {
				os.RemoveAll(dir)
			}
			return failed(p.stderr, p.name, err)
		}
	}
	fmt.Fprintf(p.stdout, "created %s: plugin %s, Go SDK %s\n", dir, name, sdk)
	fmt.Fprintln(p.stdout, "next:")
	tw := tabwriter.NewWriter(p.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  (cd %s && go test)\t# its logic, on this machine\n", dir)
	fmt.Fprintf(tw, "  minebrain plugin build %s\t# %s, and its sha256 into plugin.yaml\n", dir, filepath.Join(dir, name+".wasm"))
	fmt.Fprintf(tw, "  minebrain plugin check %s\n", dir)
	tw.Flush()
	fmt.Fprintf(p.stdout, "then copy plugin.yaml and %s.wasm into <data>/plugins/%s/ (see %s)\n", name, name, filepath.Join(dir, "README.md"))
	return exitOK
}

// sdkAt returns the absolute path of the Go SDK given as dir: the SDK's own directory (its
// go.mod declares module minebrain.dev/sdk) or a Minebrain source tree holding it in sdk/go.
func sdkAt(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if isSDK(abs) {
		return abs, nil
	}
	if sub := filepath.Join(abs, "sdk", "go"); isSDK(sub) {
		return sub, nil
	}
	return "", fmt.Errorf("%s is not the Go SDK: it has no go.mod declaring module %s (the SDK is sdk/go in Minebrain's source)", dir, sdkModule)
}

// isSDK reports whether dir/go.mod declares the SDK's module.
func isSDK(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	return goModModule(data) == sdkModule
}

// goModModule returns the module path a go.mod declares, "" if none.
func goModModule(data []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		rest, ok := strings.CutPrefix(line, "module")
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t' && rest[0] != '"') {
			continue
		}
		rest = strings.TrimSpace(rest)
		if u, err := strconv.Unquote(rest); err == nil {
			return u
		}
		return rest
	}
	return ""
}

// findSDK finds the Go SDK: $MINEBRAIN_SDK, else sdk/go (or the SDK itself) in the current
// directory or one above it, else the same from the minebrain executable's directory.
func findSDK() (string, error) {
	if env := os.Getenv(sdkEnv); env != "" {
		dir, err := sdkAt(env)
		if err != nil {
			return "", fmt.Errorf("$%s: %v", sdkEnv, err)
		}
		return dir, nil
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		starts = append(starts, filepath.Dir(exe))
	}
	for _, start := range starts {
		for dir := start; ; {
			if isSDK(dir) {
				return dir, nil
			}
			if sub := filepath.Join(dir, "sdk", "go"); isSDK(sub) {
				return sub, nil
			}
			up := filepath.Dir(dir)
			if up == dir {
				break
			}
			dir = up
		}
	}
	return "", fmt.Errorf("cannot find the Go SDK (sdk/go in Minebrain's source, module %s) above the current directory "+
		"or the minebrain executable; give its directory with --sdk DIR or $%s", sdkModule, sdkEnv)
}

// templateFile is one file `plugin new` writes.
type templateFile struct{ name, text string }

// pluginTemplate returns the files of a new plugin called name that uses the SDK in sdk.
func pluginTemplate(name, sdk string) []templateFile {
	replace := sdk
	if strings.ContainsAny(replace, " \t\"'`\\#") {
		replace = strconv.Quote(replace)
	}
	r := strings.NewReplacer("NAME", name, "SDKDIR", replace, "SDKMODULE", sdkModule, "´", "`")
	return []templateFile{
		{"go.mod", r.Replace(templateGoMod)},
		{"main.go", r.Replace(templateMain)},
		{"main_test.go", r.Replace(templateTest)},
		{manifestFile, r.Replace(templateManifest)},
		{"README.md", r.Replace(templateReadme)},
	}
}

// In the templates NAME is the plugin's name, SDKDIR the SDK's directory and ´ a backquote.

const templateGoMod = `module NAME

go 1.26

require SDKMODULE v0.0.0

replace SDKMODULE => SDKDIR
`

const templateMain = `// Command NAME is a Minebrain plugin. Every tick it reads one tag, the one named by
// config "tag" in plugin.yaml, logs its value and counts the good readings in its key-value
// store, which Minebrain keeps across restarts and reloads.
//
// The decision is the pure function decide, tested by ´go test´ on this machine; Init and
// Tick only carry values between it and the host. Build the module with
//
//	minebrain plugin build .
//
// (GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o NAME.wasm ., and its sha256 into
// plugin.yaml).
package main

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"SDKMODULE/minebrain"
)

// countKey is the key-value key the count of good readings is kept under.
const countKey = "good-readings"

// plugin is what Init looked up, for Tick to use every tick.
type plugin struct {
	name  string           // the tag's name (config "tag")
	tag   minebrain.TagRef // the tag, looked up once
	count uint64           // good readings so far; also in the key-value store
}

// Init runs once after loading and after every reload. An error refuses to start the plugin
// (it is FAULTED with the error in its log).
func (p *plugin) Init(h *minebrain.Host) error {
	name, ok := h.Config("tag")
	if !ok || name == "" {
		return errors.New("config \"tag\" is missing: name the tag to watch in plugin.yaml")
	}
	// Tag fails unless plugin.yaml's reads grants the tag and the site has it.
	ref, err := h.Tag(name)
	if err != nil {
		return fmt.Errorf("tag %s: %w", name, err)
	}
	stored, _, err := h.KV().Get(countKey)
	if err != nil {
		return err
	}
	p.name, p.tag, p.count = name, ref, parseCount(stored)
	h.Logf(minebrain.LevelInfo, "watching %s; %d good readings so far", name, p.count)
	return nil
}

// Tick runs every tick period (plugin.yaml's tick) and must return within its budget.
func (p *plugin) Tick(h *minebrain.Host, now time.Time) error {
	v := h.Value(p.tag) // this tick's snapshot of the tag
	d := decide(p.name, reading{Value: v.V, Good: v.Good()}, p.count)
	h.Log(d.level, d.message)
	if d.count != p.count {
		// Written when the tick returns; it survives restarts and reloads.
		if err := h.KV().Set(countKey, []byte(formatCount(d.count))); err != nil {
			return err
		}
		p.count = d.count
	}
	return nil
}

// reading is one tick's view of the tag, apart from the SDK so that decide can be tested.
type reading struct {
	Value float64
	Good  bool // a good status, fresh, and received at least once
}

// decision is what one tick does: log message at level, and keep count.
type decision struct {
	level   minebrain.Level
	message string
	count   uint64
}

// decide is the plugin's logic: given this tick's reading of the tag called name and the
// count of good readings so far, it says what to log and what the count becomes. It calls
// nothing in the host, so it runs anywhere.
func decide(name string, r reading, count uint64) decision {
	if !r.Good {
		return decision{minebrain.LevelWarning, name + ": no good value", count}
	}
	count++
	return decision{minebrain.LevelInfo, fmt.Sprintf("%s = %g (good reading %d)", name, r.Value, count), count}
}

// parseCount reads a stored count; nothing stored, or something unreadable, counts as 0.
func parseCount(b []byte) uint64 {
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// formatCount is how a count is stored: decimal text, readable on the Plugins page.
func formatCount(n uint64) string { return strconv.FormatUint(n, 10) }

func init() { minebrain.Register(&plugin{}) }

// main is required by the go command; Minebrain never calls it (a plugin is a reactor).
func main() {}
`

const templateTest = `package main

import (
	"math"
	"testing"

	"SDKMODULE/minebrain"
)

// These tests run on this machine with a plain ´go test´: they test decide, which calls
// nothing in the host. (Outside GOARCH=wasm the SDK compiles, but a call into the host
// panics: test logic, not Init and Tick.)

func TestDecide(t *testing.T) {
	tests := []struct {
		name      string
		r         reading
		count     uint64
		level     minebrain.Level
		message   string
		wantCount uint64
	}{
		{"first good reading", reading{Value: 812.5, Good: true}, 0, minebrain.LevelInfo, "A.B.C = 812.5 (good reading 1)", 1},
		{"counts on", reading{Value: -3, Good: true}, 41, minebrain.LevelInfo, "A.B.C = -3 (good reading 42)", 42},
		{"bad value is not counted", reading{Value: 812.5}, 7, minebrain.LevelWarning, "A.B.C: no good value", 7},
		{"never received", reading{Value: math.NaN()}, 0, minebrain.LevelWarning, "A.B.C: no good value", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide("A.B.C", tt.r, tt.count)
			if d.level != tt.level || d.message != tt.message || d.count != tt.wantCount {
				t.Errorf("decide = %+v, want level %d, %q, count %d", d, tt.level, tt.message, tt.wantCount)
			}
		})
	}
}

func TestCountStored(t *testing.T) {
	for _, n := range []uint64{0, 1, 1234567, math.MaxUint64} {
		if got := parseCount([]byte(formatCount(n))); got != n {
			t.Errorf("%d stored and read back is %d", n, got)
		}
	}
	for _, s := range []string{"", "x", "-1", "1.5"} {
		if got := parseCount([]byte(s)); got != 0 {
			t.Errorf("parseCount(%q) = %d, want 0", s, got)
		}
	}
}
`

const templateManifest = `# The manifest of plugin NAME: what it is and everything it may touch (docs/plugins.md).
# Unknown fields are errors; check it with: minebrain plugin check .
id: NAME
version: 0.1.0
wasm: NAME.wasm
sha256: 0000000000000000000000000000000000000000000000000000000000000000  # written by: minebrain plugin build .
abi: 1
tick: 1s           # how often Tick runs
memory: 16MiB      # a Go plugin needs about 3 MiB to start; leave room for its heap
budget: 20ms       # a Tick longer than this is interrupted (a fault)
reads:             # tag names or patterns: * within a part, ** across parts
  - Crushing.CR1.PowerKW
# writes:          # setpoints it may write, only within these limits
#   - tag: Crushing.AF1.FeederSpeedSP
#     min: 30
#     max: 90
#     maxRate: 10/min
config:            # free values for the plugin: h.Config("tag")
  tag: Crushing.CR1.PowerKW
`

const templateReadme = `# NAME

A Minebrain plugin: every tick it logs the value of the tag named by ´config: tag:´ in
´plugin.yaml´ and counts the good readings in its key-value store. See Minebrain's
´docs/plugins.md´ and the SDK's ´README.md´ (´SDKDIR´).

## Test

The logic is the pure function ´decide´ in ´main.go´; its tests run on this machine:

´´´sh
go test
´´´

## Build

´´´sh
minebrain plugin build .
´´´

builds ´NAME.wasm´ (´GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 go build -buildmode=c-shared -o NAME.wasm .´),
writes its SHA-256 into the ´sha256:´ line of ´plugin.yaml´ and checks the result. ´minebrain plugin check .´
checks the manifest and the module's hash again at any time.

## Install

Copy ´plugin.yaml´ and ´NAME.wasm´ into Minebrain's plugins directory, ´<data>/plugins/NAME/´,
where ´<data>´ is the ´--data´ directory of ´minebrain serve´ or ´desktop´ (by default
´~/.local/share/minebrain´ on Linux, ´%LOCALAPPDATA%\Minebrain´ on Windows):

´´´sh
mkdir -p ~/.local/share/minebrain/plugins/NAME
cp plugin.yaml NAME.wasm ~/.local/share/minebrain/plugins/NAME/
minebrain plugin list
´´´

A running Minebrain loads it within 2 seconds, in mode SHADOW. Grant the tag it watches in
´reads:´ and name it in ´config: tag:´.
`

// --- build ----------------------------------------------------------------------------------

func (p *pluginRun) build() int {
	dir := p.dirArg()
	file := filepath.Join(dir, manifestFile)
	src, err := os.ReadFile(file)
	if err != nil {
		return failed(p.stderr, p.name, err)
	}
	// The manifest must be right but for its hash before the module is worth building.
	if _, err := manifest.Parse(file, src); err != nil {
		var me *manifest.Error
		if !errors.As(err, &me) {
			return failed(p.stderr, p.name, err)
		}
		var other []manifest.Problem
		for _, pr := range me.Problems {
			if pr.Path != "sha256" {
				other = append(other, pr)
			}
		}
		if len(other) > 0 {
			fmt.Fprintf(p.stderr, "%v\n%s: %d problem(s); nothing built\n", &manifest.Error{File: file, Problems: other}, file, len(other))
			return exitError
		}
	}
	wasm, err := manifestWasm(src)
	if err != nil {
		return failed(p.stderr, p.name, fmt.Errorf("%s: %v", file, err))
	}
	out, err := filepath.Abs(filepath.Join(dir, filepath.FromSlash(wasm)))
	if err != nil {
		return failed(p.stderr, p.name, err)
	}
	// A Go plugin has a go.mod; a C plugin has .c files (plugin_c.go).
	lang, err := pluginLanguage(dir)
	if err != nil {
		return failed(p.stderr, p.name, err)
	}
	if lang == langC {
		if code := p.compileC(dir, out); code != exitOK {
			return code
		}
	} else {
		goCmd, err := exec.LookPath("go")
		if err != nil {
			return failed(p.stderr, p.name, errors.New("the go command is not on PATH: install Go 1.26 or later (https://go.dev/dl/) to build Go plugins"))
		}
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return failed(p.stderr, p.name, err)
		}
		cmd := exec.CommandContext(p.ctx, goCmd, "build", "-buildmode=c-shared", "-o", out, ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if os.Getenv("GOWORK") == "" {
			// A plugin is a module of its own: a go.work in a directory above it is not its.
			cmd.Env = append(cmd.Env, "GOWORK=off")
		}
		var output bytes.Buffer
		cmd.Stdout, cmd.Stderr = &output, &output
		if err := cmd.Run(); err != nil {
			p.stderr.Write(output.Bytes())
			return failed(p.stderr, p.name, fmt.Errorf("go build in %s failed: %v", dir, err))
		}
		p.stderr.Write(output.Bytes()) // warnings, if any
	}
	module, err := os.ReadFile(out)
	if err != nil {
		return failed(p.stderr, p.name, err)
	}
	sum := sha256.Sum256(module)
	hash := hex.EncodeToString(sum[:])
	updated, err := setManifestHash(src, hash)
	if err != nil {
		return failed(p.stderr, p.name, fmt.Errorf("%s: %v", file, err))
	}
	if !bytes.Equal(updated, src) {
		if err := writeFileKeepMode(file, updated); err != nil {
			return failed(p.stderr, p.name, err)
		}
	}
	// Prove it the way Minebrain loads it.
	m, err := manifest.Load(file)
	if err != nil {
		return failed(p.stderr, p.name, err)
	}
	if err := manifest.VerifyModule(m, module); err != nil {
		return failed(p.stderr, p.name, err)
	}
	fmt.Fprintf(p.stdout, "%s  %d bytes (%.1f MiB)  sha256 %s\n", m.WasmPath(), len(module), float64(len(module))/(1<<20), hash)
	return exitOK
}

// manifestWasm returns the wasm: field of a manifest's text, checked enough to build into:
// the full check of the manifest is manifest.Parse's.
func manifestWasm(src []byte) (string, error) {
	var doc struct {
		Wasm string `yaml:"wasm"`
	}
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return "", err
	}
	w := doc.Wasm
	switch {
	case w == "":
		return "", errors.New("wasm: missing; add wasm: with the module file beside plugin.yaml")
	case !strings.HasSuffix(w, ".wasm"), filepath.IsAbs(w), strings.HasPrefix(w, "/"), strings.Contains(w, `\`):
		return "", fmt.Errorf("wasm: %q is not a .wasm file in the plugin's directory", w)
	}
	for _, part := range strings.Split(w, "/") {
		if part == ".." {
			return "", fmt.Errorf("wasm: %q leaves the plugin's directory", w)
		}
	}
	return w, nil
}

var (
	sha256LineRE = regexp.MustCompile(`^(sha256[ \t]*:[ \t]*)([^ \t#]*)(.*)$`)
	wasmLineRE   = regexp.MustCompile(`^wasm[ \t]*:`)
)

// setManifestHash returns the manifest's text with the value of its top-level sha256: line
// replaced by hash, keeping everything else (comments, spacing, line ends). Without a sha256:
// line it adds one after the wasm: line.
func setManifestHash(src []byte, hash string) ([]byte, error) {
	lines := strings.SplitAfter(string(src), "\n")
	wasmAt := -1
	for i, l := range lines {
		body := strings.TrimRight(l, "\r\n")
		end := l[len(body):]
		if m := sha256LineRE.FindStringSubmatch(body); m != nil {
			key := m[1]
			if !strings.HasSuffix(key, " ") && !strings.HasSuffix(key, "\t") {
				key += " "
			}
			lines[i] = key + hash + m[3] + end
			return []byte(strings.Join(lines, "")), nil
		}
		if wasmAt < 0 && wasmLineRE.MatchString(body) {
			wasmAt = i
		}
	}
	if wasmAt < 0 {
		return nil, errors.New("no top-level sha256: or wasm: line to write the hash to")
	}
	nl := "\n"
	if strings.HasSuffix(lines[wasmAt], "\r\n") {
		nl = "\r\n"
	}
	if !strings.HasSuffix(lines[wasmAt], "\n") {
		lines[wasmAt] += nl
	}
	out := append(lines[:wasmAt+1:wasmAt+1], "sha256: "+hash+nl)
	out = append(out, lines[wasmAt+1:]...)
	return []byte(strings.Join(out, "")), nil
}

// writeFileKeepMode replaces file with data through a temporary file and a rename, keeping
// its permissions, so that a Minebrain watching the file never reads half of it.
func writeFileKeepMode(file string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(file); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".plugin.yaml.*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// --- check ----------------------------------------------------------------------------------

func (p *pluginRun) check() int {
	m, code := p.manifestArg()
	if code >= 0 {
		return code
	}
	if err := verifyModuleFile(m); err != nil {
		fmt.Fprintf(p.stderr, "%v\n%s: 1 problem(s)\n", err, m.File)
		return exitError
	}
	fmt.Fprintf(p.stdout, "ok: %s %s, %s matches its sha256\n", m.ID, m.Version, m.WasmPath())
	return exitOK
}

// manifestArg loads the manifest DIR names (DIR/plugin.yaml, or DIR when it is the file); on
// a problem it prints it and returns the exit status (-1: go on).
func (p *pluginRun) manifestArg() (*manifest.Manifest, int) {
	file := p.dirArg()
	if fi, err := os.Stat(file); err == nil && fi.IsDir() {
		file = filepath.Join(file, manifestFile)
	}
	m, err := manifest.Load(file)
	if err != nil {
		var me *manifest.Error
		if errors.As(err, &me) {
			fmt.Fprintf(p.stderr, "%v\n%s: %d problem(s)\n", err, file, len(me.Problems))
			return nil, exitError
		}
		return nil, failed(p.stderr, p.name, err)
	}
	return m, -1
}

// builtManifest is manifestArg with the module checked against the manifest's hash, for the
// commands that run it.
func (p *pluginRun) builtManifest() (*manifest.Manifest, int) {
	m, code := p.manifestArg()
	if code >= 0 {
		return nil, code
	}
	if err := verifyModuleFile(m); err != nil {
		if errors.Is(err, manifest.ErrHashMismatch) {
			err = fmt.Errorf("%v\nthe module is not the one the manifest names: run `minebrain plugin build %s` first", err, m.Dir)
		}
		return nil, failed(p.stderr, p.name, err)
	}
	return m, -1
}

// moduleCacheDir is where the plugin tools keep compiled modules ("" when the user has no
// cache directory): a second run of the same module starts at once.
func moduleCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "minebrain", "wazero")
	}
	return ""
}

// verifyModuleFile reads m's module and checks its hash.
func verifyModuleFile(m *manifest.Manifest) error {
	module, err := os.ReadFile(m.WasmPath())
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: wasm: the module %s does not exist; build it with `minebrain plugin build %s`", m.File, m.WasmPath(), m.Dir)
	}
	if err != nil {
		return err
	}
	return manifest.VerifyModule(m, module)
}

// --- list -----------------------------------------------------------------------------------

// pluginJSON is a plugin as `plugin list --json` prints it.
type pluginJSON struct {
	Dir     string `json:"dir"`
	ID      string `json:"id,omitempty"`
	Version string `json:"version,omitempty"`
	ABI     int    `json:"abi,omitempty"`
	Tick    string `json:"tick,omitempty"`
	Reads   int    `json:"reads"`
	Writes  int    `json:"writes"`
	Status  string `json:"status"`          // "OK", "hash mismatch: rebuild", or the first problem
	Error   string `json:"error,omitempty"` // the whole error when not OK
}

func (p *pluginRun) list() int {
	if p.data == "" {
		why := "--data is empty"
		if p.dataErr != nil {
			why = p.dataErr.Error()
		}
		return usageError(p.fs, p.stderr, p.name, "no data directory ("+why+"); name one with --data DIR")
	}
	root := filepath.Join(p.data, "plugins")
	found, err := filepath.Glob(filepath.Join(root, "*", manifestFile))
	if err != nil {
		return failed(p.stderr, p.name, err)
	}
	var list []pluginJSON
	for _, file := range found {
		list = append(list, listEntry(file))
	}
	if p.json {
		enc := json.NewEncoder(p.stdout)
		for _, x := range list {
			enc.Encode(x)
		}
		return exitOK
	}
	if len(list) == 0 {
		fmt.Fprintf(p.stdout, "no plugins in %s (each is a directory with its plugin.yaml and module: see `minebrain plugin new`)\n", root)
		return exitOK
	}
	tw := tabwriter.NewWriter(p.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVERSION\tABI\tTICK\tREADS\tWRITES\tSTATUS")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, x := range list {
		id, abi := x.ID, "-"
		if id == "" {
			id = filepath.Base(x.Dir) + "/"
		}
		if x.ABI != 0 {
			abi = strconv.Itoa(x.ABI)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", id, dash(x.Version), abi, dash(x.Tick), x.Reads, x.Writes, x.Status)
	}
	tw.Flush()
	return exitOK
}

// listEntry describes the plugin whose manifest is file.
func listEntry(file string) pluginJSON {
	x := pluginJSON{Dir: filepath.Dir(file)}
	m, err := manifest.Load(file)
	if err == nil {
		x.ID, x.Version, x.ABI, x.Tick = m.ID, m.Version, m.ABI, m.Tick.String()
		x.Reads, x.Writes = len(m.Reads), len(m.Writes)
		err = verifyModuleFile(m)
	}
	switch {
	case err == nil:
		x.Status = "OK"
	case errors.Is(err, manifest.ErrHashMismatch):
		x.Status, x.Error = "hash mismatch: rebuild", err.Error()
	default:
		x.Error = err.Error()
		first, rest, more := strings.Cut(x.Error, "\n")
		// In the table the manifest is named by its directory already.
		x.Status = strings.TrimPrefix(first, filepath.Dir(file)+string(filepath.Separator))
		if more {
			x.Status += fmt.Sprintf(" (and %d more: minebrain plugin check %s)", strings.Count(rest, "\n")+1, x.Dir)
		}
	}
	return x
}

// --- test -----------------------------------------------------------------------------------

type testFlags struct {
	against, mode, watch string
	history, from        string // --against history
	dur                  time.Duration
	seed                 int64
	speed                float64
}

// testShown is how many decisions `plugin test` prints from the start and from the end.
const testShown = 5

func (p *pluginRun) test() int {
	f := p.tf
	switch f.against {
	case "sim", "history":
	case "":
		return usageError(p.fs, p.stderr, p.name, "missing --against sim or --against history")
	default:
		return usageError(p.fs, p.stderr, p.name, fmt.Sprintf("--against %q: use sim or history", f.against))
	}
	mode, err := plugins.ParseMode(f.mode)
	if err != nil || mode == plugins.Off {
		return usageError(p.fs, p.stderr, p.name, fmt.Sprintf("--mode %q: use shadow or auto", f.mode))
	}
	if f.dur <= 0 {
		return usageError(p.fs, p.stderr, p.name, "--for must be positive")
	}
	if !(f.speed >= 0) {
		return usageError(p.fs, p.stderr, p.name, fmt.Sprintf("--speed %v: use 0 (as fast as it goes) or above", f.speed))
	}
	if code := p.testHistoryFlags(mode); code >= 0 {
		return code
	}
	m, code := p.builtManifest()
	if code >= 0 {
		return code
	}
	if f.against == "history" {
		return p.testHistory(m, splitWatch(f.watch))
	}
	watch := splitWatch(f.watch)
	if f.watch == "" {
		watch = simrun.Reads(m)
	}
	cache := moduleCacheDir()
	var lastProgress time.Time
	began := time.Now()
	var t0 time.Time
	opts := simrun.Options{Manifest: m.File, Seed: f.seed, For: f.dur, Mode: mode, Watch: watch, CacheDir: cache, Speed: f.speed,
		Sample: func(now time.Time, _ *sim.Mine) {
			if t0.IsZero() {
				t0 = now
			}
			if time.Since(lastProgress) < 2*time.Second {
				return
			}
			if !lastProgress.IsZero() {
				fmt.Fprintf(p.stderr, "simulated %v of %v (%.0f×)\n", now.Sub(t0).Round(time.Second), f.dur,
					now.Sub(t0).Seconds()/time.Since(began).Seconds())
			}
			lastProgress = time.Now()
		}}
	rep, err := simrun.Run(p.ctx, opts)
	if err != nil && rep.ID == "" {
		return failed(p.stderr, p.name, err)
	}
	if err != nil {
		fmt.Fprintf(p.stderr, "minebrain %s: stopped: %v\n", p.name, err)
	}
	if p.json {
		enc := json.NewEncoder(p.stdout)
		enc.SetIndent("", "  ")
		if e := enc.Encode(testJSON(rep)); e != nil {
			return failed(p.stderr, p.name, e)
		}
	} else {
		printTestReport(p.stdout, rep)
	}
	if err != nil || len(rep.Faults) > 0 {
		return exitError
	}
	return exitOK
}

// testJSON is the report with NaNs (signals never read) made null.
func testJSON(r simrun.Report) any {
	return struct {
		simrun.Report
		Signals []jsonSignal `json:"signals"`
		Verdict string       `json:"verdict"`
	}{r, jsonSignals(r.Signals), verdict(r.Summary)}
}

// jsonSignal is a signal's statistics with NaNs (never read) as null.
type jsonSignal struct {
	Tag                  string
	Min, Max, Mean, Last *float64
	N                    int
}

func jsonSignals(ss []offline.SignalStats) []jsonSignal {
	num := func(x float64) *float64 {
		if x != x {
			return nil
		}
		return &x
	}
	sigs := make([]jsonSignal, len(ss))
	for i, s := range ss {
		sigs[i] = jsonSignal{s.Tag, num(s.Min), num(s.Max), num(s.Mean), num(s.Last), s.N}
	}
	return sigs
}

func verdict(r offline.Summary) string {
	switch {
	case len(r.Faults) > 0:
		return fmt.Sprintf("FAIL: %d fault(s), first: %s", len(r.Faults), r.Faults[0])
	case r.Ticks == 0:
		return "FAIL: it never ticked"
	case r.Refused > 0:
		return fmt.Sprintf("OK with refusals: %d ticks, %d of %d writes refused by the simulated mine", r.Ticks, r.Refused, r.Writes)
	}
	return fmt.Sprintf("OK: %d ticks, %d writes (%d applied, %d recorded in shadow), no faults", r.Ticks, r.Writes, r.Done, r.Suppressed)
}

func printTestReport(w io.Writer, r simrun.Report) {
	speed := r.Simulated.Seconds() / max(r.Real.Seconds(), 1e-9)
	fmt.Fprintf(w, "plugin %s against the simulated mine (seed %d, from %s), mode %s: %v simulated in %v (%.0f simulated seconds per second)\n",
		r.ID, r.Seed, r.Start.Format("2006-01-02 15:04 MST"), r.Mode, r.Simulated, r.Real.Round(time.Millisecond), speed)
	printTestSummary(w, r.Summary, nil)
}

// printTestSummary prints a run's decisions, signals, then more (when set), faults, alarms,
// log lines and verdict.
func printTestSummary(w io.Writer, r offline.Summary, more func(w io.Writer)) {
	fmt.Fprintf(w, "\ndecisions: %d writes", r.Writes)
	if r.Writes > len(r.Decisions) {
		fmt.Fprintf(w, " (the last %d kept)", len(r.Decisions))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	show := func(d offline.Decision) {
		fmt.Fprintf(tw, "  +%v\t%s\t%.4g\t%s\n", d.Time.Sub(r.Start), d.Tag, d.Value, d.Outcome)
	}
	if len(r.Decisions) <= 2*testShown {
		for _, d := range r.Decisions {
			show(d)
		}
	} else {
		for _, d := range r.First[:min(testShown, len(r.First))] {
			show(d)
		}
		fmt.Fprintf(tw, "  …\t%d more\t\t\n", r.Writes-2*testShown)
		for _, d := range r.Decisions[len(r.Decisions)-testShown:] {
			show(d)
		}
	}
	tw.Flush()
	if len(r.Signals) > 0 {
		fmt.Fprintln(w, "\nsignals:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  TAG\tMIN\tMAX\tMEAN\tLAST\t")
		for _, s := range r.Signals {
			fmt.Fprintf(tw, "  %s\t%.4g\t%.4g\t%.4g\t%.4g\t\n", s.Tag, s.Min, s.Max, s.Mean, s.Last)
		}
		tw.Flush()
	}
	if more != nil {
		more(w)
	}
	fmt.Fprintf(w, "\nfaults: %d\n", len(r.Faults))
	for _, f := range r.Faults {
		fmt.Fprintf(w, "  %s\n", f)
	}
	fmt.Fprintf(w, "alarms: %d event(s)\n", len(r.Alarms))
	for _, a := range r.Alarms {
		what := "cleared"
		if a.Raised {
			what = "raised (" + a.Priority + "): " + a.Message
		}
		fmt.Fprintf(w, "  +%v %s %s\n", a.Time.Sub(r.Start), a.ID, what)
	}
	fmt.Fprintf(w, "log lines: %d", r.Logs)
	if r.LogDropped > 0 {
		fmt.Fprintf(w, " (%d more dropped by the rate limit, counted in real time)", r.LogDropped)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "\n%s\n", verdict(r))
}
