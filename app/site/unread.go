package site

import (
	"fmt"
	"slices"
	"strings"
)

// UnreadTags lists, as problems to warn about (not errors), the tags that alarms and
// interlocks use but no connection reads: an alarm's tag, a suppressWhen tag, a tag in an
// interlock's require. It can tell only when the connections name their tags: a connection
// with equipment: reads whatever the server has, so with one nothing is reported; a browse
// rule reads an unknown set of tags of its area, so a tag of that area counts as read.
func (s *Site) UnreadTags() []*Problem {
	read := map[string]bool{}
	areas := map[string]bool{}
	for _, c := range s.Connections {
		if c.Equipment != nil {
			return nil
		}
		for _, r := range c.Browse {
			areas[r.Area] = true
		}
		for _, n := range c.Nodes {
			read[n.Tag] = true
		}
	}
	unread := func(tag string) bool {
		area, _, _ := strings.Cut(tag, ".")
		return !read[tag] && !areas[area]
	}
	var out []*Problem
	warn := func(at Pos, format string, args ...any) {
		out = append(out, at.Errorf(format, args...))
	}
	const why = "no connection reads it (no nodes: entry names it and no browse: rule reads its area)"
	for i, a := range s.Alarms {
		at := s.AlarmPos[i]
		if unread(a.Tag) {
			warn(Pos{File: at.File, Line: at.Line, Col: at.Col, Path: at.Path + ".tag"}, "alarm %s: tag %s is never read, so the alarm never raises; %s", a.ID, a.Tag, why)
		}
		if c := a.SuppressWhen; c != nil && unread(c.Tag) {
			warn(Pos{File: at.File, Line: at.Line, Col: at.Col, Path: at.Path + ".suppressWhen"}, "alarm %s: suppression tag %s is never read, so the alarm is never suppressed; %s", a.ID, c.Tag, why)
		}
	}
	for i, il := range s.Control.Interlocks {
		at := s.InterlockPos[i]
		var missing []string
		for _, tag := range il.Require.Tags() {
			if unread(tag) && !slices.Contains(missing, tag) {
				missing = append(missing, tag)
			}
		}
		if len(missing) > 0 {
			warn(Pos{File: at.File, Line: at.Line, Col: at.Col, Path: at.Path + ".require"}, "interlock on %s %s: %s never read, so the command is always refused; %s",
				il.Command, il.Unit, plural(missing), why)
		}
	}
	return out
}

func plural(tags []string) string {
	if len(tags) == 1 {
		return "tag " + tags[0] + " is"
	}
	return fmt.Sprintf("tags %s are", strings.Join(tags, ", "))
}
