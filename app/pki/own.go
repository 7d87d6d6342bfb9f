package pki

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"runtime"
	"time"
)

// Files of the application instance certificate, relative to the store.
const (
	OwnCertFile = "own/certs/minebrain.der"
	OwnKeyFile  = "own/private/minebrain.pem"
)

// ApplicationName is Minebrain's OPC UA application name.
const ApplicationName = "Minebrain"

// Organization is the O attribute of the certificates Minebrain makes.
const Organization = "Minebrain"

// ownValidity is how long a generated application instance certificate is valid.
const ownValidity = 10 * 365 * 24 * time.Hour

// Hostname is the host name certificates and URIs name: os.Hostname, or "localhost" when the
// system does not say.
func Hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

// ApplicationURI is Minebrain's OPC UA application URI on this host, urn:<hostname>:minebrain.
// The application instance certificate carries it and the OPC UA client must announce the
// same one.
func ApplicationURI() string {
	return "urn:" + Hostname() + ":minebrain"
}

// URIMismatchError is returned by Own when the existing certificate names another
// application URI than the one asked for (the host was renamed, or the store was copied from
// another machine). Minebrain does not replace it on its own: servers may trust it.
type URIMismatchError struct {
	File string // the certificate file
	Have string // the URI in the certificate
	Want string // the URI asked for
}

func (e *URIMismatchError) Error() string {
	return fmt.Sprintf("application certificate %s is for application URI %q, but this application is %q; "+
		"if the host was renamed, delete %s and its key so a new certificate is made (servers must then trust the new one)",
		e.File, e.Have, e.Want, e.File)
}

// Own returns the application instance certificate (DER) and its private key, making and
// saving them the first time: RSA 2048, self-signed, valid for 10 years, with appURI and the
// host name in the subject alternative name. An existing certificate for another application
// URI is a *URIMismatchError.
func (s *Store) Own(appURI, appName string) (certDER []byte, key *rsa.PrivateKey, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	certPath, keyPath := s.path(OwnCertFile), s.path(OwnKeyFile)
	der, err := os.ReadFile(certPath)
	switch {
	case err == nil:
		return s.loadOwn(certPath, keyPath, der, appURI)
	case !errors.Is(err, os.ErrNotExist):
		return nil, nil, fmt.Errorf("pki: %w", err)
	}
	// No certificate: make one. The key is written first and the certificate last, so a
	// certificate file always has its key; a key left without a certificate by a crash is
	// replaced here.
	der, key, err = generateOwn(appURI, appName, time.Now())
	if err != nil {
		return nil, nil, fmt.Errorf("pki: make the application certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	if err := writeAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		return nil, nil, fmt.Errorf("pki: write %s: %w", keyPath, err)
	}
	if err := writeAtomic(certPath, der, 0o644); err != nil {
		return nil, nil, fmt.Errorf("pki: write %s: %w", certPath, err)
	}
	return der, key, nil
}

func (s *Store) loadOwn(certPath, keyPath string, der []byte, appURI string) ([]byte, *rsa.PrivateKey, error) {
	der = pemOrDER(der)
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %s: %w: %v", certPath, ErrMalformed, err)
	}
	in := infoOf(c)
	if in.ApplicationURI != appURI {
		return nil, nil, &URIMismatchError{File: certPath, Have: in.ApplicationURI, Want: appURI}
	}
	st, err := os.Stat(keyPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("pki: %s has no private key %s; restore the key, or delete the certificate so a new one is made", certPath, keyPath)
		}
		return nil, nil, fmt.Errorf("pki: %w", err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, nil, fmt.Errorf("pki: private key %s is readable by others (mode %v); run chmod 600 on it", keyPath, st.Mode().Perm())
	}
	data, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %w", err)
	}
	key, err := parseKey(data)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %s: %w", keyPath, err)
	}
	pub, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, nil, fmt.Errorf("pki: private key %s does not belong to certificate %s", keyPath, certPath)
	}
	return der, key, nil
}

// parseKey reads an RSA private key from PEM, PKCS#1 ("RSA PRIVATE KEY") or PKCS#8
// ("PRIVATE KEY").
func parseKey(data []byte) (*rsa.PrivateKey, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a PKCS#1 or PKCS#8 private key: %v", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is %T, want RSA", k)
	}
	return rk, nil
}

// generateOwn makes a self-signed application instance certificate following the profile of
// OPC 10000-6 §6.2.2: subject CN and O, a URI in the subject alternative name equal to the
// application URI plus the host's DNS names, key usage digitalSignature, nonRepudiation,
// keyEncipherment, dataEncipherment and (self-signed) keyCertSign, extended key usage
// serverAuth and clientAuth, and basicConstraints present with cA false.
func generateOwn(appURI, appName string, now time.Time) ([]byte, *rsa.PrivateKey, error) {
	u, err := url.Parse(appURI)
	if err != nil || u.Scheme == "" {
		return nil, nil, fmt.Errorf("application URI %q is not a URI", appURI)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	serial.Add(serial, big.NewInt(1))
	host := Hostname()
	dns := []string{host}
	if host != "localhost" {
		dns = append(dns, "localhost")
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	ski := sha1.Sum(pubDER)
	name := pkix.Name{CommonName: appName + "@" + host, Organization: []string{Organization}}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      name,
		Issuer:       name,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(-time.Hour + ownValidity),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment |
			x509.KeyUsageDataEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
		URIs:                  []*url.URL{u},
		DNSNames:              dns,
		SubjectKeyId:          ski[:],
		AuthorityKeyId:        ski[:],
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	if _, err := x509.ParseCertificate(der); err != nil {
		return nil, nil, err
	}
	return der, key, nil
}
