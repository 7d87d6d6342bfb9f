package web

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// AllowRemoteFlag is the command-line flag that sets Options.AllowRemote; errors name it so
// the user knows what to type.
const AllowRemoteFlag = "--allow-remote"

// checkListen refuses a listen address that other machines could reach, unless allowed.
func checkListen(addr string, allowRemote bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("web: listen address %q: %w (want host:port, e.g. %s)", addr, err, DefaultListen)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("web: listen address %q: bad port %q", addr, port)
	}
	if allowRemote || isLoopback(host) {
		return nil
	}
	shown := host
	if shown == "" {
		shown = "all interfaces"
	}
	return fmt.Errorf("web: refusing to listen on %s (%s): not a loopback address, and the web face speaks plain HTTP (passwords readable on the network without a TLS proxy in front); pass %s to serve other machines",
		addr, shown, AllowRemoteFlag)
}

// isLoopback reports whether host names only this machine. An empty host means every
// interface, so it is not loopback.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// listen binds addr, turning the common failure into a message that names the port.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		_, port, _ := net.SplitHostPort(addr)
		return nil, fmt.Errorf("web: port %s is already in use (listen %s): stop the other program or choose another port: %w", port, addr, err)
	}
	return nil, fmt.Errorf("web: listen %s: %w", addr, err)
}
