package manifest

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParse checks that Parse never panics, that a refusal is an *Error with at least one
// problem, and that a manifest it accepts, written out again, is accepted again as the same.
func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte(minimal))
	f.Add([]byte(minimal + "reads: [&a x.y.z, *a]\nconfig: {a: &b [*b]}\n"))
	f.Add([]byte(edit(f, "memory:", "memroy: 16MB")))
	f.Add([]byte(edit(f, "    maxRate:", "    maxRate: 1e-300/h")))
	f.Add([]byte("id: [\n"))
	f.Add([]byte("- a\n---\nb\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("plugin.yaml", data)
		if err != nil {
			var e *Error
			if m != nil || !errors.As(err, &e) || len(e.Problems) == 0 {
				t.Fatalf("Parse = %v, %#v", m, err)
			}
			for _, p := range e.Problems {
				if p.Msg == "" || p.Line < 0 || p.Col < 0 {
					t.Fatalf("bad problem %+v", p)
				}
			}
			if err.Error() == "" || strings.Count(err.Error(), "\n") != len(e.Problems)-1 {
				t.Fatalf("bad message %q", err)
			}
			return
		}
		again, err := Parse("again.yaml", encode(t, m))
		if err != nil {
			t.Fatalf("the manifest\n%+v\nwritten out as\n%s\nis refused: %v", m, encode(t, m), err)
		}
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("written out and read again,\n%+v\nbecomes\n%+v", m, again)
		}
	})
}

// encode writes m back out as a manifest.
func encode(t *testing.T, m *Manifest) []byte {
	doc := map[string]any{
		"id": m.ID, "version": m.Version, "wasm": m.Wasm, "sha256": m.SHA256, "abi": m.ABI,
		"tick": m.Tick.String(), "memory": m.Memory, "budget": m.Budget.String(),
	}
	if m.Reads != nil {
		doc["reads"] = m.Reads
	}
	if m.Writes != nil {
		var ws []map[string]any
		for _, w := range m.Writes {
			ws = append(ws, map[string]any{"tag": w.Tag, "min": w.Min, "max": w.Max, "maxRate": fmtNum(w.MaxRate) + "/s"})
		}
		doc["writes"] = ws
	}
	if m.Config != nil {
		doc["config"] = m.Config
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
