package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"syscall"
)

// DefaultListen is where the simulator listens unless told otherwise: the
// standard OPC UA port on loopback.
const DefaultListen = "127.0.0.1:4840"

// Options configures Start.
type Options struct {
	// Listen is host:port. "127.0.0.1:0" picks a free port (see
	// Server.EndpointURL). Empty means DefaultListen.
	Listen string
	// Seed makes a run reproducible; 0 means 1.
	Seed int64
	// TimeScale is simulated seconds per wall-clock second: 1 is real time,
	// 60 suits demos and tests. 0 means 1.
	TimeScale float64
	// AllowRemote permits a listen address that is not loopback. Off by
	// default because the simulator has no security (gopcua's server
	// supports only SecurityPolicy None and anonymous users).
	AllowRemote bool
	// Logger receives the simulator's logs (and gopcua's, demoted by one
	// level). Nil means slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.TimeScale == 0 {
		o.TimeScale = 1
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// listenAddr is a validated listen address.
type listenAddr struct {
	host     string // IP literal to listen on ("127.0.0.1", "::1", "0.0.0.0")
	port     int    // 0: pick a free one
	wildcard bool   // all interfaces
}

// parseListen validates Options.Listen: a host and a port, loopback unless
// allowRemote. "localhost" is pinned to 127.0.0.1 because gopcua resolves
// names itself and may pick ::1, which IPv4 clients would then miss.
func parseListen(listen string, allowRemote bool) (listenAddr, error) {
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return listenAddr{}, fmt.Errorf("sim: listen address %q: %w", listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return listenAddr{}, fmt.Errorf("sim: listen address %q: bad port %q", listen, portStr)
	}
	a := listenAddr{host: host, port: port}
	switch {
	case strings.EqualFold(host, "localhost"):
		a.host = "127.0.0.1"
	case host == "":
		a.host, a.wildcard = "0.0.0.0", true
	}
	ip := net.ParseIP(a.host)
	if ip != nil && ip.IsUnspecified() {
		a.wildcard = true
	}
	if ip != nil && ip.IsLoopback() {
		return a, nil
	}
	if !allowRemote {
		return listenAddr{}, fmt.Errorf("sim: listen address %q is not a loopback address; the simulator has no security; allow it explicitly (--allow-remote) to serve other machines anyway", listen)
	}
	// A host name other than localhost is passed on: gopcua resolves it and
	// listens on its first address.
	return a, nil
}

// hostPort formats the address for net.Listen and for endpoint URLs.
func (a listenAddr) hostPort(port int) string { return net.JoinHostPort(a.host, strconv.Itoa(port)) }

// urlHost is the host as it goes into an opc.tcp URL (IPv6 in brackets).
func (a listenAddr) urlHost() string {
	if strings.Contains(a.host, ":") {
		return "[" + a.host + "]"
	}
	return a.host
}

// reservePort finds a free port for gopcua's private listener (port 0) or
// checks that a given port can be bound. The probe listener is closed again
// at once so that gopcua can bind the port itself; a lost race shows up as
// EADDRINUSE from gopcua and Start tries another port.
func reservePort(a listenAddr) (int, error) {
	l, err := net.Listen("tcp", a.hostPort(a.port))
	if err != nil {
		return 0, listenError(a, a.port, err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("sim: listen %s: release probe: %w", a.hostPort(port), err)
	}
	return port, nil
}

// listenError names the port when it is taken, which is the error a user can
// act on (another simulator or OPC UA server is running).
func listenError(a listenAddr, port int, err error) error {
	if isAddrInUse(err) {
		return fmt.Errorf("sim: listen %s: port %d is already in use: %w", a.hostPort(port), port, err)
	}
	return fmt.Errorf("sim: listen %s: %w", a.hostPort(port), err)
}

func isAddrInUse(err error) bool {
	if errors.Is(err, syscall.EADDRINUSE) {
		return true
	}
	// Windows reports WSAEADDRINUSE, which syscall.EADDRINUSE does not match.
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "address already in use") || strings.Contains(s, "only one usage of each socket address")
}
