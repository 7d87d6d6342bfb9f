package yamlnode

import (
	"strings"
	"testing"
)

func TestSuggest(t *testing.T) {
	connection := []string{"name", "endpoint", "security", "auth", "publishInterval", "samplingInterval", "staleAfter", "equipment", "browse", "nodes"}
	write := []string{"tag", "min", "max", "maxRate"}
	for _, c := range []struct {
		word  string
		known []string
		want  string
	}{
		{"publishIntervall", connection, "publishInterval"},
		{"PublishInterval", connection, "publishInterval"},
		{"endpointUrl", connection, "endpoint"},
		{"node", connection, "nodes"},
		{"brwose", connection, "browse"},
		{"sampling", connection, "samplingInterval"},
		{"x", connection, ""},
		{"colour", connection, ""},
		{"rate", write, "maxRate"},
		{"maxrate", write, "maxRate"},
		{"tags", write, "tag"},
		{"limit", write, ""},
	} {
		if got := Suggest(c.word, c.known); got != c.want {
			t.Errorf("Suggest(%q) = %q, want %q", c.word, got, c.want)
		}
	}
}

func TestDecodeOne(t *testing.T) {
	for _, c := range []struct {
		name, text   string
		root, second bool
		syntaxLine   int
		syntaxHas    string
	}{
		{"empty", "", false, false, 0, ""},
		{"one document", "a: 1\n", true, false, 0, ""},
		{"two documents", "a: 1\n---\nb: 2\n", true, true, 0, ""},
		{"tab indent", "a:\n\tb: 1\n", false, false, 2, "indent with spaces"},
		{"bad second document", "a: 1\n---\nb: [\n", true, false, 3, "YAML syntax: "},
		{"alias root", "&x a: 1\n", true, false, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := DecodeOne([]byte(c.text))
			if (d.Root != nil) != c.root || (d.Second != nil) != c.second {
				t.Errorf("root %v, second %v; want %v, %v", d.Root != nil, d.Second != nil, c.root, c.second)
			}
			if c.syntaxHas == "" {
				if len(d.Syntax) != 0 {
					t.Errorf("syntax errors %+v", d.Syntax)
				}
				return
			}
			if len(d.Syntax) != 1 || d.Syntax[0].Line != c.syntaxLine || !strings.Contains(d.Syntax[0].Msg, c.syntaxHas) ||
				!strings.HasPrefix(d.Syntax[0].Msg, "YAML syntax: ") {
				t.Errorf("syntax errors %+v; want one at line %d containing %q", d.Syntax, c.syntaxLine, c.syntaxHas)
			}
		})
	}
}
