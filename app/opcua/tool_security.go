package opcua

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// SecurityFlags are the security settings of the command line, as typed.
type SecurityFlags struct {
	Policy       string // None, Basic256Sha256, Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss, best
	Mode         string // None, Sign, SignAndEncrypt, best
	User         string // username token; empty for anonymous
	PasswordFile string // file holding the user's password
	Cert, Key    string // user certificate and its private key (certificate token)
	PKI          string // PKI directory (own/, trusted/, rejected/, issuers/)
}

// Security returns the policy, mode and identity the flags ask for. The application
// certificate and trust store come from the PKI directory, which the caller opens.
func (f SecurityFlags) Security() (Security, error) {
	s := Security{Policy: f.Policy, Mode: f.Mode}
	switch {
	case f.User != "" && f.PasswordFile == "":
		return s, errors.New("--user needs --password-file (a password is never taken on the command line)")
	case f.User == "" && f.PasswordFile != "":
		return s, errors.New("--password-file needs --user")
	case f.User != "" && f.Cert != "":
		return s, errors.New("--user and --cert are two different logins; give one")
	case (f.Cert == "") != (f.Key == ""):
		return s, errors.New("--cert and --key go together")
	}
	if f.User != "" {
		pw, err := ReadPasswordFile(f.PasswordFile)
		if err != nil {
			return s, err
		}
		s.Identity = Identity{Username: f.User, Password: pw}
	}
	if f.Cert != "" {
		der, key, err := LoadCertificateAndKey(f.Cert, f.Key)
		if err != nil {
			return s, err
		}
		s.Identity = Identity{CertificateDER: der, Key: key}
	}
	// The certificate and trust store come from the caller; validate the rest now.
	return s, s.validate(false)
}

// NeedsPKI reports whether the settings need the application certificate and a trust store:
// any policy but None, or a login whose secret is encrypted with the server certificate.
func (s Security) NeedsPKI() bool {
	return s.policy() != "None" || s.mode() != "None" || s.Identity.Kind() != "anonymous"
}

// ReadPasswordFile returns the first line of a password file, without its line ending.
func ReadPasswordFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimSuffix(pw, "\r")
	if pw == "" {
		return "", fmt.Errorf("password file %s is empty", path)
	}
	return pw, nil
}

// LoadCertificateAndKey reads a certificate (DER or PEM) and its RSA private key (PEM,
// PKCS #1 or #8).
func LoadCertificateAndKey(certFile, keyFile string) ([]byte, *rsa.PrivateKey, error) {
	cb, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("certificate: %w", err)
	}
	if blk, _ := pem.Decode(cb); blk != nil {
		cb = blk.Bytes
	}
	if _, err := x509.ParseCertificate(cb); err != nil {
		return nil, nil, fmt.Errorf("certificate %s: %w", certFile, err)
	}
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("private key: %w", err)
	}
	blk, _ := pem.Decode(kb)
	if blk == nil {
		return nil, nil, fmt.Errorf("private key %s: not PEM", keyFile)
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return cb, k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("private key %s: %w", keyFile, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("private key %s: not an RSA key (OPC UA needs RSA)", keyFile)
	}
	return cb, rk, nil
}
