package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"minebrain/app/pki"
	"minebrain/app/site"
	"minebrain/internal/opcuapeer"
)

// TestSiteWithTwoConnections runs a site file with the embedded simulator and a second,
// separate simulator read through browse rules and explicit nodes: both connections show in
// Status, their equipment merges into one model, and a node the server does not have is
// reported without silencing the rest.
func TestSiteWithTwoConnections(t *testing.T) {
	second, err := startSimOn("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	yaml := fmt.Sprintf(`site: Two servers
connections:
  - name: sim
    endpoint: embedded
    security: {policy: None, mode: None}
    equipment: {namespace: urn:minebrain:sim, root: Mine}
  - name: plant
    endpoint: %s
    security: {policy: None, mode: None}
    browse:
      - under: Objects/Mine/Water
        match: "P*/*"
        area: Dewatering
    nodes:
      - node: nsu=urn:minebrain:sim;s=Power.SS1.TariffPeriod
        tag: Tariff.SS1.Period
      - node: nsu=urn:minebrain:sim;s=Power.SS1.NoSuchSignal
        tag: Tariff.SS1.Missing
`, second.EndpointURL())
	s, err := site.Parse("two.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	e := startEngine(t, Config{Site: s})
	waitFor(t, 15*time.Second, "both connections connected", func() bool {
		st := e.Status()
		return len(st.Connections) == 2 && st.Connections[0].State == "connected" && st.Connections[1].State == "connected"
	})
	waitFor(t, 10*time.Second, "the second connection's areas in the model", func() bool {
		return findSignal(e.Model(), "Tariff.SS1.Period") != nil
	})
	m := e.Model()
	if m.Site != "Two servers" {
		t.Errorf("site name %q", m.Site)
	}
	var dewatering *Area
	for i, a := range m.Areas {
		if a.Name == "Dewatering" {
			dewatering = &m.Areas[i]
		}
	}
	if dewatering == nil || len(dewatering.Units) == 0 {
		t.Fatalf("no Dewatering area from the browse rule: %v", areaNames(m))
	}
	for _, u := range dewatering.Units {
		if !strings.HasPrefix(u.Name, "P") || len(u.Signals) == 0 {
			t.Errorf("browse rule P*/* gave unit %s with %d signals", u.Name, len(u.Signals))
		}
	}
	plant := e.Status().Connections[1]
	if plant.Name != "plant" || plant.Security != "None · None · anonymous" {
		t.Errorf("plant status %+v", plant)
	}
	if len(plant.Problems) != 1 || !strings.Contains(plant.Problems[0], "Tariff.SS1.Missing") {
		t.Errorf("problems %q, want the missing node named", plant.Problems)
	}
	waitFor(t, 10*time.Second, "the tariff value and the missing node's Bad status", func() bool {
		vals := valuesByTag(e.Snapshot())
		_, ok := vals["Tariff.SS1.Period"]
		return ok && badTag(e.Snapshot(), "Tariff.SS1.Missing")
	})
}

func badTag(vals []TagValue, tag string) bool {
	for _, v := range vals {
		if v.Tag == tag {
			return v.Quality>>30 == 2
		}
	}
	return false
}

func areaNames(m Model) []string {
	var out []string
	for _, a := range m.Areas {
		out = append(out, a.Name)
	}
	return out
}

// TestBrowseAndAddNode browses the embedded simulator through the engine and adds a node:
// the built-in site is saved as a site file with the node, and its values arrive.
func TestBrowseAndAddNode(t *testing.T) {
	savePath := filepath.Join(t.TempDir(), "site.yaml")
	e := startEngine(t, Config{SiteSavePath: savePath})
	objects, err := e.Browse("sim", "")
	if err != nil {
		t.Fatal(err)
	}
	var mine string
	for _, n := range objects {
		if n.Depth == 1 && n.BrowseName == "Mine" {
			mine = n.NodeID
		}
	}
	if mine == "" {
		t.Fatalf("no Mine under Objects: %+v", objects)
	}
	areas, err := e.Browse("sim", mine)
	if err != nil || len(areas) < 7 {
		t.Fatalf("Browse(Mine) = %d nodes, %v", len(areas), err)
	}
	if _, err := e.Browse("nope", ""); err == nil {
		t.Error("Browse of an unknown connection succeeded")
	}
	if _, err := e.Browse("sim", "ns=2;q=bad"); err == nil || !strings.Contains(err.Error(), "invalid NodeId") {
		t.Errorf("Browse of a bad NodeId: %v", err)
	}

	if err := e.AddNode(engineer, "sim", "i=2258", "Server.Clock"); err == nil {
		t.Error("AddNode with a two-part tag succeeded")
	}
	if _, err := os.Stat(savePath); !os.IsNotExist(err) {
		t.Errorf("a refused AddNode saved the site: %v", err)
	}
	if err := e.AddNode(engineer, "sim", "i=2258", "Server.Clock.CurrentTime"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the added node's value", func() bool {
		_, ok := valuesByTag(e.Snapshot())["Server.Clock.CurrentTime"]
		return ok && findSignal(e.Model(), "Server.Clock.CurrentTime") != nil
	})
	if findSignal(e.Model(), "Pit.SH01.HoistCurrentA") == nil {
		t.Error("the equipment tree is gone after adding a node")
	}
	s, err := site.Load(savePath)
	if err != nil {
		t.Fatalf("the saved site does not load: %v", err)
	}
	if n := s.Connections[0].Nodes; len(n) != 1 || n[0].Tag != "Server.Clock.CurrentTime" {
		t.Errorf("saved nodes %+v", n)
	}
}

// TestCertificatePromptAndTrust: a secured connection to a server whose certificate is
// unknown shows the prompt in Status; TrustCertificate connects it at once.
func TestCertificatePromptAndTrust(t *testing.T) {
	peer := opcuapeer.Start(t, opcuapeer.Options{})
	dir := t.TempDir()
	pw := filepath.Join(dir, "operator.pass")
	if err := os.WriteFile(pw, []byte(opcuapeer.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`site: Secured plant
connections:
  - name: plant
    endpoint: %s
    security: {policy: Basic256Sha256, mode: SignAndEncrypt}
    auth: {username: %s, passwordFile: %s}
    browse:
      - under: Objects/Plant
        match: "*/*"
`, peer.Endpoint(), opcuapeer.User, pw)
	s, err := site.Parse(filepath.Join(dir, "site.yaml"), []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	e := startEngine(t, Config{Site: s, PKIDir: filepath.Join(dir, "pki"), ReconnectMax: 30 * time.Second})
	var prompt *CertificatePrompt
	waitFor(t, 20*time.Second, "the certificate prompt", func() bool {
		prompt = e.Status().Connections[0].Certificate
		return prompt != nil
	})
	der, _ := peer.CertificateDER()
	if prompt.Reason != "untrusted" || prompt.Thumbprint != pki.Thumbprint(der) || prompt.NotAfter <= prompt.NotBefore || prompt.Subject == "" {
		t.Fatalf("prompt %+v", prompt)
	}
	if err := e.TrustCertificate(engineer, "plant", "0000"); err == nil {
		t.Error("trusting a thumbprint that is not there succeeded")
	}
	asked := time.Now()
	if err := e.TrustCertificate(engineer, "plant", prompt.Thumbprint); err != nil {
		t.Fatal(err)
	}
	// The reconnect wait may have grown long; trusting retries at once.
	waitFor(t, 10*time.Second, "connected after trusting", func() bool {
		c := e.Status().Connections[0]
		return c.State == "connected" && c.Certificate == nil && c.Items == 12
	})
	t.Logf("connected %v after the trust", time.Since(asked).Round(time.Millisecond))
	if got := e.Status().Connections[0].Security; got != "Basic256Sha256 · SignAndEncrypt · username" {
		t.Errorf("security %q", got)
	}
}
