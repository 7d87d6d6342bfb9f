package site

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"minebrain/app/control"
	"minebrain/app/users"
	"minebrain/app/yamlnode"
)

// Limits of the control: section's timeouts.
const (
	MinControlTimeout = time.Second
	MaxControlTimeout = 10 * time.Minute
)

var (
	controlKeys   = []string{"confirmTimeout", "readBackTimeout", "setpoints", "interlocks"}
	setpointKeys  = []string{"tag", "min", "max", "maxRate", "role"}
	interlockKeys = []string{"unit", "command", "require", "message"}
)

// controlDefaults fills in the timeouts a control: section left out (or the whole section).
func (p *parser) controlDefaults(s *Site) {
	if s.Control.ConfirmTimeout == 0 {
		s.Control.ConfirmTimeout = control.DefaultConfirmTimeout
	}
	if s.Control.ReadBackTimeout == 0 {
		s.Control.ReadBackTimeout = control.DefaultReadBackTimeout
	}
}

func (p *parser) control(s *Site, _, v *yaml.Node) {
	const path = "control"
	if yamlnode.IsNull(v) {
		return
	}
	if !p.isMap(v, path, "a mapping with confirmTimeout:, readBackTimeout:, setpoints: and interlocks:") {
		return
	}
	m := p.mapping(v, path, controlKeys, nil)
	if e, ok := m["confirmTimeout"]; ok {
		s.Control.ConfirmTimeout, _ = p.duration(e.val, path+".confirmTimeout", MinControlTimeout, MaxControlTimeout, false)
	}
	if e, ok := m["readBackTimeout"]; ok {
		s.Control.ReadBackTimeout, _ = p.duration(e.val, path+".readBackTimeout", MinControlTimeout, MaxControlTimeout, false)
	}
	if e, ok := m["setpoints"]; ok && !yamlnode.IsNull(e.val) {
		p.setpoints(s, e.val, path+".setpoints")
	}
	if e, ok := m["interlocks"]; ok && !yamlnode.IsNull(e.val) {
		p.interlocks(s, e.val, path+".interlocks")
	}
}

func (p *parser) setpoints(s *Site, v *yaml.Node, path string) {
	if !p.isList(v, path, "setpoints (tag:, min:, max:, maxRate:, role:)") {
		return
	}
	seen := map[string]Pos{}
	for i, item := range v.Content {
		item = yamlnode.Deref(item)
		ip := index(path, i)
		at := func(key string) string { return ip + "." + key }
		if !p.isMap(item, ip, "a setpoint (tag:, min:, max:, maxRate:, role:)") {
			continue
		}
		before := len(p.probs)
		m := p.mapping(item, ip, setpointKeys, nil)
		sp := control.Setpoint{Role: users.Operator}
		if e, has := m["tag"]; has {
			if tag, good := p.str(e.val, at("tag")); good {
				switch msg := checkTag(tag); {
				case msg != "":
					p.errAt(e.val, at("tag"), "%s", msg)
				case !strings.HasSuffix(tag, "SP"):
					p.errAt(e.val, at("tag"), "%q is not a setpoint; only signals whose name ends in SP are written as setpoints, e.g. Crushing.AF1.FeederSpeedSP", tag)
				default:
					if first, dup := seen[tag]; dup {
						p.errAt(e.val, at("tag"), "%s is already limited by %s (line %d); give each setpoint once", tag, first.Path, first.Line)
					} else {
						seen[tag] = p.pos(item, ip)
					}
					sp.Tag = tag
				}
			}
		} else {
			p.errAt(item, at("tag"), "missing; the setpoint's tag, a signal ending in SP, e.g. tag: Crushing.AF1.FeederSpeedSP")
		}
		var maxNode *yaml.Node
		for _, key := range []string{"min", "max"} {
			e, has := m[key]
			if !has {
				continue
			}
			f, good := p.number(e.val, at(key))
			if !good {
				continue
			}
			if key == "min" {
				sp.Min = &f
			} else {
				sp.Max, maxNode = &f, e.val
			}
		}
		if sp.Min != nil && sp.Max != nil && *sp.Min >= *sp.Max {
			p.errAt(maxNode, at("max"), "max %s is not above min %s; give min below max", fmtNum(*sp.Max), fmtNum(*sp.Min))
		}
		if e, has := m["maxRate"]; has {
			sp.MaxRate, _ = p.rate(e.val, at("maxRate"), "the largest change")
		}
		if e, has := m["role"]; has {
			if r, good := p.str(e.val, at("role")); good {
				role, err := users.ParseRole(r)
				switch {
				case err != nil:
					p.errAt(e.val, at("role"), "%q is not a role; use operator, engineer or admin", r)
				case role == users.Viewer:
					p.errAt(e.val, at("role"), "viewer: viewers never write; use operator, engineer or admin")
				default:
					sp.Role = role
				}
			}
		}
		if len(p.probs) > before {
			continue
		}
		s.Control.Setpoints = append(s.Control.Setpoints, sp)
		s.SetpointPos = append(s.SetpointPos, p.pos(item, ip))
	}
}

var commands = []string{string(control.Start), string(control.Stop), string(control.SetValue)}

func (p *parser) interlocks(s *Site, v *yaml.Node, path string) {
	if !p.isList(v, path, "interlocks (unit:, command:, require:, message:)") {
		return
	}
	for i, item := range v.Content {
		item = yamlnode.Deref(item)
		ip := index(path, i)
		at := func(key string) string { return ip + "." + key }
		if !p.isMap(item, ip, "an interlock (unit:, command:, require:, message:)") {
			continue
		}
		before := len(p.probs)
		m := p.mapping(item, ip, interlockKeys, nil)
		var il control.Interlock
		if e, has := m["unit"]; has {
			if u, good := p.str(e.val, at("unit")); good {
				if msg := checkUnit(u); msg != "" {
					p.errAt(e.val, at("unit"), "%s", msg)
				} else {
					il.Unit = u
				}
			}
		} else {
			p.errAt(item, at("unit"), "missing; the unit whose command it holds back, Area.Unit, e.g. unit: Crushing.CV2")
		}
		if e, has := m["command"]; has {
			if c, good := p.str(e.val, at("command")); good {
				if cmd, err := control.ParseCommand(c); err != nil {
					msg := fmt.Sprintf("%q is not a command; use %s", c, strings.Join(commands, ", "))
					if sug := yamlnode.Suggest(c, commands); sug != "" {
						msg = fmt.Sprintf("%q is not a command; did you mean %s? (use %s)", c, sug, strings.Join(commands, ", "))
					}
					p.errAt(e.val, at("command"), "%s", msg)
				} else {
					il.Command = cmd
				}
			}
		} else {
			p.errAt(item, at("command"), "missing; the command it holds back: %s", strings.Join(commands, ", "))
		}
		if e, has := m["require"]; has {
			if r, good := p.str(e.val, at("require")); good {
				if expr, msg := parseExpr(r); msg != "" {
					p.errAt(e.val, at("require"), "%s", msg)
				} else {
					il.Require = expr
				}
			}
		} else {
			p.errAt(item, at("require"), `missing; the condition that must hold for the command, e.g. require: "Haulage.OC1.RunState == 1 or Haulage.OC2.RunState == 1"`)
		}
		if e, has := m["message"]; has {
			if msg, good := p.str(e.val, at("message")); good {
				il.Message = strings.TrimSpace(msg)
			}
		} else if il.Unit != "" && il.Command != "" {
			il.Message = fmt.Sprintf("%s %s interlock", il.Unit, il.Command)
		}
		if len(p.probs) > before {
			continue
		}
		s.Control.Interlocks = append(s.Control.Interlocks, il)
		s.InterlockPos = append(s.InterlockPos, p.pos(item, ip))
	}
}

// checkUnit returns what is wrong with a unit name Area.Unit, or "".
func checkUnit(s string) string {
	parts := strings.Split(s, ".")
	if len(parts) != 2 {
		return fmt.Sprintf("%q is not a unit; a unit is Area.Unit, two names separated by a dot, e.g. Crushing.CV2", s)
	}
	for i, part := range parts {
		if msg := checkName(part); msg != "" {
			return fmt.Sprintf("%q: the %s %q %s; a unit is Area.Unit, e.g. Crushing.CV2", s, [...]string{"area", "unit"}[i], part, msg)
		}
	}
	return ""
}

// parseExpr reads an interlock condition and checks its tags; msg says what is wrong.
func parseExpr(s string) (control.Expr, string) {
	const form = `"TAG OP NUMBER" terms joined by and / or, e.g. "Haulage.OC1.RunState == 1 or Haulage.OC2.RunState == 1"`
	if strings.TrimSpace(s) == "" {
		return control.Expr{}, "is empty; write " + form
	}
	// Check term by term, for a message that names the term.
	for _, alt := range control.Terms(s) {
		for _, term := range alt {
			if strings.TrimSpace(term) == "" {
				return control.Expr{}, fmt.Sprintf("%q: and / or without a term on both sides; write %s", s, form)
			}
			if _, msg := parseCondition(term); msg != "" {
				if term == strings.Join(strings.Fields(s), " ") {
					return control.Expr{}, msg // the whole condition is this one term
				}
				return control.Expr{}, fmt.Sprintf("in %q: %s", s, msg)
			}
		}
	}
	e, err := control.ParseExpr(s)
	if err != nil {
		return control.Expr{}, fmt.Sprintf("%q: %v; write %s", s, err, form)
	}
	return e, ""
}
