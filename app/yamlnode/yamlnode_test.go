package yamlnode

import (
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseRate(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"10/min", 10.0 / 60, true}, {"0.5/s", 0.5, true}, {"36 / h", 0.01, true}, {"-1/s", -1, true},
		{"10/day", 0, false}, {"10 per min", 0, false}, {"10%/min", 0, false}, {"NaN/s", 0, false},
		{"Inf/s", 0, false}, {"10", 0, false}, {"/s", 0, false},
	} {
		got, ok := ParseRate(c.in)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{250 * time.Millisecond: "250ms", 2 * time.Minute: "2m",
		90 * time.Minute: "1h30m", time.Hour: "1h", 5 * time.Second: "5s"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestDescribe(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("{a: 1, b: true, c: x, d: [1], e: {f: 1}, g: ~, h: &x 2, i: *x}"), &doc); err != nil {
		t.Fatal(err)
	}
	m := doc.Content[0].Content
	want := []string{"the number 1", "true/false true", `the text "x"`, "a list", "a mapping (key: value)", "nothing", "the number 2", "the number 2"}
	for i := 0; i < len(m); i += 2 {
		if got := Describe(Deref(m[i+1])); got != want[i/2] {
			t.Errorf("%s: Describe = %q, want %q", m[i].Value, got, want[i/2])
		}
	}
	if Join("", "a") != "a" || Join("x[0]", "a") != "x[0].a" {
		t.Error("Join")
	}
}
