package site

import (
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"minebrain/app/yamlnode"
)

// History is the site file's history: section: how long the historian keeps samples and how
// it compresses them. The zero value keeps everything, lossless.
type History struct {
	// RetainFor drops samples older than this; 0 keeps them.
	RetainFor time.Duration
	// RetainBytes keeps the file's data under this size by dropping the oldest; 0: no limit.
	RetainBytes int64
	// Compression rules, first match wins; a tag no rule matches is stored lossless.
	Compression []CompressionRule
	Pos         Pos
}

// CompressionRule sets the compression of the tags its pattern matches.
type CompressionRule struct {
	// Tags is a glob over tag names ("Crushing.*.PowerKW", "Water.*"); "*" also crosses dots.
	Tags string
	// Kind is lossless, deadband or swingingDoor.
	Kind string
	// Deviation in engineering units, or DeviationPct percent of the signal's engineering
	// range (EURange), exactly one of them for deadband and swingingDoor.
	Deviation, DeviationPct float64
	// MaxInterval bounds the time between stored samples; 0: none.
	MaxInterval time.Duration
	Pos         Pos
}

// CompressionFor returns the first rule matching tag, or false.
func (h History) CompressionFor(tag string) (CompressionRule, bool) {
	for _, r := range h.Compression {
		if ok, _ := path.Match(r.Tags, tag); ok {
			return r, true
		}
	}
	return CompressionRule{}, false
}

var compressionKinds = []string{"lossless", "deadband", "swingingDoor"}

func (p *parser) history(s *Site, _, v *yaml.Node) {
	const at = "history"
	s.History.Pos = p.pos(v, at)
	if !p.isMap(v, at, "a mapping with retainFor:, retainSize: or compression:") {
		return
	}
	m := p.mapping(v, at, []string{"retainFor", "retainSize", "compression"}, nil)
	if e, ok := m["retainFor"]; ok {
		s.History.RetainFor, _ = p.longDuration(e.val, at+".retainFor")
	}
	if e, ok := m["retainSize"]; ok {
		s.History.RetainBytes, _ = p.size(e.val, at+".retainSize")
	}
	if e, ok := m["compression"]; ok && p.isList(e.val, at+".compression", "compression rules") {
		for i, item := range e.val.Content {
			if r, ok := p.compressionRule(yamlnode.Deref(item), index(at+".compression", i)); ok {
				s.History.Compression = append(s.History.Compression, r)
			}
		}
	}
}

func (p *parser) compressionRule(n *yaml.Node, at string) (CompressionRule, bool) {
	r := CompressionRule{Pos: p.pos(n, at)}
	if !p.isMap(n, at, "a mapping with tags:, kind: and deviation: or deviationPct:") {
		return r, false
	}
	m := p.mapping(n, at, []string{"tags", "kind", "deviation", "deviationPct", "maxInterval"}, nil)
	ok := true
	if e, has := m["tags"]; !has {
		p.errAt(n, at+".tags", "missing; name the tags with a pattern, e.g. tags: \"Crushing.*.PowerKW\"")
		ok = false
	} else if r.Tags, ok = p.str(e.val, at+".tags"); ok {
		if _, err := path.Match(r.Tags, ""); err != nil {
			p.errAt(e.val, at+".tags", "%q is not a valid pattern (use * and ?; [..] must be closed)", r.Tags)
			ok = false
		}
	}
	if e, has := m["kind"]; !has {
		p.errAt(n, at+".kind", "missing; use one of %s", strings.Join(compressionKinds, ", "))
		ok = false
	} else if kind, good := p.str(e.val, at+".kind"); good {
		if !slices.Contains(compressionKinds, kind) {
			p.errAt(e.val, at+".kind", "%q is not a compression; use one of %s", kind, strings.Join(compressionKinds, ", "))
			ok = false
		}
		r.Kind = kind
	}
	dev, hasDev := m["deviation"]
	pct, hasPct := m["deviationPct"]
	if hasDev {
		r.Deviation, _ = p.number(dev.val, at+".deviation")
		if r.Deviation <= 0 {
			p.errAt(dev.val, at+".deviation", "must be above 0 (engineering units)")
			ok = false
		}
	}
	if hasPct {
		r.DeviationPct, _ = p.number(pct.val, at+".deviationPct")
		if r.DeviationPct <= 0 || r.DeviationPct > 100 {
			p.errAt(pct.val, at+".deviationPct", "must be above 0 and at most 100 (percent of the signal's range)")
			ok = false
		}
	}
	switch {
	case r.Kind == "lossless" && (hasDev || hasPct):
		p.errAt(n, at, "lossless takes no deviation; remove it or choose deadband or swingingDoor")
		ok = false
	case r.Kind != "lossless" && r.Kind != "" && hasDev == hasPct:
		p.errAt(n, at, "%s needs exactly one of deviation: (engineering units) or deviationPct: (percent of the range)", r.Kind)
		ok = false
	}
	if e, has := m["maxInterval"]; has {
		r.MaxInterval, _ = p.duration(e.val, at+".maxInterval", time.Second, 7*24*time.Hour, true)
	}
	return r, ok
}

var longDurRE = regexp.MustCompile(`^(\d+)\s*(d|w|y)$`)

// longDuration parses a retention: a Go duration (720h) or days, weeks or years (90d, 5y).
func (p *parser) longDuration(n *yaml.Node, at string) (time.Duration, bool) {
	s, ok := p.str(n, at)
	if !ok {
		return 0, false
	}
	if m := longDurRE.FindStringSubmatch(s); m != nil {
		k, _ := strconv.Atoi(m[1])
		day := 24 * time.Hour
		unit := map[string]time.Duration{"d": day, "w": 7 * day, "y": 365 * day}[m[2]]
		limit := 36500 // a century, in any unit
		if m[2] == "y" {
			limit = 100
		}
		if k > 0 && k <= limit {
			return time.Duration(k) * unit, true
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= time.Hour {
		return d, true
	}
	p.errAt(n, at, "%q is not a retention; write days, weeks or years such as 90d, 26w or 5y (at least 1h)", s)
	return 0, false
}

var sizeRE = regexp.MustCompile(`^(\d+(?:\.\d+)?)\s*(MB|GB|TB)$`)

// size parses a byte size such as 500MB, 20GB or 1.5TB (powers of 1000).
func (p *parser) size(n *yaml.Node, at string) (int64, bool) {
	s, ok := p.str(n, at)
	if !ok {
		return 0, false
	}
	if m := sizeRE.FindStringSubmatch(s); m != nil {
		f, _ := strconv.ParseFloat(m[1], 64)
		b := int64(f * map[string]float64{"MB": 1e6, "GB": 1e9, "TB": 1e12}[m[2]])
		if b >= 10e6 {
			return b, true
		}
	}
	p.errAt(n, at, "%q is not a size; write a number and MB, GB or TB, such as 500MB or 20GB (at least 10MB)", s)
	return 0, false
}
