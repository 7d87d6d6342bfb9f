package cli

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"minebrain/app/pki"
)

var pkiTestKey struct {
	key *rsa.PrivateKey
	n   int64
}

// serverCert makes a self-signed server certificate with common name cn.
func serverCert(t *testing.T, cn string) []byte {
	t.Helper()
	if pkiTestKey.key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		pkiTestKey.key = k
	}
	pkiTestKey.n++
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(pkiTestKey.n),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &pkiTestKey.key.PublicKey, pkiTestKey.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// presented has a connection present der to the store at dir, as the OPC UA client does.
func presented(t *testing.T, dir, conn string, der []byte) error {
	t.Helper()
	s, err := pki.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s.Check(conn, der, time.Now())
}

func TestPkiUsage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	cases := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"pki"}, exitUsage, "Usage: minebrain pki"},
		{[]string{"pki", "frob"}, exitUsage, `unknown command "frob"`},
		{[]string{"pki", "trust", "--pki", dir}, exitUsage, "missing THUMBPRINT"},
		{[]string{"pki", "reject", "--pki", dir}, exitUsage, "missing THUMBPRINT"},
		{[]string{"pki", "remove", "--pki", dir}, exitUsage, "missing THUMBPRINT"},
		{[]string{"pki", "trust", "ab", "cd", "--pki", dir}, exitUsage, `unexpected argument "cd"`},
		{[]string{"pki", "list", "extra", "--pki", dir}, exitUsage, `unexpected argument "extra"`},
		{[]string{"pki", "list", "--bogus"}, exitUsage, "flag provided but not defined: -bogus"},
		{[]string{"pki", "list", "--connection", "x"}, exitUsage, "flag provided but not defined: -connection"},
		{[]string{"pki", "list", "--data", ""}, exitUsage, "no PKI directory"},
		{[]string{"pki", "trust", "abcdef", "--pki", dir}, exitError, "no certificate with thumbprint abcdef"},
		{[]string{"pki", "trust", "xyz", "--pki", dir}, exitError, "not hexadecimal"},
	}
	for _, tc := range cases {
		code, _, stderr := run(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%q: status %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.stderr)
		}
	}
	code, stdout, _ := run("pki", "help")
	if code != exitOK || !strings.Contains(stdout, "show-own") || !strings.Contains(stdout, "--connection NAME") {
		t.Errorf("pki help: %d %q", code, stdout)
	}
	code, _, stderr := run("pki", "trust", "--help")
	if code != exitOK || !strings.Contains(stderr, "-connection") || !strings.Contains(stderr, "-pki") {
		t.Errorf("pki trust --help: %d %q", code, stderr)
	}
	if code, stdout, _ := run("help"); code != exitOK || !strings.Contains(stdout, "pki") {
		t.Errorf("help does not list pki: %q", stdout)
	}
}

func TestPkiShowOwn(t *testing.T) {
	data := t.TempDir()
	code, stdout, stderr := run("pki", "show-own", "--data", data)
	if code != exitOK {
		t.Fatalf("status %d, stderr %q", code, stderr)
	}
	uri := pki.ApplicationURI()
	if uri != "urn:"+pki.Hostname()+":minebrain" {
		t.Errorf("ApplicationURI %q", uri)
	}
	if !strings.Contains(stdout, uri) || !strings.Contains(stdout, "CN=Minebrain@"+pki.Hostname()) || !strings.Contains(stderr, "made a new application certificate") {
		t.Errorf("stdout %q stderr %q", stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(data, "pki", "own", "certs", "minebrain.der")); err != nil {
		t.Error(err)
	}
	// The second time it is reused, and --json prints it as one line.
	code, stdout, stderr = run("pki", "show-own", "--data", data, "--json")
	if code != exitOK || strings.Contains(stderr, "made a new") {
		t.Fatalf("status %d, stderr %q", code, stderr)
	}
	objs := jsonLines(t, stdout)
	if len(objs) != 1 || objs[0]["application_uri"] != uri || objs[0]["state"] != "own" || len(objs[0]["thumbprint"].(string)) != 40 {
		t.Errorf("json %v", objs)
	}
	// It appears in the list.
	code, stdout, _ = run("pki", "list", "--pki", filepath.Join(data, "pki"))
	if code != exitOK || !strings.Contains(stdout, "own") || !strings.Contains(stdout, objs[0]["thumbprint"].(string)) {
		t.Errorf("list: %d %q", code, stdout)
	}
}

func TestPkiDefaultDirectory(t *testing.T) {
	def, err := defaultDataDir() // TestMain points it at a temporary directory
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := run("pki", "list")
	if code != exitOK || !strings.Contains(stdout, "no certificates in "+filepath.Join(def, "pki")) {
		t.Errorf("list: %d %q", code, stdout)
	}
	if st, err := os.Stat(filepath.Join(def, "pki", "trusted", "certs")); err != nil || !st.IsDir() {
		t.Errorf("default PKI directory not made: %v", err)
	}
}

func TestPkiTrustPinRejectRemove(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	der := serverCert(t, "Crusher 1")
	thumb := pki.Thumbprint(der)

	// The client meets an unknown server certificate: refused and kept in rejected/.
	var ue *pki.UntrustedError
	if err := presented(t, dir, "crusher1", der); !errors.As(err, &ue) {
		t.Fatalf("got %v", err)
	}
	code, stdout, _ := run("pki", "list", "--pki", dir)
	if code != exitOK || !strings.Contains(stdout, "rejected") || !strings.Contains(stdout, thumb) || !strings.Contains(stdout, "Crusher 1") {
		t.Errorf("list: %d %q", code, stdout)
	}

	// Trust it by a prefix, flags after the thumbprint, pinning the connection.
	code, stdout, stderr := run("pki", "trust", thumb[:12], "--connection", "crusher1", "--pki", dir)
	if code != exitOK || !strings.Contains(stdout, "trusted "+thumb) || !strings.Contains(stdout, `"crusher1" is now pinned`) {
		t.Fatalf("trust: %d %q %q", code, stdout, stderr)
	}
	if err := presented(t, dir, "crusher1", der); err != nil {
		t.Fatalf("after trust: %v", err)
	}
	code, stdout, _ = run("pki", "list", "--pki", dir, "--json")
	objs := jsonLines(t, stdout)
	if code != exitOK || len(objs) != 1 || objs[0]["state"] != "trusted" || fmt.Sprint(objs[0]["pinned"]) != "[crusher1]" {
		t.Errorf("list --json: %d %v", code, objs)
	}
	code, stdout, _ = run("pki", "list", "--pki", dir)
	if !strings.Contains(stdout, "PINNED TO") || !strings.Contains(stdout, "crusher1") {
		t.Errorf("list: %q", stdout)
	}

	// A new certificate on the pinned connection is refused loudly; trusting it re-pins.
	der2 := serverCert(t, "Crusher 1")
	thumb2 := pki.Thumbprint(der2)
	var pm *pki.PinMismatchError
	if err := presented(t, dir, "crusher1", der2); !errors.As(err, &pm) || !strings.Contains(err.Error(), "minebrain pki trust "+thumb2+" --connection crusher1") {
		t.Fatalf("got %v", err)
	}
	code, stdout, _ = run("pki", "trust", thumb2, "--pki", dir, "--connection", "crusher1", "--json")
	objs = jsonLines(t, stdout)
	if code != exitOK || len(objs) != 1 || objs[0]["thumbprint"] != thumb2 || fmt.Sprint(objs[0]["pinned"]) != "[crusher1]" {
		t.Fatalf("trust --json: %d %v", code, objs)
	}
	if err := presented(t, dir, "crusher1", der2); err != nil {
		t.Fatal(err)
	}

	// Reject the new one: the pin goes with it.
	code, stdout, _ = run("pki", "reject", thumb2[:10], "--pki", dir)
	if code != exitOK || !strings.Contains(stdout, "rejected "+thumb2) || !strings.Contains(stdout, "no longer pinned") {
		t.Errorf("reject: %d %q", code, stdout)
	}
	if err := presented(t, dir, "crusher1", der2); !errors.As(err, &ue) {
		t.Errorf("after reject: %v", err)
	}
	// Remove both.
	for _, th := range []string{thumb, thumb2} {
		if code, stdout, stderr := run("pki", "remove", th, "--pki", dir); code != exitOK || !strings.Contains(stdout, "removed "+th) {
			t.Errorf("remove: %d %q %q", code, stdout, stderr)
		}
	}
	code, stdout, _ = run("pki", "list", "--pki", dir)
	if code != exitOK || !strings.Contains(stdout, "no certificates") {
		t.Errorf("list after remove: %d %q", code, stdout)
	}
	if code, _, stderr := run("pki", "remove", thumb, "--pki", dir); code != exitError || !strings.Contains(stderr, "no certificate with thumbprint") {
		t.Errorf("remove again: %d %q", code, stderr)
	}
}

func TestPkiAmbiguousPrefix(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	seen := map[byte]string{}
	var prefix string
	for i := 0; prefix == ""; i++ {
		der := serverCert(t, fmt.Sprintf("unit %d", i))
		presented(t, dir, "", der)
		th := pki.Thumbprint(der)
		if _, ok := seen[th[0]]; ok {
			prefix = th[:1]
		}
		seen[th[0]] = th
	}
	code, _, stderr := run("pki", "trust", prefix, "--pki", dir)
	if code != exitError || !strings.Contains(stderr, "matches") || !strings.Contains(stderr, seen[prefix[0]]) {
		t.Errorf("ambiguous: %d %q", code, stderr)
	}
}
