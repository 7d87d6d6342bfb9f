package web

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"minebrain/app/engine"
	"minebrain/app/users"
)

// testCert writes a self-signed certificate for 127.0.0.1 and its key as PEM files in dir
// (named prefix.crt, prefix.key) and returns their paths and a pool that trusts it.
func testCert(t *testing.T, dir, prefix string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "minebrain test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, prefix+".crt"), filepath.Join(dir, prefix+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(leaf)
	return certFile, keyFile, pool
}

func TestTLSLoginAndWebSocket(t *testing.T) {
	certFile, keyFile, pool := testCert(t, t.TempDir(), "server")
	e := startEngine(t)
	s := newTestServer(t, e, Options{TLSCert: certFile, TLSKey: keyFile})
	base := "https://" + s.Addr()
	if s.URL() != base+"/" {
		t.Fatalf("URL %q, want %s/", s.URL(), base)
	}
	client := &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	// Public health, over HTTPS, with Strict-Transport-Security.
	res, err := client.Get(base + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Strict-Transport-Security") != hstsValue {
		t.Fatalf("health over HTTPS: %d, Strict-Transport-Security %q", res.StatusCode, res.Header.Get("Strict-Transport-Security"))
	}
	if res.TLS == nil || res.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("connection state %+v", res.TLS)
	}
	// TLS 1.1 is refused.
	old := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}}}
	if res, err := old.Get(base + "/api/health"); err == nil {
		res.Body.Close()
		t.Fatal("a TLS 1.1 client was served")
	}

	// Login sets a Secure cookie.
	addUser(t, e, "ana", users.Operator)
	b, _ := json.Marshal(credentials{"ana", testPassword})
	req, _ := http.NewRequest("POST", base+"/api/login", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", base)
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login over HTTPS: %d %s", res.StatusCode, body)
	}
	sc := sessionOf(t, res, body)
	if !sc.cookie.Secure || !sc.cookie.HttpOnly || sc.cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %q: want Secure, HttpOnly, SameSite=Strict", res.Header.Get("Set-Cookie"))
	}

	// The WebSocket over wss works with the session.
	cfg, err := websocket.NewConfig("wss://"+s.Addr()+"/ws?csrf="+url.QueryEscape(sc.csrf), base)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TlsConfig = &tls.Config{RootCAs: pool}
	cfg.Header.Set("Cookie", sc.cookie.String())
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		t.Fatalf("wss dial: %v", err)
	}
	defer ws.Close()
	ws.SetDeadline(time.Now().Add(10 * time.Second))
	if err := websocket.JSON.Send(ws, map[string]any{"id": 1, "method": "Status"}); err != nil {
		t.Fatal(err)
	}
	for {
		var m message
		if err := websocket.JSON.Receive(ws, &m); err != nil {
			t.Fatalf("wss receive: %v", err)
		}
		if m.ID == nil {
			continue // an event
		}
		var st engine.Status
		if *m.ID != 1 || m.Error != "" || json.Unmarshal(m.Result, &st) != nil || st.Now == 0 {
			t.Fatalf("Status over wss: %+v", m)
		}
		break
	}

	// Without the session the upgrade is refused, TLS or not.
	cfg.Header.Del("Cookie")
	if ws, err := websocket.DialConfig(cfg); err == nil {
		ws.Close()
		t.Fatal("wss without a session was accepted")
	}
}

func TestTLSRequiredOffLoopback(t *testing.T) {
	certFile, keyFile, _ := testCert(t, t.TempDir(), "server")
	e, _ := engine.New(engine.Config{Logger: quiet})
	for _, addr := range []string{"0.0.0.0:8080", ":8080", "192.0.2.7:8080"} {
		_, err := New(e, Options{Listen: addr, AllowRemote: true, Logger: quiet})
		if err == nil || !strings.Contains(err.Error(), "serving other machines needs TLS: give --tls-cert and --tls-key") {
			t.Errorf("New(%q, AllowRemote) without TLS = %v, want a refusal asking for TLS", addr, err)
		}
		// TLS without AllowRemote is still refused: reaching other machines stays deliberate.
		if _, err := New(e, Options{Listen: addr, TLSCert: certFile, TLSKey: keyFile, Logger: quiet}); err == nil || !strings.Contains(err.Error(), AllowRemoteFlag) {
			t.Errorf("New(%q, TLS) without AllowRemote = %v, want a refusal naming %s", addr, err, AllowRemoteFlag)
		}
		if _, err := New(e, Options{Listen: addr, AllowRemote: true, TLSCert: certFile, TLSKey: keyFile, Logger: quiet}); err != nil {
			t.Errorf("New(%q, AllowRemote, TLS) = %v", addr, err)
		}
	}
	// Loopback: plain HTTP by default, TLS when asked.
	s, err := New(e, Options{Listen: "127.0.0.1:0", TLSCert: certFile, TLSKey: keyFile, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if s.tls == nil || s.tls.MinVersion != tls.VersionTLS12 {
		t.Fatalf("TLS config %+v, want TLS 1.2 at least", s.tls)
	}
}

func TestTLSKeyPairChecked(t *testing.T) {
	dir := t.TempDir()
	certA, keyA, _ := testCert(t, dir, "a")
	_, keyB, _ := testCert(t, dir, "b")
	notPEM := filepath.Join(dir, "garbage.pem")
	os.WriteFile(notPEM, []byte("this is not a certificate\n"), 0o644)
	missing := filepath.Join(dir, "missing.crt")
	e, _ := engine.New(engine.Config{Logger: quiet})

	for _, c := range []struct {
		name, cert, key string
		want            []string
	}{
		{"key of another certificate", certA, keyB, []string{keyB, certA, "does not match the certificate"}},
		{"missing certificate", missing, keyA, []string{missing, "does not exist"}},
		{"missing key", certA, missing, []string{missing, "does not exist"}},
		{"certificate not PEM", notPEM, keyA, []string{notPEM, "not PEM"}},
		{"key not PEM", certA, notPEM, []string{notPEM, "not PEM"}},
		{"swapped", keyA, certA, []string{keyA, "swapped"}},
		{"certificate without key", certA, "", []string{TLSCertFlag, TLSKeyFlag}},
		{"key without certificate", "", keyA, []string{TLSCertFlag, TLSKeyFlag}},
	} {
		_, err := New(e, Options{Listen: "127.0.0.1:0", TLSCert: c.cert, TLSKey: c.key, Logger: quiet})
		if err == nil {
			t.Errorf("%s: New accepted it", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", c.name, err, w)
			}
		}
	}
}
