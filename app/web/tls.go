package web

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
)

// The command-line flags that set Options.TLSCert and Options.TLSKey; errors name them.
const (
	TLSCertFlag = "--tls-cert"
	TLSKeyFlag  = "--tls-key"
)

// hstsValue is the Strict-Transport-Security header sent over TLS: a year.
const hstsValue = "max-age=31536000"

// loadKeyPair reads and checks the PEM certificate (chain) and private key, so that a wrong
// file stops `minebrain serve` at start rather than at the first connection. Every error
// names the file and what is wrong with it.
func loadKeyPair(certFile, keyFile string, log *slog.Logger) (tls.Certificate, error) {
	certPEM, err := readPEMFile("certificate", certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := readPEMFile("key", keyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	if !hasPEMBlock(certPEM, func(t string) bool { return t == "CERTIFICATE" }) {
		hint := ""
		if hasPEMBlock(certPEM, isKeyBlock) {
			hint = " (it holds a private key: are the certificate and key swapped?)"
		}
		return tls.Certificate{}, fmt.Errorf("web: TLS certificate %s: no PEM CERTIFICATE block%s", certFile, hint)
	}
	if !hasPEMBlock(keyPEM, isKeyBlock) {
		hint := ""
		if hasPEMBlock(keyPEM, func(t string) bool { return t == "CERTIFICATE" }) {
			hint = " (it holds a certificate: are the certificate and key swapped?)"
		}
		return tls.Certificate{}, fmt.Errorf("web: TLS key %s: no PEM PRIVATE KEY block%s", keyFile, hint)
	}
	// Parse the certificate first, so that X509KeyPair's errors are all about the key.
	leaf, err := firstCertificate(certPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("web: TLS certificate %s: %w", certFile, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		if strings.Contains(err.Error(), "does not match") {
			return tls.Certificate{}, fmt.Errorf("web: TLS key %s does not match the certificate %s", keyFile, certFile)
		}
		return tls.Certificate{}, fmt.Errorf("web: TLS key %s: %w", keyFile, err)
	}
	// Warn about a certificate browsers will refuse, but serve anyway: the operator may be
	// about to replace it.
	now := time.Now()
	switch {
	case now.After(leaf.NotAfter):
		log.Warn("web: the TLS certificate has expired; browsers will refuse it", "cert", certFile, "not_after", leaf.NotAfter)
	case now.Before(leaf.NotBefore):
		log.Warn("web: the TLS certificate is not valid yet; browsers will refuse it", "cert", certFile, "not_before", leaf.NotBefore)
	}
	return cert, nil
}

// firstCertificate parses the first CERTIFICATE block of b: the server's own certificate.
func firstCertificate(b []byte) (*x509.Certificate, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("no PEM CERTIFICATE block")
		}
		if blk.Type == "CERTIFICATE" {
			return x509.ParseCertificate(blk.Bytes)
		}
	}
}

// readPEMFile reads a certificate or key file, with an error that names it.
func readPEMFile(what, name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("web: TLS %s file %s does not exist", what, name)
	case err != nil:
		return nil, fmt.Errorf("web: TLS %s file %s: %w", what, name, err)
	}
	if !hasPEMBlock(b, func(string) bool { return true }) {
		return nil, fmt.Errorf("web: TLS %s file %s is not PEM (no -----BEGIN ...----- block)", what, name)
	}
	return b, nil
}

// hasPEMBlock reports whether b holds a PEM block whose type satisfies ok.
func hasPEMBlock(b []byte, ok func(string) bool) bool {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return false
		}
		if ok(blk.Type) {
			return true
		}
	}
}

func isKeyBlock(t string) bool { return t == "PRIVATE KEY" || strings.HasSuffix(t, " PRIVATE KEY") }

// tlsConfig is the server's TLS configuration: TLS 1.2 at least, HTTP/1.1 only (the
// WebSocket upgrade is an HTTP/1.1 mechanism).
func tlsConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"http/1.1"},
	}
}

// hsts adds Strict-Transport-Security to every response: a browser that has seen the server
// over TLS never tries plain HTTP to it again.
func hsts(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", hstsValue)
		h.ServeHTTP(w, r)
	})
}
