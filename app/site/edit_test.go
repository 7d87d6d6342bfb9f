package site

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAddNodeKeepsTheFileAndValidates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "site.yaml")
	orig := `# North pit, commissioned 2026
site: North pit
connections:
  - name: plc
    endpoint: opc.tcp://127.0.0.1:4840
    security: {policy: None, mode: None}
    nodes:
      - node: ns=2;s=Pump1.Flow   # the main pump
        tag: Water.Pump1.Flow
`
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := AddNode(path, nil, "plc", "nsu=urn:x;s=Pump1.Speed", "Water.Pump1.Speed")
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Connections[0].Nodes; len(n) != 2 || n[1].Tag != "Water.Pump1.Speed" || n[1].Node != "nsu=urn:x;s=Pump1.Speed" {
		t.Fatalf("nodes after AddNode: %+v", n)
	}
	data, _ := os.ReadFile(path)
	for _, keep := range []string{"# North pit, commissioned 2026", "# the main pump", "Water.Pump1.Flow"} {
		if !strings.Contains(string(data), keep) {
			t.Errorf("the edited file lost %q:\n%s", keep, data)
		}
	}
	if bak, _ := os.ReadFile(path + ".bak"); string(bak) != orig {
		t.Errorf("backup = %q, want the original", bak)
	}
	if _, err := Load(path); err != nil {
		t.Fatalf("the edited file does not load: %v", err)
	}

	// A tag already used, a bad tag, an unknown connection: refused, the file unchanged.
	before, _ := os.ReadFile(path)
	for _, c := range []struct{ conn, node, tag, want string }{
		{"plc", "ns=2;s=X", "Water.Pump1.Flow", "Water.Pump1.Flow"},
		{"plc", "ns=2;s=X", "Water.Pump1", "tag"},
		{"plc", "ns=2;q=X", "Water.Pump1.X", "node"},
		{"scada", "ns=2;s=X", "Water.Pump1.X", `no connection named "scada"`},
	} {
		if _, err := AddNode(path, nil, c.conn, c.node, c.tag); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("AddNode(%q, %q, %q) = %v, want an error containing %q", c.conn, c.node, c.tag, err, c.want)
		}
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Errorf("a refused AddNode changed the file")
	}
}

func TestAddNodeSavesTheBuiltInSite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "site.yaml")
	s, err := AddNode(path, DefaultYAML(), "sim", "i=2258", "Server.Clock.CurrentTime")
	if err != nil {
		t.Fatal(err)
	}
	c := s.Connections[0]
	if !c.Embedded || c.Equipment == nil || len(c.Nodes) != 1 {
		t.Fatalf("saved site: %+v", c)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}
