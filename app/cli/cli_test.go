package cli

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func run(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = Main(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsageErrorsExitTwo(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown serve flag", []string{"serve", "--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{"unknown sim flag", []string{"sim", "--bogus"}, "flag provided but not defined: -bogus"},
		{"stray argument", []string{"sim", "extra"}, `unexpected argument "extra"`},
		{"bad number", []string{"sim", "--seed", "many"}, `invalid value "many" for flag -seed`},
		{"zero time scale", []string{"sim", "--time-scale", "0"}, "--time-scale must be above 0"},
		{"negative serve time scale", []string{"serve", "--time-scale", "-1"}, "--time-scale must be above 0"},
		{"endpoint without scheme", []string{"serve", "--endpoint", "localhost:4840"}, "is not an OPC UA address"},
		{"unknown desktop flag", []string{"desktop", "--x"}, "flag provided but not defined: -x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(tc.args...)
			if code != exitUsage {
				t.Errorf("exit status %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.stderr)
			}
			if !strings.Contains(stderr, "Usage") {
				t.Errorf("stderr %q shows no usage", stderr)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	code, stdout, _ := run("help")
	if code != exitOK || !strings.Contains(stdout, "serve") || !strings.Contains(stdout, "sim") {
		t.Errorf("help: status %d, output %q", code, stdout)
	}
	code, _, stderr := run("serve", "--help")
	if code != exitOK || !strings.Contains(stderr, "-listen") || !strings.Contains(stderr, "-allow-remote") {
		t.Errorf("serve --help: status %d, output %q", code, stderr)
	}
	code, stdout, _ = run("version")
	if code != exitOK || !strings.HasPrefix(stdout, "minebrain ") {
		t.Errorf("version: status %d, output %q", code, stdout)
	}
}

func TestHeadlessBuildExplainsMissingWindow(t *testing.T) {
	code, _, stderr := run()
	if code != exitError || !strings.Contains(stderr, "minebrain serve") {
		t.Errorf("status %d, stderr %q: want 1 and a pointer to `minebrain serve`", code, stderr)
	}
}

func TestNonLoopbackRefusedWithoutFlag(t *testing.T) {
	for _, cmd := range []string{"serve", "sim"} {
		code, _, stderr := run(cmd, "--listen", "0.0.0.0:0")
		if code == exitOK || !strings.Contains(stderr, "--allow-remote") {
			t.Errorf("%s on 0.0.0.0: status %d, stderr %q: want a refusal naming --allow-remote", cmd, code, stderr)
		}
	}
}

func TestPortInUseNamesThePort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	for _, cmd := range []string{"serve", "sim"} {
		code, _, stderr := run(cmd, "--listen", l.Addr().String())
		if code != exitError || !strings.Contains(stderr, "in use") || !strings.Contains(stderr, strconv.Itoa(port)) {
			t.Errorf("%s on a busy port: status %d, stderr %q: want 1 and the port named", cmd, code, stderr)
		}
	}
}

func TestSiteCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("site: X\nconnections:\n  - name: plc\n    endpoint: opc.tcp://10.0.0.5:4840\n    nodes:\n      - {node: \"ns=2;s=A\", tag: A.B.C}\n"), 0o644)
	if code, out, errOut := run("site", "check", good); code != exitOK || !strings.Contains(out, "plc  opc.tcp://10.0.0.5:4840  best/best  anonymous; 0 browse rule(s), 1 node(s)") {
		t.Errorf("good file: %d %q %q", code, out, errOut)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("site: X\nconnections:\n  - name: plc\n    endpoint: http://x\n"), 0o644)
	if code, _, errOut := run("site", "check", bad); code != exitError || !strings.Contains(errOut, "bad.yaml:4:15: connections[0].endpoint") || !strings.Contains(errOut, "2 problem(s)") {
		t.Errorf("bad file: %d %q", code, errOut)
	}
	if code, _, _ := run("site"); code != exitUsage {
		t.Errorf("site without check: %d", code)
	}
}
