// Package yamlnode holds what Minebrain's YAML readers share (the site file, plugin
// manifests): they walk go.yaml.in/yaml/v3 node trees so that every problem has its line, and
// they describe values and read rates the same way.
package yamlnode

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Deref follows aliases to the node they name.
func Deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// IsNull reports a missing value: no node, an empty one, or null.
func IsNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// IsNumber reports an unquoted integer or float scalar.
func IsNumber(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float")
}

// Describe names what a node is, for "expected X, got Y".
func Describe(n *yaml.Node) string {
	switch {
	case IsNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping (key: value)"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!bool":
		return "true/false " + n.Value
	case "!!int", "!!float":
		return "the number " + n.Value
	}
	return fmt.Sprintf("the text %q", n.Value)
}

// Join appends a key to a field path ("connections[0]" + "security").
func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// FormatDuration writes a duration as a person would in the file: 250ms, 5s, 2m, 1h30m.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ParseRate reads a rate written "NUMBER/s", "NUMBER/min" or "NUMBER/h" (spaces allowed) and
// returns it per second; false when s is not written so. A negative rate is returned as it is:
// whether one makes sense is the caller's to say.
func ParseRate(s string) (perSecond float64, ok bool) {
	num, unit, found := strings.Cut(strings.ReplaceAll(s, " ", ""), "/")
	per := map[string]float64{"s": 1, "min": 60, "h": 3600}[unit]
	f, err := strconv.ParseFloat(num, 64)
	if !found || per == 0 || err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f / per, true
}
