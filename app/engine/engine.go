// Package engine wires Minebrain's parts into one running system and is the API both faces
// (app/desktop, app/web) call: Model, Snapshot, Status, Ready and an event stream
// (docs/architecture.md, Contract 2). It imports no UI toolkit.
//
// Today it runs one OPC UA connection into the live tag table, to the embedded simulated mine
// (app/sim) unless Config.Endpoint names another server.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"minebrain/app/opcua"
	"minebrain/app/sim"
	"minebrain/app/tags"
)

// DefaultStartTimeout is how long Start waits for the equipment to be discovered.
const DefaultStartTimeout = 15 * time.Second

// Config configures an Engine. The zero value runs the embedded simulator with defaults.
type Config struct {
	// Endpoint is the OPC UA server to connect to. Empty starts the embedded simulator on
	// 127.0.0.1 at a free port, in-process.
	Endpoint string
	// Sim configures the embedded simulator; ignored when Endpoint is set. An empty Listen
	// becomes 127.0.0.1:0.
	Sim sim.Options
	// Site names the site in the model; default "Simulated mine" with the embedded
	// simulator, else the endpoint.
	Site string
	// PublishInterval and StaleAfter tune the OPC UA subscription; zero means the defaults
	// of app/opcua (250 ms, 5 s).
	PublishInterval, StaleAfter time.Duration
	// ReconnectMin and ReconnectMax bound the reconnect backoff; zero means the defaults.
	ReconnectMin, ReconnectMax time.Duration
	// StartTimeout bounds Start's wait for the first discovery; default 15 s.
	StartTimeout time.Duration
	// Logger receives the engine's logs; default slog.Default().
	Logger *slog.Logger
}

// Engine is one running Minebrain core. Create it with New, then Start; Close stops it. All
// methods are safe for concurrent use.
type Engine struct {
	cfg   Config
	log   *slog.Logger
	table *tags.Table

	mu       sync.Mutex
	started  bool
	closed   bool
	sim      *sim.Server
	conn     *opcua.Connection
	endpoint string
	model    Model
	subs     map[*subscriber]struct{}
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// New returns an engine for cfg. It starts nothing, but rejects an endpoint that cannot be
// dialled at all, so a typo is reported before anything else happens.
func New(cfg Config) (*Engine, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Endpoint != "" {
		if _, err := opcua.New(opcua.Options{Endpoint: cfg.Endpoint}, tags.NewTable()); err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
	}
	if cfg.Sim.Logger == nil {
		cfg.Sim.Logger = cfg.Logger
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.Endpoint == "" && cfg.Sim.Listen == "" {
		cfg.Sim.Listen = "127.0.0.1:0"
	}
	return &Engine{
		cfg:   cfg,
		log:   cfg.Logger,
		table: tags.NewTable(),
		model: Model{Areas: []Area{}},
		subs:  make(map[*subscriber]struct{}),
	}, nil
}

// Start starts the embedded simulator (when no endpoint is configured) and the OPC UA
// connection, and returns once the equipment is known and subscribed and the initial values
// are in (or 2 s have passed), so Model is complete, Status connected and Snapshot full when
// it returns.
// ctx bounds only this start-up; the engine then runs until Close. If the server cannot be
// reached within StartTimeout, Start stops what it started and returns the connection's last
// error.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	switch {
	case e.closed:
		e.mu.Unlock()
		return errors.New("engine: start after Close")
	case e.started:
		e.mu.Unlock()
		return errors.New("engine: already started")
	}
	e.started = true
	e.mu.Unlock()

	// The simulator and the connection live until Close, not until ctx ends: ctx only
	// bounds the start-up.
	runCtx, cancel := context.WithCancel(context.Background())
	e.mu.Lock()
	e.cancel = cancel
	e.mu.Unlock()

	endpoint := e.cfg.Endpoint
	site := e.cfg.Site
	if endpoint == "" {
		// sim.Start ties the server's life to the context it is given. Close stops it
		// explicitly, after the connection, so its clients are gone when it shuts down
		// (gopcua's server waits for them).
		srv, err := sim.Start(context.Background(), e.cfg.Sim)
		if err != nil {
			e.Close()
			return fmt.Errorf("engine: start simulator on %s: %w", e.cfg.Sim.Listen, err)
		}
		endpoint = srv.EndpointURL()
		e.mu.Lock()
		e.sim = srv
		e.mu.Unlock()
		if site == "" {
			site = "Simulated mine"
		}
		e.log.Info("engine: simulated mine started", "endpoint", endpoint)
	}
	if site == "" {
		site = endpoint
	}

	name := "opcua"
	if e.cfg.Endpoint == "" {
		name = "sim"
	}
	conn, err := opcua.New(opcua.Options{
		Name:            name,
		Endpoint:        endpoint,
		PublishInterval: e.cfg.PublishInterval,
		StaleAfter:      e.cfg.StaleAfter,
		ReconnectMin:    e.cfg.ReconnectMin,
		ReconnectMax:    e.cfg.ReconnectMax,
		Logger:          e.log,
	}, e.table)
	if err != nil {
		e.Close()
		return fmt.Errorf("engine: %w", err)
	}

	e.mu.Lock()
	e.conn, e.endpoint = conn, endpoint
	e.mu.Unlock()
	e.wg.Add(2)
	go func() {
		defer e.wg.Done()
		if err := conn.Run(runCtx); err != nil {
			e.log.Error("engine: connection stopped", "err", err)
		}
	}()
	go func() {
		defer e.wg.Done()
		e.broadcastStatus(runCtx, conn)
	}()

	timer := time.NewTimer(e.cfg.StartTimeout)
	defer timer.Stop()
	select {
	case <-conn.Established():
	case <-ctx.Done():
		e.Close()
		return fmt.Errorf("engine: start: %w", ctx.Err())
	case <-timer.C:
		st := conn.Status()
		e.Close()
		return fmt.Errorf("engine: no equipment from %s after %v: %s", endpoint, e.cfg.StartTimeout, st.LastError)
	}

	e.awaitValues(ctx, firstValuesWait)

	model := buildModel(site, conn.Equipment())
	e.mu.Lock()
	e.model = model
	e.mu.Unlock()
	e.log.Info("engine: started", "endpoint", endpoint, "units", model.UnitCount(), "tags", e.table.Len())
	return nil
}

// firstValuesWait bounds how long Start waits, once subscribed, for the initial values.
const firstValuesWait = 2 * time.Second

// awaitValues waits until every tag has a value or the wait is over, so the first Snapshot
// after Start paints a full overview. A server that never sends some initial values only
// delays the start; those tags arrive through the event stream if ever.
func (e *Engine) awaitValues(ctx context.Context, wait time.Duration) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for len(e.table.Snapshot()) < e.table.Len() {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			e.log.Warn("engine: some initial values did not arrive", "have", len(e.table.Snapshot()), "tags", e.table.Len())
			return
		case <-tick.C:
		}
	}
}

// Close stops the connection, ends every subscription (closing its channel) and stops the
// embedded simulator. It is safe to call more than once.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	cancel, srv := e.cancel, e.sim
	subs := make([]*subscriber, 0, len(e.subs))
	for s := range e.subs {
		subs = append(subs, s)
	}
	e.mu.Unlock()

	if cancel != nil {
		cancel()
	}
	e.wg.Wait()
	for _, s := range subs {
		s.cancel()
	}
	if srv != nil {
		if err := srv.Close(); err != nil {
			return fmt.Errorf("engine: stop simulator: %w", err)
		}
	}
	return nil
}

// Endpoint returns the OPC UA endpoint in use (the embedded simulator's once started).
func (e *Engine) Endpoint() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.endpoint != "" {
		return e.endpoint
	}
	return e.cfg.Endpoint
}
