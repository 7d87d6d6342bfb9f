package site

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Pos is where an item of the site file is: the file, the 1-based line and column of its
// value, and its field path (connections[0].nodes[2]). Later run-time errors about the item
// (a node the server does not know, a login refused) use it to point at the file line.
type Pos struct {
	File      string
	Line, Col int
	Path      string
}

// String returns "file:line:col".
func (p Pos) String() string {
	s := p.File
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line)
		if p.Col > 0 {
			s += ":" + strconv.Itoa(p.Col)
		}
	}
	return s
}

// Errorf returns a *Problem at p: "file:line:col: path: message".
func (p Pos) Errorf(format string, args ...any) *Problem {
	return &Problem{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

// Problem is one thing wrong with a site file.
type Problem struct {
	Pos
	// Msg says what is wrong and, where it can, what would be valid.
	Msg string
}

// Error returns "file:line:col: field.path: message".
func (p *Problem) Error() string {
	var b strings.Builder
	if pos := p.Pos.String(); pos != "" {
		b.WriteString(pos)
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error is every problem found in one site file, in file order. Load and Parse return it
// (use errors.As); its message is one problem per line.
type Error struct {
	Problems []*Problem
}

// Error returns the problems one per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, so errors.As finds a single *Problem too.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// sortProblems orders problems by position, keeping the order of problems at one position.
func sortProblems(ps []*Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}
