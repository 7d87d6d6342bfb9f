package manifest

import (
	"slices"
	"strings"
)

// Match reports whether tag matches pattern. Both are dot-separated parts; in the pattern a
// part "**" stands for any number of whole parts (none included), and "*" within a part for
// any run of characters of that part (none included). A pattern without wildcards matches
// only the tag equal to it. Match does not check the pattern (Parse checks reads:); it is
// linear-time in practice and never slower than len(pattern)·len(tag).
func Match(pattern, tag string) bool {
	if pattern == "" || tag == "" {
		return false
	}
	pp, tp := strings.Split(pattern, "."), strings.Split(tag, ".")
	// ok[j]: the pattern parts so far match the first j tag parts.
	ok := make([]bool, len(tp)+1)
	next := make([]bool, len(tp)+1)
	ok[0] = true
	for _, p := range pp {
		if p == "**" {
			any := false
			for j := range ok {
				any = any || ok[j]
				next[j] = any
			}
		} else {
			next[0] = false
			for j := 1; j <= len(tp); j++ {
				next[j] = ok[j-1] && matchPart(p, tp[j-1])
			}
		}
		ok, next = next, ok
	}
	return ok[len(tp)]
}

// matchPart matches one part against a pattern part in which '*' is any run of bytes. It
// backtracks only to the last '*', which is enough: a later star can absorb whatever an
// earlier one would have.
func matchPart(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			mark++
			pi, si = star+1, mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// Readable returns the tags (from the site's tags) that match any of the manifest's reads
// patterns, sorted and without duplicates: the plugin's readable tags, index 0, 1, ...
// (sdk/ABI.md).
func (m *Manifest) Readable(tags []string) []string {
	var out []string
	for _, t := range tags {
		for _, p := range m.Reads {
			if Match(p, t) {
				out = append(out, t)
				break
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// WriteFor returns the manifest's grant to write tag, and whether there is one.
func (m *Manifest) WriteFor(tag string) (Write, bool) {
	for _, w := range m.Writes {
		if w.Tag == tag {
			return w, true
		}
	}
	return Write{}, false
}
