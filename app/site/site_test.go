package site

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"minebrain/app/alarms"
	"minebrain/app/control"
	"minebrain/app/users"
)

func ptr[T any](v T) *T { return &v }

func TestDefault(t *testing.T) {
	s := Default()
	if s.Name != "Simulated mine" || s.File != DefaultFile || len(s.Connections) != 1 {
		t.Fatalf("Default() = %+v", s)
	}
	c := s.Connections[0]
	if c.Name != "sim" || !c.Embedded || c.Endpoint != "embedded" {
		t.Errorf("connection = %+v", c)
	}
	if c.Security.Policy != None || c.Security.Mode != None || !c.Auth.Anonymous() {
		t.Errorf("security/auth = %+v %+v", c.Security, c.Auth)
	}
	if c.Equipment == nil || c.Equipment.Namespace != "urn:minebrain:sim" || c.Equipment.Root != "Mine" {
		t.Errorf("equipment = %+v", c.Equipment)
	}
	if c.PublishInterval != 250*time.Millisecond || c.SamplingInterval != 250*time.Millisecond || c.StaleAfter != 5*time.Second {
		t.Errorf("intervals = %v %v %v", c.PublishInterval, c.SamplingInterval, c.StaleAfter)
	}
	if c.Pos.Line != 5 || c.Pos.Path != "connections[0]" {
		t.Errorf("pos = %+v", c.Pos)
	}
	// Each call is a fresh copy.
	Default().Connections[0].Name = "changed"
	if Default().Connections[0].Name != "sim" {
		t.Error("Default shares its result between calls")
	}
}

func TestDefaultFor(t *testing.T) {
	s, err := DefaultFor("opc.tcp://10.0.0.5:4840")
	if err != nil {
		t.Fatal(err)
	}
	c := s.Connections[0]
	if s.Name != "opc.tcp://10.0.0.5:4840" || c.Endpoint != "opc.tcp://10.0.0.5:4840" || c.Embedded || c.Name != "opcua" || c.Equipment == nil {
		t.Errorf("DefaultFor = %+v / %+v", s, c)
	}
	if s, err := DefaultFor("embedded"); err != nil || !s.Connections[0].Embedded {
		t.Errorf("DefaultFor(embedded) = %+v, %v", s, err)
	}
	_, err = DefaultFor("http://x:80")
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "--endpoint: ") || !strings.Contains(err.Error(), "scheme http is not supported") {
		t.Errorf("DefaultFor(http) err = %v", err)
	}
}

func TestFull(t *testing.T) {
	s, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pos := func(line, col int, path string) Pos {
		return Pos{File: "testdata/full.yaml", Line: line, Col: col, Path: path}
	}
	want := &Site{
		Name: "North Pit",
		File: "testdata/full.yaml",
		Pos:  pos(2, 7, "site"),
		Connections: []Connection{
			{
				Name: "sim", Endpoint: "embedded", Embedded: true,
				Security:        Security{Policy: None, Mode: None, Pos: pos(8, 7, "connections[0].security")},
				PublishInterval: 250 * time.Millisecond, SamplingInterval: 250 * time.Millisecond, StaleAfter: 5 * time.Second,
				Equipment: &Equipment{Namespace: "urn:minebrain:sim", Root: "Mine", Pos: pos(14, 7, "connections[0].equipment")},
				Pos:       pos(5, 5, "connections[0]"),
			},
			{
				Name: "plant-plc", Endpoint: "opc.tcp://10.20.0.15:4840/plant",
				Security: Security{Policy: PolicyBasic256Sha256, Mode: ModeSignAndEncrypt, Pos: pos(21, 7, "connections[1].security")},
				Auth: Auth{Username: "operator", PasswordFile: "/etc/minebrain/plant-plc.pass",
					Pos: pos(24, 7, "connections[1].auth"), PasswordPos: pos(25, 21, "connections[1].auth.passwordFile")},
				PublishInterval: 500 * time.Millisecond, SamplingInterval: 100 * time.Millisecond, StaleAfter: 10 * time.Second,
				Browse: []BrowseRule{
					{Under: "Objects/Plant", Match: "*/*", Area: "Plant", Deadband: Deadband{DeadbandAbsolute, 0.5}, Pos: pos(30, 9, "connections[1].browse[0]"),
						under: []string{"Objects", "Plant"}, match: []string{"*", "*"}},
					{Under: "Objects/Plant/Water", Match: "Pump*/**", Area: "Water", Deadband: Deadband{DeadbandPercent, 2}, Pos: pos(34, 9, "connections[1].browse[1]"),
						under: []string{"Objects", "Plant", "Water"}, match: []string{"Pump*", "**"}},
				},
				Nodes: []NodeRule{
					{Node: "nsu=urn:minebrain:testpeer;s=Plant.Pump1.FlowM3h", Tag: "Plant.Pump1.FlowM3h", Deadband: Deadband{DeadbandPercent, 1}, Pos: pos(38, 9, "connections[1].nodes[0]")},
					{Node: "ns=3;i=1042", Tag: "Plant.Pump1.PressureBar", Deadband: Deadband{DeadbandAbsolute, 0.05}, Pos: pos(41, 9, "connections[1].nodes[1]")},
					{Node: "i=2258", Tag: "Plant.Server.CurrentTime", Pos: pos(44, 9, "connections[1].nodes[2]")},
				},
				Pos: pos(18, 5, "connections[1]"),
			},
			{
				Name: "power", Endpoint: "opc.tcp://gateway.site.local:48010",
				Security: Security{Policy: Best, Mode: Best, Pos: pos(51, 7, "connections[2].security")},
				Auth: Auth{Certificate: filepath.Join("testdata", "certs", "minebrain-user.der"), Key: filepath.Join("testdata", "certs", "minebrain-user.pem"),
					Pos: pos(54, 7, "connections[2].auth")},
				PublishInterval: 250 * time.Millisecond, SamplingInterval: 250 * time.Millisecond, StaleAfter: 5 * time.Second,
				Nodes: []NodeRule{
					{Node: "ns=2;g=72962b91-fa75-4ae6-8d28-b404dc7daf63", Tag: "Power.Sub1.LoadKW", Pos: pos(57, 9, "connections[2].nodes[0]")},
					{Node: "ns=2;b=M/RbKBsRVkePCePcx24oRA==", Tag: "Power.Sub1.Breaker", Pos: pos(59, 9, "connections[2].nodes[1]")},
				},
				Pos: pos(48, 5, "connections[2]"),
			},
		},
		Alarms: []alarms.Definition{
			{ID: "Pump1.PressureHI", Tag: "Plant.Pump1.PressureBar", Area: "Water", Unit: "P1", Priority: alarms.High, Kind: alarms.HI,
				Message: "Pump 1 discharge pressure high", Limit: 12.5, Deadband: 0.2, OnDelay: 5 * time.Second, OffDelay: 10 * time.Second,
				SuppressWhen: &alarms.Condition{Tag: "Plant.Pump1.RunState", Op: alarms.Ne, Value: 1}, Latched: true},
			{ID: "Pump1.Trip", Tag: "Plant.Pump1.RunState", Area: "Plant", Unit: "Pump1", Priority: alarms.Critical, Kind: alarms.Discrete,
				Message: "Plant.Pump1.RunState == 2", Limit: 2, Op: alarms.Eq},
			{ID: "Pump1.FlowRate", Tag: "Plant.Pump1.FlowM3h", Area: "Plant", Unit: "Pump1", Priority: alarms.Medium, Kind: alarms.Rate,
				Message: "Plant.Pump1.FlowM3h changing fast", Limit: 2, Window: 30 * time.Second},
			{ID: "Pump1.FlowBad", Tag: "Plant.Pump1.FlowM3h", Area: "Plant", Unit: "Pump1", Priority: alarms.Low, Kind: alarms.BadQuality,
				Message: "Plant.Pump1.FlowM3h bad quality", StaleAfter: time.Minute},
		},
		AlarmPos: []Pos{pos(64, 5, "alarms[0]"), pos(77, 5, "alarms[1]"), pos(78, 5, "alarms[2]"), pos(79, 5, "alarms[3]")},
		Control: control.Config{
			ConfirmTimeout: 20 * time.Second, ReadBackTimeout: 10 * time.Second,
			Setpoints: []control.Setpoint{{Tag: "Plant.Pump1.SpeedSP", Min: ptr(30.0), Max: ptr(100.0), MaxRate: 5, Role: users.Engineer}},
			Interlocks: []control.Interlock{{Unit: "Plant.Pump1", Command: control.Start, Message: "Pump 1 needs water in Tank 1 and its suction valve open",
				Require: control.Expr{Any: [][]alarms.Condition{{{Tag: "Plant.Tank1.LevelPct", Op: alarms.Gt, Value: 10}, {Tag: "Plant.Valve1.Open", Op: alarms.Eq, Value: 1}}}}}},
		},
		SetpointPos:  []Pos{pos(86, 7, "control.setpoints[0]")},
		InterlockPos: []Pos{pos(92, 7, "control.interlocks[0]")},
	}
	if !reflect.DeepEqual(s, want) {
		for i := range max(len(s.Connections), len(want.Connections)) {
			if i < len(s.Connections) && i < len(want.Connections) && !reflect.DeepEqual(s.Connections[i], want.Connections[i]) {
				t.Errorf("connection %d:\n got %+v\nwant %+v", i, s.Connections[i], want.Connections[i])
			}
		}
		t.Fatalf("Load(full.yaml):\n got %+v\nwant %+v", s, want)
	}
	if got := s.Connections[1].Browse[1].UnderPath(); !reflect.DeepEqual(got, []string{"Objects", "Plant", "Water"}) {
		t.Errorf("UnderPath = %q", got)
	}
}

func TestDefaults(t *testing.T) {
	s, err := Parse("site.yaml", []byte(`
site: "  Padded  "
connections:
  - name: slow
    endpoint: opc.tcp://h:4840
    publishInterval: 5s
    equipment:
  - name: sec
    endpoint: opc.tcp://h:4841
    security: {mode: None}
    browse:
      - under: Objects
        area: All
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "Padded" {
		t.Errorf("name %q", s.Name)
	}
	a, b := s.Connections[0], s.Connections[1]
	if a.StaleAfter != 10*time.Second || a.SamplingInterval != 5*time.Second {
		t.Errorf("slow: stale %v sampling %v; want 10s and 5s", a.StaleAfter, a.SamplingInterval)
	}
	if a.Security.Policy != Best || a.Security.Mode != Best {
		t.Errorf("default security = %+v", a.Security)
	}
	if a.Equipment == nil || a.Equipment.Namespace != DefaultEquipmentNamespace || a.Equipment.Root != DefaultEquipmentRoot {
		t.Errorf("empty equipment = %+v", a.Equipment)
	}
	if b.Security.Policy != None || b.Security.Mode != None {
		t.Errorf("mode None alone: %+v", b.Security)
	}
	if r := b.Browse[0]; r.Match != "**" || r.Area != "All" || r.Deadband.Kind != "" {
		t.Errorf("browse defaults = %+v", r)
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		pattern string
		path    string
		want    bool
	}{
		{"*/*", "Pump1/Flow", true},
		{"*/*", "Pump1", false},
		{"*/*", "Area/Pump1/Flow", false},
		{"Pump*/*", "Pump1/Flow", true},
		{"Pump*/*", "Fan1/Flow", false},
		{"Pump?/Flow*", "Pump1/FlowM3h", true},
		{"Pump?/Flow*", "Pump12/FlowM3h", false},
		{"**", "a/b/c", true},
		{"**/Flow", "Flow", true},
		{"**/Flow", "a/b/Flow", true},
		{"**/Flow", "a/b/Flowx", false},
		{"a/**/z", "a/z", true},
		{"a/**/z", "a/b/c/z", true},
		{"a/**/z", "a/b/c", false},
		{"*", "Ünïcode", true},
		{"?nïcode", "Ünïcode", true},
		{"[x]", "[x]", true},
	}
	for _, tt := range tests {
		segs, msg := compileMatch(tt.pattern)
		if msg != "" {
			t.Fatalf("compileMatch(%q): %s", tt.pattern, msg)
		}
		r := BrowseRule{match: segs}
		if got := r.Matches(strings.Split(tt.path, "/")); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

func TestNodeID(t *testing.T) {
	good := []string{"i=2258", "ns=2;s=Plant.Pump1.Flow", "ns=0;i=0", "ns=65535;i=4294967295", "nsu=urn:x:y;s=a;b",
		"s=x", "ns=2;g=72962B91-FA75-4AE6-8D28-B404DC7DAF63", "ns=1;b=AQID", "nsu=http://opcfoundation.org/UA/;i=85"}
	for _, s := range good {
		if msg := checkNodeID(s); msg != "" {
			t.Errorf("checkNodeID(%q) = %s", s, msg)
		}
	}
	bad := map[string]string{
		"2258":              "is not a NodeId",
		"ns=2":              "must be followed by ;",
		"ns=70000;i=1":      "not a number from 0 to 65535",
		"ns=-1;i=1":         "not a number from 0 to 65535",
		"nsu=;s=x":          "namespace URI is empty",
		"nsu=urn:x":         "must be followed by ;",
		"i=abc":             "is not a number",
		"i=4294967296":      "is not a number",
		"ns=2;s=":           "is empty",
		"ns=2;g=1234":       "is not a GUID",
		"ns=2;b=@@":         "is not base64",
		"ns=2;x=1":          `identifier type "x"`,
		"ns=2;Plant.Pump1":  "is not a NodeId",
		"ns=2:s=Plant.Pump": "ns=<index> must be followed by ;",
	}
	for s, want := range bad {
		if msg := checkNodeID(s); !strings.Contains(msg, want) {
			t.Errorf("checkNodeID(%q) = %q, want it to contain %q", s, msg, want)
		}
	}
}

// errorCases are site files with one problem each: the line of the error must start with
// want (file:line:col: path:) and contain frag.
var errorCases = []struct {
	name, yaml, want, frag string
}{
	{"syntax", "site: x\nconnections: [\n", "site.yaml:2: ", "YAML syntax: did not find expected node content"},
	{"tabs", "site: x\nconnections:\n\t- name: a\n", "site.yaml:3: ", "indent with spaces"},
	{"empty file", "", "site.yaml: ", "the file is empty"},
	{"comments only", "# nothing\n", "site.yaml: ", "the file is empty"},
	{"not a mapping", "- a\n- b\n", "site.yaml:1:1: ", "expected a mapping with site: and connections:, got a list"},
	{"two documents", "site: x\nconnections: [{name: a, endpoint: embedded, equipment: {}}]\n---\nsite: y\n", "site.yaml:3:1: ", "a second YAML document"},
	{"missing site", "connections: [{name: a, endpoint: embedded, equipment: {}}]\n", "site.yaml:1:1: site: ", "missing; add site:"},
	{"missing connections", "site: x\n", "site.yaml:1:1: connections: ", "missing"},
	{"empty connections", "site: x\nconnections: []\n", "site.yaml:2:1: connections: ", "is empty; a site needs at least one connection"},
	{"null connections", "site: x\nconnections:\n", "site.yaml:2:1: connections: ", "is empty"},
	{"connections not a list", "site: x\nconnections:\n  sim: {endpoint: embedded}\n", "site.yaml:3:3: connections: ", "expected a list"},
	{"connection not a mapping", "site: x\nconnections:\n  - sim\n", "site.yaml:3:5: connections[0]: ", "expected a connection"},
	{"unknown top-level key", "site: x\ncolour: red\nconnections: [{name: a, endpoint: embedded, equipment: {}}]\n", "site.yaml:2:1: colour: ", "unknown key; valid keys here: site, connections, history, alarms, control"},
	{"typo alarms", "site: x\nalarm: []\nconnections: [{name: a, endpoint: embedded, equipment: {}}]\n", "site.yaml:2:1: alarm: ", "unknown key; did you mean alarms?"},
	{"typo top-level key", "sites: x\nconnections: [{name: a, endpoint: embedded, equipment: {}}]\n", "site.yaml:1:1: sites: ", "did you mean site?"},
	{"site is a list", "site: [a]\nconnections: [{name: a, endpoint: embedded, equipment: {}}]\n", "site.yaml:1:7: site: ", "expected a value, got a list"},
	{"site empty", "site: \"\"\nconnections: [{name: a, endpoint: embedded, equipment: {}}]\n", "site.yaml:1:7: site: ", "is empty"},
	{"duplicate top-level key", "site: x\nsite: y\nconnections: [{name: a, endpoint: embedded, equipment: {}}]\n", "site.yaml:2:1: site: ", "duplicate key (first at line 1)"},
	{"merge key", "site: x\nbase: &b {endpoint: embedded}\nconnections:\n  - <<: *b\n    name: a\n    equipment: {}\n", "site.yaml:4:5: connections[0]: ", "merge keys (<<) are not supported"},
	{"typo connection key", conn("    publishIntervall: 1s\n"), "site.yaml:6:5: connections[0].publishIntervall: ", "unknown key; did you mean publishInterval?"},
	{"typo case", conn("    staleafter: 1s\n"), "site.yaml:6:5: connections[0].staleafter: ", "did you mean staleAfter?"},
	{"typo far", conn("    colour: red\n"), "site.yaml:6:5: connections[0].colour: ", "unknown key; valid keys here: name, endpoint"},
	{"duplicate connection key", conn("    endpoint: embedded\n"), "site.yaml:6:5: connections[0].endpoint: ", "duplicate key (first at line 4)"},
	{"missing name", "site: x\nconnections:\n  - endpoint: embedded\n    equipment: {}\n", "site.yaml:3:5: connections[0].name: ", "missing"},
	{"bad name", "site: x\nconnections:\n  - name: plant plc\n    endpoint: embedded\n    equipment: {}\n", "site.yaml:3:11: connections[0].name: ", `"plant plc" is not a connection name; use letters, digits, _ and - only`},
	{"duplicate names", "site: x\nconnections:\n  - {name: a, endpoint: embedded, equipment: {}}\n  - name: a\n    endpoint: opc.tcp://h:1\n    equipment: {}\n", "site.yaml:4:11: connections[1].name: ", `"a" is already the name of connections[0] (line 3); connection names must be unique`},
	{"missing endpoint", "site: x\nconnections:\n  - name: a\n    equipment: {}\n", "site.yaml:3:5: connections[0].endpoint: ", "missing; use embedded or opc.tcp://host:port"},
	{"endpoint no port", ep("opc.tcp://h"), "site.yaml:4:15: connections[0].endpoint: ", "has no port"},
	{"endpoint scheme", ep("https://h:443"), "site.yaml:4:15: connections[0].endpoint: ", "scheme https is not supported"},
	{"endpoint bad port", ep("opc.tcp://h:99999"), "site.yaml:4:15: connections[0].endpoint: ", `port "99999" is not a number from 1 to 65535`},
	{"endpoint no host", ep("opc.tcp://:4840"), "site.yaml:4:15: connections[0].endpoint: ", "has no host"},
	{"endpoint user", ep("opc.tcp://bob@h:4840"), "site.yaml:4:15: connections[0].endpoint: ", "put the identity under auth:"},
	{"endpoint query", ep("opc.tcp://h:4840/?a=b"), "site.yaml:4:15: connections[0].endpoint: ", "no query"},
	{"endpoint plain", ep("10.0.0.1:4840"), "site.yaml:4:15: connections[0].endpoint: ", "is not an endpoint; use embedded"},
	{"endpoint Embedded", ep("Embedded"), "site.yaml:4:15: connections[0].endpoint: ", "write embedded in lower case"},
	{"two embedded", "site: x\nconnections:\n  - {name: a, endpoint: embedded, equipment: {}}\n  - name: b\n    endpoint: embedded\n    equipment: {}\n", "site.yaml:5:15: connections[1].endpoint: ", "connections[0] already uses the embedded simulator (line 3)"},
	{"bad mode", conn("    security: {policy: None, mode: SignEncrypt}\n"), "site.yaml:6:36: connections[0].security.mode: ", `"SignEncrypt" is not a security mode; use one of best, None, Sign, SignAndEncrypt`},
	{"bad policy", conn("    security:\n      policy: Basic256Sha512\n"), "site.yaml:7:15: connections[0].security.policy: ", `"Basic256Sha512" is not a security policy; use one of best, None, Basic256Sha256, Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss`},
	{"deprecated policy", conn("    security:\n      policy: Basic128Rsa15\n"), "site.yaml:7:15: connections[0].security.policy: ", "deprecated and insecure"},
	{"policy None mode Sign", conn("    security:\n      policy: None\n      mode: Sign\n"), "site.yaml:8:13: connections[0].security: ", "policy None does not go with mode Sign"},
	{"mode None policy Basic", conn("    security:\n      policy: Basic256Sha256\n      mode: None\n"), "site.yaml:7:15: connections[0].security: ", "policy Basic256Sha256 does not go with mode None"},
	{"mode None policy best", conn("    security:\n      policy: best\n      mode: None\n"), "site.yaml:7:15: connections[0].security: ", "policy best does not go with mode None"},
	{"security not a mapping", conn("    security: None\n"), "site.yaml:6:15: connections[0].security: ", "expected a mapping with policy: and mode:, got the text \"None\""},
	{"embedded secure", "site: x\nconnections:\n  - name: a\n    endpoint: embedded\n    security: {policy: Basic256Sha256, mode: Sign}\n    equipment: {}\n", "site.yaml:5:15: connections[0].security: ", "the embedded simulator offers only policy None"},
	{"password in file", conn("    auth:\n      username: op\n      password: secret\n"), "site.yaml:8:7: connections[0].auth.password: ", "a password is never written in the site file"},
	{"password at connection level", conn("    password: secret\n"), "site.yaml:6:5: connections[0].password: ", "a password is never written in the site file"},
	{"username without password", conn("    auth:\n      username: op\n"), "site.yaml:7:7: connections[0].auth.passwordFile: ", `missing; user "op" needs passwordFile:`},
	{"both password sources", conn("    auth:\n      username: op\n      passwordFile: /p\n      passwordEnv: P\n"), "site.yaml:9:20: connections[0].auth: ", "exactly one of passwordFile: and passwordEnv:"},
	{"password without username", conn("    auth:\n      passwordEnv: P\n"), "site.yaml:7:7: connections[0].auth.username: ", "missing; a password needs username:"},
	{"bad env name", conn("    auth:\n      username: op\n      passwordEnv: PLC-PASS\n"), "site.yaml:8:20: connections[0].auth.passwordEnv: ", "is not an environment variable name"},
	{"user and certificate", conn("    auth:\n      username: op\n      passwordEnv: P\n      certificate: c.der\n      key: k.pem\n"), "site.yaml:7:7: connections[0].auth: ", "not both"},
	{"certificate without key", conn("    auth:\n      certificate: c.der\n"), "site.yaml:7:7: connections[0].auth.key: ", "missing; certificate: needs key:"},
	{"tilde path", conn("    auth:\n      username: op\n      passwordFile: ~/op.pass\n"), "site.yaml:8:21: connections[0].auth.passwordFile: ", "~ is not expanded"},
	{"empty auth", conn("    auth:\n"), "site.yaml:6:5: connections[0].auth: ", "is empty"},
	{"auth typo", conn("    auth:\n      user: op\n      passwordEnv: P\n"), "site.yaml:7:7: connections[0].auth.user: ", "did you mean username?"},
	{"duration no unit", conn("    publishInterval: 250\n"), "site.yaml:6:22: connections[0].publishInterval: ", "250 has no unit; write a duration with its unit, such as 250ms or 250s"},
	{"duration bad", conn("    staleAfter: five seconds\n"), "site.yaml:6:17: connections[0].staleAfter: ", `"five seconds" is not a duration`},
	{"duration too short", conn("    publishInterval: 1ms\n"), "site.yaml:6:22: connections[0].publishInterval: ", "1ms is out of range; use 10ms to 10m"},
	{"duration too long", conn("    publishInterval: 1h\n"), "site.yaml:6:22: connections[0].publishInterval: ", "1h is out of range; use 10ms to 10m"},
	{"duration negative", conn("    samplingInterval: -1s\n"), "site.yaml:6:23: connections[0].samplingInterval: ", "-1s is out of range; use 1ms to 10m (or 0)"},
	{"publish zero", conn("    publishInterval: 0\n"), "site.yaml:6:22: connections[0].publishInterval: ", "0 is out of range; use 10ms to 10m"},
	{"stale below publish", conn("    publishInterval: 2s\n    staleAfter: 3s\n"), "site.yaml:7:17: connections[0].staleAfter: ", "less than twice the publish interval (2s)"},
	{"duration a list", conn("    staleAfter: [5s]\n"), "site.yaml:6:17: connections[0].staleAfter: ", "expected a value, got a list"},
	{"reads nothing", "site: x\nconnections:\n  - name: a\n    endpoint: embedded\n", "site.yaml:3:5: connections[0]: ", "reads nothing; give equipment:, browse: or nodes:"},
	{"empty lists read nothing", "site: x\nconnections:\n  - name: a\n    endpoint: embedded\n    browse: []\n    nodes: []\n", "site.yaml:3:5: connections[0]: ", "reads nothing"},
	{"equipment a list", eq("[Mine]"), "site.yaml:5:16: connections[0].equipment: ", "expected a mapping with namespace: and root:"},
	{"equipment root path", eq("{root: Objects/Mine}"), "site.yaml:5:23: connections[0].equipment.root: ", "without /"},
	{"equipment typo", eq("{namespaceUri: urn:x}"), "site.yaml:5:17: connections[0].equipment.namespaceUri: ", "did you mean namespace?"},
	{"browse not a list", conn("    browse: {under: Objects/Plant}\n"), "site.yaml:6:13: connections[0].browse: ", "expected a list"},
	{"browse missing under", conn("    browse:\n      - match: \"*/*\"\n        area: P\n"), "site.yaml:7:9: connections[0].browse[0].under: ", "missing; the folder to browse"},
	{"browse under not Objects", conn("    browse:\n      - under: Plant\n"), "site.yaml:7:16: connections[0].browse[0].under: ", `"Plant" must start at the Objects folder; write Objects/Plant`},
	{"browse under empty segment", conn("    browse:\n      - under: Objects//Plant\n"), "site.yaml:7:16: connections[0].browse[0].under: ", "empty segment"},
	{"browse under wildcard", conn("    browse:\n      - under: Objects/P*\n"), "site.yaml:7:16: connections[0].browse[0].under: ", "put wildcards in match:"},
	{"browse bad glob", conn("    browse:\n      - under: Objects/Plant\n        match: \"Pump**/x\"\n"), "site.yaml:8:16: connections[0].browse[0].match: ", "** must be a whole segment"},
	{"browse glob empty segment", conn("    browse:\n      - under: Objects/Plant\n        match: \"*//x\"\n"), "site.yaml:8:16: connections[0].browse[0].match: ", "empty segment"},
	{"browse glob alias", conn("    browse:\n      - under: Objects/Plant\n        match: */*\n"), "site.yaml:8:", "YAML syntax"},
	{"browse area under Objects", conn("    browse:\n      - under: Objects\n"), "site.yaml:7:9: connections[0].browse[0].area: ", "missing; under the Objects folder itself"},
	{"browse bad area", conn("    browse:\n      - under: Objects/Plant\n        area: Plant.North\n"), "site.yaml:8:15: connections[0].browse[0].area: ", `"Plant.North" contains '.'`},
	{"browse bad default area", conn("    browse:\n      - under: Objects/Plant Room\n"), "site.yaml:7:16: connections[0].browse[0].area: ", `the default area, "Plant Room"`},
	{"deadband both", conn("    browse:\n      - under: Objects/Plant\n        deadband: {absolute: 1, percent: 1}\n"), "site.yaml:8:19: connections[0].browse[0].deadband: ", "give one of absolute: and percent:, not both"},
	{"deadband empty", conn("    browse:\n      - under: Objects/Plant\n        deadband: {}\n"), "site.yaml:8:19: connections[0].browse[0].deadband: ", "is empty"},
	{"deadband scalar", conn("    browse:\n      - under: Objects/Plant\n        deadband: 0.5\n"), "site.yaml:8:19: connections[0].browse[0].deadband: ", "expected a mapping, write {absolute: 0.5}"},
	{"deadband text", conn("    browse:\n      - under: Objects/Plant\n        deadband: {absolute: \"0.5\"}\n"), "site.yaml:8:30: connections[0].browse[0].deadband.absolute: ", `expected a number, got the text "0.5"`},
	{"deadband typo", conn("    browse:\n      - under: Objects/Plant\n        deadband: {percentage: 1}\n"), "site.yaml:8:20: connections[0].browse[0].deadband.percentage: ", "did you mean percent?"},
	{"deadband zero", conn("    browse:\n      - under: Objects/Plant\n        deadband: {absolute: 0}\n"), "site.yaml:8:30: connections[0].browse[0].deadband.absolute: ", "must be greater than 0"},
	{"deadband percent range", conn("    browse:\n      - under: Objects/Plant\n        deadband: {percent: 150}\n"), "site.yaml:8:29: connections[0].browse[0].deadband.percent: ", "at most 100"},
	{"deadband nan", conn("    browse:\n      - under: Objects/Plant\n        deadband: {absolute: .nan}\n"), "site.yaml:8:30: connections[0].browse[0].deadband.absolute: ", "not a finite number"},
	{"node missing tag", conn("    nodes:\n      - node: i=2258\n"), "site.yaml:7:9: connections[0].nodes[0].tag: ", "missing; the Minebrain tag Area.Unit.Signal"},
	{"node missing node", conn("    nodes:\n      - tag: A.B.C\n"), "site.yaml:7:9: connections[0].nodes[0].node: ", "missing; the NodeId"},
	{"node bad id", conn("    nodes:\n      - node: ns=2;Pump1\n        tag: A.B.C\n"), "site.yaml:7:15: connections[0].nodes[0].node: ", `"ns=2;Pump1" is not a NodeId`},
	{"node id number", conn("    nodes:\n      - node: 2258\n        tag: A.B.C\n"), "site.yaml:7:15: connections[0].nodes[0].node: ", `"2258" is not a NodeId`},
	{"node duplicate in connection", conn("    nodes:\n      - {node: i=1, tag: A.B.C}\n      - {node: i=1, tag: A.B.D}\n"), "site.yaml:8:16: connections[0].nodes[1].node: ", "i=1 is already read at line 7"},
	{"tag two parts", conn("    nodes:\n      - node: i=1\n        tag: A.B\n"), "site.yaml:8:14: connections[0].nodes[0].tag: ", `"A.B" is not a tag; a tag is Area.Unit.Signal`},
	{"tag empty part", conn("    nodes:\n      - node: i=1\n        tag: A..C\n"), "site.yaml:8:14: connections[0].nodes[0].tag: ", `the unit "" is empty`},
	{"tag space", conn("    nodes:\n      - node: i=1\n        tag: A.Pump 1.C\n"), "site.yaml:8:14: connections[0].nodes[0].tag: ", `the unit "Pump 1" contains ' '`},
	{"duplicate tags across connections", "site: x\nconnections:\n  - name: a\n    endpoint: opc.tcp://a:4840\n    nodes: [{node: i=1, tag: A.B.C}]\n  - name: b\n    endpoint: opc.tcp://b:4840\n    nodes:\n      - node: i=1\n        tag: A.B.C\n",
		"site.yaml:10:14: connections[1].nodes[0].tag: ", "tag A.B.C is already read by connections[0].nodes[0] (line 5); each tag has one source"},
	{"nodes item a string", conn("    nodes:\n      - i=2258\n"), "site.yaml:7:9: connections[0].nodes[0]: ", "expected a node (node:, tag:, deadband:), got the text \"i=2258\""},
	{"key not a scalar", conn("    [a]: 1\n"), "site.yaml:6:5: connections[0]: ", "a key must be a plain name"},
}

// conn returns a valid one-connection site with extra appended to the connection (line 6 on).
func conn(extra string) string {
	return "site: x\nconnections:\n  - name: a\n    endpoint: opc.tcp://h:4840\n    equipment: {}\n" + extra
}

// eq returns a site whose one connection has the given equipment value (line 5, column 16).
func eq(value string) string {
	return "site: x\nconnections:\n  - name: a\n    endpoint: opc.tcp://h:4840\n    equipment: " + value + "\n"
}

// ep returns a site whose one connection has the given endpoint (on line 4, column 15).
func ep(endpoint string) string {
	return "site: x\nconnections:\n  - name: a\n    endpoint: " + endpoint + "\n    equipment: {}\n"
}

func TestErrors(t *testing.T) {
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("site.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("no error; parsed %+v", s)
			}
			if s != nil {
				t.Errorf("site %+v returned with an error", s)
			}
			var e *Error
			if !errors.As(err, &e) || len(e.Problems) == 0 {
				t.Fatalf("error %T %v is not an *Error with problems", err, err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if strings.HasPrefix(line, tt.want) && strings.Contains(line, tt.frag) {
					return
				}
			}
			t.Errorf("no line starts with %q and contains %q:\n%v", tt.want, tt.frag, err)
		})
	}
}

func TestManyErrors(t *testing.T) {
	_, err := Load("testdata/errors/many.yaml")
	want := `testdata/errors/many.yaml:5:17: connections[0].staleAfter: 5 has no unit; write a duration with its unit, such as 5ms or 5s
testdata/errors/many.yaml:7:11: connections[1].name: "pit" is already the name of connections[0] (line 3); connection names must be unique
testdata/errors/many.yaml:9:15: connections[1].security: the embedded simulator offers only policy None, mode None; write None or leave security out
testdata/errors/many.yaml:11:16: connections[1].browse[0].under: "Plant" must start at the Objects folder; write Objects/Plant
testdata/errors/many.yaml:12:16: connections[1].browse[0].match: "**x/*": ** must be a whole segment (like a/**/b), not part of "**x"; a pattern is segments separated by /, with * (any characters within a segment), ? (one character) and ** (a whole segment: any depth), e.g. */*, Pump*/*, **/Flow*`
	if err == nil || err.Error() != want {
		t.Fatalf("got:\n%v\nwant:\n%s", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || len(e.Problems) != 5 {
		t.Fatalf("errors.As: %v", err)
	}
	if p := e.Problems[1]; p.File != "testdata/errors/many.yaml" || p.Line != 7 || p.Col != 11 || p.Path != "connections[1].name" {
		t.Errorf("problem 1 = %+v", p)
	}
	var one *Problem
	if !errors.As(err, &one) || one != e.Problems[0] {
		t.Errorf("errors.As(*Problem) = %v", one)
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load("testdata/no-such.yaml")
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "testdata/no-such.yaml") {
		t.Errorf("err = %v", err)
	}
}

func TestRelativePaths(t *testing.T) {
	s, err := Parse("/etc/minebrain/site.yaml", []byte(conn("    auth:\n      username: op\n      passwordFile: op.pass\n")))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Connections[0].Auth.PasswordFile; got != filepath.Join("/etc/minebrain", "op.pass") {
		t.Errorf("passwordFile = %q", got)
	}
}

func authFor(t *testing.T, auth string) Auth {
	t.Helper()
	s, err := Parse(filepath.Join(t.TempDir(), "site.yaml"), []byte(conn(auth)))
	if err != nil {
		t.Fatal(err)
	}
	return s.Connections[0].Auth
}

func TestPasswordFile(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site.yaml")
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // umask-proof
			t.Fatal(err)
		}
		return name
	}
	load := func(file string) Auth {
		s, err := Parse(site, []byte(conn("    auth:\n      username: op\n      passwordFile: "+file+"\n")))
		if err != nil {
			t.Fatal(err)
		}
		return s.Connections[0].Auth
	}
	tests := []struct {
		name, content string
		mode          os.FileMode
		want, err     string
	}{
		{"plain", "s3cret", 0o600, "s3cret", ""},
		{"newline", "s3cret\n", 0o600, "s3cret", ""},
		{"crlf", "s3cret\r\n", 0o400, "s3cret", ""},
		{"only one newline trimmed", "s3cret\n\n", 0o600, "s3cret\n", ""},
		{"spaces kept", " s3cret \n", 0o600, " s3cret ", ""},
		{"empty", "\n", 0o600, "", "is empty"},
	}
	if runtime.GOOS != "windows" {
		tests = append(tests,
			struct {
				name, content string
				mode          os.FileMode
				want, err     string
			}{"group readable", "x\n", 0o640, "", "is open to group or others (mode 0640); make it private: chmod 600 "},
			struct {
				name, content string
				mode          os.FileMode
				want, err     string
			}{"world readable", "x\n", 0o644, "", "(mode 0644)"})
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := load(write(tt.name+".pass", tt.content, tt.mode))
			pw, err := a.Password()
			if tt.err == "" {
				if err != nil || pw != tt.want {
					t.Errorf("Password() = %q, %v; want %q", pw, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Password() = %q, %v; want an error containing %q", pw, err, tt.err)
			}
			// The error points at the site file line that names the file.
			wantPrefix := site + ":8:21: connections[0].auth.passwordFile: "
			if !strings.HasPrefix(err.Error(), wantPrefix) {
				t.Errorf("error %q does not start with %q", err, wantPrefix)
			}
			_ = i
		})
	}
	t.Run("missing", func(t *testing.T) {
		_, err := load("nope.pass").Password()
		if err == nil || !strings.Contains(err.Error(), "cannot read the password file") || !strings.Contains(err.Error(), "nope.pass") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		if err := os.Mkdir(filepath.Join(dir, "d"), 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := load("d").Password()
		if err == nil || !strings.Contains(err.Error(), "is not a regular file") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestPasswordEnv(t *testing.T) {
	a := authFor(t, "    auth:\n      username: op\n      passwordEnv: MINEBRAIN_TEST_PW\n")
	t.Setenv("MINEBRAIN_TEST_PW", "from env")
	if pw, err := a.Password(); err != nil || pw != "from env" {
		t.Errorf("Password() = %q, %v", pw, err)
	}
	t.Setenv("MINEBRAIN_TEST_PW", "")
	if _, err := a.Password(); err == nil || !strings.Contains(err.Error(), "environment variable MINEBRAIN_TEST_PW is empty") {
		t.Errorf("empty: err = %v", err)
	}
	os.Unsetenv("MINEBRAIN_TEST_PW")
	_, err := a.Password()
	if err == nil || !strings.Contains(err.Error(), `environment variable MINEBRAIN_TEST_PW is not set; set it to the password of user "op"`) ||
		!strings.Contains(err.Error(), ":8:20: connections[0].auth.passwordEnv: ") {
		t.Errorf("unset: err = %v", err)
	}
	if a.Anonymous() {
		t.Error("a user identity is Anonymous")
	}
}

func TestPasswordNone(t *testing.T) {
	a := authFor(t, "    auth:\n      certificate: c.der\n      key: k.pem\n")
	if a.Anonymous() {
		t.Error("a certificate identity is Anonymous")
	}
	if _, err := a.Password(); err == nil || !strings.Contains(err.Error(), "no password") {
		t.Errorf("err = %v", err)
	}
}

func TestAliases(t *testing.T) {
	s, err := Parse("site.yaml", []byte(`
site: x
connections:
  - name: a
    endpoint: opc.tcp://a:4840
    security: &secure {policy: Basic256Sha256, mode: Sign}
    equipment: {}
  - name: b
    endpoint: opc.tcp://b:4840
    security: *secure
    equipment: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	if sec := s.Connections[1].Security; sec.Policy != PolicyBasic256Sha256 || sec.Mode != ModeSign {
		t.Errorf("aliased security = %+v", sec)
	}
}

func TestWhere(t *testing.T) {
	s, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Where(s.Connections[1]), "testdata/full.yaml:18:5: connection plant-plc"; got != want {
		t.Errorf("Where = %q, want %q", got, want)
	}
	if got, want := s.Connections[1].Nodes[0].Pos.Errorf("BadNodeIdUnknown").Error(),
		"testdata/full.yaml:38:9: connections[1].nodes[0]: BadNodeIdUnknown"; got != want {
		t.Errorf("Pos.Errorf = %q, want %q", got, want)
	}
}
