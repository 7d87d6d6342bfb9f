package pki

import (
	"crypto/x509"
	"fmt"
	"strings"
	"time"
)

// ValidityError is returned by Check for a certificate used outside its validity period.
type ValidityError struct {
	Info Info
	Now  time.Time
}

// Expired tells an expired certificate from one not valid yet.
func (e *ValidityError) Expired() bool { return e.Now.After(e.Info.NotAfter) }

func (e *ValidityError) Error() string {
	const layout = "2006-01-02 15:04:05Z07:00"
	what := "has expired"
	if !e.Expired() {
		what = "is not valid yet"
	}
	return fmt.Sprintf("server certificate %s %s: valid from %s to %s, now %s",
		e.Info.Name(), what, e.Info.NotBefore.UTC().Format(layout), e.Info.NotAfter.UTC().Format(layout), e.Now.UTC().Format(layout))
}

// UntrustedError is returned by Check for a certificate that is neither in trusted/ nor
// issued by a trusted CA. A copy is kept in rejected/ for someone to trust.
type UntrustedError struct {
	Info Info   // the presented certificate; File is its copy in rejected/
	Conn string // the connection it was presented on
	Why  string // why a chain to a trusted CA did not verify, if there was one to try
}

func (e *UntrustedError) Error() string {
	msg := fmt.Sprintf("server certificate %s", e.Info.Name())
	if e.Conn != "" {
		msg += fmt.Sprintf(" presented on connection %q", e.Conn)
	}
	msg += " is not trusted"
	if e.Why != "" {
		msg += " (" + e.Why + ")"
	}
	if e.Info.File != "" {
		msg += "; a copy is in " + e.Info.File
	}
	cmd := "minebrain pki trust " + e.Info.Thumbprint
	if e.Conn != "" {
		cmd += " --connection " + quoteArg(e.Conn)
	}
	return msg + fmt.Sprintf("; if it is the right server, trust it with `%s` or on the Connections page", cmd)
}

// PinMismatchError is returned by Check when a connection presents another certificate than
// the one pinned to it, even a trusted one: the server was replaced, re-keyed, or something
// sits between Minebrain and it. A copy of the presented certificate is kept in rejected/.
type PinMismatchError struct {
	Conn      string // the connection
	Pinned    string // thumbprint of the pinned certificate
	Presented Info   // the presented certificate
}

func (e *PinMismatchError) Error() string {
	return fmt.Sprintf("server certificate for connection %q changed: pinned %s, presented %s; "+
		"refusing to connect; if this change is expected, trust the new certificate with "+
		"`minebrain pki trust %s --connection %s`",
		e.Conn, e.Pinned, e.Presented.Name(), e.Presented.Thumbprint, quoteArg(e.Conn))
}

// quoteArg quotes a command-line argument for a POSIX shell when it needs it.
func quoteArg(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '/' || r == ':') {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	if s == "" {
		return "''"
	}
	return s
}

// Check decides whether to accept the server certificate der presented on connection conn
// (a connection name of the site file) at time now. It returns nil to accept, or:
//
//   - an error wrapping ErrMalformed for data that is not a certificate;
//   - *ValidityError for a certificate expired or not valid yet;
//   - *PinMismatchError when conn is pinned to another certificate (the presented one is
//     copied to rejected/);
//   - *UntrustedError when the certificate is neither in trusted/ nor issued, through
//     issuers/ and trusted/, by a CA in trusted/ (it is copied to rejected/).
//
// The first certificate accepted for conn is pinned to it in pins.json. An empty conn is
// checked against the trust list only and never pinned.
func (s *Store) Check(conn string, der []byte, now time.Time) error {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("pki: server certificate on connection %q: %w: %v", conn, ErrMalformed, err)
	}
	in := infoOf(c)
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return &ValidityError{Info: in, Now: now}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var pins map[string]string
	if conn != "" {
		if pins, err = s.readPins(); err != nil {
			return err
		}
		if p, ok := pins[conn]; ok && p != in.Thumbprint {
			if in.File, err = s.put(dirRejected, der, in); err != nil {
				return fmt.Errorf("pki: keep the rejected certificate: %w", err)
			}
			in.State = StateRejected
			return &PinMismatchError{Conn: conn, Pinned: p, Presented: in}
		}
	}
	ok, why, err := s.trusted(c, in.Thumbprint, now)
	if err != nil {
		return err
	}
	if !ok {
		if in.File, err = s.put(dirRejected, der, in); err != nil {
			return fmt.Errorf("pki: keep the rejected certificate: %w", err)
		}
		in.State = StateRejected
		return &UntrustedError{Info: in, Conn: conn, Why: why}
	}
	if conn != "" && pins[conn] == "" {
		pins[conn] = in.Thumbprint
		if err := s.writePins(pins); err != nil {
			return fmt.Errorf("pki: pin the certificate of connection %q: %w", conn, err)
		}
	}
	return nil
}

// trusted reports whether c is in trusted/ or chains, through issuers/ and trusted/, to a CA
// in trusted/. why says why a chain that could be tried did not verify.
func (s *Store) trusted(c *x509.Certificate, thumb string, now time.Time) (ok bool, why string, err error) {
	trusted, err := s.readDir(dirTrustedCerts, StateTrusted)
	if err != nil {
		return false, "", err
	}
	roots := x509.NewCertPool()
	nroots := 0
	for _, e := range trusted {
		if e.info.Thumbprint == thumb {
			return true, "", nil
		}
		if e.cert.IsCA {
			roots.AddCert(e.cert)
			nroots++
		}
	}
	if nroots == 0 {
		return false, "", nil
	}
	issuers, err := s.readDir(dirIssuerCerts, StateIssuer)
	if err != nil {
		return false, "", err
	}
	inter := x509.NewCertPool()
	for _, e := range issuers {
		inter.AddCert(e.cert)
	}
	_, verr := c.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if verr == nil {
		return true, "", nil
	}
	if _, unknown := verr.(x509.UnknownAuthorityError); unknown {
		return false, "", nil
	}
	return false, verr.Error(), nil
}
