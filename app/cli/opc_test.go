package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"minebrain/app/audit"
	"minebrain/app/historian"
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
	return mustRunIn(t, want, "", args...)
}

// mustRunIn is mustRun with in as stdin (a password, for commands that read one).
func mustRunIn(t *testing.T, want int, in string, args ...string) (stdout, stderr string) {
	t.Helper()
	code, stdout, stderr := withStdin(in, args...)
	if code != want {
		t.Fatalf("%q: exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, want, stdout, stderr)
	}
	return stdout, stderr
}

// The Minebrain users of opcData, who may (ana) or may not (otto) act on equipment.
const (
	engineerPW = "crusher-42-ok"
	operatorPW = "operator-7-ok"
)

// opcData returns a new data directory with the users ana (engineer) and otto (operator).
func opcData(t *testing.T) string {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	mustRunIn(t, exitOK, engineerPW+"\n", "users", "add", "ana", "--role", "engineer", "--data", data)
	mustRunIn(t, exitOK, operatorPW+"\n", "users", "add", "otto", "--role", "operator", "--data", data)
	return data
}

// auditEntries returns the audit log of data, oldest first, without the users' own entries.
func auditEntries(t *testing.T, data string) []audit.Entry {
	t.Helper()
	ctx := context.Background()
	s, err := historian.Open(ctx, filepath.Join(data, historyFile), historian.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l, err := audit.New(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	all, err := l.List(ctx, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
	for _, e := range all {
		if strings.HasPrefix(e.Action, "opc.") {
			out = append(out, e)
		}
	}
	return out
}

// readValue reads node's value as JSON.
func readValue(t *testing.T, url, node string) any {
	t.Helper()
	out, _ := mustRun(t, exitOK, "opc", "read", url, node, "--json")
	return jsonLines(t, out)[0]["value"]
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
	data := opcData(t)
	as := []string{"--as", "ana", "--data", data}
	write := func(want int, node, value string, flags ...string) (string, string) {
		t.Helper()
		args := append([]string{"opc", "write", url, node, value}, as...)
		return mustRunIn(t, want, engineerPW+"\n", append(args, flags...)...)
	}
	out, _ := write(exitOK, cssSP, "152.5")
	if !strings.Contains(out, "Good") {
		t.Errorf("write: %q", out)
	}
	if v := readValue(t, url, cssSP); v != 152.5 {
		t.Errorf("read back %v, want 152.5", v)
	}
	out, _ = write(exitOK, cssSP, "150", "--json")
	if o := jsonLines(t, out)[0]; o["status"] != "Good" || o["value"] != 150.0 || o["dataType"] != "Double" {
		t.Errorf("write --json: %v", o)
	}

	_, errOut := write(exitError, powerKW, "5")
	if !strings.Contains(errOut, "BadNotWritable") {
		t.Errorf("read-only signal: %q", errOut)
	}
	_, errOut = write(exitError, cssSP, "-5")
	if !strings.Contains(errOut, "BadOutOfRange") {
		t.Errorf("setpoint out of range: %q", errOut)
	}
	for _, tc := range []struct{ node, value, want string }{
		{cssSP, "abc", `cannot convert "abc" to Double`},
		{"ns=2;s=Crushing.CR1.RunCmd", "yes", `cannot convert "yes" to Boolean: want true, false, 1 or 0`},
		{"ns=2;s=Crushing.CR1.Mode", "3000000000", `cannot convert "3000000000" to Int32: out of range`},
		{"ns=2;s=Crushing.CR1.Mode", "1.5", `cannot convert "1.5" to Int32: not a whole number`},
	} {
		_, errOut = write(exitUsage, tc.node, tc.value)
		if !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, tc.node) {
			t.Errorf("write %s %s: stderr %q, want %q", tc.node, tc.value, errOut, tc.want)
		}
	}
}

func TestOpcWriteIsGatedAndAudited(t *testing.T) {
	url := simURL(t)
	data := opcData(t)

	// No --as: a usage error, before any password is read or any connection made.
	_, errOut := mustRunIn(t, exitUsage, engineerPW+"\n", "opc", "write", url, cssSP, "140", "--data", data)
	if !strings.Contains(errOut, "opc write changes equipment: name yourself with --as USER (an engineer); it is recorded in the audit log") {
		t.Errorf("write without --as: %q", errOut)
	}
	_, errOut = mustRunIn(t, exitUsage, engineerPW+"\n", "opc", "call", url, "i=85", "i=11492", "--data", data)
	if !strings.Contains(errOut, "name yourself with --as USER") {
		t.Errorf("call without --as: %q", errOut)
	}
	if got := auditEntries(t, data); len(got) != 0 {
		t.Errorf("usage errors audited: %+v", got)
	}

	before := readValue(t, url, cssSP).(float64)
	next := before + 3.5
	nextText := strconv.FormatFloat(next, 'g', -1, 64)
	beforeText := strconv.FormatFloat(before, 'g', -1, 64)
	target := url + " " + cssSP

	// An operator may not; nothing is written.
	_, errOut = mustRunIn(t, exitError, operatorPW+"\n", "opc", "write", url, cssSP, nextText, "--as", "otto", "--data", data)
	if !strings.Contains(errOut, "refused") || !strings.Contains(errOut, "operator") || !strings.Contains(errOut, "needs the engineer role or above") {
		t.Errorf("operator: %q", errOut)
	}
	if v := readValue(t, url, cssSP); v != before {
		t.Errorf("after the operator's refused write: %v, want %v unchanged", v, before)
	}

	// A wrong password is refused; nothing is written.
	_, errOut = mustRunIn(t, exitError, "not-her-password\n", "opc", "write", url, cssSP, nextText, "--as", "ana", "--data", data)
	if !strings.Contains(errOut, "refused: wrong user name or password") {
		t.Errorf("wrong password: %q", errOut)
	}
	_, errOut = mustRunIn(t, exitError, "", "opc", "write", url, cssSP, nextText, "--as", "ana", "--data", data)
	if !strings.Contains(errOut, "no password on stdin") {
		t.Errorf("no password: %q", errOut)
	}
	if v := readValue(t, url, cssSP); v != before {
		t.Errorf("after the refused login: %v, want %v unchanged", v, before)
	}

	// The engineer may; the server's refusal is audited too.
	mustRunIn(t, exitOK, engineerPW+"\n", "opc", "write", url, cssSP, nextText, "--as", "ana", "--data", data, "--reason", "commissioning CR1")
	if v := readValue(t, url, cssSP); v != next {
		t.Errorf("after the engineer's write: %v, want %v", v, next)
	}
	mustRunIn(t, exitError, engineerPW+"\n", "opc", "write", url, cssSP, "-5", "--as", "ana", "--data", data)

	want := []audit.Entry{
		{Who: "otto", Old: "", Result: "refused: otto has the operator role; opc write needs the engineer role or above"},
		{Who: "ana", Old: "", Result: "refused: wrong user name or password"},
		{Who: "ana", Old: beforeText, New: nextText, Reason: "commissioning CR1", Result: "sending"},
		{Who: "ana", Old: beforeText, New: nextText, Reason: "commissioning CR1", Result: "done"},
		{Who: "ana", Old: nextText, New: "-5", Result: "sending"},
		{Who: "ana", Old: nextText, New: "-5", Result: "rejected: BadOutOfRange"},
	}
	want[0].New, want[1].New = nextText, nextText
	got := auditEntries(t, data)
	if len(got) != len(want) {
		t.Fatalf("%d audit entries, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Who != w.Who || g.Face != audit.FaceCLI || g.Action != "opc.write" || g.Target != target ||
			g.Old != w.Old || g.New != w.New || g.Reason != w.Reason || g.Result != w.Result {
			t.Errorf("audit entry %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if code, out, errOut := run("audit", "verify", "--data", data); code != exitOK {
		t.Errorf("audit verify: %d %q %q", code, out, errOut)
	}
}

func TestOpcWriteNeedsAnAuditLog(t *testing.T) {
	url := simURL(t)
	before := readValue(t, url, cssSP).(float64)
	next := strconv.FormatFloat(before+1, 'g', -1, 64)
	missing := filepath.Join(t.TempDir(), "nothing-here")
	_, errOut := mustRunIn(t, exitError, engineerPW+"\n", "opc", "write", url, cssSP, next, "--as", "ana", "--data", missing)
	if !strings.Contains(errOut, "nothing sent") || !strings.Contains(errOut, "does not exist") {
		t.Errorf("missing data directory: %q", errOut)
	}
	if v := readValue(t, url, cssSP); v != before {
		t.Errorf("written without an audit log: %v, want %v", v, before)
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
		{[]string{"opc", "write", url, "nonsense", "1", "--as", "ana"}, `invalid NodeId "nonsense"`},
		{[]string{"opc", "write", url, powerKW, "1"}, "name yourself with --as USER"},
		{[]string{"opc", "call", url, "i=85", "i=11492"}, "name yourself with --as USER"},
		{[]string{"opc", "write", url, powerKW, "1", "--as", "bad name"}, "--as: bad user name"},
		{[]string{"opc", "write", url, powerKW, "1", "--as", "ana", "--data", ""}, "no data directory"},
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
	for _, c := range []string{"endpoints", "browse", "read", "write", "call", "watch", "--pki", "--as USER", "audit log"} {
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
	code, _, stderr = run("opc", "write", "--help")
	if code != exitOK || !strings.Contains(stderr, "-as") || !strings.Contains(stderr, "-data") || !strings.Contains(stderr, "-reason") {
		t.Errorf("write --help: status %d, %q", code, stderr)
	}
}
