package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"minebrain/internal/opcuapeer"
)

// The integrator tools against node-opcua: a method call with converted arguments, and a
// secured, logged-in session whose server certificate is refused until `pki trust`.

func TestOpcCallOnNodeOpcua(t *testing.T) {
	peer := opcuapeer.Start(t, opcuapeer.Options{})
	data := opcData(t)
	call := func(pw, as string, args ...string) (int, string, string) {
		return withStdin(pw+"\n", append([]string{"opc", "call", peer.Endpoint(), "ns=2;s=Plant.Pump1", "ns=2;s=Plant.Pump1.Add",
			"--as", as, "--data", data}, args...)...)
	}
	code, out, errOut := call(engineerPW, "ana", "2.5", "4")
	if code != exitOK || !strings.Contains(out, "6.5") {
		t.Fatalf("call Add(2.5, 4): status %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = call(engineerPW, "ana", "two", "4")
	if code != exitUsage || !strings.Contains(errOut, `"two"`) {
		t.Fatalf("call with a bad argument: status %d, stderr %q", code, errOut)
	}
	code, out, errOut = call(operatorPW, "otto", "1", "1")
	if code != exitError || out != "" || !strings.Contains(errOut, "needs the engineer role or above") {
		t.Fatalf("call by an operator: status %d, stdout %q, stderr %q", code, out, errOut)
	}

	target := peer.Endpoint() + " ns=2;s=Plant.Pump1 ns=2;s=Plant.Pump1.Add"
	want := []struct{ who, new, result string }{
		{"ana", "(2.5, 4)", "sending"},
		{"ana", "(2.5, 4)", "done"},
		{"ana", "(two, 4)", "sending"},
		{"ana", "(two, 4)", "refused: call ns=2;s=Plant.Pump1.Add on ns=2;s=Plant.Pump1: argument"},
		{"otto", "(1, 1)", "refused: otto has the operator role; opc call needs the engineer role or above"},
	}
	got := auditEntries(t, data)
	if len(got) != len(want) {
		t.Fatalf("%d audit entries, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Who != w.who || g.Action != "opc.call" || g.Target != target || g.Old != "" || g.New != w.new || !strings.HasPrefix(g.Result, w.result) {
			t.Errorf("audit entry %d: %+v, want %+v", i, g, w)
		}
	}
}

func TestOpcSecuredSessionNeedsTrust(t *testing.T) {
	peer := opcuapeer.Start(t, opcuapeer.Options{NoAnonymous: true})
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte(opcuapeer.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pkiDir := filepath.Join(dir, "pki")
	read := func(password string) (int, string, string) {
		return run("opc", "read", peer.Endpoint(), "ns=2;s=Plant.Pump1.FlowM3h",
			"--policy", "Basic256Sha256", "--mode", "SignAndEncrypt",
			"--user", opcuapeer.User, "--password-file", password, "--pki", pkiDir)
	}

	code, _, errOut := read(pw)
	if code != exitError || !strings.Contains(errOut, "is not trusted") || !strings.Contains(errOut, "minebrain pki trust") {
		t.Fatalf("first contact: status %d, stderr %q; want the certificate refused with how to trust it", code, errOut)
	}
	thumb := regexp.MustCompile(`pki trust ([0-9a-f]{40})`).FindStringSubmatch(errOut)
	if thumb == nil {
		t.Fatalf("no thumbprint in %q", errOut)
	}
	if code, out, errOut := run("pki", "trust", thumb[1], "--pki", pkiDir); code != exitOK {
		t.Fatalf("pki trust: status %d, %q %q", code, out, errOut)
	}

	code, out, errOut := read(pw)
	if code != exitOK || !strings.Contains(out, "Good") {
		t.Fatalf("after trust: status %d, stdout %q, stderr %q", code, out, errOut)
	}

	wrong := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrong, []byte("nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = read(wrong)
	if code != exitError || !strings.Contains(errOut, `the server refused user "operator"`) {
		t.Fatalf("wrong password: status %d, stderr %q", code, errOut)
	}
}

func TestOpcBenchOnNodeOpcua(t *testing.T) {
	peer := opcuapeer.Start(t, opcuapeer.Options{Bulk: 500, BulkInterval: 100 * time.Millisecond})
	code, out, errOut := run("opc", "bench", peer.Endpoint(), "--json", "--warmup", "1s", "--for", "3s", "--sampling", "100ms")
	if code != exitOK {
		t.Fatalf("bench: status %d, stderr %q", code, errOut)
	}
	var r struct {
		Items         int     `json:"items"`
		Notifications uint64  `json:"notifications"`
		PerSecond     float64 `json:"notificationsPerSecond"`
		Lost          uint64  `json:"lost"`
		Bad           uint64  `json:"bad"`
		CPU           float64 `json:"cpuPercentOfOneCore"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bench output %q: %v", out, err)
	}
	// 500 items at 10 Hz for 3 s is 15,000 notifications; a loaded machine may lose some in
	// the server's queues, which the bench reports rather than hides.
	if r.Items != 500 || r.Notifications < 3000 || r.PerSecond <= 0 || r.Bad != 0 || r.CPU <= 0 {
		t.Fatalf("bench result %+v", r)
	}
	t.Logf("500 items at 10 Hz: %.0f notifications/s, %d lost, client %.1f%% of a core", r.PerSecond, r.Lost, r.CPU)

	if code, _, errOut := run("opc", "bench", peer.Endpoint(), "--under", "Objects/Nothing", "--for", "1s", "--timeout", "1s"); code != exitError || !strings.Contains(errOut, "Nothing") {
		t.Errorf("bench of a missing folder: status %d, stderr %q", code, errOut)
	}
}
