// Package site reads the site file: the YAML file that declares a site's OPC UA connections,
// its history settings, its alarms and its control limits and interlocks. docs/site-file.md is the format for
// integrators; this package is its only reader.
//
// Parse and Load check the whole file and report every problem at once, each as
// "file:line:col: field.path: problem; what would be valid". Every parsed item keeps its Pos
// so run-time errors can point at the file line as well.
package site

import (
	_ "embed"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"minebrain/app/alarms"
	"minebrain/app/control"
)

// Security policies and modes as written in the file. Best picks the strongest the server
// offers.
const (
	Best = "best"
	None = "None"

	PolicyBasic256Sha256      = "Basic256Sha256"
	PolicyAes128Sha256RsaOaep = "Aes128_Sha256_RsaOaep"
	PolicyAes256Sha256RsaPss  = "Aes256_Sha256_RsaPss"
	ModeSign                  = "Sign"
	ModeSignAndEncrypt        = "SignAndEncrypt"
	EmbeddedEndpoint          = "embedded"
	DeadbandAbsolute          = "absolute"
	DeadbandPercent           = "percent"
	DefaultEquipmentNamespace = "urn:minebrain:sim"
	DefaultEquipmentRoot      = "Mine"
	DefaultBrowseMatch        = "**"
	DefaultPublishInterval    = 250 * time.Millisecond
	DefaultStaleAfter         = 5 * time.Second
	MinPublishInterval        = 10 * time.Millisecond
	MaxPublishInterval        = 10 * time.Minute
	MinSamplingInterval       = 1 * time.Millisecond
	MaxSamplingInterval       = 10 * time.Minute
	MinStaleAfter             = 1 * time.Second
	MaxStaleAfter             = 2 * time.Hour
)

// Site is one parsed site file.
type Site struct {
	// Name is shown in the UI title (the file's site: key).
	Name string
	// Connections are the OPC UA connections, in file order; at least one.
	Connections []Connection
	// History is how long samples are kept and how they are compressed (history:).
	History History
	// Alarms are the alarm definitions (alarms:), in file order, each checked with
	// Definition.Validate; empty without an alarms: section.
	Alarms []alarms.Definition
	// AlarmPos is where each alarm is: AlarmPos[i] is the list item of Alarms[i] (see AlarmAt).
	AlarmPos []Pos
	// Control is what may be written and which interlocks hold commands back (control:).
	// Without a control: section it is the zero Config with the default timeouts filled in.
	Control control.Config
	// SetpointPos and InterlockPos are where Control.Setpoints[i] and Control.Interlocks[i]
	// are in the file.
	SetpointPos, InterlockPos []Pos
	// File is the file name given to Load or Parse.
	File string
	// Pos is the site: key's value.
	Pos Pos
}

// Connection is one OPC UA server and what to read from it.
type Connection struct {
	// Name is unique in the site, [A-Za-z0-9_-]+; status and logs use it.
	Name string
	// Endpoint is "embedded" or an opc.tcp://host:port[/path] URL.
	Endpoint string
	// Embedded is true for endpoint "embedded": the in-process simulated mine.
	Embedded bool
	// Security is the secure channel's policy and mode.
	Security Security
	// Auth is the user identity; the zero value (no auth: key) is anonymous.
	Auth Auth
	// PublishInterval is the subscription's publishing interval (default 250 ms).
	PublishInterval time.Duration
	// SamplingInterval is the monitored items' sampling interval; a 0 in the file is
	// resolved to PublishInterval here, so it is never 0 (which servers take as "fastest").
	SamplingInterval time.Duration
	// StaleAfter is how long the connection may deliver nothing before it turns stale
	// (default 5 s).
	StaleAfter time.Duration
	// Equipment, when not nil, reads the Minebrain equipment tree
	// Objects/<Root>/<Area>/<Unit>/<Signal>.
	Equipment *Equipment
	// Browse rules pick variables by browse-path pattern.
	Browse []BrowseRule
	// Nodes are explicit nodes, each with its tag.
	Nodes []NodeRule
	// Pos is the connection's list item.
	Pos Pos
}

// Security is a connection's security policy and message security mode, as written in the
// file (short names: best, None, Basic256Sha256, ...; best, None, Sign, SignAndEncrypt).
type Security struct {
	Policy, Mode string
	Pos          Pos
}

// Auth is a connection's user identity. Username with PasswordFile or PasswordEnv is a user
// name token; Certificate with Key is an X.509 user token; all empty is anonymous. Relative
// paths were resolved against the site file's directory.
type Auth struct {
	Username, PasswordFile, PasswordEnv, Certificate, Key string
	// Pos is the auth: mapping; PasswordPos is the passwordFile or passwordEnv value.
	Pos, PasswordPos Pos
}

// Anonymous reports whether no user identity is configured.
func (a Auth) Anonymous() bool { return a.Username == "" && a.Certificate == "" }

// Password returns the password of a user name identity: the contents of PasswordFile
// without its trailing newline, or the value of the environment variable PasswordEnv. On
// Unix it refuses a password file that group or others may read or write, and says how to
// fix it. Errors point at the site file line that names the file or variable.
func (a Auth) Password() (string, error) {
	at := a.PasswordPos
	switch {
	case a.PasswordFile != "":
		f := a.PasswordFile
		fi, err := os.Stat(f)
		if err != nil {
			return "", at.Errorf("cannot read the password file: %v", err)
		}
		if !fi.Mode().IsRegular() {
			return "", at.Errorf("password file %s is not a regular file", f)
		}
		if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
			return "", at.Errorf("password file %s is open to group or others (mode %04o); make it private: chmod 600 %s", f, perm, f)
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return "", at.Errorf("cannot read the password file: %v", err)
		}
		pw := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
		if pw == "" {
			return "", at.Errorf("password file %s is empty", f)
		}
		return pw, nil
	case a.PasswordEnv != "":
		pw, ok := os.LookupEnv(a.PasswordEnv)
		if !ok {
			return "", at.Errorf("environment variable %s is not set; set it to the password of user %q in Minebrain's environment", a.PasswordEnv, a.Username)
		}
		if pw == "" {
			return "", at.Errorf("environment variable %s is empty; set it to the password of user %q", a.PasswordEnv, a.Username)
		}
		return pw, nil
	default:
		return "", a.Pos.Errorf("no password: this identity has no passwordFile or passwordEnv")
	}
}

// Equipment is the Minebrain equipment convention: Objects/<Root>/<Area>/<Unit>/<Signal> in
// the namespace Namespace (its index read from the server, never assumed).
type Equipment struct {
	Namespace, Root string
	Pos             Pos
}

// BrowseRule picks the variables below a folder whose browse path matches a pattern.
type BrowseRule struct {
	// Under is the folder, a path of browse names from the Objects folder: "Objects/Plant".
	Under string
	// Match is the glob over the path below Under: "/"-separated segments, "*" and "?"
	// within a segment, "**" as a whole segment for any number of segments.
	Match string
	// Area is the UI area the units go in; default the last segment of Under.
	Area string
	// Deadband filters the rule's data changes.
	Deadband Deadband
	// Pos is the rule's list item.
	Pos Pos

	under, match []string
}

// UnderPath returns Under split into browse names, "Objects" first.
func (r BrowseRule) UnderPath() []string { return append([]string(nil), r.under...) }

// Matches reports whether a variable at the browse path below Under (browse names, without
// the segments of Under) matches the rule's pattern.
func (r BrowseRule) Matches(below []string) bool { return matchPath(r.match, below) }

// NodeRule is one explicit node and the tag its values go to.
type NodeRule struct {
	// Node is the NodeId: ns=2;s=..., nsu=URI;s=..., i=2258, g=GUID, b=base64.
	Node string
	// Tag is the Minebrain tag, Area.Unit.Signal.
	Tag string
	// Deadband filters the node's data changes.
	Deadband Deadband
	// Pos is the rule's list item.
	Pos Pos
}

// Deadband is a data change filter: Kind "" (none), "absolute" (Value in engineering units)
// or "percent" (Value in percent of the variable's EURange).
type Deadband struct {
	Kind  string
	Value float64
}

//go:embed default.yaml
var defaultYAML []byte

// DefaultFile is the file name of the built-in site in positions and errors.
const DefaultFile = "<built-in default.yaml>"

// Default returns the built-in site: the embedded simulated mine. It is parsed from the
// embedded default.yaml, a site file like any other.
func Default() *Site {
	s, err := Parse(DefaultFile, defaultYAML)
	if err != nil {
		panic(fmt.Sprintf("site: the built-in default site is invalid: %v", err))
	}
	return s
}

// DefaultFor returns the built-in site with its one connection pointed at endpoint (the
// --endpoint flag) instead of the simulator. As before site files, the site is named after
// the endpoint and the connection "opcua". The endpoint is checked like one in a file.
func DefaultFor(endpoint string) (*Site, error) {
	s := Default()
	if msg := checkEndpoint(endpoint); msg != "" {
		return nil, &Error{Problems: []*Problem{{Pos: Pos{Path: "--endpoint"}, Msg: msg}}}
	}
	if endpoint == EmbeddedEndpoint {
		return s, nil
	}
	c := &s.Connections[0]
	c.Endpoint, c.Embedded, c.Name = endpoint, false, "opcua"
	s.Name = endpoint
	return s, nil
}

// Load reads and parses the site file at path.
func Load(path string) (*Site, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("site file: %w", err)
	}
	return Parse(path, data)
}

// Parse parses and checks a site file's contents; name is the file name used in positions
// and to resolve relative paths. The error, if any, is an *Error listing every problem.
func Parse(name string, data []byte) (*Site, error) {
	p := newParser(name)
	s := p.parse(data)
	if len(p.probs) > 0 {
		sortProblems(p.probs)
		return nil, &Error{Problems: p.probs}
	}
	return s, nil
}

// Where names a connection for run-time errors: "file:line:col: connection NAME".
func (s *Site) Where(c Connection) string {
	return fmt.Sprintf("%s: connection %s", c.Pos, c.Name)
}
