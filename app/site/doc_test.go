package site

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// block is one fenced code block of a Markdown file.
type block struct {
	lang, text string
	line       int
}

func fencedBlocks(md string) []block {
	var blocks []block
	var cur *block
	for i, line := range strings.Split(md, "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &block{lang: strings.TrimSpace(strings.TrimPrefix(line, "```")), line: i + 2}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	return blocks
}

// TestDocExamples parses every ```yaml block of docs/site-file.md, so the documentation
// cannot drift from the parser: each is a whole site file that must parse, except those
// whose first line is "# error example", which must fail with exactly the text of the
// ```text block that follows them.
func TestDocExamples(t *testing.T) {
	const doc = "../../docs/site-file.md"
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	blocks := fencedBlocks(string(data))
	full, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var yamls, errExamples int
	var sawDefault, sawFull bool
	for i, b := range blocks {
		if b.lang != "yaml" {
			continue
		}
		yamls++
		sawDefault = sawDefault || b.text == string(defaultYAML)
		sawFull = sawFull || b.text == string(full)
		if strings.HasPrefix(b.text, "# error example") {
			errExamples++
			_, err := Parse("site.yaml", []byte(b.text))
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("%s:%d: the error example parses: %v", doc, b.line, err)
				continue
			}
			if i+1 >= len(blocks) || blocks[i+1].lang != "text" {
				t.Errorf("%s:%d: the error example is not followed by a ```text block", doc, b.line)
				continue
			}
			if want := strings.TrimSuffix(blocks[i+1].text, "\n"); err.Error() != want {
				t.Errorf("%s:%d: the errors shown differ from the parser's:\n got:\n%v\nshown:\n%s", doc, blocks[i+1].line, err, want)
			}
			continue
		}
		if _, err := Parse("site.yaml", []byte(b.text)); err != nil {
			t.Errorf("%s:%d: example does not parse:\n%v", doc, b.line, err)
		}
	}
	if yamls < 5 || errExamples < 1 {
		t.Errorf("found %d yaml blocks, %d error examples; the doc's examples went missing", yamls, errExamples)
	}
	if !sawDefault {
		t.Error("docs/site-file.md does not show default.yaml verbatim")
	}
	if !sawFull {
		t.Error("docs/site-file.md does not show testdata/full.yaml verbatim")
	}
}
