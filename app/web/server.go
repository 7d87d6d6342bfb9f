// Package web is the HTTP + WebSocket face of Minebrain (`minebrain serve`): it serves the
// built frontend and carries the engine API over a WebSocket (docs/architecture.md,
// Contract 3), for remote operation centres and end-to-end tests in a real browser.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"minebrain/app/engine"
)

// DefaultListen is the address served when Options.Listen is empty: loopback only.
const DefaultListen = "127.0.0.1:8080"

// shutdownTimeout bounds the graceful part of Serve's shutdown.
const shutdownTimeout = 5 * time.Second

// Options configure a Server.
type Options struct {
	// Listen is host:port; default DefaultListen. Port 0 picks a free port (see Addr).
	Listen string
	// AllowRemote permits a non-loopback Listen address. Off by default: serving other
	// machines must be a deliberate choice. It also needs TLSCert and TLSKey: passwords and
	// session cookies must not cross the network in clear.
	AllowRemote bool
	// TLSCert and TLSKey are PEM files: the certificate (chain, the server's own first) and
	// its private key. Both or neither; with them the server speaks HTTPS (TLS 1.2 or later)
	// and WebSocket over wss, its session cookies are Secure and its responses carry
	// Strict-Transport-Security. New loads and checks them.
	TLSCert, TLSKey string
	// SessionIdle ends a login after this long without a request or a WebSocket message from
	// it; default DefaultSessionIdle (30 min).
	SessionIdle time.Duration
	// SessionLifetime ends a login this long after it began, however active; default
	// DefaultSessionLifetime (12 h).
	SessionLifetime time.Duration
	// Now is the session clock; default time.Now. Tests inject one.
	Now func() time.Time
	// Assets is the built frontend (minebrain/frontend.Dist()). Without an index.html the
	// server answers pages with a 503 that says how to build it.
	Assets fs.FS
	// Logger receives the server's logs; default slog.Default().
	Logger *slog.Logger
}

// Server serves one engine over HTTP and WebSocket.
type Server struct {
	e    *engine.Engine
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux

	ws       http.Handler // the WebSocket upgrade, after handleWS admitted the request
	sessions *sessions
	tls      *tls.Config  // nil: plain HTTP
	handler  http.Handler // mux, with Strict-Transport-Security over TLS

	mu      sync.Mutex
	ln      net.Listener
	clients map[*client]struct{}
	closing bool
}

// New returns a server for e. It checks the listen address (a non-loopback address needs
// AllowRemote and TLS) and loads the TLS key pair, but binds nothing; Listen or Serve does.
func New(e *engine.Engine, opts Options) (*Server, error) {
	if e == nil {
		return nil, errors.New("web: nil engine")
	}
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = DefaultSessionIdle
	}
	if opts.SessionLifetime <= 0 {
		opts.SessionLifetime = DefaultSessionLifetime
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if (opts.TLSCert == "") != (opts.TLSKey == "") {
		return nil, fmt.Errorf("web: TLS needs both a certificate and a key (%s and %s)", TLSCertFlag, TLSKeyFlag)
	}
	useTLS := opts.TLSCert != ""
	if err := checkListen(opts.Listen, opts.AllowRemote, useTLS); err != nil {
		return nil, err
	}
	s := &Server{e: e, opts: opts, log: opts.Logger, clients: make(map[*client]struct{}),
		sessions: newSessions(opts.Now, opts.SessionIdle, opts.SessionLifetime)}
	if useTLS {
		cert, err := loadKeyPair(opts.TLSCert, opts.TLSKey, opts.Logger)
		if err != nil {
			return nil, err
		}
		s.tls = tlsConfig(cert)
	}
	s.ws = s.wsHandler()
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /api/health", s.handleHealth) // public: monitoring needs no login
	s.mux.HandleFunc("GET /api/session", s.handleSession)
	s.mux.HandleFunc("POST /api/login", s.handleLogin)
	s.mux.HandleFunc("POST /api/logout", s.handleLogout)
	s.mux.HandleFunc("POST /api/setup", s.handleSetup)
	s.mux.HandleFunc("GET /ws", s.handleWS)
	s.mux.Handle("GET /", newAssets(opts.Assets))
	s.handler = s.mux
	if s.tls != nil {
		s.handler = hsts(s.mux)
	}
	if !opts.AllowRemote {
		s.handler = loopbackHostOnly(s.handler)
	}
	return s, nil
}

// Handler returns the server's HTTP handler, for tests and for embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// Listen binds the listen address. Call it before Serve to learn the address (Addr) before
// serving starts; Serve calls it when it has not been called.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil
	}
	ln, err := listen(s.opts.Listen)
	if err != nil {
		return err
	}
	s.ln = ln
	return nil
}

// Addr returns the bound host:port, or "" before Listen.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// URL returns the server's base URL, e.g. http://127.0.0.1:8080/ (https:// with TLS), or ""
// before Listen.
func (s *Server) URL() string {
	a := s.Addr()
	switch {
	case a == "":
		return ""
	case s.tls != nil:
		return "https://" + a + "/"
	}
	return "http://" + a + "/"
}

// Serve serves until ctx is cancelled, then stops accepting, closes every WebSocket and
// waits (up to 5 s) for requests in flight. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()

	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	sl := ln
	if s.tls != nil {
		// HTTP/1.1 only: the WebSocket upgrade (x/net/websocket hijacks the connection) does
		// not exist in HTTP/2.
		hs.Protocols = new(http.Protocols)
		hs.Protocols.SetHTTP1(true)
		hs.TLSConfig = s.tls
		sl = tls.NewListener(ln, s.tls)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(sl) }()
	go s.sweepSessions(ctx)
	s.log.Info("web: serving", "url", s.URL())

	select {
	case err := <-errc:
		return fmt.Errorf("web: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	// Hijacked WebSocket connections are invisible to Shutdown: close them ourselves.
	s.closeClients()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
		return fmt.Errorf("web: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("web: serve %s: %w", ln.Addr(), err)
	}
	s.log.Info("web: stopped")
	return nil
}
