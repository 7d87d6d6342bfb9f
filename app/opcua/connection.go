package opcua

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopcua/opcua/ua"

	"minebrain/app/tags"
)

// ErrRunning is returned by Run when the Connection is already running.
var ErrRunning = errors.New("opcua: connection already running")

// Connection keeps one server's signals flowing into a tag table. On every session it
// discovers the equipment and (re)creates one subscription holding each signal exactly once.
// Create it with New and drive it with Run.
type Connection struct {
	opts  Options
	table *tags.Table
	log   *slog.Logger

	changed          chan struct{} // poked on every state, error or item-count change
	retry            chan struct{} // poked to cut a reconnect wait short
	reselect         chan struct{} // poked when the selection changed: rebuild the session
	equipmentChanged chan struct{} // poked when a discovery found a tree unlike the last
	running          atomic.Bool

	// Written by the notification pump, read by the watchdog and Status.
	lastAlive atomic.Int64  // unix ns of the last notification of any kind; 0 = never
	samples   atomic.Uint64 // data-change notifications stored, for the rate

	mu        sync.Mutex
	state     State
	everUp    bool
	lastErr   string
	lastCause error
	chosen    Chosen        // the endpoint of the latest session
	problems  []string      // selection rules that found nothing, nodes that do not exist
	live      *uaClient     // the session in use, for browsing; nil between sessions
	setup     time.Duration // connect to every item monitored, of the latest session
	sel       Selection     // what to monitor; Reselect replaces it
	items     int
	rate      float64
	rateAt    time.Time
	rateCount uint64
	known     bool // a discovery has completed
	equipment Equipment
	monitored []item    // every signal, in tree order; replaced by each discovery
	ids       []tags.ID // the signals' tag IDs, parallel to monitored
}

// New returns a Connection for opts that writes into table. It checks the options but does
// not dial; Run does.
func New(opts Options, table *tags.Table) (*Connection, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if table == nil {
		return nil, fmt.Errorf("opcua: connection %q: nil tag table", o.Name)
	}
	return &Connection{
		opts:             o,
		table:            table,
		log:              o.Logger.With("conn", o.Name, "endpoint", o.Endpoint),
		changed:          make(chan struct{}, 1),
		equipmentChanged: make(chan struct{}, 1),
		retry:            make(chan struct{}, 1),
		reselect:         make(chan struct{}, 1),
		sel:              o.Select,
		state:            StateConnecting,
	}, nil
}

// Name returns the connection's name.
func (c *Connection) Name() string { return c.opts.Name }

// Run connects, discovers, subscribes and keeps doing so, with backoff, until ctx is
// cancelled; then it closes the session and returns nil. Losing the connection is not an
// error to Run: it marks the connection's values Bad and reconnects.
func (c *Connection) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer c.running.Store(false)

	bo := backoff{min: c.opts.ReconnectMin, max: c.opts.ReconnectMax}
	for {
		res := c.runSession(ctx)
		if errors.Is(res.err, errReselect) && ctx.Err() == nil {
			// Same server, more or fewer nodes: no outage to show, no wait.
			continue
		}
		if res.delivered {
			// Values must never look live once their source is gone (Contract 2).
			c.table.Invalidate(c.tagIDs(), uint32(ua.StatusBadCommunicationError), res.lostAt)
		}
		if ctx.Err() != nil {
			c.setDown(nil)
			return nil
		}
		c.setDown(res.err)
		if res.up {
			bo.reset()
		}
		wait := bo.next()
		c.log.Debug("opcua: reconnecting", "in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		case <-c.retry:
			bo.reset()
		}
	}
}

// RetryNow cuts the wait before the next connection attempt short, for when what made the
// last one fail has just been fixed (a server certificate trusted). It does nothing to a
// working session.
func (c *Connection) RetryNow() { poke(c.retry) }

// Status returns the connection's current status.
func (c *Connection) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Status{
		Name:      c.opts.Name,
		Endpoint:  c.opts.Endpoint,
		State:     c.state,
		LastError: c.lastErr,
		Err:       c.lastCause,
		Security:  c.chosen.String(),
		Problems:  c.problems,
		Items:     c.items,
		SetupTime: c.setup,
		Rate:      c.rate,
	}
	if ns := c.lastAlive.Load(); ns != 0 {
		s.LastDataAt = time.Unix(0, ns)
	}
	return s
}

// Changed receives a value after the state, last error or item count changed. It has room
// for one pending signal, so a reader that is late sees one signal for many changes and should
// then call Status.
func (c *Connection) Changed() <-chan struct{} { return c.changed }

// EquipmentChanged receives a value after a discovery found an equipment tree different from
// the one known before: the first discovery, or a server that came back with another address
// space. Like Changed it holds one pending signal; read Equipment for the tree.
func (c *Connection) EquipmentChanged() <-chan struct{} { return c.equipmentChanged }

// Equipment returns the discovered equipment tree; it is empty until the first
// EquipmentChanged signal. The tree is shared: callers must not modify it.
func (c *Connection) Equipment() Equipment {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.equipment
}

func (c *Connection) tagIDs() []tags.ID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ids
}

// setEquipment registers the discovered signals as tags and makes them the ones this and
// later sessions monitor. Node IDs are always taken over, even for an unchanged tree;
// EquipmentChanged is signalled only when the tree differs, so a plain reconnect costs the UI
// nothing.
func (c *Connection) setEquipment(eq Equipment, items []item) {
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.tag
	}
	ids := c.table.RegisterAll(names)
	c.mu.Lock()
	changed := !c.known || !reflect.DeepEqual(c.equipment, eq)
	c.known = true
	c.equipment, c.monitored, c.ids = eq, items, ids
	c.mu.Unlock()
	if !changed {
		return
	}
	c.log.Info("opcua: equipment discovered", "areas", len(eq.Areas), "signals", len(items))
	poke(c.equipmentChanged)
}

// setState moves to a new state and signals the change.
func (c *Connection) setState(s State) {
	c.mu.Lock()
	old := c.state
	c.state = s
	c.mu.Unlock()
	if old != s {
		c.log.Info("opcua: state", "from", string(old), "to", string(s))
		poke(c.changed)
	}
}

// setChosen records the endpoint a session is opening.
func (c *Connection) setChosen(ch Chosen) {
	c.mu.Lock()
	c.chosen = ch
	c.mu.Unlock()
}

// setUp records an established session with n monitored items and the selection's problems.
func (c *Connection) setUp(n int, problems []string, setup time.Duration) {
	c.mu.Lock()
	c.setup = setup
	c.everUp = true
	c.items = n
	c.problems = problems
	c.lastErr, c.lastCause = "", nil
	c.mu.Unlock()
	c.setState(StateConnected)
}

// setDown records the end of a session. Before the first session the state stays
// connecting, so a server that is still booting does not look like one that went away.
func (c *Connection) setDown(err error) {
	c.mu.Lock()
	c.items = 0
	c.rate, c.rateAt = 0, time.Time{}
	if err != nil {
		c.lastErr, c.lastCause = err.Error(), err
	}
	next := StateDisconnected
	if !c.everUp {
		next = StateConnecting
	}
	c.mu.Unlock()
	if err != nil {
		c.log.Warn("opcua: session ended", "err", err)
	}
	c.setState(next)
	poke(c.changed) // the error text may have changed even if the state did not
}

// updateRate recomputes the notification rate about once a second.
func (c *Connection) updateRate(now time.Time) {
	n := c.samples.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rateAt.IsZero() {
		c.rateAt, c.rateCount = now, n
		return
	}
	if el := now.Sub(c.rateAt); el >= time.Second {
		c.rate = float64(n-c.rateCount) / el.Seconds()
		c.rateAt, c.rateCount = now, n
	}
}

// poke signals ch without blocking: a signal already pending covers this one too.
func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (c *Connection) setLive(cl *uaClient) {
	c.mu.Lock()
	c.live = cl
	c.mu.Unlock()
}

// ErrNotConnected is returned by Browse between sessions.
var ErrNotConnected = errors.New("opcua: not connected")

// Browse walks the server's address space from root, like Tool.Browse, on the connection's
// current session, so an integrator exploring the server costs it no extra session.
func (c *Connection) Browse(ctx context.Context, root *ua.NodeID, depth int, fn func(BrowseNode)) error {
	c.mu.Lock()
	cl := c.live
	c.mu.Unlock()
	if cl == nil {
		return fmt.Errorf("%w to %s", ErrNotConnected, c.opts.Endpoint)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	t := &Tool{cl: cl, timeout: c.opts.RequestTimeout}
	return t.Browse(ctx, root, depth, fn)
}

// errReselect ends a session whose selection changed; Run starts the next one at once.
var errReselect = errors.New("opcua: selection changed")

// Reselect replaces what the connection monitors (a node added from the address-space
// browser) and rebuilds the session with it. Values keep their last state meanwhile.
func (c *Connection) Reselect(sel Selection) error {
	sel, err := sel.withDefaults()
	if err != nil {
		return fmt.Errorf("opcua: connection %q: %w", c.opts.Name, err)
	}
	c.mu.Lock()
	c.sel = sel
	c.mu.Unlock()
	poke(c.reselect)
	poke(c.retry)
	return nil
}

func (c *Connection) selection() Selection {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sel
}
