package web

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
)

// AllowRemoteFlag is the command-line flag that sets Options.AllowRemote; errors name it so
// the user knows what to type.
const AllowRemoteFlag = "--allow-remote"

// checkListen refuses a listen address that other machines could reach, unless allowed and
// served over TLS.
func checkListen(addr string, allowRemote, useTLS bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("web: listen address %q: %w (want host:port, e.g. %s)", addr, err, DefaultListen)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("web: listen address %q: bad port %q", addr, port)
	}
	if isLoopback(host) {
		return nil
	}
	shown := host
	if shown == "" {
		shown = "all interfaces"
	}
	if !allowRemote {
		return fmt.Errorf("web: refusing to listen on %s (%s): not a loopback address; pass %s (with %s and %s) to serve other machines",
			addr, shown, AllowRemoteFlag, TLSCertFlag, TLSKeyFlag)
	}
	if !useTLS {
		return fmt.Errorf("web: refusing to listen on %s (%s): serving other machines needs TLS: give %s and %s (or keep --listen on loopback behind a TLS proxy); passwords and session cookies must not cross the network in clear",
			addr, shown, TLSCertFlag, TLSKeyFlag)
	}
	return nil
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

// loopbackHostOnly refuses a request whose Host is not a loopback name or address. Served on
// loopback, a request naming another host comes from a page whose DNS name was pointed at
// 127.0.0.1 (DNS rebinding): same-origin checks pass for it, and the first-administrator
// setup, open to loopback clients, would be open to any web page the operator visits.
func loopbackHostOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(r.Host); err == nil {
			host = h
		}
		if !isLoopback(host) {
			writeError(w, http.StatusForbidden, "this Minebrain serves loopback only: open it as http://127.0.0.1 or http://localhost")
			return
		}
		next.ServeHTTP(w, r)
	})
}
