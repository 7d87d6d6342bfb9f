package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"
)

// publishInterval is how often, in wall time, the model is advanced and its
// changes are published.
const publishInterval = 250 * time.Millisecond

// maxCatchUp bounds the simulated time one update may cover. After the
// process was suspended (a laptop lid) the simulation skips ahead instead of
// computing hours of plant at once.
const maxCatchUp = 20 * time.Minute

// Server is the simulated mine served over OPC UA. Create it with Start and
// stop it with Close (or by cancelling Start's context).
type Server struct {
	log       *slog.Logger
	opts      Options
	endpoint  string
	srv       *server.Server
	ns        *addressSpace
	notifier  *notifier
	relay     *relay
	gopcuaLog gopcuaLogger
	signals   []published

	mu        sync.Mutex // guards mine, dirty, lost and every uaNode.last
	mine      *Mine
	dirty     []*uaNode // changed by client writes, to notify in the next cycle
	wallStart time.Time
	lost      time.Duration // simulated time skipped by maxCatchUp

	stopLoop  context.CancelFunc // ends the update goroutine
	stopOPCUA context.CancelFunc // ends gopcua's accept and dispatch goroutines
	loopDone  chan struct{}
	unwatch   func() bool // detaches Close from Start's context
	closeOnce sync.Once
	closeErr  error
}

// published pairs a signal variable with the model signal behind it.
type published struct {
	node *uaNode
	sig  *signal
}

// Start builds the mine, starts its OPC UA server and begins simulating. The
// server runs until Close is called or ctx is cancelled.
func Start(ctx context.Context, opts Options) (*Server, error) {
	opts = opts.withDefaults()
	if math.IsNaN(opts.TimeScale) || math.IsInf(opts.TimeScale, 0) || opts.TimeScale <= 0 {
		return nil, fmt.Errorf("sim: time scale must be a positive number, got %g", opts.TimeScale)
	}
	addr, err := parseListen(opts.Listen, opts.AllowRemote)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sim: start: %w", err)
	}
	// Bind the public port first: a port in use fails fast, before the
	// costly gopcua setup, and port 0 yields its real number at once.
	ln, err := net.Listen("tcp", addr.hostPort(addr.port))
	if err != nil {
		return nil, listenError(addr, addr.port, err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	// gopcua's private port is found by a probe and then bound by gopcua;
	// another process can take it in between, so try a few times.
	for attempt := 1; ; attempt++ {
		private, err := reservePort(listenAddr{host: "127.0.0.1"})
		if err == nil {
			var s *Server
			if s, err = start(ctx, opts, addr, ln, port, private); err == nil {
				return s, nil
			}
		}
		if attempt == 3 || !isAddrInUse(err) {
			ln.Close()
			return nil, err
		}
		opts.Logger.Warn("sim: private port was taken before the server could bind it; retrying", "err", err)
	}
}

func start(ctx context.Context, opts Options, addr listenAddr, ln net.Listener, port, private int) (*Server, error) {
	log := opts.Logger.With("component", "sim")
	endpoint := fmt.Sprintf("opc.tcp://%s:%d", addr.urlHost(), port)
	gopcuaLog := newGopcuaLogger(opts.Logger.With("component", "gopcua"))
	srvOpts := []server.Option{
		server.EnableSecurity("None", ua.MessageSecurityModeNone),
		server.EnableAuthMode(ua.UserTokenTypeAnonymous),
		// gopcua listens on its first endpoint: the private one behind the
		// relay. The others are what clients dial; GetEndpoints and
		// CreateSession answer with the endpoint matching the URL a client
		// used, so clients only ever see public URLs.
		server.EndPoint("127.0.0.1", private),
		server.EndPoint(addr.urlHost(), port),
		server.ServerName("Minebrain simulated mine"),
		server.ManufacturerName("Minebrain"),
		server.ProductName("Minebrain mine simulator"),
		server.SoftwareVersion("1"),
		server.SetLogger(gopcuaLog),
	}
	public := []string{endpoint}
	if addr.wildcard {
		// Listening on every interface: advertise names clients can dial.
		endpoint = fmt.Sprintf("opc.tcp://127.0.0.1:%d", port)
		public = []string{endpoint}
		srvOpts = append(srvOpts, server.EndPoint("127.0.0.1", port))
		if h, err := os.Hostname(); err == nil {
			srvOpts = append(srvOpts, server.EndPoint(h, port))
			public = append(public, fmt.Sprintf("opc.tcp://%s:%d", h, port))
		}
	}
	srv := server.New(srvOpts...)

	now := time.Now()
	s := &Server{
		log:       log,
		opts:      opts,
		endpoint:  endpoint,
		srv:       srv,
		mine:      NewMine(Config{Seed: opts.Seed, Start: now}),
		wallStart: now,
		loopDone:  make(chan struct{}),
	}
	srv.AddNamespace(newAddressSpace(serverNamespaceURI)) // index 1
	s.ns = newAddressSpace(NamespaceURI)
	srv.AddNamespace(s.ns) // index 2
	mineNode := s.ns.build(s.mine)
	ns0, err := srv.Namespace(0)
	if err != nil {
		return nil, fmt.Errorf("sim: OPC UA namespace 0: %w", err)
	}
	objects := ns0.Objects()
	if objects == nil {
		return nil, errors.New("sim: OPC UA namespace 0 has no Objects folder")
	}
	// Before Start, so no browse can race with the change to namespace 0.
	objects.AddRef(mineNode.view, id.Organizes, true)
	for _, sig := range s.mine.signals {
		s.signals = append(s.signals, published{node: s.ns.nodes[sig.Tag], sig: sig})
	}
	s.publishLocked(now)
	s.ns.onWrite = s.write
	s.notifier = newNotifier(srv, s.ns)
	installHandlers(srv, s.ns, s.notifier, public, log)

	opcuaCtx, stopOPCUA := context.WithCancel(context.Background())
	if err := srv.Start(opcuaCtx); err != nil {
		stopOPCUA()
		return nil, listenError(listenAddr{host: "127.0.0.1"}, private, err)
	}
	gopcuaLog.started()
	s.gopcuaLog = gopcuaLog
	s.stopOPCUA = stopOPCUA
	s.relay = newRelay(ln, fmt.Sprintf("127.0.0.1:%d", private), log)
	loopCtx, stopLoop := context.WithCancel(context.Background())
	s.stopLoop = stopLoop
	go s.run(loopCtx)
	s.unwatch = context.AfterFunc(ctx, func() { _ = s.Close() })

	log.Info("simulated mine serving OPC UA", "endpoint", endpoint, "units", len(s.mine.units),
		"signals", len(s.signals), "seed", opts.Seed, "timeScale", opts.TimeScale)
	for _, f := range s.mine.WearFaults() {
		log.Debug("bearing wear scheduled", "unit", f.Unit, "onset", f.Onset, "trip", f.Trip)
	}
	return s, nil
}

// EndpointURL returns the URL clients dial, with the real port when the
// server was started on port 0.
func (s *Server) EndpointURL() string { return s.endpoint }

// Value returns the current value of a tag as clients see it (float64, int32,
// uint32, bool or string). It is meant for tests and tools.
func (s *Server) Value(tag string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mine.Value(tag)
}

// Close stops the simulation and the OPC UA server, disconnects clients and
// frees the port. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.unwatch()
		s.stopLoop()
		<-s.loopDone
		s.gopcuaLog.stopping()
		// Cutting the connections first ends gopcua's per-connection
		// goroutines, so its Close does not wait for them. gopcua's dispatch
		// goroutine must keep running meanwhile (they hand it their last
		// messages), so it is stopped last.
		var errs []error
		if err := s.relay.close(); err != nil {
			errs = append(errs, fmt.Errorf("sim: close listener: %w", err))
		}
		if err := s.srv.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sim: close OPC UA server: %w", err))
		}
		s.endSubscriptions()
		s.stopOPCUA()
		s.closeErr = errors.Join(errs...)
		s.log.Info("simulated mine stopped", "endpoint", s.endpoint)
	})
	return s.closeErr
}

// endSubscriptions deletes the subscriptions gopcua would otherwise keep
// alive until their lifetime ran out, long after Close.
//
// With gopcua's locks only ever held briefly (see subscriptions.go) this
// takes milliseconds, but Close must return whatever state a client left the
// server in, so it waits a bounded time, lock included. It repeats until
// none is left: a request still being served as the connections were cut may
// have added one.
func (s *Server) endSubscriptions() {
	ss := s.srv.SubscriptionService
	if ss == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ss.Mu.Lock()
			ids := slices.Collect(maps.Keys(ss.Subs))
			ss.Mu.Unlock()
			if len(ids) == 0 {
				return
			}
			for _, id := range ids {
				ss.DeleteSubscription(id)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(endSubscriptionsTimeout):
		s.log.Warn("gave up waiting for OPC UA subscriptions to end")
	}
}

// endSubscriptionsTimeout bounds endSubscriptions.
const endSubscriptionsTimeout = 2 * time.Second

// run advances the model with the wall clock and publishes its changes.
func (s *Server) run(ctx context.Context) {
	defer close(s.loopDone)
	t := time.NewTicker(publishInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.notifier.notify(ctx, s.update(now))
		case <-s.notifier.wake:
			s.notifier.notify(ctx, nil) // initial values of new monitored items
		}
	}
}

// update steps the model to the simulated time that corresponds to now and
// returns the nodes whose values changed.
func (s *Server) update(now time.Time) []*uaNode {
	s.mu.Lock()
	defer s.mu.Unlock()
	target := time.Duration(float64(now.Sub(s.wallStart))*s.opts.TimeScale) - s.lost
	behind := target.Truncate(StepInterval) - s.mine.Elapsed()
	if behind > maxCatchUp {
		s.log.Warn("simulation fell behind the wall clock; skipping ahead", "behind", behind)
		s.lost += behind - maxCatchUp
		behind = maxCatchUp
	}
	s.mine.Step(behind)
	changed := append(s.publishLocked(now), s.dirty...)
	s.dirty = nil
	return changed
}

// publishLocked stores the current model values in the address space and
// returns the nodes that changed. The source timestamp is the wall-clock time
// of the update that produced the value. Call with s.mu held.
func (s *Server) publishLocked(now time.Time) []*uaNode {
	var changed []*uaNode
	for _, p := range s.signals {
		v := p.sig.measure(s.mine.noise, s.mine.steps)
		if v == p.node.last {
			continue
		}
		p.node.last = v
		p.node.value.Store(&ua.DataValue{
			EncodingMask:    ua.DataValueValue | ua.DataValueSourceTimestamp | ua.DataValueServerTimestamp,
			Value:           ua.MustVariant(v),
			SourceTimestamp: now,
			ServerTimestamp: now,
		})
		changed = append(changed, p.node)
	}
	return changed
}

// write applies a client's write to the model. It runs on gopcua's request
// goroutine.
func (s *Server) write(n *uaNode, v any) ua.StatusCode {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.mine.Write(n.tag, v); err != nil {
		code := writeStatus(err)
		s.log.Info("write refused", "tag", n.tag, "value", v, "status", code, "err", err)
		return code
	}
	s.log.Info("write", "tag", n.tag, "value", v)
	// Show the effect at once, not at the next cycle: the written value and
	// whatever the command changed (a start sets RunState and Starts).
	s.dirty = append(s.dirty, s.publishLocked(time.Now())...)
	return ua.StatusOK
}

// writeStatus maps a model error to the OPC UA status a client gets.
func writeStatus(err error) ua.StatusCode {
	switch {
	case errors.Is(err, ErrUnknownTag):
		return ua.StatusBadNodeIDUnknown
	case errors.Is(err, ErrNotWritable):
		return ua.StatusBadNotWritable
	case errors.Is(err, ErrTypeMismatch):
		return ua.StatusBadTypeMismatch
	case errors.Is(err, ErrOutOfRange):
		return ua.StatusBadOutOfRange
	case errors.Is(err, ErrLocalMode), errors.Is(err, ErrFaulted), errors.Is(err, ErrInterlocked):
		return ua.StatusBadInvalidState
	default:
		return ua.StatusBadInternalError
	}
}
