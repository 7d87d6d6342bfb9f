package site

import (
	"fmt"
	"strings"
)

// compileMatch splits a browse pattern into segments and checks it: segments are separated
// by "/"; within a segment "*" matches any run of characters and "?" one character; "**" as
// a whole segment matches any number of segments, none included.
func compileMatch(s string) ([]string, string) {
	const valid = `segments separated by /, with * (any characters within a segment), ? (one character) and ** (a whole segment: any depth), e.g. */*, Pump*/*, **/Flow*`
	segs := strings.Split(s, "/")
	for _, seg := range segs {
		if seg == "" {
			return nil, fmt.Sprintf("%q has an empty segment; a pattern is %s", s, valid)
		}
		if strings.Contains(seg, "**") && seg != "**" {
			return nil, fmt.Sprintf("%q: ** must be a whole segment (like a/**/b), not part of %q; a pattern is %s", s, seg, valid)
		}
	}
	return segs, ""
}

// matchPath reports whether the browse names in path match the pattern segments.
func matchPath(pat, path []string) bool {
	if len(pat) == 0 {
		return len(path) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(path); i++ {
			if matchPath(pat[1:], path[i:]) {
				return true
			}
		}
		return false
	}
	return len(path) > 0 && matchSegment([]rune(pat[0]), []rune(path[0])) && matchPath(pat[1:], path[1:])
}

// matchSegment matches one browse name against one pattern segment (* and ?).
func matchSegment(pat, name []rune) bool {
	for len(pat) > 0 {
		switch pat[0] {
		case '*':
			for i := 0; i <= len(name); i++ {
				if matchSegment(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(name) == 0 {
				return false
			}
		default:
			if len(name) == 0 || name[0] != pat[0] {
				return false
			}
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}
