package yamlnode

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// SyntaxError is a YAML syntax error worded for the person who wrote the file.
type SyntaxError struct {
	Line int    // 0 when the parser gave none
	Msg  string // "YAML syntax: …", with a hint for tabs
}

// Document is what DecodeOne found in a file meant to hold one YAML document.
type Document struct {
	// Root is the document's top node with aliases resolved; nil when there is no document
	// (an empty file, or one whose first document has a syntax error).
	Root *yaml.Node
	// Second is the start of a second document ("---"), which such a file must not have.
	Second *yaml.Node
	Syntax []SyntaxError
}

var lineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// DecodeOne decodes data as one YAML document. An empty file has no Root and no Syntax.
func DecodeOne(data []byte) Document {
	var d Document
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			d.Syntax = append(d.Syntax, syntaxError(err, data))
		}
		return d
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.Second = &extra
	} else if !errors.Is(err, io.EOF) {
		d.Syntax = append(d.Syntax, syntaxError(err, data))
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	d.Root = Deref(root)
	return d
}

func syntaxError(err error, data []byte) SyntaxError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if line > 0 && strings.Contains(msg, "cannot start any token") {
		if lines := strings.Split(string(data), "\n"); line <= len(lines) && strings.Contains(lines[line-1], "\t") {
			msg += "; indent with spaces, YAML does not allow tabs"
		}
	}
	return SyntaxError{Line: line, Msg: "YAML syntax: " + msg}
}

// Suggest returns the known word nearest to word (ignoring case), or "" when none is near
// enough to be a plausible typo; failing that, a known word that contains it or that it
// contains, when both have 3 letters or more ("rate" for maxRate, "endpointUrl" for endpoint).
func Suggest(word string, known []string) string {
	lw := strings.ToLower(word)
	best, bestD := "", -1
	for _, k := range known {
		if d := distance(lw, strings.ToLower(k)); bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" && bestD <= max(1, len(word)/3) {
		return best
	}
	for _, k := range known {
		lk := strings.ToLower(k)
		if min(len(lw), len(lk)) >= 3 && (strings.Contains(lk, lw) || strings.Contains(lw, lk)) {
			return k
		}
	}
	return ""
}

// distance is the Levenshtein distance between a and b, in bytes (keys are ASCII).
func distance(a, b string) int {
	row := make([]int, len(b)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		diag := row[0] // row[i-1][j-1]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			up := row[j]
			row[j] = min(up+1, row[j-1]+1, diag+cost)
			diag = up
		}
	}
	return row[len(b)]
}
