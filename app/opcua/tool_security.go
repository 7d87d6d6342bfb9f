package opcua

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotSupported marks a security setting that the integrator tools do not implement yet.
var ErrNotSupported = errors.New("not supported yet")

// SecurityFlags are the security settings of the command line, as typed. Only policy None,
// mode None and anonymous are implemented; the PKI work turns the rest into a Security.
type SecurityFlags struct {
	Policy       string // None, Basic256Sha256, Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss
	Mode         string // None, Sign, SignAndEncrypt
	User         string // username token; empty for anonymous
	PasswordFile string // file holding the user's password
	Cert, Key    string // user or application certificate and private key
	PKI          string // PKI directory (own/, trusted/, rejected/, issuers/)
}

// Security returns the Security for the flags, or an error wrapping ErrNotSupported that names
// the first setting not implemented yet.
func (f SecurityFlags) Security() (Security, error) {
	switch strings.ToLower(f.Policy) {
	case "", "none":
	default:
		return Security{}, fmt.Errorf("security policy %q: %w (only None)", f.Policy, ErrNotSupported)
	}
	switch strings.ToLower(f.Mode) {
	case "", "none":
	default:
		return Security{}, fmt.Errorf("security mode %q: %w (only None)", f.Mode, ErrNotSupported)
	}
	for _, s := range []struct{ flag, val string }{
		{"--user", f.User}, {"--password-file", f.PasswordFile},
		{"--cert", f.Cert}, {"--key", f.Key}, {"--pki", f.PKI},
	} {
		if s.val != "" {
			return Security{}, fmt.Errorf("%s: %w (only anonymous without certificates)", s.flag, ErrNotSupported)
		}
	}
	return Security{Mode: SecurityNone}, nil
}
