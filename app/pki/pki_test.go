package pki

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// testKey is shared by the test certificates: RSA key generation is slow and the tests are
// about certificates, not keys.
var testKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

type certOpts struct {
	cn        string
	uri       string
	notBefore time.Time
	notAfter  time.Time
	ca        bool
	parent    *x509.Certificate // nil: self-signed
}

var serial int64

func makeCert(t *testing.T, o certOpts) (der []byte, cert *x509.Certificate) {
	t.Helper()
	if o.notBefore.IsZero() {
		o.notBefore = now.Add(-24 * time.Hour)
	}
	if o.notAfter.IsZero() {
		o.notAfter = now.Add(365 * 24 * time.Hour)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: o.cn, Organization: []string{"Test"}},
		NotBefore:             o.notBefore,
		NotAfter:              o.notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  o.ca,
	}
	if o.ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	if o.uri != "" {
		u, _ := url.Parse(o.uri)
		tmpl.URIs = []*url.URL{u}
	}
	parent := tmpl
	if o.parent != nil {
		parent = o.parent
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &testKey.PublicKey, testKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return der, c
}

func server(t *testing.T, cn string) []byte {
	der, _ := makeCert(t, certOpts{cn: cn, uri: "urn:test:" + cn})
	return der
}

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "pki"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func files(t *testing.T, s *Store, rel string) []string {
	t.Helper()
	des, err := os.ReadDir(s.path(rel))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range des {
		out = append(out, d.Name())
	}
	return out
}

func TestOpenMakesLayout(t *testing.T) {
	s := openStore(t)
	for _, d := range []string{"own/certs", "own/private", "trusted/certs", "trusted/crl", "rejected/certs", "issuers/certs", "issuers/crl"} {
		st, err := os.Stat(filepath.Join(s.Dir(), d))
		if err != nil || !st.IsDir() {
			t.Fatalf("%s: %v", d, err)
		}
		if st.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want 0700", d, st.Mode().Perm())
		}
	}
}

func TestOwnGeneratesAndReuses(t *testing.T) {
	s := openStore(t)
	uri := ApplicationURI()
	der, key, err := s.Own(uri, ApplicationName)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if key.N.BitLen() != 2048 {
		t.Errorf("key of %d bits", key.N.BitLen())
	}
	host := Hostname()
	if len(c.URIs) != 1 || c.URIs[0].String() != uri || uri != "urn:"+host+":minebrain" {
		t.Errorf("URIs %v, want %s", c.URIs, uri)
	}
	if c.Subject.CommonName != "Minebrain@"+host || len(c.Subject.Organization) != 1 || c.Subject.Organization[0] != "Minebrain" {
		t.Errorf("subject %s", c.Subject)
	}
	wantDNS := map[string]bool{host: true, "localhost": true}
	for _, d := range c.DNSNames {
		delete(wantDNS, d)
	}
	if len(wantDNS) != 0 {
		t.Errorf("DNS names %v lack %v", c.DNSNames, wantDNS)
	}
	if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil || c.Issuer.String() != c.Subject.String() {
		t.Errorf("not self-signed: %v", err)
	}
	if !c.BasicConstraintsValid || c.IsCA {
		t.Errorf("basic constraints valid=%v CA=%v, want present and false", c.BasicConstraintsValid, c.IsCA)
	}
	wantKU := x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment | x509.KeyUsageCertSign
	if c.KeyUsage != wantKU {
		t.Errorf("key usage %b, want %b", c.KeyUsage, wantKU)
	}
	if len(c.ExtKeyUsage) != 2 {
		t.Errorf("ext key usage %v", c.ExtKeyUsage)
	}
	if d := time.Since(c.NotBefore); d < 59*time.Minute || d > 2*time.Hour {
		t.Errorf("not before %v: want about an hour ago", c.NotBefore)
	}
	if y := c.NotAfter.Sub(c.NotBefore); y < 3650*24*time.Hour || y > 3653*24*time.Hour {
		t.Errorf("valid for %v, want 10 years", y)
	}
	st, err := os.Stat(filepath.Join(s.Dir(), OwnKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", st, err)
	}

	// A second Open of the same directory reuses the certificate and key.
	s2, err := Open(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	der2, key2, err := s2.Own(uri, ApplicationName)
	if err != nil {
		t.Fatal(err)
	}
	if string(der2) != string(der) || !key2.Equal(key) {
		t.Error("the certificate was made again")
	}

	// Another application URI is refused, naming the file and both URIs.
	_, _, err = s2.Own("urn:elsewhere:minebrain", ApplicationName)
	var mm *URIMismatchError
	if !errors.As(err, &mm) || !strings.Contains(err.Error(), OwnCertFile[len("own/certs/"):]) ||
		!strings.Contains(err.Error(), uri) || !strings.Contains(err.Error(), "urn:elsewhere:minebrain") {
		t.Errorf("got %v, want a URIMismatchError naming the file and both URIs", err)
	}
	if der3, _, _ := s2.Own(uri, ApplicationName); string(der3) != string(der) {
		t.Error("the mismatch replaced the certificate")
	}
	// No temporary files left behind.
	for _, rel := range []string{"own/certs", "own/private"} {
		if f := files(t, s, rel); len(f) != 1 {
			t.Errorf("%s holds %v", rel, f)
		}
	}
}

func TestOwnReadsPKCS1KeyAndRefusesOpenKey(t *testing.T) {
	s := openStore(t)
	der, key, err := s.Own("urn:x:minebrain", "Minebrain")
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(s.Dir(), OwnKeyFile)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(keyPath, pkcs1, 0o600); err != nil {
		t.Fatal(err)
	}
	der2, key2, err := s.Own("urn:x:minebrain", "Minebrain")
	if err != nil || string(der2) != string(der) || !key2.Equal(key) {
		t.Fatalf("PKCS#1 key: %v", err)
	}
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Own("urn:x:minebrain", "Minebrain"); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable key: got %v", err)
	}
	os.Remove(keyPath)
	if _, _, err := s.Own("urn:x:minebrain", "Minebrain"); err == nil || !strings.Contains(err.Error(), "no private key") {
		t.Errorf("missing key: got %v", err)
	}
}

func TestInfoOf(t *testing.T) {
	der := server(t, "PLC 1")
	in, err := InfoOf(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Thumbprint) != 40 || in.Thumbprint != strings.ToLower(in.Thumbprint) || in.Thumbprint != Thumbprint(der) {
		t.Errorf("thumbprint %q", in.Thumbprint)
	}
	if in.ApplicationURI != "urn:test:PLC 1" && in.ApplicationURI != "urn:test:PLC%201" {
		t.Errorf("URI %q", in.ApplicationURI)
	}
	if !strings.Contains(in.Subject, "CN=PLC 1") || in.CommonName != "PLC 1" {
		t.Errorf("subject %q", in.Subject)
	}
	if _, err := InfoOf([]byte("junk")); !errors.Is(err, ErrMalformed) {
		t.Errorf("junk: %v", err)
	}
}

func TestUntrustedThenTrustThenPin(t *testing.T) {
	s := openStore(t)
	der := server(t, "Shovel/PLC: 7")
	thumb := Thumbprint(der)

	err := s.Check("shovel7", der, now)
	var ue *UntrustedError
	if !errors.As(err, &ue) {
		t.Fatalf("got %v, want UntrustedError", err)
	}
	for _, want := range []string{"minebrain pki trust " + thumb, "--connection shovel7", "Connections page"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	want := "Shovel_PLC_ 7 [" + thumb + "].der"
	if f := files(t, s, dirRejected); len(f) != 1 || f[0] != want {
		t.Fatalf("rejected/ holds %v, want [%s]", f, want)
	}
	// Once only.
	if err := s.Check("shovel7", der, now); !errors.As(err, &ue) {
		t.Fatal(err)
	}
	if f := files(t, s, dirRejected); len(f) != 1 {
		t.Fatalf("rejected/ holds %v after a second check", f)
	}
	if len(s.Pins()) != 0 {
		t.Errorf("pinned an untrusted certificate: %v", s.Pins())
	}

	in, err := s.Trust(strings.ToUpper(thumb[:8]), "")
	if err != nil {
		t.Fatal(err)
	}
	if in.Thumbprint != thumb || in.State != StateTrusted {
		t.Errorf("trusted %+v", in)
	}
	if f := files(t, s, dirRejected); len(f) != 0 {
		t.Errorf("rejected/ still holds %v", f)
	}
	if f := files(t, s, dirTrustedCerts); len(f) != 1 || f[0] != want {
		t.Errorf("trusted/ holds %v", f)
	}
	// Trusting again is a no-op.
	if _, err := s.Trust(thumb, ""); err != nil {
		t.Errorf("trust again: %v", err)
	}
	if err := s.Check("shovel7", der, now); err != nil {
		t.Fatalf("check after trust: %v", err)
	}
	if p := s.Pins(); p["shovel7"] != thumb || len(p) != 1 {
		t.Errorf("pins %v", p)
	}
	data, err := os.ReadFile(filepath.Join(s.Dir(), "pins.json"))
	if err != nil || !strings.Contains(string(data), thumb) {
		t.Errorf("pins.json: %q %v", data, err)
	}
	// The pin survives reopening; the same certificate on another connection pins that one too.
	s2, _ := Open(s.Dir())
	if err := s2.Check("shovel7", der, now); err != nil {
		t.Error(err)
	}
	if err := s2.Check("shovel7-backup", der, now); err != nil || s2.Pins()["shovel7-backup"] != thumb {
		t.Error(err, s2.Pins())
	}
	// An empty connection name checks trust only.
	if err := s2.Check("", der, now); err != nil || len(s2.Pins()) != 2 {
		t.Error(err, s2.Pins())
	}
}

func TestPinMismatch(t *testing.T) {
	s := openStore(t)
	old, replacement := server(t, "PLC"), server(t, "PLC")
	oldT, newT := Thumbprint(old), Thumbprint(replacement)
	for _, der := range [][]byte{old, replacement} {
		s.Check("", der, now) // into rejected/
		if _, err := s.Trust(Thumbprint(der), ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Check("crusher", old, now); err != nil {
		t.Fatal(err)
	}
	// Both are trusted, but the connection is pinned to the old one.
	err := s.Check("crusher", replacement, now)
	var pm *PinMismatchError
	if !errors.As(err, &pm) {
		t.Fatalf("got %v, want PinMismatchError", err)
	}
	if pm.Conn != "crusher" || pm.Pinned != oldT || pm.Presented.Thumbprint != newT {
		t.Errorf("%+v", pm)
	}
	for _, want := range []string{`connection "crusher" changed`, "pinned " + oldT, newT, "minebrain pki trust " + newT + " --connection crusher"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if f := files(t, s, dirRejected); len(f) != 1 || !strings.Contains(f[0], newT) {
		t.Errorf("rejected/ holds %v", f)
	}
	if s.Pins()["crusher"] != oldT {
		t.Error("pin changed")
	}
	// An untrusted certificate on a pinned connection is a pin mismatch too.
	stranger := server(t, "stranger")
	if err := s.Check("crusher", stranger, now); !errors.As(err, &pm) {
		t.Errorf("stranger: %v", err)
	}

	// Trusting with --connection re-pins it.
	in, err := s.Trust(newT[:10], "crusher")
	if err != nil || in.State != StateTrusted {
		t.Fatal(in, err)
	}
	if s.Pins()["crusher"] != newT {
		t.Errorf("pins %v", s.Pins())
	}
	if err := s.Check("crusher", replacement, now); err != nil {
		t.Error(err)
	}
	if err := s.Check("crusher", old, now); !errors.As(err, &pm) {
		t.Errorf("old certificate after re-pin: %v", err)
	}
}

func TestValidity(t *testing.T) {
	s := openStore(t)
	expired, _ := makeCert(t, certOpts{cn: "old", notBefore: now.Add(-48 * time.Hour), notAfter: now.Add(-time.Hour)})
	future, _ := makeCert(t, certOpts{cn: "new", notBefore: now.Add(time.Hour), notAfter: now.Add(48 * time.Hour)})
	for _, der := range [][]byte{expired, future} {
		in, _ := InfoOf(der)
		if err := writeAtomic(filepath.Join(s.path(dirTrustedCerts), fileName(in)), der, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Check("c", expired, now)
	var ve *ValidityError
	if !errors.As(err, &ve) || !ve.Expired() || !strings.Contains(err.Error(), "has expired") ||
		!strings.Contains(err.Error(), now.Add(-time.Hour).Format("2006-01-02 15:04")) {
		t.Errorf("expired: %v", err)
	}
	err = s.Check("c", future, now)
	if !errors.As(err, &ve) || ve.Expired() || !strings.Contains(err.Error(), "not valid yet") {
		t.Errorf("future: %v", err)
	}
	if len(s.Pins()) != 0 || len(files(t, s, dirRejected)) != 0 {
		t.Errorf("pins %v, rejected/ %v", s.Pins(), files(t, s, dirRejected))
	}
	if err := s.Check("c", []byte{0x30, 0x03, 1, 2, 3}, now); !errors.Is(err, ErrMalformed) {
		t.Errorf("malformed: %v", err)
	}
}

func TestCASignedLeaf(t *testing.T) {
	s := openStore(t)
	caDER, ca := makeCert(t, certOpts{cn: "Mine CA", ca: true})
	leaf, _ := makeCert(t, certOpts{cn: "PLC 9", uri: "urn:plc9", parent: ca})
	otherCADER, otherCA := makeCert(t, certOpts{cn: "Other CA", ca: true})
	stray, _ := makeCert(t, certOpts{cn: "PLC X", parent: otherCA})

	// The CA among the issuers only: not enough.
	writeAtomic(filepath.Join(s.path(dirIssuerCerts), "ca.der"), caDER, 0o600)
	writeAtomic(filepath.Join(s.path(dirIssuerCerts), "other.der"), otherCADER, 0o600)
	var ue *UntrustedError
	if err := s.Check("plc9", leaf, now); !errors.As(err, &ue) {
		t.Fatalf("CA not trusted: %v", err)
	}
	s.Remove(Thumbprint(leaf))

	// Trusted: the leaf it signed is accepted without being in trusted/ itself.
	writeAtomic(filepath.Join(s.path(dirTrustedCerts), "ca.der"), caDER, 0o600)
	if err := s.Check("plc9", leaf, now); err != nil {
		t.Fatalf("CA-signed leaf: %v", err)
	}
	if s.Pins()["plc9"] != Thumbprint(leaf) {
		t.Errorf("pins %v", s.Pins())
	}
	if f := files(t, s, dirRejected); len(f) != 0 {
		t.Errorf("rejected/ holds %v", f)
	}
	// A leaf of an untrusted CA is refused.
	if err := s.Check("x", stray, now); !errors.As(err, &ue) {
		t.Errorf("leaf of an untrusted CA: %v", err)
	}
	// A leaf outside its CA's validity... the CA expires: refused with the reason.
	if err := s.Check("plc9", leaf, now.Add(2*365*24*time.Hour)); err == nil {
		t.Error("accepted after expiry")
	}

	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]int{}
	for _, in := range list {
		states[in.State]++
	}
	if states[StateIssuer] != 2 || states[StateTrusted] != 1 || states[StateRejected] != 1 {
		t.Errorf("list states %v", states)
	}
}

func TestAmbiguousPrefixRejectRemove(t *testing.T) {
	s := openStore(t)
	// Make certificates until two share a first hex digit.
	byFirst := map[byte][]byte{}
	var a, b []byte
	for i := 0; a == nil; i++ {
		der := server(t, fmt.Sprintf("srv%d", i))
		s.Check("", der, now)
		th := Thumbprint(der)
		if prev, ok := byFirst[th[0]]; ok {
			a, b = prev, der
		}
		byFirst[th[0]] = der
	}
	_, err := s.Trust(Thumbprint(a)[:1], "")
	var amb *AmbiguousError
	if !errors.As(err, &amb) || len(amb.Candidates) < 2 || !strings.Contains(err.Error(), Thumbprint(a)) || !strings.Contains(err.Error(), Thumbprint(b)) {
		t.Fatalf("got %v, want an AmbiguousError listing both", err)
	}
	if _, err := s.Trust("zz", ""); err == nil || !strings.Contains(err.Error(), "hexadecimal") {
		t.Errorf("non-hex: %v", err)
	}
	if _, err := s.Trust("", ""); err == nil {
		t.Error("empty prefix accepted")
	}
	if _, err := s.Trust(strings.Repeat("0", 40), ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}

	ta := Thumbprint(a)
	if _, err := s.Trust(ta, "line1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Check("line1", a, now); err != nil {
		t.Fatal(err)
	}
	in, err := s.Reject(ta)
	if err != nil || in.State != StateRejected {
		t.Fatal(in, err)
	}
	if _, ok := s.Pins()["line1"]; ok {
		t.Error("reject left the pin")
	}
	var ue *UntrustedError
	if err := s.Check("line1", a, now); !errors.As(err, &ue) {
		t.Errorf("after reject: %v", err)
	}
	for _, f := range files(t, s, dirTrustedCerts) {
		if strings.Contains(f, ta) {
			t.Error("still in trusted/")
		}
	}

	s.Trust(ta, "line1")
	if _, err := s.Remove(ta); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Pins()["line1"]; ok {
		t.Error("remove left the pin")
	}
	for _, rel := range []string{dirTrustedCerts, dirRejected} {
		for _, f := range files(t, s, rel) {
			if strings.Contains(f, ta) {
				t.Errorf("still in %s", rel)
			}
		}
	}
	if _, err := s.Remove(ta); !errors.Is(err, ErrNotFound) {
		t.Errorf("second remove: %v", err)
	}
	// The own certificate is out of reach of Remove.
	own, _, err := s.Own("urn:x:minebrain", "Minebrain")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove(Thumbprint(own)); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove own: %v", err)
	}
}

func TestConcurrentCheck(t *testing.T) {
	s := openStore(t)
	var ders [][]byte
	for i := 0; i < 4; i++ {
		der := server(t, fmt.Sprintf("unit%d", i))
		ders = append(ders, der)
		if i < 3 {
			s.Check("", der, now)
			s.Trust(Thumbprint(der), "")
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				conn := fmt.Sprintf("conn%d", g%3)
				der := ders[g%3]
				if err := s.Check(conn, der, now); err != nil {
					errs <- err
				}
				var ue *UntrustedError
				if err := s.Check("untrusted", ders[3], now); !errors.As(err, &ue) {
					errs <- fmt.Errorf("untrusted: %v", err)
				}
				s.Pins()
				if g == 0 && i == 5 {
					if _, err := s.List(); err != nil {
						errs <- err
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	p := s.Pins()
	if len(p) != 3 {
		t.Errorf("pins %v", p)
	}
	for i := 0; i < 3; i++ {
		if p[fmt.Sprintf("conn%d", i)] != Thumbprint(ders[i]) {
			t.Errorf("conn%d pinned to %s", i, p[fmt.Sprintf("conn%d", i)])
		}
	}
	if f := files(t, s, dirRejected); len(f) != 1 {
		t.Errorf("rejected/ holds %v", f)
	}
}
