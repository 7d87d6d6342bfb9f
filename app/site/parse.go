package site

import (
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"

	"minebrain/app/yamlnode"
)

// parser walks the YAML node tree, so every value has its line and column, and collects
// every problem instead of stopping at the first.
type parser struct {
	file, dir string
	probs     []*Problem
}

func newParser(name string) *parser {
	return &parser{file: name, dir: filepath.Dir(name)}
}

func (p *parser) pos(n *yaml.Node, path string) Pos {
	if n == nil {
		return Pos{File: p.file, Path: path}
	}
	return Pos{File: p.file, Line: n.Line, Col: n.Column, Path: path}
}

func (p *parser) errAt(n *yaml.Node, path, format string, args ...any) {
	p.probs = append(p.probs, p.pos(n, path).Errorf(format, args...))
}

// section is one top-level key. A new section is one more entry in sections and one more
// field in Site.
type section struct {
	key      string
	required string // when not empty, the section is required and this says what it is
	parse    func(p *parser, s *Site, key, val *yaml.Node)
}

var sections = []section{
	{key: "site", required: "the site's name, shown in the UI title, e.g. site: North Pit", parse: (*parser).siteName},
	{key: "connections", required: "the list of OPC UA connections", parse: (*parser).connections},
	{key: "history", parse: (*parser).history},
	{key: "alarms", parse: (*parser).alarms},
	{key: "control", parse: (*parser).control},
}

func (p *parser) parse(data []byte) *Site {
	d := yamlnode.DecodeOne(data)
	for _, e := range d.Syntax {
		p.probs = append(p.probs, &Problem{Pos: Pos{File: p.file, Line: e.Line}, Msg: e.Msg})
	}
	if d.Second != nil {
		p.errAt(d.Second, "", "a second YAML document; a site file is one document (remove the ---)")
	}
	root := d.Root
	if root == nil {
		if len(d.Syntax) == 0 {
			p.errAt(nil, "", "the file is empty; a site file needs at least site: and connections:")
		}
		return nil
	}
	if yamlnode.IsNull(root) {
		p.errAt(root, "", "the file is empty; a site file needs at least site: and connections:")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		p.errAt(root, "", "expected a mapping with site: and connections:, got %s", yamlnode.Describe(root))
		return nil
	}
	s := &Site{File: p.file}
	known := make([]string, len(sections))
	for i, sec := range sections {
		known[i] = sec.key
	}
	m := p.mapping(root, "", known, nil)
	for _, sec := range sections {
		e, ok := m[sec.key]
		switch {
		case ok:
			sec.parse(p, s, e.key, e.val)
		case sec.required != "":
			p.errAt(root, sec.key, "missing; add %s: with %s", sec.key, sec.required)
		}
	}
	p.controlDefaults(s)
	return s
}

// syntax reports a YAML syntax error with its line.
func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

type entry struct{ key, val *yaml.Node }

// mapping returns the entries of mapping n by key. Duplicate keys, merge keys and unknown
// keys are problems; an unknown key is matched against known for a "did you mean", and
// special holds the explanation for keys that are known not to be allowed.
func (p *parser) mapping(n *yaml.Node, path string, known []string, special map[string]string) map[string]entry {
	m := make(map[string]entry, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := yamlnode.Deref(n.Content[i]), yamlnode.Deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.errAt(k, path, "a key must be a plain name, got %s", yamlnode.Describe(k))
			continue
		}
		fp := yamlnode.Join(path, k.Value)
		if k.Value == "<<" {
			p.errAt(k, path, "YAML merge keys (<<) are not supported; write the keys out")
			continue
		}
		if first, dup := m[k.Value]; dup {
			p.errAt(k, fp, "duplicate key (first at line %d); give each key once", first.key.Line)
			continue
		}
		if msg, ok := special[k.Value]; ok {
			p.errAt(k, fp, "%s", msg)
			m[k.Value] = entry{k, v} // a duplicate of it is still a duplicate
			continue
		}
		if !slices.Contains(known, k.Value) {
			msg := "unknown key"
			if s := yamlnode.Suggest(k.Value, known); s != "" {
				msg += "; did you mean " + s + "?"
			} else {
				msg += "; valid keys here: " + strings.Join(known, ", ")
			}
			p.errAt(k, fp, "%s", msg)
			continue
		}
		m[k.Value] = entry{k, v}
	}
	for k := range special {
		delete(m, k)
	}
	return m
}

// str returns a scalar's text; anything else (a list, a mapping, nothing) is a problem.
func (p *parser) str(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode || yamlnode.IsNull(n) {
		p.errAt(n, path, "expected a value, got %s", yamlnode.Describe(n))
		return "", false
	}
	if strings.TrimSpace(n.Value) == "" {
		p.errAt(n, path, "is empty")
		return "", false
	}
	return n.Value, true
}

func (p *parser) isMap(n *yaml.Node, path, what string) bool {
	if n.Kind != yaml.MappingNode {
		p.errAt(n, path, "expected %s, got %s", what, yamlnode.Describe(n))
		return false
	}
	return true
}

func (p *parser) isList(n *yaml.Node, path, what string) bool {
	if n.Kind != yaml.SequenceNode {
		p.errAt(n, path, "expected a list (lines starting with \"- \") of %s, got %s", what, yamlnode.Describe(n))
		return false
	}
	return true
}

// duration parses a Go duration within [lo, hi]; zeroOK admits 0 as well.
func (p *parser) duration(n *yaml.Node, path string, lo, hi time.Duration, zeroOK bool) (time.Duration, bool) {
	s, ok := p.str(n, path)
	if !ok {
		return 0, false
	}
	if s == "0" && zeroOK {
		return 0, true
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			p.errAt(n, path, "%s has no unit; write a duration with its unit, such as %sms or %ss", s, s, s)
		} else {
			p.errAt(n, path, "%q is not a duration; write a number and a unit (ms, s, m, h), such as 250ms, 5s or 1m", s)
		}
		return 0, false
	}
	if (d == 0 && zeroOK) || (d >= lo && d <= hi) {
		return d, true
	}
	zero := ""
	if zeroOK {
		zero = " (or 0)"
	}
	p.errAt(n, path, "%s is out of range; use %s to %s%s", s, yamlnode.FormatDuration(lo), yamlnode.FormatDuration(hi), zero)
	return 0, false
}

func (p *parser) number(n *yaml.Node, path string) (float64, bool) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
		p.errAt(n, path, "expected a number, got %s", yamlnode.Describe(n))
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		p.errAt(n, path, "%s is not a finite number", n.Value)
		return 0, false
	}
	return f, true
}

// --- site and connections ---------------------------------------------------------------

func (p *parser) siteName(s *Site, _, v *yaml.Node) {
	s.Pos = p.pos(v, "site")
	if name, ok := p.str(v, "site"); ok {
		s.Name = strings.TrimSpace(name)
	}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func (p *parser) connections(s *Site, k, v *yaml.Node) {
	const path = "connections"
	if yamlnode.IsNull(v) || (v.Kind == yaml.SequenceNode && len(v.Content) == 0) {
		p.errAt(k, path, "is empty; a site needs at least one connection, e.g. - name: sim with endpoint: embedded")
		return
	}
	if !p.isList(v, path, "connections") {
		return
	}
	names := map[string]Connection{}
	var embedded *Connection
	tags := map[string]string{} // tag -> where it was first
	for i, item := range v.Content {
		c, ok := p.connection(yamlnode.Deref(item), index(path, i))
		if !ok {
			continue
		}
		if c.Name != "" {
			if first, dup := names[c.Name]; dup {
				p.errAt(c.nameNode, c.Pos.Path+".name", "%q is already the name of %s (line %d); connection names must be unique", c.Name, first.Pos.Path, first.Pos.Line)
			} else {
				names[c.Name] = c.Connection
			}
		}
		if c.Embedded {
			if embedded != nil {
				p.errAt(c.endpointNode, c.Pos.Path+".endpoint", "%s already uses the embedded simulator (line %d); there is one per site", embedded.Pos.Path, embedded.Pos.Line)
			} else {
				cc := c.Connection
				embedded = &cc
			}
		}
		for _, r := range c.Nodes {
			if first, dup := tags[r.Tag]; dup {
				p.errAt(r.tagNode, r.Pos.Path+".tag", "tag %s is already read by %s; each tag has one source", r.Tag, first)
			} else {
				tags[r.Tag] = fmt.Sprintf("%s (line %d)", r.Pos.Path, r.Pos.Line)
			}
		}
		s.Connections = append(s.Connections, c.Connection)
	}
}

// parsedConn carries the nodes cross-checks point at.
type parsedConn struct {
	Connection
	nameNode, endpointNode *yaml.Node
	Nodes                  []parsedNode
}

type parsedNode struct {
	NodeRule
	tagNode *yaml.Node
}

var connectionKeys = []string{"name", "endpoint", "security", "auth", "publishInterval", "samplingInterval", "staleAfter", "equipment", "browse", "nodes"}

func (p *parser) connection(n *yaml.Node, path string) (parsedConn, bool) {
	var c parsedConn
	c.Pos = p.pos(n, path)
	if !p.isMap(n, path, "a connection (name:, endpoint:, ...)") {
		return c, false
	}
	m := p.mapping(n, path, connectionKeys, map[string]string{"password": passwordRefused})

	if e, ok := m["name"]; ok {
		c.nameNode = e.val
		if name, ok := p.str(e.val, path+".name"); ok {
			if nameRE.MatchString(name) {
				c.Name = name
			} else {
				p.errAt(e.val, path+".name", "%q is not a connection name; use letters, digits, _ and - only, e.g. crusher-plc", name)
			}
		}
	} else {
		p.errAt(n, path+".name", "missing; every connection needs a unique name, e.g. name: plc1")
	}

	if e, ok := m["endpoint"]; ok {
		c.endpointNode = e.val
		if ep, ok := p.str(e.val, path+".endpoint"); ok {
			if msg := checkEndpoint(ep); msg != "" {
				p.errAt(e.val, path+".endpoint", "%s", msg)
			} else {
				c.Endpoint, c.Embedded = ep, ep == EmbeddedEndpoint
			}
		}
	} else {
		p.errAt(n, path+".endpoint", "missing; use embedded or opc.tcp://host:port")
	}

	c.Security = p.security(m["security"], path+".security", c.Embedded)
	if e, ok := m["auth"]; ok {
		c.Auth = p.auth(e.key, e.val, path+".auth")
	}

	c.PublishInterval = DefaultPublishInterval
	if e, ok := m["publishInterval"]; ok {
		if d, ok := p.duration(e.val, path+".publishInterval", MinPublishInterval, MaxPublishInterval, false); ok {
			c.PublishInterval = d
		}
	}
	if e, ok := m["samplingInterval"]; ok {
		if d, ok := p.duration(e.val, path+".samplingInterval", MinSamplingInterval, MaxSamplingInterval, true); ok {
			c.SamplingInterval = d
		}
	}
	if c.SamplingInterval == 0 {
		c.SamplingInterval = c.PublishInterval
	}
	c.StaleAfter = DefaultStaleAfter
	if e, ok := m["staleAfter"]; ok {
		if d, ok := p.duration(e.val, path+".staleAfter", MinStaleAfter, MaxStaleAfter, false); ok {
			c.StaleAfter = d
			if d < 2*c.PublishInterval {
				p.errAt(e.val, path+".staleAfter", "%s is less than twice the publish interval (%s), so the connection would turn stale between keep-alives; use at least %s",
					e.val.Value, yamlnode.FormatDuration(c.PublishInterval), yamlnode.FormatDuration(2*c.PublishInterval))
			}
		}
	} else if c.StaleAfter < 2*c.PublishInterval {
		c.StaleAfter = 2 * c.PublishInterval
	}

	sources := 0
	if e, ok := m["equipment"]; ok {
		c.Equipment = p.equipment(e.val, path+".equipment")
		sources++
	}
	if e, ok := m["browse"]; ok {
		c.Browse = p.browseRules(e.val, path+".browse")
		sources += len(e.val.Content)
	}
	if e, ok := m["nodes"]; ok {
		c.Nodes = p.nodeRules(e.val, path+".nodes")
		for _, r := range c.Nodes {
			c.Connection.Nodes = append(c.Connection.Nodes, r.NodeRule)
		}
		sources += len(e.val.Content)
	}
	if sources == 0 {
		p.errAt(n, path, "reads nothing; give equipment:, browse: or nodes: (at least one)")
	}
	return c, true
}

// checkEndpoint returns what is wrong with an endpoint, or "".
func checkEndpoint(ep string) string {
	const valid = "use embedded (the built-in simulated mine) or opc.tcp://host:port[/path], e.g. opc.tcp://10.1.2.3:4840"
	if ep == EmbeddedEndpoint {
		return ""
	}
	if strings.EqualFold(ep, EmbeddedEndpoint) {
		return fmt.Sprintf("%q is not an endpoint; write embedded in lower case", ep)
	}
	scheme, rest, ok := strings.Cut(ep, "://")
	if !ok {
		return fmt.Sprintf("%q is not an endpoint; %s", ep, valid)
	}
	if scheme != "opc.tcp" {
		return fmt.Sprintf("%q: scheme %s is not supported; %s", ep, scheme, valid)
	}
	if strings.ContainsAny(rest, "?#") {
		return fmt.Sprintf("%q: an endpoint has no query or fragment; %s", ep, valid)
	}
	hostport, _, _ := strings.Cut(rest, "/")
	if strings.Contains(hostport, "@") {
		return fmt.Sprintf("%q: no user name in the URL; put the identity under auth:", ep)
	}
	i := strings.LastIndex(hostport, ":")
	if i < 0 || strings.HasSuffix(hostport, "]") {
		return fmt.Sprintf("%q has no port; %s (4840 is the usual OPC UA port)", ep, valid)
	}
	host, port := hostport[:i], hostport[i+1:]
	if host == "" || strings.ContainsAny(host, " \t") {
		return fmt.Sprintf("%q has no host; %s", ep, valid)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("%q: port %q is not a number from 1 to 65535; %s", ep, port, valid)
	}
	return ""
}

var (
	policies   = []string{Best, None, PolicyBasic256Sha256, PolicyAes128Sha256RsaOaep, PolicyAes256Sha256RsaPss}
	modes      = []string{Best, None, ModeSign, ModeSignAndEncrypt}
	deprecated = map[string]bool{"Basic128Rsa15": true, "Basic256": true}
)

func (p *parser) security(e entry, path string, embedded bool) Security {
	sec := Security{Policy: Best, Mode: Best, Pos: p.pos(e.val, path)}
	if e.val == nil || yamlnode.IsNull(e.val) {
		return sec
	}
	if !p.isMap(e.val, path, "a mapping with policy: and mode:") {
		return sec
	}
	m := p.mapping(e.val, path, []string{"policy", "mode"}, nil)
	pe, hasPolicy := m["policy"]
	me, hasMode := m["mode"]
	policyOK, modeOK := true, true
	if hasPolicy {
		policyOK = false
		if v, ok := p.str(pe.val, path+".policy"); ok {
			switch {
			case slices.Contains(policies, v):
				sec.Policy, policyOK = v, true
			case deprecated[v]:
				p.errAt(pe.val, path+".policy", "%q is deprecated and insecure, and Minebrain does not offer it; use one of %s", v, strings.Join(policies, ", "))
			default:
				p.errAt(pe.val, path+".policy", "%q is not a security policy; use one of %s", v, strings.Join(policies, ", "))
			}
		}
	}
	if hasMode {
		modeOK = false
		if v, ok := p.str(me.val, path+".mode"); ok {
			if slices.Contains(modes, v) {
				sec.Mode, modeOK = v, true
			} else {
				p.errAt(me.val, path+".mode", "%q is not a security mode; use one of %s", v, strings.Join(modes, ", "))
			}
		}
	}
	if !policyOK || !modeOK {
		return sec
	}
	// None goes with None: the one left out follows the one given.
	switch {
	case hasPolicy && !hasMode && sec.Policy == None:
		sec.Mode = None
	case hasMode && !hasPolicy && sec.Mode == None:
		sec.Policy = None
	case (sec.Policy == None) != (sec.Mode == None):
		at := me.val
		if sec.Policy != None {
			at = pe.val
		}
		p.errAt(at, path, "policy %s does not go with mode %s; policy None goes only with mode None, and mode None only with policy None", sec.Policy, sec.Mode)
	}
	if embedded && ((sec.Policy != Best && sec.Policy != None) || (sec.Mode != Best && sec.Mode != None)) {
		p.errAt(e.val, path, "the embedded simulator offers only policy None, mode None; write None or leave security out")
	}
	return sec
}

var (
	envRE           = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	authKeys        = []string{"username", "passwordFile", "passwordEnv", "certificate", "key"}
	passwordRefused = "a password is never written in the site file (the file is shared, copied and kept in version control); " +
		"put it in a file only Minebrain's user can read and name it with passwordFile:, or name an environment variable with passwordEnv:"
)

func (p *parser) auth(k, v *yaml.Node, path string) Auth {
	a := Auth{Pos: p.pos(v, path)}
	if yamlnode.IsNull(v) {
		p.errAt(k, path, "is empty; give username: with passwordFile: or passwordEnv:, or certificate: with key:, or leave auth out for anonymous")
		return a
	}
	if !p.isMap(v, path, "a mapping (username:, passwordFile:, ...)") {
		return a
	}
	m := p.mapping(v, path, authKeys, map[string]string{"password": passwordRefused})
	get := func(key string) (string, *yaml.Node) {
		e, ok := m[key]
		if !ok {
			return "", nil
		}
		s, _ := p.str(e.val, yamlnode.Join(path, key))
		return s, e.val
	}
	var pfNode, peNode, certNode *yaml.Node
	a.Username, _ = get("username")
	a.PasswordFile, pfNode = get("passwordFile")
	a.PasswordEnv, peNode = get("passwordEnv")
	a.Certificate, certNode = get("certificate")
	a.Key, _ = get("key")

	a.PasswordFile = p.path(a.PasswordFile, pfNode, path+".passwordFile")
	a.Certificate = p.path(a.Certificate, certNode, path+".certificate")
	if e, ok := m["key"]; ok {
		a.Key = p.path(a.Key, e.val, path+".key")
	}
	if a.PasswordEnv != "" && !envRE.MatchString(a.PasswordEnv) {
		p.errAt(peNode, path+".passwordEnv", "%q is not an environment variable name; use letters, digits and _, e.g. MINEBRAIN_PLC1_PASSWORD", a.PasswordEnv)
	}
	switch {
	case pfNode != nil:
		a.PasswordPos = p.pos(pfNode, path+".passwordFile")
	case peNode != nil:
		a.PasswordPos = p.pos(peNode, path+".passwordEnv")
	}
	_, hasUser := m["username"]
	_, hasPF := m["passwordFile"]
	_, hasPE := m["passwordEnv"]
	_, hasCert := m["certificate"]
	_, hasKey := m["key"]
	switch {
	case hasUser && (hasCert || hasKey):
		p.errAt(v, path, "give either username: (a user name identity) or certificate: and key: (a certificate identity), not both")
	case hasUser:
		if hasPF && hasPE {
			p.errAt(peNode, path, "give exactly one of passwordFile: and passwordEnv:, not both")
		} else if !hasPF && !hasPE && !p.reported(path+".password") {
			p.errAt(v, path+".passwordFile", "missing; user %q needs passwordFile: (a file holding the password) or passwordEnv: (an environment variable holding it)", a.Username)
		}
	case hasCert || hasKey:
		if !hasCert {
			p.errAt(v, path+".certificate", "missing; key: needs certificate: (the user certificate, DER or PEM)")
		}
		if !hasKey {
			p.errAt(v, path+".key", "missing; certificate: needs key: (the certificate's private key, PEM)")
		}
		if hasPF || hasPE {
			p.errAt(v, path, "a certificate identity has no password; remove passwordFile:/passwordEnv:")
		}
	case hasPF || hasPE:
		p.errAt(v, path+".username", "missing; a password needs username:")
	case !p.reported(path + ".password"):
		p.errAt(v, path, "names no identity; give username: with passwordFile: or passwordEnv:, or certificate: with key:, or leave auth out for anonymous")
	}
	return a
}

// reported reports whether a problem was already recorded for the field path.
func (p *parser) reported(path string) bool {
	for _, pr := range p.probs {
		if pr.Path == path {
			return true
		}
	}
	return false
}

// path resolves a file path in the site file against the file's directory.
func (p *parser) path(s string, n *yaml.Node, field string) string {
	if s == "" {
		return ""
	}
	if strings.HasPrefix(s, "~") {
		p.errAt(n, field, "%q: ~ is not expanded; write the full path", s)
		return s
	}
	if filepath.IsAbs(s) {
		return s
	}
	return filepath.Join(p.dir, s)
}

func (p *parser) equipment(v *yaml.Node, path string) *Equipment {
	eq := &Equipment{Namespace: DefaultEquipmentNamespace, Root: DefaultEquipmentRoot, Pos: p.pos(v, path)}
	if yamlnode.IsNull(v) {
		return eq
	}
	if !p.isMap(v, path, "a mapping with namespace: and root:") {
		return eq
	}
	m := p.mapping(v, path, []string{"namespace", "root"}, nil)
	if e, ok := m["namespace"]; ok {
		if s, ok := p.str(e.val, path+".namespace"); ok {
			eq.Namespace = s
		}
	}
	if e, ok := m["root"]; ok {
		if s, ok := p.str(e.val, path+".root"); ok {
			if strings.Contains(s, "/") {
				p.errAt(e.val, path+".root", "%q: root is one browse name under Objects, without /", s)
			} else {
				eq.Root = s
			}
		}
	}
	return eq
}

func (p *parser) browseRules(v *yaml.Node, path string) []BrowseRule {
	if !p.isList(v, path, "browse rules (under:, match:, area:)") {
		return nil
	}
	var rules []BrowseRule
	for i, item := range v.Content {
		item = yamlnode.Deref(item)
		ip := index(path, i)
		r := BrowseRule{Pos: p.pos(item, ip)}
		if !p.isMap(item, ip, "a browse rule (under:, match:, area:)") {
			continue
		}
		m := p.mapping(item, ip, []string{"under", "match", "area", "deadband"}, nil)
		ok := true
		if e, has := m["under"]; has {
			if s, good := p.str(e.val, ip+".under"); good {
				if segs, msg := parseUnder(s); msg != "" {
					p.errAt(e.val, ip+".under", "%s", msg)
					ok = false
				} else {
					r.Under, r.under = s, segs
				}
			} else {
				ok = false
			}
		} else {
			p.errAt(item, ip+".under", "missing; the folder to browse, e.g. under: Objects/Plant")
			ok = false
		}
		r.Match = DefaultBrowseMatch
		if e, has := m["match"]; has {
			if s, good := p.str(e.val, ip+".match"); good {
				r.Match = s
			} else {
				ok = false
			}
		}
		segs, msg := compileMatch(r.Match)
		if msg != "" {
			p.errAt(m["match"].val, ip+".match", "%s", msg)
			ok = false
		}
		r.match = segs
		if e, has := m["area"]; has {
			if s, good := p.str(e.val, ip+".area"); good {
				if msg := checkName(s); msg != "" {
					p.errAt(e.val, ip+".area", "%q %s", s, msg)
					ok = false
				}
				r.Area = s
			} else {
				ok = false
			}
		} else if len(r.under) > 1 {
			r.Area = r.under[len(r.under)-1]
			if msg := checkName(r.Area); msg != "" {
				p.errAt(m["under"].val, ip+".area", "the default area, %q (the last folder of under), %s; give area:", r.Area, msg)
				ok = false
			}
		} else if r.under != nil {
			p.errAt(item, ip+".area", "missing; under the Objects folder itself there is no folder name to use, so give area:")
			ok = false
		}
		if e, has := m["deadband"]; has {
			r.Deadband = p.deadband(e.val, ip+".deadband")
		}
		if ok {
			rules = append(rules, r)
		}
	}
	return rules
}

// parseUnder splits the under: path and checks it.
func parseUnder(s string) ([]string, string) {
	segs := strings.Split(s, "/")
	for _, seg := range segs {
		if seg == "" {
			return nil, fmt.Sprintf("%q has an empty segment; write browse names separated by single /, e.g. Objects/Plant", s)
		}
		if strings.ContainsAny(seg, "*?") {
			return nil, fmt.Sprintf("%q: under is a fixed folder path; put wildcards in match:", s)
		}
	}
	if segs[0] != "Objects" {
		return nil, fmt.Sprintf("%q must start at the Objects folder; write Objects/%s", s, s)
	}
	return segs, ""
}

// checkName checks one part of a tag (an area, a unit, a signal): it returns what is wrong
// (to follow the quoted name) or "".
func checkName(s string) string {
	if s == "" {
		return "is empty"
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || ('0' <= r && r <= '9') || isLetter(r)) {
			return fmt.Sprintf("contains %q; a tag name part is letters, digits, _ and - only", r)
		}
	}
	return ""
}

func isLetter(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func (p *parser) nodeRules(v *yaml.Node, path string) []parsedNode {
	if !p.isList(v, path, "nodes (node:, tag:)") {
		return nil
	}
	var rules []parsedNode
	seen := map[string]int{}
	for i, item := range v.Content {
		item = yamlnode.Deref(item)
		ip := index(path, i)
		r := parsedNode{NodeRule: NodeRule{Pos: p.pos(item, ip)}}
		if !p.isMap(item, ip, "a node (node:, tag:, deadband:)") {
			continue
		}
		m := p.mapping(item, ip, []string{"node", "tag", "deadband"}, nil)
		ok := true
		if e, has := m["node"]; has {
			if s, good := p.str(e.val, ip+".node"); good {
				if msg := checkNodeID(s); msg != "" {
					p.errAt(e.val, ip+".node", "%s", msg)
					ok = false
				} else if line, dup := seen[s]; dup {
					p.errAt(e.val, ip+".node", "%s is already read at line %d; give each node once", s, line)
					ok = false
				} else {
					seen[s] = e.val.Line
					r.Node = s
				}
			} else {
				ok = false
			}
		} else {
			p.errAt(item, ip+".node", "missing; the NodeId, e.g. node: ns=2;s=Plant.Pump1.Flow")
			ok = false
		}
		if e, has := m["tag"]; has {
			r.tagNode = e.val
			if s, good := p.str(e.val, ip+".tag"); good {
				if msg := checkTag(s); msg != "" {
					p.errAt(e.val, ip+".tag", "%s", msg)
					ok = false
				} else {
					r.Tag = s
				}
			} else {
				ok = false
			}
		} else {
			p.errAt(item, ip+".tag", "missing; the Minebrain tag Area.Unit.Signal, e.g. tag: Plant.Pump1.FlowM3h")
			ok = false
		}
		if e, has := m["deadband"]; has {
			r.Deadband = p.deadband(e.val, ip+".deadband")
		}
		if ok {
			rules = append(rules, r)
		}
	}
	return rules
}

// checkTag returns what is wrong with a tag, or "".
func checkTag(s string) string {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return fmt.Sprintf("%q is not a tag; a tag is Area.Unit.Signal, three names separated by dots, e.g. Plant.Pump1.FlowM3h", s)
	}
	for i, part := range parts {
		if msg := checkName(part); msg != "" {
			what := [...]string{"area", "unit", "signal"}[i]
			return fmt.Sprintf("%q: the %s %q %s; a tag is Area.Unit.Signal, e.g. Plant.Pump1.FlowM3h", s, what, part, msg)
		}
	}
	return ""
}

func (p *parser) deadband(v *yaml.Node, path string) Deadband {
	if yamlnode.IsNull(v) {
		return Deadband{}
	}
	const valid = "write {absolute: 0.5} (engineering units) or {percent: 1} (of the EURange)"
	if !p.isMap(v, path, "a mapping, "+valid) {
		return Deadband{}
	}
	m := p.mapping(v, path, []string{DeadbandAbsolute, DeadbandPercent}, nil)
	if len(m) != 1 {
		if len(m) == 2 {
			p.errAt(v, path, "give one of absolute: and percent:, not both")
		} else if !p.reported(path) && len(v.Content) == 0 {
			p.errAt(v, path, "is empty; %s, or leave deadband out", valid)
		}
		return Deadband{}
	}
	for kind, e := range m {
		f, ok := p.number(e.val, yamlnode.Join(path, kind))
		if !ok {
			return Deadband{}
		}
		switch {
		case kind == DeadbandAbsolute && f <= 0:
			p.errAt(e.val, yamlnode.Join(path, kind), "%s must be greater than 0; leave deadband out for none", e.val.Value)
		case kind == DeadbandPercent && (f <= 0 || f > 100):
			p.errAt(e.val, yamlnode.Join(path, kind), "%s is out of range; a percent deadband is greater than 0 and at most 100", e.val.Value)
		default:
			return Deadband{Kind: kind, Value: f}
		}
	}
	return Deadband{}
}
