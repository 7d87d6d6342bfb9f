// Package engine wires Minebrain's parts into one running system and is the API both faces
// (app/desktop, app/web) call: Model, Snapshot, Status, Ready and an event stream
// (docs/architecture.md, Contract 2). It imports no UI toolkit.
//
// It runs the site's OPC UA connections (app/site) into one live tag table; the built-in site
// is the embedded simulated mine (app/sim).
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"minebrain/app/audit"
	"minebrain/app/control"
	"minebrain/app/historian"
	"minebrain/app/pki"
	"minebrain/app/plugins"
	"minebrain/app/sim"
	"minebrain/app/site"
	"minebrain/app/tags"
	"minebrain/app/users"
)

// simStartWait bounds how long Start waits for the embedded simulator to be discovered and
// to deliver its initial values, so the first paint is complete. It never fails the start. The
// simulator is in-process and answers in well under a second; the generous ceiling only
// matters on a machine so loaded that a shorter one would start with a partial picture.
const simStartWait = 10 * time.Second

// Config configures an Engine. The zero value runs the embedded simulator with defaults.
type Config struct {
	// Site declares the connections. Nil means the built-in site: the embedded simulated
	// mine, or the one server Endpoint names.
	Site *site.Site
	// Endpoint, without Site, is the one OPC UA server to connect to (site.DefaultFor).
	Endpoint string
	// Sim configures the embedded simulator, started when a connection's endpoint is
	// "embedded". An empty Listen becomes 127.0.0.1:0.
	Sim sim.Options
	// SiteSavePath is where the built-in site is saved when it is first changed (a node added
	// from the address-space browser); a site loaded from a file is edited in place.
	SiteSavePath string
	// PKIDir is the certificate store (app/pki) for secured connections and logins. It is
	// opened only when a connection needs it; empty then fails that connection's start.
	PKIDir string
	// PublishInterval and StaleAfter, when set, override every connection's values; zero
	// leaves the site file's (or app/opcua's defaults: 250 ms, 5 s).
	PublishInterval, StaleAfter time.Duration
	// ReconnectMin and ReconnectMax bound the reconnect backoff; zero means the defaults.
	ReconnectMin, ReconnectMax time.Duration
	// Logger receives the engine's logs; default slog.Default().
	Logger *slog.Logger
	// HistoryPath is the historian database file (created with its directory if missing):
	// every sample, and the users, the audit log and the alarm journal. Empty keeps none of
	// them: no login, no commands, alarms without a journal.
	HistoryPath string
	// NoRecording keeps the history file for users, audit and alarms but records no samples.
	NoRecording bool
	// PluginDir holds the plugins, one directory each with its plugin.yaml and module; they
	// are loaded at start in SHADOW. Empty runs no plugins.
	PluginDir string
	// PluginCacheDir keeps compiled plugin modules between runs; empty compiles in memory.
	PluginCacheDir string
	// PluginManifests are more plugins to load at start, after those of PluginDir (which
	// must be set: without it there are no plugins), wherever their manifests are. Only
	// whoever starts the engine names them (`minebrain plugin run`: the plugin being
	// developed); a face's LoadPlugin stays confined to PluginDir.
	PluginManifests []string
	// PasswordParams are the argon2id costs of new password hashes; zero is
	// users.DefaultParams. Tests make them cheap.
	PasswordParams users.Params
}

// Engine is one running Minebrain core. Create it with New, then Start; Close stops it. All
// methods are safe for concurrent use.
type Engine struct {
	cfg   Config
	log   *slog.Logger
	table *tags.Table

	siteMu     sync.Mutex // serialises edits of the site file (AddNode)
	setupMu    sync.Mutex // serialises creating the first administrator
	mu         sync.Mutex
	started    bool
	closed     bool
	sim        *sim.Server
	store      *historian.Store // nil without a history file
	rec        *recorder        // nil without history
	users      *users.Users     // nil without a history file
	audit      *audit.Log       // nil without a history file
	alarms     *alarming
	journal    *journal // nil without a history file
	control    *control.Controller
	plugins    *plugins.Runtime // nil without a plugins directory
	stopAlarms chan struct{}
	pki        *pki.Store
	links      []*link       // one per site connection, in site order
	model      Model         // every link's equipment, merged
	modelKnown chan struct{} // closed when the first discovery is in the model
	subs       map[*subscriber]struct{}
	runCtx     context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// New returns an engine for cfg. It starts nothing, but rejects a site whose connections
// cannot work at all (an endpoint that cannot be dialled, a missing password), so a typo is
// reported before anything else happens.
func New(cfg Config) (*Engine, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Site == nil {
		var err error
		if cfg.Site, err = builtinSite(cfg.Endpoint); err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
	}
	for _, sc := range cfg.Site.Connections {
		endpoint := sc.Endpoint
		if sc.Embedded {
			endpoint = "opc.tcp://127.0.0.1:1" // the simulator's port is known once it runs
		}
		opts, err := connectionOptions(sc, endpoint, cfg)
		if err == nil {
			err = opts.Check()
		}
		if err != nil {
			return nil, fmt.Errorf("engine: %s: %w", cfg.Site.Where(sc), err)
		}
	}
	if cfg.Sim.Logger == nil {
		cfg.Sim.Logger = cfg.Logger
	}
	if cfg.Sim.Listen == "" {
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

// Start starts the embedded simulator (when a connection names it) and every connection, and
// returns without waiting for external servers: the equipment of a remote mine may be down or
// unreachable at launch, and the engine must then be up to say so and to connect as soon as it
// can. Until a connection's equipment is discovered, Model lacks it and Status shows the
// connection connecting with its last error; the model then arrives as a model event.
//
// When every connection is to the embedded simulator Start waits up to simStartWait for the
// discovery and the initial values, so the first paint is complete; a slower simulator only
// makes that paint fill in later. ctx bounds only this wait; the engine then runs until Close.
// Start fails only when something cannot start at all (the simulator's port, the history
// file, the certificate store).
func (e *Engine) Start(ctx context.Context) error {
	if err := e.markStarted(); err != nil {
		return err
	}
	// The simulator and the connections live until Close, not until ctx ends.
	runCtx, cancel := context.WithCancel(context.Background())
	e.mu.Lock()
	e.runCtx, e.cancel = runCtx, cancel
	e.model.Site = e.cfg.Site.Name // the header can name the site while the equipment is unknown
	e.mu.Unlock()

	if err := e.openParts(ctx); err != nil {
		e.Close()
		return err
	}

	allEmbedded := true
	for _, sc := range e.cfg.Site.Connections {
		endpoint := sc.Endpoint
		if sc.Embedded {
			var err error
			if endpoint, err = e.startSim(); err != nil {
				e.Close()
				return err
			}
		} else {
			allEmbedded = false
		}
		if err := e.connect(runCtx, sc, endpoint); err != nil {
			e.Close()
			return err
		}
	}
	e.log.Info("engine: started", "site", e.cfg.Site.Name, "connections", len(e.cfg.Site.Connections))
	if !allEmbedded {
		return nil // an external server may be down for hours; its model follows as an event
	}
	if err := e.awaitFirstPaint(ctx); err != nil {
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

// startSim starts the embedded simulated mine, once, and returns its endpoint.
func (e *Engine) startSim() (string, error) {
	e.mu.Lock()
	running := e.sim
	e.mu.Unlock()
	if running != nil {
		return running.EndpointURL(), nil
	}
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

// awaitFirstPaint waits, within simStartWait, for the model and then for a value of every
// tag, so the first Model and Snapshot paint a full overview. Running out of time is not an
// error: what is missing arrives through the event stream. Only ctx ending is.
func (e *Engine) awaitFirstPaint(ctx context.Context) error {
	deadline := time.NewTimer(simStartWait)
	defer deadline.Stop()
	select {
	case <-e.modelKnown:
	case <-ctx.Done():
		return ctx.Err()
	case <-deadline.C:
		e.log.Warn("engine: the simulated mine is not discovered yet; its model will follow",
			"after", simStartWait)
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
	err := e.closeParts()
	if srv != nil {
		if serr := srv.Close(); serr != nil && err == nil {
			err = fmt.Errorf("engine: stop simulator: %w", serr)
		}
	}
	return err
}

// Endpoint returns the endpoint of the first connection (the embedded simulator's once
// started).
func (e *Engine) Endpoint() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.links) > 0 {
		return e.links[0].endpoint
	}
	return e.cfg.Site.Connections[0].Endpoint
}
