package manifest

import (
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a manifest: where (1-based line and column; 0 when not
// known, e.g. a YAML syntax error without a column), which field (id, writes[0].max, ...; ""
// for the file as a whole) and what is wrong, saying what would be valid where it can.
type Problem struct {
	Line, Col int
	Path      string
	Msg       string
}

// format returns "file:line:col: path: message", leaving out the parts that are not known.
func (p Problem) format(file string) string {
	var b strings.Builder
	b.WriteString(file)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
		if p.Col > 0 {
			b.WriteString(":" + strconv.Itoa(p.Col))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error is every problem found in one manifest, in file order. Parse and Load return it
// (use errors.As).
type Error struct {
	File     string // the name given to Parse, the path given to Load
	Problems []Problem
}

// Error returns the problems one per line: "file:line:col: path: message".
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.format(e.File)
	}
	return strings.Join(lines, "\n")
}

// sortProblems orders problems by position, keeping the order of problems at one position.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Col < ps[j].Col
	})
}
