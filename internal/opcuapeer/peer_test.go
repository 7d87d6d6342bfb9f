package opcuapeer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"
)

// clientCert makes a self-signed application instance certificate for the client.
func clientCert(t *testing.T) ([]byte, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	uri, _ := url.Parse("urn:minebrain:test")
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "minebrain test client", Organization: []string{"minebrain"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{uri},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

// connect opens a session on the endpoint with the given policy (short name, e.g.
// "Basic256Sha256"), mode and token type.
func connect(t *testing.T, ctx context.Context, endpoint, policy string, mode ua.MessageSecurityMode, auth ua.UserTokenType) (*opcua.Client, error) {
	t.Helper()
	eps, err := opcua.GetEndpoints(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	var ep *ua.EndpointDescription
	for _, e := range eps {
		if e.SecurityPolicyURI == ua.SecurityPolicyURIPrefix+policy && e.SecurityMode == mode {
			ep = e
			break
		}
	}
	if ep == nil {
		t.Fatalf("no endpoint %s/%s", policy, mode)
	}
	opts := []opcua.Option{opcua.SecurityFromEndpoint(ep, auth), opcua.AutoReconnect(false)}
	if policy != "None" {
		cert, key := clientCert(t)
		opts = append(opts, opcua.Certificate(cert), opcua.PrivateKey(key), opcua.ApplicationURI("urn:minebrain:test"))
	}
	switch auth {
	case ua.UserTokenTypeAnonymous:
		opts = append(opts, opcua.AuthAnonymous())
	case ua.UserTokenTypeUserName:
		opts = append(opts, opcua.AuthUsername(User, Password))
	}
	c, err := opcua.NewClient(ep.EndpointURL, opts...)
	if err != nil {
		return nil, err
	}
	if err := c.Connect(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func readDouble(t *testing.T, ctx context.Context, c *opcua.Client, id string) float64 {
	t.Helper()
	ns, err := c.FindNamespace(ctx, NamespaceURI)
	if err != nil {
		t.Fatalf("namespace: %v", err)
	}
	res, err := c.Read(ctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{
		{NodeID: ua.NewStringNodeID(ns, id), AttributeID: ua.AttributeIDValue},
	}})
	if err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	dv := res.Results[0]
	if dv.Status != ua.StatusOK {
		t.Fatalf("read %s: %v", id, dv.Status)
	}
	v, ok := dv.Value.Value().(float64)
	if !ok {
		t.Fatalf("read %s: got %T", id, dv.Value.Value())
	}
	return v
}

func TestReadAcrossKill(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := Start(t, Options{})
	cert1, err := p.CertificateDER()
	if err != nil {
		t.Fatal(err)
	}

	c, err := connect(t, ctx, p.Endpoint(), "None", ua.MessageSecurityModeNone, ua.UserTokenTypeAnonymous)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("FlowM3h = %v", readDouble(t, ctx, c, "Plant.Pump1.FlowM3h"))
	_ = c.Close(ctx)

	p.Stop(syscall.SIGKILL)
	p.Restart(t, Options{})
	c, err = connect(t, ctx, p.Endpoint(), "None", ua.MessageSecurityModeNone, ua.UserTokenTypeAnonymous)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	t.Logf("FlowM3h after restart = %v", readDouble(t, ctx, c, "Plant.Pump1.FlowM3h"))

	cert2, err := p.CertificateDER()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cert1, cert2) {
		t.Error("the server certificate changed across a restart with the same PKI")
	}
}

func TestNewCert(t *testing.T) {
	p := Start(t, Options{OnlySecure: true})
	cert1, err := p.CertificateDER()
	if err != nil {
		t.Fatal(err)
	}
	p.Restart(t, Options{OnlySecure: true, NewCert: true})
	cert2, err := p.CertificateDER()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(cert1, cert2) {
		t.Error("NewCert kept the old certificate")
	}
}

func TestSecureUsername(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := Start(t, Options{OnlySecure: true, NoAnonymous: true})
	c, err := connect(t, ctx, p.Endpoint(), "Basic256Sha256", ua.MessageSecurityModeSignAndEncrypt, ua.UserTokenTypeUserName)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	readDouble(t, ctx, c, "Plant.Pump1.FlowM3h")

	// the method sums its two arguments
	ns, err := c.FindNamespace(ctx, NamespaceURI)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Call(ctx, &ua.CallMethodRequest{
		ObjectID:       ua.NewStringNodeID(ns, "Plant.Pump1"),
		MethodID:       ua.NewStringNodeID(ns, "Plant.Pump1.Add"),
		InputArguments: []*ua.Variant{ua.MustVariant(2.5), ua.MustVariant(4.0)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != ua.StatusOK || len(res.OutputArguments) != 1 || res.OutputArguments[0].Value() != 6.5 {
		t.Fatalf("Add(2.5, 4) = %v %v", res.StatusCode, res.OutputArguments)
	}

	// anonymous sessions are refused with --no-anonymous
	if c2, err := connect(t, ctx, p.Endpoint(), "Basic256Sha256", ua.MessageSecurityModeSignAndEncrypt, ua.UserTokenTypeAnonymous); err == nil {
		_ = c2.Close(ctx)
		t.Error("anonymous session accepted with NoAnonymous")
	}
}

// TestSecurityMatrix connects with every policy × mode × token combination the peer
// offers, so a gopcua/node-opcua incompatibility shows up by name.
func TestSecurityMatrix(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	p := Start(t, Options{})
	type combo struct {
		policy string
		mode   ua.MessageSecurityMode
	}
	combos := []combo{{"None", ua.MessageSecurityModeNone}}
	for _, pol := range []string{"Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"} {
		combos = append(combos, combo{pol, ua.MessageSecurityModeSign}, combo{pol, ua.MessageSecurityModeSignAndEncrypt})
	}
	for _, cb := range combos {
		for _, auth := range []ua.UserTokenType{ua.UserTokenTypeAnonymous, ua.UserTokenTypeUserName} {
			t.Run(cb.policy+"/"+cb.mode.String()+"/"+auth.String(), func(t *testing.T) {
				c, err := connect(t, ctx, p.Endpoint(), cb.policy, cb.mode, auth)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close(ctx)
				readDouble(t, ctx, c, "Plant.Pump2.PressureBar")
			})
		}
	}
}

func TestOmitAndWrite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := Start(t, Options{})
	p.Restart(t, Options{Omit: []string{"Plant.Pump2.PressureBar"}})
	c, err := connect(t, ctx, p.Endpoint(), "None", ua.MessageSecurityModeNone, ua.UserTokenTypeAnonymous)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	ns, err := c.FindNamespace(ctx, NamespaceURI)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Read(ctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{
		{NodeID: ua.NewStringNodeID(ns, "Plant.Pump2.PressureBar"), AttributeID: ua.AttributeIDValue},
		{NodeID: ua.NewStringNodeID(ns, "Plant.Pump2.FlowM3h"), AttributeID: ua.AttributeIDValue},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Results[0].Status != ua.StatusBadNodeIDUnknown || res.Results[1].Status != ua.StatusOK {
		t.Fatalf("omitted/kept: %v %v", res.Results[0].Status, res.Results[1].Status)
	}

	w, err := c.Write(ctx, &ua.WriteRequest{NodesToWrite: []*ua.WriteValue{{
		NodeID:      ua.NewStringNodeID(ns, "Plant.Pump1.SpeedSP"),
		AttributeID: ua.AttributeIDValue,
		Value:       &ua.DataValue{EncodingMask: ua.DataValueValue, Value: ua.MustVariant(75.0)},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if w.Results[0] != ua.StatusOK {
		t.Fatalf("write SpeedSP: %v", w.Results[0])
	}
	if v := readDouble(t, ctx, c, "Plant.Pump1.SpeedSP"); v != 75 {
		t.Fatalf("SpeedSP = %v after writing 75", v)
	}
}
