package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"minebrain/app/sim"
)

// One simulated mine for every opc test: its startup costs seconds under -race.
var (
	simOnce sync.Once
	simSrv  *sim.Server
	simErr  error
)

func TestMain(m *testing.M) {
	// No test may write into the real home directory (the default --data is under it).
	home, err := os.MkdirTemp("", "minebrain-cli-home-")
	if err != nil {
		panic(err)
	}
	os.Setenv("HOME", home)
	os.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	os.Setenv("LOCALAPPDATA", home)
	code := m.Run()
	os.RemoveAll(home)
	if simSrv != nil {
		simSrv.Close()
	}
	os.Exit(code)
}

// simURL returns the endpoint of the shared simulator, starting it on first use.
func simURL(t *testing.T) string {
	t.Helper()
	simOnce.Do(func() {
		simSrv, simErr = sim.Start(context.Background(), sim.Options{
			Listen: "127.0.0.1:0", TimeScale: 60, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
	})
	if simErr != nil {
		t.Fatalf("start the simulator: %v", simErr)
	}
	return simSrv.EndpointURL()
}

// jsonLines decodes every line of out as a JSON object.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not a JSON object: %v", sc.Text(), err)
		}
		objs = append(objs, m)
	}
	return objs
}

func mustRun(t *testing.T, want int, args ...string) (stdout, stderr string) {
	t.Helper()
	code, stdout, stderr := run(args...)
	if code != want {
		t.Fatalf("%q: exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, want, stdout, stderr)
	}
	return stdout, stderr
}

const (
	powerKW = "ns=2;s=Crushing.CR1.PowerKW"
	cssSP   = "ns=2;s=Crushing.CR1.CssSP"
)

func TestOpcEndpointsListsNone(t *testing.T) {
	url := simURL(t)
	out, _ := mustRun(t, exitOK, "opc", "endpoints", url)
	if !strings.HasPrefix(out, "POLICY") || !strings.Contains(out, "None") || !strings.Contains(out, "Anonymous") {
		t.Errorf("endpoints:\n%s", out)
	}
	out, _ = mustRun(t, exitOK, "opc", "endpoints", url, "--json")
	found := false
	for _, e := range jsonLines(t, out) {
		if e["securityPolicy"] == "None" && e["securityMode"] == "None" && e["url"] != "" {
			found = true
		}
	}
	if !found {
		t.Errorf("no None endpoint in:\n%s", out)
	}
}

func TestOpcBrowseFindsSignalsAtDepth(t *testing.T) {
	url := simURL(t)
	out, _ := mustRun(t, exitOK, "opc", "browse", url, "--depth", "4")
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, powerKW+" ") {
			line = l
		}
	}
	// Objects (0) / Mine (1) / Crushing (2) / CR1 (3) / PowerKW (4): indented by 8.
	if !strings.HasPrefix(line, "        PowerKW ") || !strings.Contains(line, "Variable") || !strings.Contains(line, "Double") {
		t.Errorf("PowerKW line %q in:\n%s", line, out)
	}
	if strings.Contains(out, "EURange") {
		t.Errorf("depth 4 from Objects shows properties at depth 5:\n%s", out)
	}

	out, _ = mustRun(t, exitOK, "opc", "browse", url, "ns=2;s=Mine", "--depth", "3", "--json")
	objs := jsonLines(t, out)
	if len(objs) < 600 || objs[0]["path"] != "Mine" || objs[0]["nodeClass"] != "Object" {
		t.Fatalf("%d nodes, first %v", len(objs), objs[0])
	}
	for _, o := range objs {
		if o["path"] == "Mine/Crushing/CR1/PowerKW" {
			if o["nodeId"] != powerKW || o["nodeClass"] != "Variable" || o["dataType"] != "Double" || o["depth"] != 3.0 {
				t.Errorf("PowerKW: %v", o)
			}
			if _, ok := o["value"].(float64); !ok {
				t.Errorf("PowerKW value %v is not a number", o["value"])
			}
			return
		}
	}
	t.Errorf("Mine/Crushing/CR1/PowerKW not in the browse")
}

func TestOpcReadTypedValues(t *testing.T) {
	url := simURL(t)
	out, _ := mustRun(t, exitOK, "opc", "read", url, powerKW, "ns=2;s=Crushing.CR1.RunState", "ns=2;s=Crushing.CR1.RunCmd", "--json")
	objs := jsonLines(t, out)
	if len(objs) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(objs), out)
	}
	want := []struct {
		dataType string
		check    func(any) bool
	}{
		{"Double", func(v any) bool { _, ok := v.(float64); return ok }},
		{"Int32", func(v any) bool { f, ok := v.(float64); return ok && f == float64(int(f)) }},
		{"Boolean", func(v any) bool { _, ok := v.(bool); return ok }},
	}
	for i, w := range want {
		if objs[i]["dataType"] != w.dataType || objs[i]["status"] != "Good" || !w.check(objs[i]["value"]) || objs[i]["sourceTime"] == nil {
			t.Errorf("line %d: %v, want a Good %s", i, objs[i], w.dataType)
		}
	}

	out, _ = mustRun(t, exitOK, "opc", "read", url, powerKW)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NODEID") || !strings.HasPrefix(lines[1], powerKW) ||
		strings.Index(lines[0], "DATATYPE") != strings.Index(lines[1], "Double") {
		t.Errorf("columns not aligned:\n%s", out)
	}

	out, errOut := mustRun(t, exitError, "opc", "read", url, powerKW, "ns=2;s=No.Such.Node")
	if !strings.Contains(errOut, "BadNodeIdUnknown") || !strings.Contains(out, "Good") {
		t.Errorf("unknown node: stdout\n%s\nstderr %q", out, errOut)
	}
}

func TestOpcWrite(t *testing.T) {
	url := simURL(t)
	out, _ := mustRun(t, exitOK, "opc", "write", url, cssSP, "152.5")
	if !strings.Contains(out, "Good") {
		t.Errorf("write: %q", out)
	}
	out, _ = mustRun(t, exitOK, "opc", "read", url, cssSP, "--json")
	if v := jsonLines(t, out)[0]["value"]; v != 152.5 {
		t.Errorf("read back %v, want 152.5", v)
	}
	out, _ = mustRun(t, exitOK, "opc", "write", url, cssSP, "150", "--json")
	if o := jsonLines(t, out)[0]; o["status"] != "Good" || o["value"] != 150.0 || o["dataType"] != "Double" {
		t.Errorf("write --json: %v", o)
	}

	_, errOut := mustRun(t, exitError, "opc", "write", url, powerKW, "5")
	if !strings.Contains(errOut, "BadNotWritable") {
		t.Errorf("read-only signal: %q", errOut)
	}
	_, errOut = mustRun(t, exitError, "opc", "write", url, cssSP, "-5")
	if !strings.Contains(errOut, "BadOutOfRange") {
		t.Errorf("setpoint out of range: %q", errOut)
	}
	for _, tc := range []struct{ node, value, want string }{
		{cssSP, "abc", `cannot convert "abc" to Double`},
		{"ns=2;s=Crushing.CR1.RunCmd", "yes", `cannot convert "yes" to Boolean: want true, false, 1 or 0`},
		{"ns=2;s=Crushing.CR1.Mode", "3000000000", `cannot convert "3000000000" to Int32: out of range`},
		{"ns=2;s=Crushing.CR1.Mode", "1.5", `cannot convert "1.5" to Int32: not a whole number`},
	} {
		_, errOut = mustRun(t, exitUsage, "opc", "write", url, tc.node, tc.value)
		if !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, tc.node) {
			t.Errorf("write %s %s: stderr %q, want %q", tc.node, tc.value, errOut, tc.want)
		}
	}
}

func TestOpcWatchPrintsChanges(t *testing.T) {
	url := simURL(t)
	out, _ := mustRun(t, exitOK, "opc", "watch", url, powerKW, "--for", "2s", "--json")
	objs := jsonLines(t, out)
	values := map[any]bool{}
	for _, o := range objs {
		if o["nodeId"] != powerKW || o["status"] != "Good" {
			t.Errorf("notification %v", o)
		}
		values[o["value"]] = true
	}
	if len(values) < 3 {
		t.Errorf("%d distinct values in 2 s, want at least 3:\n%s", len(values), out)
	}

	out, errOut := mustRun(t, exitError, "opc", "watch", url, powerKW, "ns=2;s=No.Such.Node", "--for", "500ms")
	if !strings.Contains(out, powerKW) || !strings.Contains(errOut, "BadNodeIdUnknown") {
		t.Errorf("watch with an unknown node: stdout\n%s\nstderr %q", out, errOut)
	}
}

func TestOpcUsageErrorsExitTwo(t *testing.T) {
	const url = "opc.tcp://127.0.0.1:1" // never dialled: every error is found first
	cases := []struct {
		args   []string
		stderr string
	}{
		{[]string{"opc"}, "Usage: minebrain opc"},
		{[]string{"opc", "frobnicate", url}, `unknown command "frobnicate"`},
		{[]string{"opc", "read"}, "missing the server URL"},
		{[]string{"opc", "read", url}, "missing arguments"},
		{[]string{"opc", "write", url, powerKW}, "missing arguments"},
		{[]string{"opc", "call", url, "i=85"}, "missing arguments"},
		{[]string{"opc", "endpoints", url, "extra"}, `unexpected argument "extra"`},
		{[]string{"opc", "browse", url, "i=85", "i=86"}, `unexpected argument "i=86"`},
		{[]string{"opc", "read", "localhost:4840", powerKW}, `invalid endpoint URL "localhost:4840"`},
		{[]string{"opc", "read", url, "ns=2;x=Bad"}, `invalid NodeId "ns=2;x=Bad"`},
		{[]string{"opc", "read", url, powerKW, ""}, `invalid NodeId ""`},
		{[]string{"opc", "write", url, "nonsense", "1"}, `invalid NodeId "nonsense"`},
		{[]string{"opc", "watch", url, "ns=two;s=X"}, `invalid NodeId "ns=two;s=X"`},
		{[]string{"opc", "browse", url, "ns=2;q"}, `invalid NodeId "ns=2;q"`},
		{[]string{"opc", "browse", url, "--depth", "-1"}, "--depth must be 0 or more"},
		{[]string{"opc", "browse", url, "--depth", "deep"}, `invalid value "deep" for flag -depth`},
		{[]string{"opc", "read", url, powerKW, "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"opc", "watch", url, powerKW, "--for", "-1s"}, "--for must be 0"},
		{[]string{"opc", "watch", url, powerKW, "--for", "soon"}, `invalid value "soon" for flag -for`},
		{[]string{"opc", "read", url, powerKW, "--policy", "Basic128Rsa15"}, `security policy "Basic128Rsa15" is not supported`},
		{[]string{"opc", "read", url, powerKW, "--mode", "Encrypt"}, `security mode "Encrypt" is not a mode`},
		{[]string{"opc", "read", url, powerKW, "--policy", "None", "--mode", "Sign"}, "policy None goes only with mode None"},
		{[]string{"opc", "read", url, powerKW, "--user", "op"}, "--user needs --password-file"},
		{[]string{"opc", "endpoints", url, "--password-file", "pw"}, "--password-file needs --user"},
		{[]string{"opc", "browse", url, "--cert", "c.der"}, "--cert and --key go together"},
	}
	for _, tc := range cases {
		code, _, stderr := run(tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%q: status %d, stderr %q; want %d and %q", tc.args, code, stderr, exitUsage, tc.stderr)
		}
	}
}

func TestOpcUnreachableServerExitsOne(t *testing.T) {
	code, _, stderr := run("opc", "read", "opc.tcp://127.0.0.1:1", powerKW, "--timeout", "2s")
	if code != exitError || !strings.Contains(stderr, "127.0.0.1:1") {
		t.Errorf("status %d, stderr %q", code, stderr)
	}
}

func TestOpcHelp(t *testing.T) {
	code, stdout, _ := run("opc", "help")
	for _, c := range []string{"endpoints", "browse", "read", "write", "call", "watch", "--pki"} {
		if !strings.Contains(stdout, c) {
			t.Errorf("opc help lacks %q:\n%s", c, stdout)
		}
	}
	if code != exitOK {
		t.Errorf("status %d", code)
	}
	code, _, stderr := run("opc", "browse", "--help")
	if code != exitOK || !strings.Contains(stderr, "-depth") || !strings.Contains(stderr, "-json") {
		t.Errorf("browse --help: status %d, %q", code, stderr)
	}
}
