// Package pki is Minebrain's public-key infrastructure for OPC UA: the application instance
// certificate Minebrain presents to servers, the trust store that decides which server
// certificates it accepts, and the pins that tie each configured connection to one server
// certificate. It uses the directory layout common to OPC UA stacks (own/, trusted/,
// rejected/, issuers/) so that an integrator can manage it with the tools they know, and it
// uses the standard library's crypto only.
package pki

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Certificate states, as reported in Info.State.
const (
	StateOwn      = "own"
	StateTrusted  = "trusted"
	StateRejected = "rejected"
	StateIssuer   = "issuer"
)

// Directories of a store, relative to its root.
const (
	dirOwnCerts     = "own/certs"
	dirOwnPrivate   = "own/private"
	dirTrustedCerts = "trusted/certs"
	dirTrustedCRL   = "trusted/crl"
	dirRejected     = "rejected/certs"
	dirIssuerCerts  = "issuers/certs"
	dirIssuerCRL    = "issuers/crl"
	pinsFile        = "pins.json"
)

// Store is a PKI directory. Its methods are safe for concurrent use by the goroutines of one
// process; every file it writes is written whole (a temporary file renamed into place).
type Store struct {
	dir string
	mu  sync.Mutex
}

// Open opens the PKI directory dir, creating it and its subdirectories (mode 0700) if they are
// missing.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("pki: no directory given")
	}
	for _, d := range []string{dirOwnCerts, dirOwnPrivate, dirTrustedCerts, dirTrustedCRL, dirRejected, dirIssuerCerts, dirIssuerCRL} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(d)), 0o700); err != nil {
			return nil, fmt.Errorf("pki: create %s: %w", dir, err)
		}
	}
	return &Store{dir: dir}, nil
}

// Dir is the store's root directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(rel string) string { return filepath.Join(s.dir, filepath.FromSlash(rel)) }

// Info describes a certificate.
type Info struct {
	Thumbprint     string    // SHA-1 of the DER encoding, lowercase hex, as OPC UA identifies certificates
	Subject        string    // distinguished name of the subject
	Issuer         string    // distinguished name of the issuer
	NotBefore      time.Time // start of validity
	NotAfter       time.Time // end of validity
	ApplicationURI string    // the URI in the subject alternative name
	DNSNames       []string  // the DNS names in the subject alternative name
	State          string    // StateOwn, StateTrusted, StateRejected or StateIssuer; empty when not in a store
	File           string    // the file it was read from; empty when not from a file
	CommonName     string    // the subject's common name
}

// ErrMalformed is wrapped by errors about data that is not a DER X.509 certificate.
var ErrMalformed = errors.New("not a DER-encoded X.509 certificate")

// Thumbprint is the OPC UA thumbprint of a DER certificate: SHA-1, lowercase hex.
func Thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	return hex.EncodeToString(sum[:])
}

// InfoOf describes the DER certificate der.
func InfoOf(der []byte) (Info, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return Info{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return infoOf(c), nil
}

func infoOf(c *x509.Certificate) Info {
	in := Info{
		Thumbprint: Thumbprint(c.Raw),
		Subject:    c.Subject.String(),
		Issuer:     c.Issuer.String(),
		NotBefore:  c.NotBefore,
		NotAfter:   c.NotAfter,
		DNSNames:   append([]string(nil), c.DNSNames...),
		CommonName: c.Subject.CommonName,
	}
	if len(c.URIs) > 0 {
		in.ApplicationURI = c.URIs[0].String()
	}
	return in
}

// Name is how a certificate is named in messages: its common name (or subject) and thumbprint.
func (i Info) Name() string {
	n := i.CommonName
	if n == "" {
		n = i.Subject
	}
	if n == "" {
		return "[" + i.Thumbprint + "]"
	}
	return fmt.Sprintf("%q [%s]", n, i.Thumbprint)
}

// fileName is the conventional file name of a certificate in trusted/, rejected/ and issuers/:
// "<common name> [<thumbprint>].der", the common name reduced to characters safe in any file
// system.
func fileName(in Info) string {
	var b strings.Builder
	for _, r := range in.CommonName {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(" .-_@()", r):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 64 {
			break
		}
	}
	name := strings.Trim(b.String(), " .")
	if name == "" {
		name = "certificate"
	}
	return name + " [" + in.Thumbprint + "].der"
}

// entry is a certificate file found in a directory of the store.
type entry struct {
	info Info
	cert *x509.Certificate
	der  []byte
}

// readDir reads the certificates in directory rel (files ending in .der, .cer or .crt; DER,
// or PEM for the latter two), skipping files that do not parse.
func (s *Store) readDir(rel, state string) ([]entry, error) {
	dir := s.path(rel)
	des, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []entry
	for _, de := range des {
		name := de.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if de.IsDir() || strings.HasPrefix(name, ".") || (ext != ".der" && ext != ".cer" && ext != ".crt" && ext != ".pem") {
			continue
		}
		p := filepath.Join(dir, name)
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		der := pemOrDER(data)
		c, err := x509.ParseCertificate(der)
		if err != nil {
			continue // not a certificate: someone else's file; leave it alone
		}
		in := infoOf(c)
		in.State, in.File = state, p
		out = append(out, entry{info: in, cert: c, der: der})
	}
	return out, nil
}

// find returns the entries of dir rel whose thumbprint is thumb.
func (s *Store) find(rel, state, thumb string) ([]entry, error) {
	es, err := s.readDir(rel, state)
	if err != nil {
		return nil, err
	}
	var out []entry
	for _, e := range es {
		if e.info.Thumbprint == thumb {
			out = append(out, e)
		}
	}
	return out, nil
}

// put writes der into directory rel under its conventional name unless a certificate with the
// same thumbprint is there already, and returns the file.
func (s *Store) put(rel string, der []byte, in Info) (string, error) {
	have, err := s.find(rel, "", in.Thumbprint)
	if err != nil {
		return "", err
	}
	if len(have) > 0 {
		return have[0].info.File, nil
	}
	p := filepath.Join(s.path(rel), fileName(in))
	return p, writeAtomic(p, der, 0o600)
}

// remove deletes every file of directory rel holding the certificate thumb.
func (s *Store) remove(rel, thumb string) error {
	es, err := s.find(rel, "", thumb)
	if err != nil {
		return err
	}
	for _, e := range es {
		if err := os.Remove(e.info.File); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// List returns every certificate of the store: the own certificate, then the trusted, the
// rejected and the issuer certificates, each group sorted by common name and thumbprint.
func (s *Store) List() ([]Info, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Info
	for _, d := range []struct{ rel, state string }{
		{dirOwnCerts, StateOwn}, {dirTrustedCerts, StateTrusted}, {dirRejected, StateRejected}, {dirIssuerCerts, StateIssuer},
	} {
		es, err := s.readDir(d.rel, d.state)
		if err != nil {
			return nil, err
		}
		sort.Slice(es, func(i, j int) bool {
			a, b := es[i].info, es[j].info
			if a.CommonName != b.CommonName {
				return a.CommonName < b.CommonName
			}
			return a.Thumbprint < b.Thumbprint
		})
		for _, e := range es {
			out = append(out, e.info)
		}
	}
	return out, nil
}
