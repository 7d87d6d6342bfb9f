package opcua

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"
)

// Security is how a connection is secured: the policy and mode of the secure channel, the user
// identity, the application's own certificate and the trust store that judges the server's.
// The zero value is policy None, mode None, anonymous.
type Security struct {
	// Policy is a short policy name (None, Basic256Sha256, Aes128_Sha256_RsaOaep,
	// Aes256_Sha256_RsaPss) or "best"; empty means None, unless Mode asks for security.
	Policy string
	// Mode is None, Sign, SignAndEncrypt or "best"; empty means None with policy None and
	// best otherwise.
	Mode string
	// Identity is the user the session activates as; the zero value is anonymous.
	Identity Identity
	// Certificate is the application instance certificate that signs and encrypts a secured
	// channel. Required for any policy but None.
	Certificate *AppCertificate
	// Trust judges the server's certificate before a secured channel is opened. Required for
	// any policy but None: gopcua does not validate server certificates itself.
	Trust TrustStore
	// TrustName is the connection name a trusted server certificate is pinned to.
	TrustName string
}

// Identity is a user identity token: anonymous, a user name with its password, or a user
// certificate with its key.
type Identity struct {
	Username, Password string
	CertificateDER     []byte
	Key                *rsa.PrivateKey
}

// Kind returns anonymous, username or certificate.
func (i Identity) Kind() string {
	switch {
	case i.Username != "":
		return "username"
	case len(i.CertificateDER) > 0:
		return "certificate"
	}
	return "anonymous"
}

func (i Identity) tokenType() ua.UserTokenType {
	switch i.Kind() {
	case "username":
		return ua.UserTokenTypeUserName
	case "certificate":
		return ua.UserTokenTypeCertificate
	}
	return ua.UserTokenTypeAnonymous
}

// AppCertificate is Minebrain's application instance certificate (app/pki makes it).
type AppCertificate struct {
	DER            []byte
	Key            *rsa.PrivateKey
	ApplicationURI string
}

// TrustStore checks a server certificate presented on a named connection. app/pki's Store is
// the real one: it refuses unknown certificates (keeping a copy for someone to trust) and
// certificates that differ from the one pinned to the connection.
type TrustStore interface {
	Check(conn string, der []byte, now time.Time) error
}

// The security policies Minebrain speaks, weakest first. Basic128Rsa15 and Basic256 are
// deprecated by the OPC Foundation (SHA-1) and deliberately left out.
var policyNames = []string{"None", "Aes128_Sha256_RsaOaep", "Basic256Sha256", "Aes256_Sha256_RsaPss"}

// modeNames are the message security modes, weakest first.
var modeNames = []string{"None", "Sign", "SignAndEncrypt"}

// PolicyNames returns the security policies Minebrain supports, weakest first.
func PolicyNames() []string { return slices.Clone(policyNames) }

// ModeNames returns the message security modes, weakest first.
func ModeNames() []string { return slices.Clone(modeNames) }

func policyRank(name string) int { return indexFold(policyNames, name) }
func modeRank(name string) int   { return indexFold(modeNames, name) }

func indexFold(list []string, s string) int {
	return slices.IndexFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// policy and mode return the normalised settings: a name from the lists above, or "best".
func (s Security) policy() string {
	switch {
	case strings.EqualFold(s.Policy, "best"):
		return "best"
	case s.Policy == "":
		if s.Mode == "" || strings.EqualFold(s.Mode, "None") {
			return "None"
		}
		return "best"
	}
	if i := policyRank(s.Policy); i >= 0 {
		return policyNames[i]
	}
	return s.Policy
}

func (s Security) mode() string {
	switch {
	case strings.EqualFold(s.Mode, "best"):
		return "best"
	case s.Mode == "":
		if s.policy() == "None" {
			return "None"
		}
		return "best"
	}
	if i := modeRank(s.Mode); i >= 0 {
		return modeNames[i]
	}
	return s.Mode
}

// validate checks the settings that can be checked without a server; with needPKI it also
// requires the certificate and trust store that secured settings need.
func (s Security) validate(needPKI bool) error {
	p, m := s.policy(), s.mode()
	if p != "best" && policyRank(p) < 0 {
		return fmt.Errorf("security policy %q is not supported; use one of %s or best", s.Policy, strings.Join(policyNames, ", "))
	}
	if m != "best" && modeRank(m) < 0 {
		return fmt.Errorf("security mode %q is not a mode; use one of %s or best", s.Mode, strings.Join(modeNames, ", "))
	}
	if (p == "None") != (m == "None") && p != "best" && m != "best" {
		return fmt.Errorf("security policy %s with mode %s: policy None goes only with mode None, and mode None only with policy None", p, m)
	}
	if needPKI && s.NeedsPKI() {
		if s.Certificate == nil || len(s.Certificate.DER) == 0 || s.Certificate.Key == nil {
			return errors.New("a secured connection or a login needs the application certificate (the PKI directory)")
		}
		if s.Trust == nil {
			return errors.New("a secured connection or a login needs a trust store to check the server certificate (the PKI directory)")
		}
	}
	if len(s.Identity.CertificateDER) > 0 && s.Identity.Key == nil {
		return errors.New("a user certificate needs its private key")
	}
	return nil
}

// Chosen describes the endpoint a session uses, for status displays.
type Chosen struct {
	Policy string // short policy name
	Mode   string // None, Sign or SignAndEncrypt
	Auth   string // anonymous, username or certificate
}

func (c Chosen) String() string {
	if c.Policy == "" {
		return ""
	}
	return c.Policy + " · " + c.Mode + " · " + c.Auth
}

// dialOptions asks the server for its endpoints, picks the one the settings call for, checks
// its certificate with the trust store (for secured policies and logins; pinned to
// TrustName) and returns the gopcua options that open exactly that endpoint.
func (s Security) dialOptions(ctx context.Context, endpoint string, timeout time.Duration) ([]opcua.Option, Chosen, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	eps, err := opcua.GetEndpoints(cctx, endpoint, opcua.DialTimeout(timeout), opcua.RequestTimeout(timeout))
	cancel()
	if err != nil {
		return nil, Chosen{}, fmt.Errorf("get endpoints of %s: %w", endpoint, err)
	}
	if len(eps) == 0 && !s.NeedsPKI() {
		// gopcua's server lists only endpoints whose URL matches the one asked for byte by
		// byte, so behind a proxy or NAT it lists none; None and anonymous need nothing from
		// the list.
		return []opcua.Option{
			opcua.SecurityPolicy(ua.SecurityPolicyURINone),
			opcua.SecurityMode(ua.MessageSecurityModeNone),
			opcua.AuthAnonymous(),
		}, Chosen{Policy: "None", Mode: "None", Auth: "anonymous"}, nil
	}
	ep, err := s.pick(eps)
	if err != nil {
		return nil, Chosen{}, err
	}
	chosen := Chosen{Policy: policyName(ep.SecurityPolicyURI), Mode: modeName(ep.SecurityMode), Auth: s.Identity.Kind()}

	secured := ep.SecurityPolicyURI != ua.SecurityPolicyURINone
	// A user name token is encrypted with the server certificate even on a None channel, so
	// that certificate must be trusted too before a password goes anywhere.
	if secured || s.Identity.Kind() != "anonymous" {
		if s.Trust == nil {
			return nil, chosen, fmt.Errorf("endpoint %s %s: no trust store to check the server certificate", chosen.Policy, chosen.Mode)
		}
		if err := s.Trust.Check(s.TrustName, ep.ServerCertificate, time.Now()); err != nil {
			return nil, chosen, err
		}
	}

	opts := []opcua.Option{}
	switch s.Identity.Kind() {
	case "username":
		opts = append(opts, opcua.AuthUsername(s.Identity.Username, s.Identity.Password))
	case "certificate":
		opts = append(opts, opcua.AuthCertificate(s.Identity.CertificateDER), opcua.AuthPrivateKey(s.Identity.Key))
	default:
		opts = append(opts, opcua.AuthAnonymous())
	}
	if s.Certificate != nil && len(s.Certificate.DER) > 0 {
		opts = append(opts,
			opcua.Certificate(s.Certificate.DER),
			opcua.PrivateKey(s.Certificate.Key),
			opcua.ApplicationURI(s.Certificate.ApplicationURI))
	}
	// Last, so the token's policy ID is the one this endpoint names.
	opts = append(opts, opcua.SecurityFromEndpoint(ep, s.Identity.tokenType()))
	return opts, chosen, nil
}

// pick returns the endpoint for the settings: an exact policy and mode, or for "best" the
// strongest Minebrain supports, always one that accepts the identity's token type.
func (s Security) pick(eps []*ua.EndpointDescription) (*ua.EndpointDescription, error) {
	wantP, wantM := s.policy(), s.mode()
	token := s.Identity.tokenType()
	var best *ua.EndpointDescription
	rank := func(e *ua.EndpointDescription) int {
		return modeRank(modeName(e.SecurityMode))*10 + policyRank(policyName(e.SecurityPolicyURI))
	}
	for _, e := range eps {
		p, m := policyName(e.SecurityPolicyURI), modeName(e.SecurityMode)
		if policyRank(p) < 0 || modeRank(m) < 0 {
			continue
		}
		if (wantP != "best" && p != wantP) || (wantM != "best" && m != wantM) {
			continue
		}
		if !slices.ContainsFunc(e.UserIdentityTokens, func(t *ua.UserTokenPolicy) bool { return t.TokenType == token }) {
			continue
		}
		if best == nil || rank(e) > rank(best) {
			best = e
		}
	}
	if best != nil {
		return best, nil
	}
	var offered []string
	for _, e := range eps {
		var toks []string
		for _, t := range e.UserIdentityTokens {
			toks = append(toks, tokenName(t.TokenType))
		}
		offered = append(offered, fmt.Sprintf("%s/%s (%s)", policyName(e.SecurityPolicyURI), modeName(e.SecurityMode), strings.Join(toks, ",")))
	}
	return nil, fmt.Errorf("the server offers no endpoint with policy %s, mode %s and %s login; it offers %s",
		wantP, wantM, s.Identity.Kind(), strings.Join(offered, ", "))
}

func modeName(m ua.MessageSecurityMode) string {
	return strings.TrimPrefix(m.String(), "MessageSecurityMode")
}

func tokenName(t ua.UserTokenType) string {
	switch t {
	case ua.UserTokenTypeAnonymous:
		return "anonymous"
	case ua.UserTokenTypeUserName:
		return "username"
	case ua.UserTokenTypeCertificate:
		return "certificate"
	case ua.UserTokenTypeIssuedToken:
		return "issued"
	}
	return fmt.Sprint(int(t))
}

// explainConnectError adds what an operator can do to the identity errors servers return on
// ActivateSession, which are otherwise bare status names.
func explainConnectError(s Security, err error) error {
	sc, ok := IsStatus(err)
	if !ok {
		return err
	}
	switch sc {
	case ua.StatusBadUserAccessDenied, ua.StatusBadIdentityTokenRejected, ua.StatusBadIdentityTokenInvalid:
		if s.Identity.Kind() == "username" {
			return fmt.Errorf("the server refused user %q (%s): check the user name and the password file or variable: %w", s.Identity.Username, StatusName(sc), err)
		}
		return fmt.Errorf("the server refused %s login (%s): %w", s.Identity.Kind(), StatusName(sc), err)
	case ua.StatusBadCertificateUntrusted, ua.StatusBadSecurityChecksFailed, ua.StatusBadCertificateInvalid:
		return fmt.Errorf("the server refused Minebrain's application certificate (%s): trust it on the server: %w", StatusName(sc), err)
	}
	return err
}
