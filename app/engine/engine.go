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

// simStartWait bounds how long Start waits for the embedded simulator to be discovered and
// to deliver its initial values, so the first paint is complete. It never fails the start. The
// simulator is in-process and answers in well under a second; the generous ceiling only
// matters on a machine so loaded that a shorter one would start with a partial picture.
const simStartWait = 10 * time.Second

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
	// Logger receives the engine's logs; default slog.Default().
	Logger *slog.Logger
	// HistoryPath is the historian database file every sample is recorded into (created
	// with its directory if missing). Empty records no history.
	HistoryPath string
}

// Engine is one running Minebrain core. Create it with New, then Start; Close stops it. All
// methods are safe for concurrent use.
type Engine struct {
	cfg   Config
	log   *slog.Logger
	table *tags.Table

	mu         sync.Mutex
	started    bool
	closed     bool
	sim        *sim.Server
	rec        *recorder // nil without history
	conn       *opcua.Connection
	endpoint   string
	model      Model
	modelKnown chan struct{} // closed when the first discovery is in the model
	subs       map[*subscriber]struct{}
	cancel     context.CancelFunc
	wg         sync.WaitGroup
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
	if cfg.Endpoint == "" && cfg.Sim.Listen == "" {
		cfg.Sim.Listen = "127.0.0.1:0"
	}
	return &Engine{
		cfg:        cfg,
		log:        cfg.Logger,
		table:      tags.NewTable(),
		model:      Model{Areas: []Area{}},
		modelKnown: make(chan struct{}),
		subs:       make(map[*subscriber]struct{}),
	}, nil
}

// Start starts the embedded simulator (when no endpoint is configured) and the OPC UA
// connection, and returns without waiting for the server: the equipment of a remote mine may
// be down or unreachable at launch, and the engine must then be up to say so and to connect
// as soon as it can. Until the equipment is discovered, Model has no areas and Status shows
// the connection connecting with its last error; the model then arrives as a model event.
//
// With the embedded simulator Start waits up to simStartWait for the discovery and the
// initial values, so the first paint is complete; a slower simulator only makes that paint
// fill in later. ctx bounds only this wait; the engine then runs until Close. Start fails
// only when something cannot start at all (the simulator's port, say).
func (e *Engine) Start(ctx context.Context) error {
	if err := e.markStarted(); err != nil {
		return err
	}
	// The simulator and the connection live until Close, not until ctx ends.
	runCtx, cancel := context.WithCancel(context.Background())
	e.mu.Lock()
	e.cancel = cancel
	e.mu.Unlock()

	if e.cfg.HistoryPath != "" {
		rec, err := openRecorder(ctx, e.cfg.HistoryPath, e.table, e.log)
		if err != nil {
			e.Close()
			return err
		}
		e.mu.Lock()
		e.rec = rec
		e.mu.Unlock()
	}

	endpoint, site := e.cfg.Endpoint, e.cfg.Site
	if endpoint == "" {
		var err error
		if endpoint, err = e.startSim(); err != nil {
			e.Close()
			return err
		}
		if site == "" {
			site = "Simulated mine"
		}
	}
	if site == "" {
		site = endpoint
	}
	conn, err := e.connect(runCtx, endpoint, site)
	if err != nil {
		e.Close()
		return err
	}
	e.log.Info("engine: started", "endpoint", endpoint)
	if e.cfg.Endpoint != "" {
		return nil // an external server may be down for hours; its model follows as an event
	}
	if err := e.awaitFirstPaint(ctx, conn); err != nil {
		e.Close()
		return fmt.Errorf("engine: start: %w", err)
	}
	return nil
}

// markStarted refuses a second Start, and a Start after Close.
func (e *Engine) markStarted() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return errors.New("engine: start after Close")
	case e.started:
		return errors.New("engine: already started")
	}
	e.started = true
	return nil
}

// startSim starts the embedded simulated mine and returns its endpoint.
func (e *Engine) startSim() (string, error) {
	// sim.Start ties the server's life to the context it is given. Close stops it
	// explicitly, after the connection, so its clients are gone when it shuts down
	// (gopcua's server waits for them).
	srv, err := sim.Start(context.Background(), e.cfg.Sim)
	if err != nil {
		return "", fmt.Errorf("engine: start simulator on %s: %w", e.cfg.Sim.Listen, err)
	}
	e.mu.Lock()
	e.sim = srv
	e.mu.Unlock()
	e.log.Info("engine: simulated mine started", "endpoint", srv.EndpointURL())
	return srv.EndpointURL(), nil
}

// connect creates the OPC UA connection to endpoint and runs it, with the goroutines that
// follow its status and its equipment, until runCtx ends.
func (e *Engine) connect(runCtx context.Context, endpoint, site string) (*opcua.Connection, error) {
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
		return nil, fmt.Errorf("engine: %w", err)
	}
	e.mu.Lock()
	e.conn, e.endpoint = conn, endpoint
	e.model.Site = site // the header can name the site while the equipment is unknown
	e.mu.Unlock()

	e.wg.Add(3)
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
	go func() {
		defer e.wg.Done()
		e.followEquipment(runCtx, conn, site)
	}()
	return conn, nil
}

// followEquipment keeps the model in step with the equipment the connection discovers: at
// the first discovery, and whenever a new session finds a different address space.
func (e *Engine) followEquipment(ctx context.Context, conn *opcua.Connection, site string) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-conn.EquipmentChanged():
			e.setModel(buildModel(site, conn.Equipment()))
		}
	}
}

// setModel replaces the model and sends it to every subscriber as a model event.
func (e *Engine) setModel(m Model) {
	e.mu.Lock()
	e.model = m
	select {
	case <-e.modelKnown:
	default:
		close(e.modelKnown)
	}
	e.mu.Unlock()
	e.notifySubscribers(func(s *subscriber) chan struct{} { return s.model })
	e.log.Info("engine: model", "units", m.UnitCount(), "tags", e.table.Len())
}

// awaitFirstPaint waits, within simStartWait, for the model and then for a value of every
// tag, so the first Model and Snapshot paint a full overview. Running out of time is not an
// error: what is missing arrives through the event stream. Only ctx ending is.
func (e *Engine) awaitFirstPaint(ctx context.Context, conn *opcua.Connection) error {
	deadline := time.NewTimer(simStartWait)
	defer deadline.Stop()
	select {
	case <-e.modelKnown:
	case <-ctx.Done():
		return ctx.Err()
	case <-deadline.C:
		e.log.Warn("engine: the simulated mine is not discovered yet; its model will follow",
			"after", simStartWait, "lastError", conn.Status().LastError)
		return nil
	}
	return e.awaitValues(ctx, deadline.C)
}

// awaitValues waits until every tag has a value or the deadline passes. A server that never
// sends some initial values only delays the start; those tags arrive as events if ever.
func (e *Engine) awaitValues(ctx context.Context, deadline <-chan time.Time) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for len(e.table.Snapshot()) < e.table.Len() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			e.log.Warn("engine: some initial values did not arrive yet", "have", len(e.table.Snapshot()), "tags", e.table.Len())
			return nil
		case <-tick.C:
		}
	}
	return nil
}

// Close stops the connection, ends every subscription (closing its channel), records the last
// samples into the history file and closes it, and stops the embedded simulator. It is safe to
// call more than once.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	cancel, srv, rec := e.cancel, e.sim, e.rec
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
	var err error
	if rec != nil {
		// The connection has stopped (its last Bad samples are in the queue).
		err = rec.close()
	}
	if srv != nil {
		if serr := srv.Close(); serr != nil && err == nil {
			err = fmt.Errorf("engine: stop simulator: %w", serr)
		}
	}
	return err
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
