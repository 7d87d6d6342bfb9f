package opcua

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"
)

// The integrator tools (tool_*.go) are one-shot requests against a server, for the
// `minebrain opc` command line: list endpoints, browse, read, write, call and watch. Unlike a
// Connection they do not reconnect; they report the first error with the server's status code.

// ToolOptions configure a Tool session.
type ToolOptions struct {
	// Endpoint is the server URL, opc.tcp://host:port[/path]; it is the address dialled.
	Endpoint string
	// Security selects how the session is secured; the zero value is None and anonymous.
	Security Security
	// Timeout bounds connecting and every service call; default DefaultRequestTimeout.
	Timeout time.Duration
}

// Tool is one connected session for the integrator tools. Close it when done.
type Tool struct {
	cl      *uaClient
	opts    ToolOptions
	timeout time.Duration
}

// ValidateEndpoint checks that s is an opc.tcp://host:port URL.
func ValidateEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "opc.tcp" || u.Host == "" {
		return fmt.Errorf("invalid endpoint URL %q (want opc.tcp://host:port)", s)
	}
	return nil
}

func (o ToolOptions) withDefaults() (ToolOptions, error) {
	if err := ValidateEndpoint(o.Endpoint); err != nil {
		return o, err
	}
	if err := o.Security.validate(true); err != nil {
		return o, err
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultRequestTimeout
	}
	return o, nil
}

// clientOptions returns the gopcua options of a tool session.
func (o ToolOptions) clientOptions(secOpts []opcua.Option) []opcua.Option {
	return append(secOpts,
		opcua.AutoReconnect(false),
		opcua.RequestTimeout(o.Timeout),
		opcua.DialTimeout(o.Timeout),
		opcua.SessionTimeout(time.Minute),
		opcua.ApplicationName("Minebrain"),
		opcua.SessionName("minebrain-opc"),
	)
}

// DialTool connects and opens a session.
func DialTool(ctx context.Context, o ToolOptions) (*Tool, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	secOpts, _, err := o.Security.dialOptions(ctx, o.Endpoint, o.Timeout)
	if err != nil {
		return nil, err
	}
	cl, err := opcua.NewClient(o.Endpoint, o.clientOptions(secOpts)...)
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", o.Endpoint, err)
	}
	// Connect needs a deadline of its own: gopcua waits for the reply to Hello without one.
	cctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if err := cl.Connect(cctx); err != nil {
		cl.Close(context.Background())
		return nil, fmt.Errorf("connect %s: %w", o.Endpoint, explainConnectError(o.Security, err))
	}
	return &Tool{cl: newUAClient(ctx, cl), opts: o, timeout: o.Timeout}, nil
}

// Close closes the session, bounded by teardownTimeout.
func (t *Tool) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), teardownTimeout)
	defer cancel()
	return t.cl.Close(ctx)
}

// ParseNodeID parses a NodeId string (ns=2;s=Crushing.CR1.PowerKW, i=2258, ns=1;g=…, ns=1;b=…)
// with an error that names the bad input.
func ParseNodeID(s string) (*ua.NodeID, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("invalid NodeId %q: empty (want e.g. ns=2;s=Crushing.CR1.PowerKW or i=2258)", s)
	}
	// gopcua reads a bare "Crushing.CR1.PowerKW" as s=… in namespace 0, which hides typos;
	// ask for the identifier type explicitly.
	rest := s
	if strings.HasPrefix(rest, "ns=") {
		i := strings.IndexByte(rest, ';')
		if i < 0 {
			return nil, fmt.Errorf("invalid NodeId %q: no ';' after the namespace (want e.g. ns=2;s=Crushing.CR1.PowerKW)", s)
		}
		if _, err := strconv.ParseUint(rest[3:i], 10, 16); err != nil {
			return nil, fmt.Errorf("invalid NodeId %q: namespace %q is not a number from 0 to 65535", s, rest[3:i])
		}
		rest = rest[i+1:]
	}
	if len(rest) < 2 || rest[1] != '=' || !strings.ContainsRune("isgb", rune(rest[0])) {
		return nil, fmt.Errorf("invalid NodeId %q: want [ns=N;]i=, s=, g= or b= and the identifier (e.g. ns=2;s=Crushing.CR1.PowerKW, i=2258)", s)
	}
	n, err := ua.ParseNodeID(s)
	if err != nil {
		return nil, fmt.Errorf("invalid NodeId %q: %v (want e.g. ns=2;s=Crushing.CR1.PowerKW or i=2258)", s, err)
	}
	return n, nil
}

// StatusName returns the OPC UA name of a status code, e.g. BadNodeIdUnknown, or its hex value
// when unknown.
func StatusName(c ua.StatusCode) string {
	if c == ua.StatusOK {
		return "Good"
	}
	d, ok := ua.StatusCodes[c]
	if !ok {
		// The low bits carry info flags (overflow, limits); name the code without them.
		if d, ok = ua.StatusCodes[c&0xFFFF0000]; !ok {
			return fmt.Sprintf("0x%08X", uint32(c))
		}
	}
	// gopcua spells "Id" as "ID" and prefixes "Status"; the specification does neither.
	return strings.ReplaceAll(strings.TrimPrefix(d.Name, "Status"), "ID", "Id")
}

// StatusError is a Bad (or Uncertain) status code returned by the server for one operation.
type StatusError struct {
	Op   string // what was attempted, e.g. "write ns=2;s=Pit.SH01.RunCmd"
	Code ua.StatusCode
}

func (e *StatusError) Error() string {
	text := ""
	if d, ok := ua.StatusCodes[e.Code]; ok && d.Text != "" {
		text = " (" + strings.TrimSuffix(d.Text, ".") + ")"
	}
	return fmt.Sprintf("%s: %s%s", e.Op, StatusName(e.Code), text)
}

// IsStatus reports whether err carries an OPC UA status code (from the server or a service
// fault), and which. Errors without one are local or network failures.
func IsStatus(err error) (ua.StatusCode, bool) {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code, true
	}
	var sc ua.StatusCode
	if errors.As(err, &sc) {
		return sc, true
	}
	return 0, false
}

// statusErr wraps gopcua's error with the operation, naming the status code when there is one.
func statusErr(op string, err error) error {
	var sc ua.StatusCode
	if errors.As(err, &sc) {
		return &StatusError{Op: op, Code: sc}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// nodeClassName returns the class without gopcua's prefix: Object, Variable, Method, ….
func nodeClassName(c ua.NodeClass) string {
	if c == ua.NodeClassUnspecified {
		return "Unspecified"
	}
	return strings.TrimPrefix(c.String(), "NodeClass")
}
