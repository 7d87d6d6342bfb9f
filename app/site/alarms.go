package site

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"minebrain/app/alarms"
	"minebrain/app/yamlnode"
)

// Limits of the alarms: section's durations.
const (
	MaxAlarmDelay = time.Hour     // onDelay, offDelay: 0 to this
	MinRateWindow = time.Second   // window of a rate alarm
	MaxRateWindow = time.Hour     //
	MaxAlarmStale = MaxStaleAfter // staleAfter of a bad-quality alarm, from MinStaleAfter
	alarmIDValid  = "use letters, digits, _, -, . and : only, e.g. CR1.PowerHI"
	alarmKinds    = "HI, HIHI, LO, LOLO, discrete, rate or bad-quality"
	alarmOps      = "==, !=, < or >"
	alarmPrios    = "critical, high, medium or low"
	rateForm      = `NUMBER/s, NUMBER/min or NUMBER/h, e.g. "10/min"`
	conditionForm = `"TAG OP NUMBER", e.g. "Crushing.CR1.RunState != 1"`
)

var (
	alarmKeys = []string{"id", "tag", "kind", "limit", "op", "deadband", "onDelay", "offDelay", "window",
		"staleAfter", "priority", "area", "unit", "message", "suppressWhen", "suppressRelease", "latched"}
	alarmIDRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)
	opList    = []string{"==", "!=", "<", ">"}
	ops       = map[string]alarms.Op{"==": alarms.Eq, "!=": alarms.Ne, "<": alarms.Lt, ">": alarms.Gt}
)

// AlarmAt returns the position of the alarm with the given id (its list item in alarms:),
// so that run-time errors about an alarm can point at its line; false when there is none.
func (s *Site) AlarmAt(id string) (Pos, bool) {
	for i, d := range s.Alarms {
		if d.ID == id && i < len(s.AlarmPos) {
			return s.AlarmPos[i], true
		}
	}
	return Pos{}, false
}

// alarmItem is one parsed alarm with the nodes later checks point at.
type alarmItem struct {
	def              alarms.Definition
	pos              Pos
	idNode, limNode  *yaml.Node
	item             *yaml.Node
	tagOK, kindKnown bool
}

func (p *parser) alarms(s *Site, k, v *yaml.Node) {
	const path = "alarms"
	if yamlnode.IsNull(v) {
		return
	}
	if !p.isList(v, path, "alarms (id:, tag:, kind:, limit:, priority:, ...)") {
		return
	}
	ids := map[string]alarmItem{}
	var items []alarmItem
	for i, item := range v.Content {
		a, ok := p.alarm(yamlnode.Deref(item), index(path, i))
		if a.def.ID != "" {
			if first, dup := ids[a.def.ID]; dup {
				p.errAt(a.idNode, a.pos.Path+".id", "%q is already the id of %s (line %d); alarm ids must be unique", a.def.ID, first.pos.Path, first.pos.Line)
				ok = false
			} else {
				ids[a.def.ID] = a
			}
		}
		if !ok {
			continue
		}
		items = append(items, a)
	}
	p.checkLimitOrder(items)
	for _, a := range items {
		s.Alarms = append(s.Alarms, a.def)
		s.AlarmPos = append(s.AlarmPos, a.pos)
	}
}

// checkLimitOrder checks that on one tag a HIHI limit is above every HI limit and a LOLO
// limit below every LO limit: the second limit is the more severe one.
func (p *parser) checkLimitOrder(items []alarmItem) {
	for _, a := range items {
		var pair alarms.Kind
		switch a.def.Kind {
		case alarms.HIHI:
			pair = alarms.HI
		case alarms.LOLO:
			pair = alarms.LO
		default:
			continue
		}
		for _, b := range items {
			if b.def.Tag != a.def.Tag || b.def.Kind != pair {
				continue
			}
			if a.def.Kind == alarms.HIHI && a.def.Limit <= b.def.Limit {
				p.errAt(a.limNode, a.pos.Path+".limit", "the HIHI limit %s is not above the HI limit %s of %s (%s, line %d) on the same tag; HIHI is the more severe, higher limit",
					fmtNum(a.def.Limit), fmtNum(b.def.Limit), b.def.ID, b.pos.Path, b.pos.Line)
			}
			if a.def.Kind == alarms.LOLO && a.def.Limit >= b.def.Limit {
				p.errAt(a.limNode, a.pos.Path+".limit", "the LOLO limit %s is not below the LO limit %s of %s (%s, line %d) on the same tag; LOLO is the more severe, lower limit",
					fmtNum(a.def.Limit), fmtNum(b.def.Limit), b.def.ID, b.pos.Path, b.pos.Line)
			}
		}
	}
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// alarm parses one item of alarms:. ok is false when anything about it was wrong.
func (p *parser) alarm(n *yaml.Node, path string) (a alarmItem, ok bool) {
	a.pos, a.item = p.pos(n, path), n
	if !p.isMap(n, path, "an alarm (id:, tag:, kind:, limit:, priority:, ...)") {
		return a, false
	}
	before := len(p.probs)
	m := p.mapping(n, path, alarmKeys, nil)
	d := &a.def
	at := func(key string) string { return path + "." + key }

	if e, has := m["id"]; has {
		a.idNode = e.val
		if id, good := p.str(e.val, at("id")); good {
			if alarmIDRE.MatchString(id) {
				d.ID = id
			} else {
				p.errAt(e.val, at("id"), "%q is not an alarm id; %s", id, alarmIDValid)
			}
		}
	} else {
		p.errAt(n, at("id"), "missing; every alarm needs a unique, stable id (the journal and the operators refer to it), e.g. id: CR1.PowerHI")
	}

	if e, has := m["tag"]; has {
		if tag, good := p.str(e.val, at("tag")); good {
			if msg := checkTag(tag); msg != "" {
				p.errAt(e.val, at("tag"), "%s", msg)
			} else {
				d.Tag, a.tagOK = tag, true
			}
		}
	} else {
		p.errAt(n, at("tag"), "missing; the tag whose values drive the alarm, Area.Unit.Signal, e.g. tag: Crushing.CR1.PowerKW")
	}

	if e, has := m["kind"]; has {
		if s, good := p.str(e.val, at("kind")); good {
			kind, err := alarms.ParseKind(s)
			switch {
			case err != nil:
				msg := fmt.Sprintf("%q is not an alarm kind; use %s", s, alarmKinds)
				if strings.EqualFold(s, "high") || strings.EqualFold(s, "low") {
					msg = fmt.Sprintf("%q is not an alarm kind; write %s (or %s%s for the second, more severe limit)", s, strings.ToUpper(s[:2]), strings.ToUpper(s[:2]), strings.ToUpper(s[:2]))
				}
				p.errAt(e.val, at("kind"), "%s", msg)
			case kind == alarms.System:
				p.errAt(e.val, at("kind"), "system alarms are raised by Minebrain itself (a lost connection, a full disk), not defined in the site file; use %s", alarmKinds)
			default:
				d.Kind, a.kindKnown = kind, true
			}
		}
	} else {
		p.errAt(n, at("kind"), "missing; use %s", alarmKinds)
	}

	if e, has := m["priority"]; has {
		if s, good := p.str(e.val, at("priority")); good {
			if pr, err := alarms.ParsePriority(s); err != nil {
				p.errAt(e.val, at("priority"), "%q is not a priority; use %s", s, alarmPrios)
			} else {
				d.Priority = pr
			}
		}
	} else {
		p.errAt(n, at("priority"), "missing; use %s (the alarm philosophy's urgency of the operator's response)", alarmPrios)
	}

	// The kind decides which of the other keys apply; they are checked only when the kind
	// is known, so that a bad kind gives one problem, not one per key.
	kindName := d.Kind.String()
	misuse := func(key, why string) {
		if e, has := m[key]; has && a.kindKnown {
			p.errAt(e.key, at(key), "a %s alarm has no %s; %s", kindName, key, why)
		}
	}
	needsLimit := d.Kind != alarms.BadQuality
	if e, has := m["limit"]; has {
		a.limNode = e.val
		if a.kindKnown && !needsLimit {
			misuse("limit", "it is active while the signal's quality is bad or its values stop (staleAfter:); remove limit:")
		} else if a.kindKnown && d.Kind == alarms.Rate {
			if r, good := p.rate(e.val, at("limit"), "a rate-of-change limit"); good {
				if r <= 0 {
					p.errAt(e.val, at("limit"), "%s: a rate-of-change limit is greater than 0", e.val.Value)
				} else {
					d.Limit = r
				}
			}
		} else if f, good := p.number(e.val, at("limit")); good {
			d.Limit = f
		}
	} else if a.kindKnown && needsLimit {
		what := map[alarms.Kind]string{
			alarms.HI: "the value at or above which it is active", alarms.HIHI: "the value at or above which it is active",
			alarms.LO: "the value at or below which it is active", alarms.LOLO: "the value at or below which it is active",
			alarms.Discrete: "the number compared with op:, e.g. limit: 2 with op: == for a trip (RunState 2)",
			alarms.Rate:     `the largest normal change, ` + rateForm,
		}[d.Kind]
		p.errAt(n, at("limit"), "missing; a %s alarm needs limit:, %s", kindName, what)
	}

	if e, has := m["op"]; has {
		if a.kindKnown && d.Kind != alarms.Discrete {
			misuse("op", "op: compares the value of a discrete alarm; remove it")
		} else if v := e.val; v.Kind == yaml.ScalarNode && (v.Style&(yaml.FoldedStyle|yaml.LiteralStyle) != 0 || strings.HasPrefix(v.Tag, "!") && !strings.HasPrefix(v.Tag, "!!")) {
			p.errAt(v, at("op"), `write the operator in quotes, e.g. op: "!=" or op: ">" (unquoted, YAML reads ! and > as its own syntax)`)
		} else if s, good := p.str(e.val, at("op")); good {
			if op, known := ops[s]; known {
				d.Op = op
			} else {
				p.errAt(e.val, at("op"), "%q is not a comparison; use %s", s, alarmOps)
			}
		}
	}

	if e, has := m["deadband"]; has {
		if a.kindKnown && (d.Kind == alarms.Discrete || d.Kind == alarms.BadQuality) {
			misuse("deadband", "a deadband applies to HI, HIHI, LO, LOLO and rate alarms; remove it")
		} else if f, good := p.number(e.val, at("deadband")); good {
			if f < 0 {
				p.errAt(e.val, at("deadband"), "%s is negative; a deadband is 0 or more, in the tag's units", e.val.Value)
			} else {
				d.Deadband = f
			}
		}
	}

	if e, has := m["onDelay"]; has {
		d.OnDelay, _ = p.duration(e.val, at("onDelay"), 0, MaxAlarmDelay, true)
	}
	if e, has := m["offDelay"]; has {
		d.OffDelay, _ = p.duration(e.val, at("offDelay"), 0, MaxAlarmDelay, true)
	}

	if e, has := m["window"]; has {
		if a.kindKnown && d.Kind != alarms.Rate {
			misuse("window", "window: is the span of a rate-of-change alarm; remove it")
		} else {
			d.Window, _ = p.duration(e.val, at("window"), MinRateWindow, MaxRateWindow, false)
		}
	} else if a.kindKnown && d.Kind == alarms.Rate {
		p.errAt(n, at("window"), "missing; a rate alarm needs window:, the span the change is measured over, %s to %s, e.g. window: 1m", yamlnode.FormatDuration(MinRateWindow), yamlnode.FormatDuration(MaxRateWindow))
	}

	if e, has := m["staleAfter"]; has {
		if a.kindKnown && d.Kind != alarms.BadQuality {
			misuse("staleAfter", "staleAfter: belongs to bad-quality alarms (no value for that long raises them); remove it")
		} else {
			d.StaleAfter, _ = p.duration(e.val, at("staleAfter"), MinStaleAfter, MaxAlarmStale, false)
		}
	}

	parts := strings.Split(d.Tag, ".")
	d.Area, d.Unit = "", ""
	if a.tagOK {
		d.Area, d.Unit = parts[0], parts[1]
	}
	for _, key := range []string{"area", "unit"} {
		e, has := m[key]
		if !has {
			continue
		}
		s, good := p.str(e.val, at(key))
		if !good {
			continue
		}
		if msg := checkName(s); msg != "" {
			p.errAt(e.val, at(key), "%q %s", s, msg)
			continue
		}
		if key == "area" {
			d.Area = s
		} else {
			d.Unit = s
		}
	}

	if e, has := m["message"]; has {
		if s, good := p.str(e.val, at("message")); good {
			d.Message = strings.TrimSpace(s)
		}
	} else if a.tagOK && a.kindKnown {
		d.Message = defaultMessage(d)
	}

	if e, has := m["suppressWhen"]; has {
		if s, good := p.str(e.val, at("suppressWhen")); good {
			if c, msg := parseCondition(s); msg != "" {
				p.errAt(e.val, at("suppressWhen"), "%s", msg)
			} else {
				d.SuppressWhen = &c
			}
		}
	}

	if e, has := m["suppressRelease"]; has {
		if d.SuppressWhen == nil {
			if _, cond := m["suppressWhen"]; !cond {
				p.errAt(e.key, at("suppressRelease"), "suppressRelease: is how long a suppression outlasts its condition; it needs suppressWhen:")
			}
		} else {
			d.SuppressRelease, _ = p.duration(e.val, at("suppressRelease"), 0, MaxAlarmDelay, true)
		}
	}

	if e, has := m["latched"]; has {
		d.Latched, _ = p.boolean(e.val, at("latched"))
	}

	if len(p.probs) > before {
		return a, false
	}
	if err := d.Validate(); err != nil {
		p.errAt(n, path, "%v", err)
		return a, false
	}
	return a, true
}

// defaultMessage is the message of an alarm without message:, e.g.
// "Crushing.CR1.PowerKW high".
func defaultMessage(d *alarms.Definition) string {
	switch d.Kind {
	case alarms.HI:
		return d.Tag + " high"
	case alarms.HIHI:
		return d.Tag + " high high"
	case alarms.LO:
		return d.Tag + " low"
	case alarms.LOLO:
		return d.Tag + " low low"
	case alarms.Discrete:
		return d.Tag + " " + d.Op.String() + " " + fmtNum(d.Limit)
	case alarms.Rate:
		return d.Tag + " changing fast"
	}
	return d.Tag + " bad quality"
}

// parseCondition reads "TAG OP NUMBER" and checks the tag; msg says what is wrong.
func parseCondition(s string) (alarms.Condition, string) {
	c, err := alarms.ParseCondition(s)
	if err != nil {
		f := strings.Fields(s)
		switch {
		case len(f) != 3:
			return c, fmt.Sprintf("%q is not a condition; write %s, the three parts separated by spaces", s, conditionForm)
		case f[1] == "=":
			return c, fmt.Sprintf("%q: write the operator = as ==; the operators are %s", s, alarmOps)
		case !slices.Contains(opList, f[1]):
			return c, fmt.Sprintf("%q: the operator %s is not one of %s", s, f[1], alarmOps)
		default:
			return c, fmt.Sprintf("%q: %q is not a number; write %s", s, f[2], conditionForm)
		}
	}
	if msg := checkTag(c.Tag); msg != "" {
		return c, fmt.Sprintf("in %q: %s", s, msg)
	}
	return c, ""
}

// rate parses "NUMBER/s", "NUMBER/min" or "NUMBER/h" into units per second. A plain number
// is refused unless it is 0 (so the time unit is never guessed).
func (p *parser) rate(n *yaml.Node, path, what string) (float64, bool) {
	if yamlnode.IsNumber(n) {
		f, ok := p.number(n, path)
		if !ok {
			return 0, false
		}
		if f == 0 {
			return 0, true
		}
		p.errAt(n, path, "%s has no time unit; write %s as %s/s, %s/min or %s/h", n.Value, what, n.Value, n.Value, n.Value)
		return 0, false
	}
	s, ok := p.str(n, path)
	if !ok {
		return 0, false
	}
	f, ok := yamlnode.ParseRate(s)
	switch {
	case !ok:
		p.errAt(n, path, "%q is not a rate; write %s as %s", s, what, rateForm)
		return 0, false
	case f < 0:
		p.errAt(n, path, "%q is negative; a rate is 0 or more, %s", s, rateForm)
		return 0, false
	}
	return f, true
}

// boolean reads true or false.
func (p *parser) boolean(n *yaml.Node, path string) (bool, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err == nil {
			return b, true
		}
	}
	p.errAt(n, path, "expected true or false, got %s", yamlnode.Describe(n))
	return false, false
}
