package opcua

import (
	"context"
	"strings"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"
)

// EndpointInfo describes one endpoint a server offers.
type EndpointInfo struct {
	URL            string   `json:"url"`
	SecurityPolicy string   `json:"securityPolicy"` // short name: None, Basic256Sha256, …
	SecurityMode   string   `json:"securityMode"`   // None, Sign, SignAndEncrypt
	SecurityLevel  uint8    `json:"securityLevel"`
	UserTokens     []string `json:"userTokens"` // Anonymous, UserName, Certificate, IssuedToken
	ServerURI      string   `json:"serverUri,omitempty"`
	Certificate    bool     `json:"hasCertificate"`
}

// Endpoints asks the server at endpoint for its endpoints (GetEndpoints on an unsecured
// channel, as the specification allows).
func Endpoints(ctx context.Context, o ToolOptions) ([]EndpointInfo, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	eps, err := opcua.GetEndpoints(ctx, o.Endpoint, opcua.RequestTimeout(o.Timeout), opcua.DialTimeout(o.Timeout))
	if err != nil {
		return nil, statusErr("get endpoints from "+o.Endpoint, err)
	}
	out := make([]EndpointInfo, 0, len(eps))
	for _, e := range eps {
		info := EndpointInfo{
			URL:            e.EndpointURL,
			SecurityPolicy: policyName(e.SecurityPolicyURI),
			SecurityMode:   strings.TrimPrefix(e.SecurityMode.String(), "MessageSecurityMode"),
			SecurityLevel:  e.SecurityLevel,
			Certificate:    len(e.ServerCertificate) > 0,
			UserTokens:     []string{},
		}
		if e.Server != nil {
			info.ServerURI = e.Server.ApplicationURI
		}
		for _, t := range e.UserIdentityTokens {
			if t != nil {
				info.UserTokens = append(info.UserTokens, strings.TrimPrefix(t.TokenType.String(), "UserTokenType"))
			}
		}
		out = append(out, info)
	}
	return out, nil
}

// policyName returns the short name of a security policy URI.
func policyName(uri string) string {
	if uri == "" || uri == ua.SecurityPolicyURINone {
		return "None"
	}
	if i := strings.LastIndex(uri, "#"); i >= 0 {
		return uri[i+1:]
	}
	return uri
}
