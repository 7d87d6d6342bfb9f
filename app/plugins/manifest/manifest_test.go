package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const hash = "3f5a0c1e9b7d2a4f6e8c0b1d3a5f7e9c2b4d6f8a0e1c3b5d7f9a2c4e6b8d0f1a"

// base is a valid manifest using every field; error cases edit one line of it.
const base = `id: crusher-control
version: 1.2.0
wasm: crusher-control.wasm
sha256: ` + hash + `
abi: 1
tick: 1s
memory: 16MiB
budget: 5ms
reads:
  - Crushing.CR1.*
  - Crushing.AF1.FeederSpeedSP
  - Crushing.**.Running
writes:
  - tag: Crushing.AF1.FeederSpeedSP
    min: 20
    max: 90
    maxRate: 10/min
  - tag: Crushing.CR1.CavitySP
    min: -5.5
    max: 1e3
config:
  cavitySP: 60
  kp: 0.80
  name: "CR1 control"
  enabled: True
`

func TestParseValid(t *testing.T) {
	m, err := Parse("plugin.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	want := &Manifest{
		ID: "crusher-control", Version: "1.2.0", Wasm: "crusher-control.wasm", SHA256: hash, ABI: 1,
		Tick: time.Second, Memory: 16 << 20, Budget: 5 * time.Millisecond,
		Reads: []string{"Crushing.CR1.*", "Crushing.AF1.FeederSpeedSP", "Crushing.**.Running"},
		Writes: []Write{
			{Tag: "Crushing.AF1.FeederSpeedSP", Min: 20, Max: 90, MaxRate: 10.0 / 60},
			{Tag: "Crushing.CR1.CavitySP", Min: -5.5, Max: 1000},
		},
		Config: map[string]string{"cavitySP": "60", "kp": "0.80", "name": "CR1 control", "enabled": "true"},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got  %+v\nwant %+v", m, want)
	}
}

// minimal is base without its optional fields.
var minimal = strings.Join(strings.Split(base, "\n")[:8], "\n") + "\n"

// edit replaces the first line of base starting with prefix by repl ("" removes it).
func edit(t testing.TB, prefix, repl string) string {
	lines := strings.Split(base, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			if repl == "" {
				return strings.Join(append(lines[:i:i], lines[i+1:]...), "\n")
			}
			lines[i] = repl
			return strings.Join(lines, "\n")
		}
	}
	t.Fatalf("no line %q in base", prefix)
	return ""
}

func TestParseValidVariants(t *testing.T) {
	tests := []struct {
		name, prefix, repl string
		check              func(*Manifest) bool
	}{
		{"memory in bytes", "memory:", "memory: 1048576", func(m *Manifest) bool { return m.Memory == 1<<20 }},
		{"memory KiB", "memory:", "memory: 1088KiB", func(m *Manifest) bool { return m.Memory == 1088<<10 }},
		{"memory GiB", "memory:", "memory: 1GiB", func(m *Manifest) bool { return m.Memory == 1<<30 }},
		{"memory with space", "memory:", "memory: 2 MiB", func(m *Manifest) bool { return m.Memory == 2<<20 }},
		{"budget µs", "budget:", "budget: 100µs", func(m *Manifest) bool { return m.Budget == 100*time.Microsecond }},
		{"budget us", "budget:", "budget: 250us", func(m *Manifest) bool { return m.Budget == 250*time.Microsecond }},
		{"tick bounds", "tick:", "tick: 1h", func(m *Manifest) bool { return m.Tick == time.Hour }},
		{"version as a number keeps its text", "version:", "version: 1.10", func(m *Manifest) bool { return m.Version == "1.10" }},
		{"id digits", "id:", "id: 0-a", func(m *Manifest) bool { return m.ID == "0-a" }},
		{"id 63 chars", "id:", "id: " + strings.Repeat("a", 63), func(m *Manifest) bool { return len(m.ID) == 63 }},
		{"wasm in a subdirectory", "wasm:", "wasm: ./build/x.wasm", func(m *Manifest) bool { return m.Wasm == "./build/x.wasm" }},
		{"maxRate per second", "    maxRate:", "    maxRate: 2.5/s", func(m *Manifest) bool { return m.Writes[0].MaxRate == 2.5 }},
		{"maxRate per hour", "    maxRate:", "    maxRate: 36/h", func(m *Manifest) bool { return m.Writes[0].MaxRate == 0.01 }},
		{"maxRate 0", "    maxRate:", "    maxRate: 0", func(m *Manifest) bool { return m.Writes[0].MaxRate == 0 }},
		{"maxRate left out", "    maxRate:", "", func(m *Manifest) bool { return m.Writes[0].MaxRate == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse("plugin.yaml", []byte(edit(t, tt.prefix, tt.repl)))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(m) {
				t.Errorf("got %+v", m)
			}
		})
	}
	// The optional fields may be left out, or be empty.
	for _, tail := range []string{"", "reads:\nwrites:\nconfig:\n", "reads: []\nwrites: []\nconfig: {}\n"} {
		m, err := Parse("plugin.yaml", []byte(minimal+tail))
		if err != nil {
			t.Fatalf("%q: %v", tail, err)
		}
		if m.Reads != nil || m.Writes != nil || m.Config != nil {
			t.Errorf("%q: got %+v", tail, m)
		}
	}
	// Anchors and aliases are followed.
	m, err := Parse("plugin.yaml", []byte(minimal+"reads:\n  - &a Crushing.CR1.PowerKW\n  - *a\nconfig:\n  x: *a\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Config["x"] != "Crushing.CR1.PowerKW" || len(m.Reads) != 2 {
		t.Errorf("got %+v", m)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name      string
		src       string // the whole file
		line, col int
		path, msg string // msg: a part of the message
	}{
		{"empty file", "", 0, 0, "", "the file is empty"},
		{"only a comment", "# nothing\n", 0, 0, "", "the file is empty"},
		{"not a mapping", "- a\n", 1, 1, "", "expected a mapping (key: value lines), got a list"},
		{"syntax", "id: [\n", 1, 0, "", "YAML syntax: "},
		{"two documents", base + "---\nid: x\n", 26, 1, "", "a second YAML document"},
		{"too large", base + "#" + strings.Repeat("x", MaxFileSize) + "\n", 0, 0, "", "larger than 64 KiB"},
		{"unknown field", edit(t, "memory:", "memory: 16MiB\nmemroy: 1"), 8, 1, "memroy", `unknown field "memroy" (did you mean memory?); the fields here are id, version, wasm, sha256, abi, tick, memory, budget, reads, writes, config`},
		{"unknown field, short", edit(t, "memory:", "memory: 16MiB\nx: 1"), 8, 1, "x", `unknown field "x"; the fields here are id,`},
		{"unknown field, far", edit(t, "memory:", "memory: 16MiB\nplugin: x"), 8, 1, "plugin", `unknown field "plugin"; the fields here are id,`},
		{"misspelt required field is not also missing", edit(t, "memory:", "memroy: 16MiB"), 7, 1, "memroy", "did you mean memory?"},
		{"unknown write field", edit(t, "    maxRate:", "    rate: 10/min"), 17, 5, "writes[0].rate", `unknown field "rate" (did you mean maxRate?); the fields here are tag, min, max, maxRate`},
		{"duplicate field", edit(t, "abi:", "abi: 1\nabi: 1"), 6, 1, "abi", "duplicate field (first at line 5)"},
		{"merge key", edit(t, "abi:", "abi: 1\n<<: {x: 1}"), 6, 1, "", "merge keys"},
		{"missing id", edit(t, "id:", ""), 1, 1, "id", "missing; add id: with the plugin's name"},
		{"missing budget", edit(t, "budget:", ""), 1, 1, "budget", "missing; add budget:"},
		{"id upper case", edit(t, "id:", "id: Crusher"), 1, 5, "id", `"Crusher" is not a plugin id; use 1 to 63 lower-case letters`},
		{"id starts with -", edit(t, "id:", "id: -x"), 1, 5, "id", "is not a plugin id"},
		{"id too long", edit(t, "id:", "id: "+strings.Repeat("a", 64)), 1, 5, "id", "is not a plugin id"},
		{"id a list", edit(t, "id:", "id: [a]"), 1, 5, "id", "expected a value, got a list"},
		{"id empty", edit(t, "id:", "id:"), 1, 4, "id", "expected a value, got nothing"},
		{"version too long", edit(t, "version:", "version: "+strings.Repeat("v", 65)), 2, 10, "version", "is 65 characters long; a version is at most 64"},
		{"version blank", edit(t, "version:", `version: " "`), 2, 10, "version", "is empty"},
		{"version two lines", edit(t, "version:", `version: "1\n2"`), 2, 10, "version", "control character"},
		{"wasm absolute", edit(t, "wasm:", "wasm: /opt/x.wasm"), 3, 7, "wasm", `"/opt/x.wasm" is an absolute path`},
		{"wasm drive", edit(t, "wasm:", "wasm: C:/x.wasm"), 3, 7, "wasm", "is an absolute path"},
		{"wasm backslash", edit(t, "wasm:", `wasm: 'a\x.wasm'`), 3, 7, "wasm", "separate directories with /"},
		{"wasm ..", edit(t, "wasm:", "wasm: a/../../x.wasm"), 3, 7, "wasm", "leaves the manifest's directory (..)"},
		{"wasm suffix", edit(t, "wasm:", "wasm: x.wat"), 3, 7, "wasm", `"x.wat" does not end in .wasm`},
		{"sha256 short", edit(t, "sha256:", "sha256: abc"), 4, 9, "sha256", `"abc" is 3 characters long; a SHA-256 is 64 lower-case hex characters`},
		{"sha256 upper", edit(t, "sha256:", "sha256: "+strings.ToUpper(hash)), 4, 9, "sha256", "write the hash in lower case: " + hash},
		{"sha256 not hex", edit(t, "sha256:", "sha256: "+hash[:63]+"g"), 4, 9, "sha256", `contains 'g', which is not a hex digit`},
		{"abi 2", edit(t, "abi:", "abi: 2"), 5, 6, "abi", "the plugin is built for ABI 2, but this Minebrain implements plugin ABI 1"},
		{"abi text", edit(t, "abi:", "abi: one"), 5, 6, "abi", `expected the whole number 1, got the text "one"`},
		{"abi float", edit(t, "abi:", "abi: 1.0"), 5, 6, "abi", "expected the whole number 1, got the number 1.0"},
		{"tick no unit", edit(t, "tick:", "tick: 5"), 6, 7, "tick", "5 has no unit; write a duration with its unit, such as 5ms or 5s"},
		{"tick not a duration", edit(t, "tick:", "tick: soon"), 6, 7, "tick", `"soon" is not a duration`},
		{"tick too short", edit(t, "tick:", "tick: 5ms"), 6, 7, "tick", "5ms is out of range; use 10ms to 1h"},
		{"tick too long", edit(t, "tick:", "tick: 2h"), 6, 7, "tick", "2h is out of range; use 10ms to 1h"},
		{"memory MB", edit(t, "memory:", "memory: 16MB"), 7, 9, "memory", `"16MB" is not a size; write e.g. 16MiB (KiB, MiB or GiB)`},
		{"memory fraction", edit(t, "memory:", "memory: 1.5MiB"), 7, 9, "memory", "is not a size"},
		{"memory negative", edit(t, "memory:", "memory: -1"), 7, 9, "memory", "is not a size"},
		{"memory too small", edit(t, "memory:", "memory: 512KiB"), 7, 9, "memory", "512KiB is out of range; use 1MiB to 1GiB"},
		{"memory too large", edit(t, "memory:", "memory: 2GiB"), 7, 9, "memory", "2GiB is out of range; use 1MiB to 1GiB"},
		{"memory overflow", edit(t, "memory:", "memory: 99999999999999999999999GiB"), 7, 9, "memory", "is out of range"},
		{"memory not pages", edit(t, "memory:", "memory: 1100KiB"), 7, 9, "memory", "1100KiB is not a multiple of 64KiB (the wasm page size); use e.g. 1152KiB"},
		{"memory bytes not pages", edit(t, "memory:", "memory: 1048577"), 7, 9, "memory", "not a multiple of 64KiB"},
		{"budget too short", edit(t, "budget:", "budget: 50us"), 8, 9, "budget", "50us is out of range; use 100µs to 10s"},
		{"budget too long", edit(t, "budget:", "budget: 11s"), 8, 9, "budget", "use 100µs to 10s"},
		{"budget not under tick", edit(t, "budget:", "budget: 1s"), 8, 9, "budget", "1s is not shorter than tick (1s)"},
		{"reads a text", minimal + "reads: Crushing.CR1.*\n", 9, 8, "reads", "expected a list"},
		{"reads empty part", edit(t, "  - Crushing.CR1.*", "  - Crushing..*"), 10, 5, "reads[0]", `"Crushing..*" has an empty part`},
		{"reads trailing dot", edit(t, "  - Crushing.CR1.*", "  - Crushing.CR1."), 10, 5, "reads[0]", "has an empty part"},
		{"reads ** in a name", edit(t, "  - Crushing.CR1.*", "  - Crushing.CR1**"), 10, 5, "reads[0]", "** stands for whole parts"},
		{"reads bad character", edit(t, "  - Crushing.CR1.*", "  - Crushing.CR1.Po?er"), 10, 5, "reads[0]", `contains '?'`},
		{"reads space", edit(t, "  - Crushing.CR1.*", "  - Crushing.CR1.Power KW"), 10, 5, "reads[0]", `contains ' '`},
		{"reads two parts", edit(t, "  - Crushing.CR1.*", "  - Crushing.CR1"), 10, 5, "reads[0]", "can never match a tag"},
		{"reads four parts", edit(t, "  - Crushing.CR1.*", "  - a.b.c.**.d"), 10, 5, "reads[0]", "can never match a tag"},
		{"reads empty item", edit(t, "  - Crushing.CR1.*", `  - ""`), 10, 5, "reads[0]", "is empty"},
		{"reads nested list", edit(t, "  - Crushing.CR1.*", "  - [a]"), 10, 5, "reads[0]", "expected a value, got a list"},
		{"writes a mapping", minimal + "writes: {tag: x}\n", 9, 9, "writes", "expected a list"},
		{"writes item a text", edit(t, "  - tag: Crushing.CR1.CavitySP", "  - Crushing.CR1.CavitySP\n  - tag: Crushing.CR1.Cavity2SP"), 18, 5, "writes[1]", "expected a setpoint (tag:, min:, max:, maxRate:), got the text"},
		{"write not a setpoint", edit(t, "  - tag: Crushing.AF1", "  - tag: Crushing.AF1.FeederSpeed"), 14, 10, "writes[0].tag", `"Crushing.AF1.FeederSpeed" is not a setpoint; a plugin writes only setpoints, tags whose signal ends in SP`},
		{"write wildcard", edit(t, "  - tag: Crushing.AF1", "  - tag: Crushing.AF1.*SP"), 14, 10, "writes[0].tag", "without wildcards"},
		{"write two parts", edit(t, "  - tag: Crushing.AF1", "  - tag: AF1.SpeedSP"), 14, 10, "writes[0].tag", "is not a tag; a tag is Area.Unit.Signal"},
		{"write bad name", edit(t, "  - tag: Crushing.AF1", "  - tag: Crushing.A/F1.SpeedSP"), 14, 10, "writes[0].tag", `the unit "A/F1" contains '/'`},
		{"write duplicate", edit(t, "  - tag: Crushing.CR1.CavitySP", "  - tag: Crushing.AF1.FeederSpeedSP"), 18, 10, "writes[1].tag", "Crushing.AF1.FeederSpeedSP is already granted by writes[0] (line 14); give each setpoint once"},
		{"write missing tag", edit(t, "  - tag: Crushing.CR1.CavitySP", "  -"), 19, 5, "writes[1].tag", "missing; the setpoint the plugin may write"},
		{"write missing min", edit(t, "    min: 20", ""), 14, 5, "writes[0].min", "missing; the lowest value"},
		{"write missing max", edit(t, "    max: 90", ""), 14, 5, "writes[0].max", "missing; the highest value"},
		{"write min text", edit(t, "    min: 20", "    min: twenty"), 15, 10, "writes[0].min", `expected a number, got the text "twenty"`},
		{"write min quoted", edit(t, "    min: 20", `    min: "20"`), 15, 10, "writes[0].min", `expected a number, got the text "20"`},
		{"write max inf", edit(t, "    max: 90", "    max: .inf"), 16, 10, "writes[0].max", ".inf is not a finite number"},
		{"write min = max", edit(t, "    max: 90", "    max: 20"), 16, 10, "writes[0].max", "20 is not greater than min (20); max must be above min"},
		{"write min > max", edit(t, "    max: 90", "    max: 10.5"), 16, 10, "writes[0].max", "10.5 is not greater than min (20)"},
		{"maxRate no unit", edit(t, "    maxRate:", "    maxRate: 10"), 17, 14, "writes[0].maxRate", "10 has no time unit; write 10/s, 10/min or 10/h"},
		{"maxRate bad unit", edit(t, "    maxRate:", "    maxRate: 10/day"), 17, 14, "writes[0].maxRate", `"10/day" is not a rate; write NUMBER/s, NUMBER/min or NUMBER/h`},
		{"maxRate negative", edit(t, "    maxRate:", "    maxRate: -1/s"), 17, 14, "writes[0].maxRate", `"-1/s" is negative`},
		{"maxRate nan", edit(t, "    maxRate:", "    maxRate: NaN/s"), 17, 14, "writes[0].maxRate", "is not a rate"},
		{"config a list", minimal + "config: [a]\n", 9, 9, "config", "expected a mapping of names to values"},
		{"config nested map", edit(t, "  kp:", "  pid: {kp: 1}"), 23, 8, "config.pid", "is a mapping (key: value); a config value is a single text, number or true/false"},
		{"config nested list", edit(t, "  kp:", "  kp: [1, 2]"), 23, 7, "config.kp", "is a list; a config value is a single"},
		{"config null", edit(t, "  kp:", "  kp:"), 23, 3, "config.kp", `has no value; write kp: "" for empty text`},
		{"config duplicate", edit(t, "  kp:", "  cavitySP: 1"), 23, 3, "config.cavitySP", "duplicate field (first at line 22)"},
		{"config empty name", edit(t, "  kp:", `  "": 1`), 23, 3, "config", "a config name is empty"},
		{"config key a list", edit(t, "  kp:", "  [a]: 1"), 23, 3, "config", "a key must be a plain name, got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse("plugin.yaml", []byte(tt.src))
			if m != nil || err == nil {
				t.Fatalf("no error; got %+v", m)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%T is not *Error: %v", err, err)
			}
			if len(e.Problems) != 1 {
				t.Fatalf("want one problem, got:\n%v", err)
			}
			p := e.Problems[0]
			if p.Line != tt.line || p.Col != tt.col || p.Path != tt.path || !strings.Contains(p.Msg, tt.msg) {
				t.Errorf("got  %d:%d %q %q\nwant %d:%d %q %q", p.Line, p.Col, p.Path, p.Msg, tt.line, tt.col, tt.path, tt.msg)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	src := edit(t, "id:", "id: X")
	src = strings.Replace(src, "memory: 16MiB", "memory: 16MB", 1)
	src = strings.Replace(src, "    min: 20\n", "", 1)
	_, err := Parse("p/plugin.yaml", []byte(src))
	want := `p/plugin.yaml:1:5: id: "X" is not a plugin id; use 1 to 63 lower-case letters, digits and -, starting with a letter or digit, e.g. crusher-control
p/plugin.yaml:7:9: memory: "16MB" is not a size; write e.g. 16MiB (KiB, MiB or GiB)
p/plugin.yaml:14:5: writes[0].min: missing; the lowest value the plugin may write, e.g. min: 20`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
	if got := (&Error{File: "f", Problems: []Problem{{Msg: "m"}, {Line: 3, Msg: "n"}}}).Error(); got != "f: m\nf:3: n" {
		t.Errorf("got %q", got)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "plugin.yaml")
	if err := os.WriteFile(path, []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.File != path || m.Dir != dir || m.WasmPath() != filepath.Join(dir, "crusher-control.wasm") {
		t.Errorf("File %q Dir %q WasmPath %q", m.File, m.Dir, m.WasmPath())
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte(base+strings.Repeat("#\n", MaxFileSize)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "big.yaml: the file is larger than 64 KiB") {
		t.Errorf("big file: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "none.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, tag string
		want         bool
	}{
		{"Crushing.CR1.PowerKW", "Crushing.CR1.PowerKW", true},
		{"Crushing.CR1.PowerKW", "Crushing.CR1.PowerKWh", false},
		{"Crushing.CR1.*", "Crushing.CR1.PowerKW", true},
		{"Crushing.CR1.*", "Crushing.CR2.PowerKW", false},
		{"Crushing.CR1.*", "Crushing.CR1", false},
		{"Crushing.CR1.*", "Crushing.CR1.a.b", false},
		{"Crushing.CR*.Power*", "Crushing.CR12.PowerKW", true},
		{"Crushing.CR*.Power*", "Crushing.CR.Power", true},
		{"Crushing.*1.*", "Crushing.AF1.Speed", true},
		{"Crushing.*1.*", "Crushing.AF2.Speed", false},
		{"*.*.*SP", "Crushing.AF1.FeederSpeedSP", true},
		{"*.*.*SP", "Crushing.AF1.FeederSpeed", false},
		{"C*u*g.*.*", "Crushing.A.B", true},
		{"C*u*g.*.*", "Crushin.A.B", false},
		{"a*a*a*a*b.x.y", strings.Repeat("a", 30) + ".x.y", false},
		{"**", "Crushing.CR1.PowerKW", true},
		{"Crushing.**", "Crushing.CR1.PowerKW", true},
		{"Crushing.**", "Mill.CR1.PowerKW", false},
		{"**.PowerKW", "Crushing.CR1.PowerKW", true},
		{"**.PowerKW", "Crushing.CR1.Power", false},
		{"Crushing.**.PowerKW", "Crushing.CR1.PowerKW", true},
		{"Crushing.**.CR1.PowerKW", "Crushing.CR1.PowerKW", true}, // ** may stand for no parts
		{"Crushing.**.**.PowerKW", "Crushing.CR1.PowerKW", true},
		{"**.CR*.**", "Crushing.CR1.PowerKW", true},
		{"**.CR*.**", "Crushing.AF1.PowerKW", false},
		{"Ünit.*.*", "Ünit.x.y", true},
		{"Crushing.CR1.*", "", false},
		{"", "Crushing.CR1.PowerKW", false},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.tag); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.tag, got, tt.want)
		}
	}
}

func TestReadableWriteFor(t *testing.T) {
	m, err := Parse("plugin.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	tags := []string{"Mill.M1.PowerKW", "Crushing.CR1.PowerKW", "Crushing.AF1.FeederSpeedSP", "Crushing.CR1.CavitySP",
		"Crushing.AF1.Running", "Crushing.CR1.PowerKW", "Crushing.AF1.FeederSpeed"}
	want := []string{"Crushing.AF1.FeederSpeedSP", "Crushing.AF1.Running", "Crushing.CR1.CavitySP", "Crushing.CR1.PowerKW"}
	if got := m.Readable(tags); !reflect.DeepEqual(got, want) {
		t.Errorf("Readable = %q, want %q", got, want)
	}
	if got := m.Readable(nil); len(got) != 0 {
		t.Errorf("Readable(nil) = %q", got)
	}
	if w, ok := m.WriteFor("Crushing.CR1.CavitySP"); !ok || w.Min != -5.5 || w.Max != 1000 {
		t.Errorf("WriteFor = %+v, %v", w, ok)
	}
	if _, ok := m.WriteFor("Crushing.CR1.Cavity"); ok {
		t.Error("WriteFor of a tag not granted")
	}
}

func TestVerifyModule(t *testing.T) {
	wasm := []byte("\x00asm\x01\x00\x00\x00")
	sum := sha256.Sum256(wasm)
	good := hex.EncodeToString(sum[:])
	m := &Manifest{Wasm: "x.wasm", SHA256: good, Dir: "plugins/x", File: "plugins/x/plugin.yaml"}
	if err := VerifyModule(m, wasm); err != nil {
		t.Fatal(err)
	}
	m.SHA256 = hash
	err := VerifyModule(m, wasm)
	if !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("got %v", err)
	}
	for _, s := range []string{"plugins/x/plugin.yaml: sha256:", filepath.Join("plugins/x", "x.wasm"), "has SHA-256 " + good, "expects " + hash,
		"`minebrain plugin build plugins/x`", "update sha256: to " + good} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q does not say %q", err, s)
		}
	}
	if VerifyModule(nil, wasm) == nil {
		t.Error("nil manifest verified")
	}
}
