package manifest

import (
	"fmt"
	"io"
	"math"
	"os"
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

// Limits of a manifest's values.
const (
	MaxFileSize   = 64 << 10 // bytes of plugin.yaml
	MaxVersionLen = 64       // characters of version:

	MinTick   = 10 * time.Millisecond
	MaxTick   = time.Hour
	MinBudget = 100 * time.Microsecond
	MaxBudget = 10 * time.Second

	PageSize  = 64 << 10 // memory: is a multiple of this (the wasm page size)
	MinMemory = 1 << 20
	MaxMemory = 1 << 30
)

var (
	topFields   = []string{"id", "version", "wasm", "sha256", "abi", "tick", "memory", "budget", "reads", "writes", "config"}
	writeFields = []string{"tag", "min", "max", "maxRate"}
	idRE        = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	sizeRE      = regexp.MustCompile(`^([0-9]+) ?(KiB|MiB|GiB)?$`)
)

// Load reads and validates the manifest at path, and sets its Dir and File.
func Load(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1)) // one more to tell "too big"
	if err != nil {
		return nil, err
	}
	m, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	m.File, m.Dir = path, filepath.Dir(path)
	return m, nil
}

// Parse validates a manifest's text; name is the file name its problems are reported with.
// On any problem it returns a nil *Manifest and an *Error with every problem found. Dir and
// File are left empty (Load sets them).
func Parse(name string, data []byte) (*Manifest, error) {
	p := &parser{}
	m := p.parse(data)
	if len(p.probs) > 0 {
		sortProblems(p.probs)
		return nil, &Error{File: name, Problems: p.probs}
	}
	return m, nil
}

// WasmPath returns the module file's path: Dir joined with Wasm.
func (m *Manifest) WasmPath() string {
	return filepath.Join(m.Dir, filepath.FromSlash(m.Wasm))
}

// parser walks the YAML node tree, so every value has its line and column, and collects
// every problem instead of stopping at the first.
type parser struct {
	probs     []Problem
	suggested map[string]bool // field paths offered as "did you mean": not also "missing"
}

func (p *parser) errAt(n *yaml.Node, path, format string, args ...any) {
	pr := Problem{Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		pr.Line, pr.Col = n.Line, n.Column
	}
	p.probs = append(p.probs, pr)
}

// missing reports a required field that is not there, unless an unknown field was already
// reported as a likely misspelling of it.
func (p *parser) missing(n *yaml.Node, path, format string, args ...any) {
	if !p.suggested[path] {
		p.errAt(n, path, "missing; "+format, args...)
	}
}

func (p *parser) parse(data []byte) *Manifest {
	if len(data) > MaxFileSize {
		p.errAt(nil, "", "the file is larger than %d KiB; a manifest is a short file (is this the right file?)", MaxFileSize>>10)
		return nil
	}
	const needs = "a manifest needs id:, version:, wasm:, sha256:, abi:, tick:, memory: and budget:"
	d := yamlnode.DecodeOne(data)
	for _, e := range d.Syntax {
		p.probs = append(p.probs, Problem{Line: e.Line, Msg: e.Msg})
	}
	if d.Second != nil {
		p.errAt(d.Second, "", "a second YAML document; a manifest is one document (remove the ---)")
	}
	root := d.Root
	if root == nil {
		if len(d.Syntax) == 0 {
			p.errAt(nil, "", "the file is empty; %s", needs)
		}
		return nil
	}
	switch {
	case yamlnode.IsNull(root):
		p.errAt(root, "", "the file is empty; %s", needs)
		return nil
	case root.Kind != yaml.MappingNode:
		p.errAt(root, "", "expected a mapping (key: value lines), got %s; %s", yamlnode.Describe(root), needs)
		return nil
	}
	return p.manifest(root)
}

// syntax reports a YAML syntax error with its line (the YAML library gives no column).
func (p *parser) manifest(root *yaml.Node) *Manifest {
	m := &Manifest{}
	f := p.fields(root, "", topFields)
	get := func(key, hint string) *yaml.Node {
		e, ok := f[key]
		if !ok {
			p.missing(root, key, "add %s", hint)
			return nil
		}
		return e.val
	}
	if v := get("id", "id: with the plugin's name, e.g. id: crusher-control"); v != nil {
		m.ID = p.id(v)
	}
	if v := get("version", "version: with the plugin's own version, e.g. version: 1.2.0"); v != nil {
		m.Version = p.version(v)
	}
	if v := get("wasm", "wasm: with the module file beside plugin.yaml, e.g. wasm: crusher-control.wasm"); v != nil {
		m.Wasm = p.wasm(v)
	}
	if v := get("sha256", "sha256: with the module file's SHA-256 (minebrain plugin build DIR writes it)"); v != nil {
		m.SHA256 = p.sha256(v)
	}
	if v := get("abi", fmt.Sprintf("abi: %d (the plugin ABI this Minebrain implements, sdk/ABI.md)", ABIVersion)); v != nil {
		m.ABI = p.abi(v)
	}
	tickOK := false
	if v := get("tick", "tick: with how often mb_tick runs, e.g. tick: 1s"); v != nil {
		m.Tick, tickOK = p.duration(v, "tick", MinTick, MaxTick)
	}
	if v := get("memory", "memory: with the module's memory limit, e.g. memory: 16MiB"); v != nil {
		m.Memory = p.memory(v)
	}
	if v := get("budget", "budget: with the longest a tick may run, e.g. budget: 5ms"); v != nil {
		var ok bool
		if m.Budget, ok = p.duration(v, "budget", MinBudget, MaxBudget); ok && tickOK && m.Budget >= m.Tick {
			p.errAt(v, "budget", "%s is not shorter than tick (%s); a tick must end before the next one is due, so make budget shorter than tick", v.Value, yamlnode.FormatDuration(m.Tick))
		}
	}
	if e, ok := f["reads"]; ok {
		m.Reads = p.reads(e.val, "reads")
	}
	if e, ok := f["writes"]; ok {
		m.Writes = p.writes(e.val, "writes")
	}
	if e, ok := f["config"]; ok {
		m.Config = p.config(e.val, "config")
	}
	return m
}

// --- YAML helpers ---------------------------------------------------------------------------

type entry struct{ key, val *yaml.Node }

// fields returns the entries of mapping n by key. Keys that are not plain names, merge keys,
// duplicate keys and unknown keys are problems; an unknown key's problem names the valid ones.
func (p *parser) fields(n *yaml.Node, path string, valid []string) map[string]entry {
	m := make(map[string]entry, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := yamlnode.Deref(n.Content[i]), yamlnode.Deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || yamlnode.IsNull(k) {
			p.errAt(k, path, "a key must be a plain name, got %s", yamlnode.Describe(k))
			continue
		}
		fp := yamlnode.Join(path, k.Value)
		switch {
		case k.Value == "<<" && k.ShortTag() == "!!merge":
			p.errAt(k, path, "YAML merge keys (<<) are not supported; write the keys out")
		case m[k.Value].key != nil:
			p.errAt(k, fp, "duplicate field (first at line %d); give each field once", m[k.Value].key.Line)
		case valid != nil && !slices.Contains(valid, k.Value):
			msg := fmt.Sprintf("unknown field %q", k.Value)
			if s := yamlnode.Suggest(k.Value, valid); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
				if p.suggested == nil {
					p.suggested = map[string]bool{}
				}
				p.suggested[yamlnode.Join(path, s)] = true
			}
			p.errAt(k, fp, "%s; the fields here are %s", msg, strings.Join(valid, ", "))
		default:
			m[k.Value] = entry{k, v}
		}
	}
	return m
}

// text returns a scalar's text; a list, a mapping or nothing is a problem, and so is text
// that is empty or only spaces.
func (p *parser) text(n *yaml.Node, path string) (string, bool) {
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

// hasControl reports whether s holds a control character (a newline, a tab, ...).
func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// --- fields -------------------------------------------------------------------------------

func (p *parser) id(n *yaml.Node) string {
	s, ok := p.text(n, "id")
	if !ok {
		return ""
	}
	if !idRE.MatchString(s) {
		p.errAt(n, "id", "%q is not a plugin id; use 1 to 63 lower-case letters, digits and -, starting with a letter or digit, e.g. crusher-control", s)
		return ""
	}
	return s
}

func (p *parser) version(n *yaml.Node) string {
	s, ok := p.text(n, "version")
	if !ok {
		return ""
	}
	if l := len([]rune(s)); l > MaxVersionLen {
		p.errAt(n, "version", "is %d characters long; a version is at most %d, e.g. 1.2.0", l, MaxVersionLen)
		return ""
	}
	if hasControl(s) {
		p.errAt(n, "version", "%q contains a control character (a line break, a tab); write the version on one line, e.g. 1.2.0", s)
		return ""
	}
	return s
}

func (p *parser) wasm(n *yaml.Node) string {
	s, ok := p.text(n, "wasm")
	if !ok {
		return ""
	}
	if msg := checkWasm(s); msg != "" {
		p.errAt(n, "wasm", "%s", msg)
		return ""
	}
	return s
}

// checkWasm returns what is wrong with a wasm: path, or "".
func checkWasm(s string) string {
	const eg = "e.g. wasm: crusher-control.wasm"
	switch {
	case hasControl(s):
		return fmt.Sprintf("%q contains a control character; name the module file, %s", s, eg)
	case strings.Contains(s, `\`):
		return fmt.Sprintf("%q: separate directories with /, not \\", s)
	case strings.HasPrefix(s, "/") || (len(s) >= 2 && s[1] == ':' && s[0] < 0x80 && unicode.IsLetter(rune(s[0]))):
		return fmt.Sprintf("%q is an absolute path; give the module's path relative to the manifest's directory, %s", s, eg)
	case slices.Contains(strings.Split(s, "/"), ".."):
		return fmt.Sprintf("%q leaves the manifest's directory (..); keep the module beside plugin.yaml or below it, %s", s, eg)
	case !strings.HasSuffix(s, ".wasm"):
		return fmt.Sprintf("%q does not end in .wasm; name the module file, %s", s, eg)
	}
	return ""
}

func (p *parser) sha256(n *yaml.Node) string {
	s, ok := p.text(n, "sha256")
	if !ok {
		return ""
	}
	const fix = "a SHA-256 is 64 lower-case hex characters (minebrain plugin build DIR writes it; sha256sum FILE prints it)"
	if len(s) != 64 {
		p.errAt(n, "sha256", "%q is %d characters long; %s", s, len(s), fix)
		return ""
	}
	for _, r := range s {
		switch {
		case '0' <= r && r <= '9' || 'a' <= r && r <= 'f':
		case 'A' <= r && r <= 'F':
			p.errAt(n, "sha256", "write the hash in lower case: %s", strings.ToLower(s))
			return ""
		default:
			p.errAt(n, "sha256", "contains %q, which is not a hex digit; %s", r, fix)
			return ""
		}
	}
	return s
}

func (p *parser) abi(n *yaml.Node) int {
	var v int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		p.errAt(n, "abi", "expected the whole number %d, got %s", ABIVersion, yamlnode.Describe(n))
		return 0
	}
	if v != ABIVersion {
		p.errAt(n, "abi", "the plugin is built for ABI %s, but this Minebrain implements plugin ABI %d; rebuild the plugin against ABI %d (sdk/ABI.md)", n.Value, ABIVersion, ABIVersion)
		return 0
	}
	return ABIVersion
}

// duration parses a Go duration within [lo, hi].
func (p *parser) duration(n *yaml.Node, path string, lo, hi time.Duration) (time.Duration, bool) {
	s, ok := p.text(n, path)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			p.errAt(n, path, "%s has no unit; write a duration with its unit, such as %sms or %ss", s, s, s)
		} else {
			p.errAt(n, path, "%q is not a duration; write a number and a unit (µs, ms, s, m, h), such as 5ms, 1s or 1m", s)
		}
		return 0, false
	}
	if d < lo || d > hi {
		p.errAt(n, path, "%s is out of range; use %s to %s", s, yamlnode.FormatDuration(lo), yamlnode.FormatDuration(hi))
		return 0, false
	}
	return d, true
}

// fmtSize prints a byte count in the largest unit that divides it: 16MiB, 1088KiB, 1000.
func fmtSize(b uint64) string {
	switch {
	case b != 0 && b%(1<<30) == 0:
		return strconv.FormatUint(b>>30, 10) + "GiB"
	case b != 0 && b%(1<<20) == 0:
		return strconv.FormatUint(b>>20, 10) + "MiB"
	case b != 0 && b%(1<<10) == 0:
		return strconv.FormatUint(b>>10, 10) + "KiB"
	}
	return strconv.FormatUint(b, 10)
}

func (p *parser) memory(n *yaml.Node) uint32 {
	s, ok := p.text(n, "memory")
	if !ok {
		return 0
	}
	m := sizeRE.FindStringSubmatch(s)
	if m == nil {
		p.errAt(n, "memory", "%q is not a size; write e.g. 16MiB (KiB, MiB or GiB)", s)
		return 0
	}
	unit := map[string]uint64{"": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[m[2]]
	v, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil || v > MaxMemory/unit || v*unit < MinMemory {
		p.errAt(n, "memory", "%s is out of range; use %s to %s", s, fmtSize(MinMemory), fmtSize(MaxMemory))
		return 0
	}
	b := v * unit
	if b%PageSize != 0 {
		up := (b/PageSize + 1) * PageSize
		p.errAt(n, "memory", "%s is not a multiple of %s (the wasm page size); use e.g. %s", s, fmtSize(PageSize), fmtSize(up))
		return 0
	}
	return uint32(b)
}

// --- reads ----------------------------------------------------------------------------------

func (p *parser) reads(n *yaml.Node, path string) []string {
	if yamlnode.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errAt(n, path, "expected a list (lines starting with \"- \") of tag names or patterns, got %s", yamlnode.Describe(n))
		return nil
	}
	var out []string
	for i, item := range n.Content {
		item = yamlnode.Deref(item)
		ip := fmt.Sprintf("%s[%d]", path, i)
		s, ok := p.text(item, ip)
		if !ok {
			continue
		}
		if msg := checkPattern(s); msg != "" {
			p.errAt(item, ip, "%s", msg)
			continue
		}
		out = append(out, s)
	}
	return out
}

// checkPattern returns what is wrong with a reads: tag name or pattern, or "".
func checkPattern(s string) string {
	const eg = "e.g. Crushing.CR1.PowerKW, Crushing.CR1.* or Crushing.**"
	fixed, double := 0, false
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return fmt.Sprintf("%q has an empty part; separate the names with single dots, %s", s, eg)
		}
		if part == "**" {
			double = true
			continue
		}
		fixed++
		if strings.Contains(part, "**") {
			return fmt.Sprintf("%q: ** stands for whole parts (Crushing.**.Running), not part of a name; use * within a name", s)
		}
		for _, r := range part {
			if !(r == '_' || r == '-' || r == '*' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
				return fmt.Sprintf("%q contains %q; a tag pattern is names of letters, digits, _ and -, with * and **, separated by dots, %s", s, r, eg)
			}
		}
	}
	if fixed > 3 || (!double && fixed != 3) {
		return fmt.Sprintf("%q can never match a tag: a tag is Area.Unit.Signal, three names separated by dots (** stands for any number of them), %s", s, eg)
	}
	return ""
}

// --- writes ---------------------------------------------------------------------------------

func (p *parser) writes(n *yaml.Node, path string) []Write {
	if yamlnode.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errAt(n, path, "expected a list (lines starting with \"- \") of setpoints (tag:, min:, max:, maxRate:), got %s", yamlnode.Describe(n))
		return nil
	}
	type first struct {
		path string
		line int
	}
	seen := map[string]first{}
	var out []Write
	for i, item := range n.Content {
		item = yamlnode.Deref(item)
		ip := fmt.Sprintf("%s[%d]", path, i)
		if item.Kind != yaml.MappingNode {
			p.errAt(item, ip, "expected a setpoint (tag:, min:, max:, maxRate:), got %s", yamlnode.Describe(item))
			continue
		}
		before := len(p.probs)
		f := p.fields(item, ip, writeFields)
		var w Write
		if e, ok := f["tag"]; !ok {
			p.missing(item, ip+".tag", "the setpoint the plugin may write, e.g. tag: Crushing.AF1.FeederSpeedSP")
		} else if s, ok := p.text(e.val, ip+".tag"); ok {
			if msg := checkWriteTag(s); msg != "" {
				p.errAt(e.val, ip+".tag", "%s", msg)
			} else if f, dup := seen[s]; dup {
				p.errAt(e.val, ip+".tag", "%s is already granted by %s (line %d); give each setpoint once", s, f.path, f.line)
			} else {
				seen[s] = first{ip, e.val.Line}
				w.Tag = s
			}
		}
		minOK, maxOK := false, false
		if e, ok := f["min"]; !ok {
			p.missing(item, ip+".min", "the lowest value the plugin may write, e.g. min: 20")
		} else {
			w.Min, minOK = p.number(e.val, ip+".min")
		}
		if e, ok := f["max"]; !ok {
			p.missing(item, ip+".max", "the highest value the plugin may write, e.g. max: 90")
		} else {
			w.Max, maxOK = p.number(e.val, ip+".max")
			if minOK && maxOK && w.Min >= w.Max {
				p.errAt(e.val, ip+".max", "%s is not greater than min (%s); max must be above min", fmtNum(w.Max), fmtNum(w.Min))
			}
		}
		if e, ok := f["maxRate"]; ok {
			w.MaxRate, _ = p.rate(e.val, ip+".maxRate")
		}
		if len(p.probs) == before {
			out = append(out, w)
		}
	}
	return out
}

// checkName checks one part of a tag (an area, a unit, a signal): it returns what is wrong
// (to follow the quoted name) or "".
func checkName(s string) string {
	if s == "" {
		return "is empty"
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return fmt.Sprintf("contains %q; a tag name part is letters, digits, _ and - only", r)
		}
	}
	return ""
}

// checkWriteTag returns what is wrong with a writes: tag, or "".
func checkWriteTag(s string) string {
	const eg = "e.g. Crushing.AF1.FeederSpeedSP"
	if strings.Contains(s, "*") {
		return fmt.Sprintf("%q: a write names one setpoint, without wildcards, %s", s, eg)
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return fmt.Sprintf("%q is not a tag; a tag is Area.Unit.Signal, three names separated by dots, %s", s, eg)
	}
	for i, part := range parts {
		if msg := checkName(part); msg != "" {
			what := [...]string{"area", "unit", "signal"}[i]
			return fmt.Sprintf("%q: the %s %q %s; a tag is Area.Unit.Signal, %s", s, what, part, msg, eg)
		}
	}
	if !strings.HasSuffix(parts[2], "SP") {
		return fmt.Sprintf("%q is not a setpoint; a plugin writes only setpoints, tags whose signal ends in SP, %s", s, eg)
	}
	return ""
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func (p *parser) number(n *yaml.Node, path string) (float64, bool) {
	var f float64
	if !yamlnode.IsNumber(n) || n.Decode(&f) != nil {
		p.errAt(n, path, "expected a number, got %s", yamlnode.Describe(n))
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		p.errAt(n, path, "%s is not a finite number", n.Value)
		return 0, false
	}
	return f, true
}

// rate parses "NUMBER/s", "NUMBER/min" or "NUMBER/h" into units per second. A plain number
// is refused unless it is 0 (none), so that the time unit is never guessed.
func (p *parser) rate(n *yaml.Node, path string) (float64, bool) {
	const form = `NUMBER/s, NUMBER/min or NUMBER/h, e.g. maxRate: 10/min (0 for none)`
	if yamlnode.IsNumber(n) {
		f, ok := p.number(n, path)
		switch {
		case !ok:
			return 0, false
		case f == 0:
			return 0, true
		}
		p.errAt(n, path, "%s has no time unit; write %s/s, %s/min or %s/h", n.Value, n.Value, n.Value, n.Value)
		return 0, false
	}
	s, ok := p.text(n, path)
	if !ok {
		return 0, false
	}
	f, ok := yamlnode.ParseRate(s)
	switch {
	case !ok:
		p.errAt(n, path, "%q is not a rate; write %s", s, form)
		return 0, false
	case f < 0:
		p.errAt(n, path, "%q is negative; a rate is 0 or more, %s", s, form)
		return 0, false
	}
	return f, true
}

// --- config ---------------------------------------------------------------------------------

func (p *parser) config(n *yaml.Node, path string) map[string]string {
	if yamlnode.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errAt(n, path, "expected a mapping of names to values (kp: 0.8), got %s", yamlnode.Describe(n))
		return nil
	}
	m := p.fields(n, path, nil) // any name; duplicates and merge keys are still problems
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		kp := yamlnode.Join(path, k)
		v := e.val
		switch {
		case strings.TrimSpace(k) == "":
			p.errAt(e.key, path, "a config name is empty; give each value a name")
		case v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode:
			p.errAt(v, kp, "is %s; a config value is a single text, number or true/false (write nested settings as separate names, e.g. pid_kp: 0.8 rather than pid: {kp: 0.8})", yamlnode.Describe(v))
		case yamlnode.IsNull(v):
			p.errAt(e.key, kp, `has no value; write %s: "" for empty text, or remove it`, k)
		case v.ShortTag() == "!!bool":
			out[k] = strings.ToLower(v.Value)
		default:
			out[k] = v.Value
		}
	}
	return out
}
