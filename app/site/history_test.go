package site

import (
	"strings"
	"testing"
	"time"
)

const historyBase = "site: X\nconnections:\n  - name: sim\n    endpoint: embedded\n    equipment: {}\n"

func TestHistorySection(t *testing.T) {
	s, err := Parse("h.yaml", []byte(historyBase+`history:
  retainFor: 5y
  retainSize: 20GB
  compression:
    - tags: "Crushing.*.PowerKW"
      kind: swingingDoor
      deviationPct: 0.5
      maxInterval: 10m
    - tags: "Water.*"
      kind: deadband
      deviation: 0.2
    - tags: "*"
      kind: lossless
`))
	if err != nil {
		t.Fatal(err)
	}
	h := s.History
	if h.RetainFor != 5*365*24*time.Hour || h.RetainBytes != 20e9 || len(h.Compression) != 3 {
		t.Fatalf("history %+v", h)
	}
	for tag, want := range map[string]string{"Crushing.CR1.PowerKW": "swingingDoor", "Water.SU1.LevelM": "deadband", "Pit.SH01.Mode": "lossless"} {
		if r, ok := h.CompressionFor(tag); !ok || r.Kind != want {
			t.Errorf("CompressionFor(%s) = %+v, %v; want %s", tag, r, ok, want)
		}
	}
	if r, _ := h.CompressionFor("Crushing.CR1.PowerKW"); r.DeviationPct != 0.5 || r.MaxInterval != 10*time.Minute || r.Pos.Line != 10 {
		t.Errorf("rule %+v", r)
	}
	if s, _ := Parse("h.yaml", []byte(historyBase)); s.History.RetainFor != 0 || len(s.History.Compression) != 0 {
		t.Errorf("no history: section: %+v", s.History)
	}
}

func TestHistoryErrors(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"history:\n  retainFor: 5 years\n", `h.yaml:7:14: history.retainFor: "5 years" is not a retention`},
		{"history:\n  retainSize: 20G\n", `history.retainSize: "20G" is not a size`},
		{"history:\n  retain: 5y\n", "history.retain: unknown key"},
		{"history:\n  compression:\n    - tags: \"[x\"\n      kind: lossless\n", "not a valid pattern"},
		{"history:\n  compression:\n    - tags: x\n      kind: zip\n", `"zip" is not a compression`},
		{"history:\n  compression:\n    - tags: x\n      kind: deadband\n", "needs exactly one of deviation"},
		{"history:\n  compression:\n    - tags: x\n      kind: deadband\n      deviation: 1\n      deviationPct: 1\n", "needs exactly one of deviation"},
		{"history:\n  compression:\n    - tags: x\n      kind: lossless\n      deviation: 1\n", "lossless takes no deviation"},
		{"history:\n  compression:\n    - kind: lossless\n", "history.compression[0].tags: missing"},
		{"history:\n  compression:\n    - tags: x\n      kind: swingingDoor\n      deviationPct: 150\n", "at most 100"},
	} {
		_, err := Parse("h.yaml", []byte(historyBase+c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.yaml, err, c.want)
		}
	}
}
