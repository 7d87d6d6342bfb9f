package opcua

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"
)

// teardownTimeout bounds the polite goodbye (delete subscription, close session) to a server
// that may already be gone.
const teardownTimeout = 2 * time.Second

// sessionResult is how one session ended.
type sessionResult struct {
	up        bool      // the subscription was established
	delivered bool      // at least one sample reached the table
	lostAt    time.Time // when the end was detected
	err       error     // why it ended; nil when ctx was cancelled
}

// runSession does one full session: connect, discover, subscribe, then watch the data until
// the connection is lost, the subscription falls silent for RebuildAfter, or ctx is
// cancelled. It always closes the gopcua client before returning, and stops draining its
// notifications only after that, because gopcua blocks when they are not drained.
//
// Each session creates its own gopcua client with auto-reconnect off: gopcua's own recovery
// can leave a subscription silently dead after a server restart, and restoring everything
// from scratch is the one path that is simple to get exactly right (every item once).
func (c *Connection) runSession(ctx context.Context) (res sessionResult) {
	// The endpoint is chosen afresh for every session: a restarted server may offer other
	// endpoints or present another certificate, which the trust store must see.
	secOpts, chosen, err := c.opts.Security.dialOptions(ctx, c.opts.Endpoint, c.opts.RequestTimeout)
	if err != nil {
		res.err = fmt.Errorf("opcua: %s: %w", c.opts.Endpoint, err)
		return res
	}
	c.setChosen(chosen)
	states := make(chan opcua.ConnState, 16) // gopcua blocks on a full state channel
	opts := append(secOpts,
		opcua.AutoReconnect(false),
		opcua.StateChangedCh(states),
		opcua.RequestTimeout(c.opts.RequestTimeout),
		opcua.DialTimeout(c.opts.RequestTimeout),
		opcua.SessionTimeout(time.Minute),
		opcua.ApplicationName("Minebrain"),
		opcua.SessionName("minebrain-"+c.opts.Name),
	)
	cl, err := opcua.NewClient(c.opts.Endpoint, opts...)
	if err != nil {
		res.err = fmt.Errorf("opcua: client for %s: %w", c.opts.Endpoint, err)
		return res
	}

	notifs := make(chan *opcua.PublishNotificationData, 64)
	p := newPump(c, states, notifs)
	go p.run()
	var sub *opcua.Subscription
	defer func() {
		// Delete the subscription only when rebuilding a live session: on shutdown the
		// closing session takes it along, and deleting one whose initial values gopcua's
		// server is still sending can deadlock that server.
		c.teardown(cl, sub, res.up && ctx.Err() == nil)
		p.close()
		res.delivered = p.delivered.Load()
		if res.lostAt.IsZero() {
			res.lostAt = time.Now()
		}
	}()

	// Connect needs a deadline of its own: gopcua waits for the server's reply to Hello
	// without one. The service calls after it are bounded by RequestTimeout inside gopcua.
	started := time.Now()
	cctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	err = cl.Connect(cctx)
	cancel()
	if err != nil {
		res.err = fmt.Errorf("opcua: connect %s: %w", c.opts.Endpoint, explainConnectError(c.opts.Security, err))
		return res
	}
	srv := newUAClient(ctx, cl)
	c.setLive(srv)
	defer c.setLive(nil)
	select { // this session reads the latest selection: an earlier request is covered
	case <-c.reselect:
	default:
	}
	// Discover on every session, not only the first: a server that restarted may serve
	// another address space (a unit added, a signal removed), and monitoring the old node
	// IDs would miss that silently.
	discoverStart := time.Now()
	eq, items, problems, err := discover(ctx, srv, c.selection())
	c.log.Debug("opcua: discovered", "items", len(items), "in", time.Since(discoverStart), "limits", fmt.Sprintf("%+v", srv.lim))
	if err != nil {
		res.err = fmt.Errorf("opcua: discover on %s: %w", c.opts.Endpoint, err)
		return res
	}
	for _, pr := range problems {
		c.log.Warn("opcua: selection problem", "problem", pr)
	}
	c.setEquipment(eq, items)
	nodes := c.bind(cl.Namespaces())
	ids := c.tagIDs()
	p.accept(ids)

	sub, err = cl.Subscribe(ctx, c.subscriptionParams(), notifs)
	if err != nil {
		res.err = fmt.Errorf("opcua: create subscription on %s: %w", c.opts.Endpoint, err)
		return res
	}
	// Silence is measured from here at the earliest: the initial values are due within a
	// publishing interval.
	subscribed := time.Now()
	n, missing, err := c.monitor(ctx, srv, sub, ids, nodes, items)
	if err != nil {
		res.err = err
		return res
	}
	res.up = true
	c.setUp(n, mergeProblems(problems, missing), time.Since(started))
	c.log.Info("opcua: subscribed", "items", n, "interval", sub.RevisedPublishingInterval)

	res.err = c.watch(ctx, p, subscribed)
	res.lostAt = time.Now()
	return res
}

// watch is the watchdog of an established session. It returns nil when ctx is cancelled and
// otherwise the reason the session must be rebuilt.
func (c *Connection) watch(ctx context.Context, p *pump, since time.Time) error {
	tick := time.NewTicker(c.tickEvery())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-p.lost:
			return err
		case <-c.reselect:
			return errReselect
		case now := <-tick.C:
			last := time.Unix(0, c.lastAlive.Load())
			if last.Before(since) {
				last = since
			}
			silent := now.Sub(last)
			switch {
			case silent >= c.opts.RebuildAfter:
				return fmt.Errorf("opcua: nothing received from %s for %v: rebuilding the session", c.opts.Endpoint, silent.Round(time.Millisecond))
			case silent >= c.opts.StaleAfter:
				c.setState(StateStale)
			default:
				c.setState(StateConnected)
			}
			c.updateRate(now)
		}
	}
}

// tickEvery is how often the watchdog looks: often enough to call stale within 5% of
// StaleAfter, and at least every 250 ms for a timely rate.
func (c *Connection) tickEvery() time.Duration {
	return min(max(c.opts.StaleAfter/20, 10*time.Millisecond), 250*time.Millisecond)
}

// subscriptionParams asks for keep-alives at half of StaleAfter (servers send them when there
// is no data; gopcua swallows them, see heartbeat) and a lifetime of at least a minute so the
// server frees our subscription soon after we vanish.
func (c *Connection) subscriptionParams() *opcua.SubscriptionParameters {
	iv := c.opts.PublishInterval
	keepAlive := uint32(max(1, int64(c.opts.StaleAfter/2/iv)))
	lifetime := max(3*keepAlive, uint32(time.Minute/iv))
	return &opcua.SubscriptionParameters{
		Interval:                   iv,
		MaxKeepAliveCount:          keepAlive,
		LifetimeCount:              lifetime,
		MaxNotificationsPerPublish: *c.opts.MaxNotificationsPerPublish,
	}
}

// bind returns this session's node ID for every monitored item, with namespace indexes
// looked up again by URI: a restarted server may have renumbered its namespaces. An item
// whose namespace is gone gets nil.
func (c *Connection) bind(nsArray []string) []*ua.NodeID {
	c.mu.Lock()
	items := c.monitored
	c.mu.Unlock()
	nodes := make([]*ua.NodeID, len(items))
	for i, it := range items {
		nodes[i] = it.bind(nsArray) // nil: a namespace gone from the server shows Bad, the rest go on
	}
	return nodes
}

// bind returns the item's node ID with its namespace index looked up by URI in nsArray, nil
// when the namespace is gone.
func (it *item) bind(nsArray []string) *ua.NodeID {
	idx := slices.Index(nsArray, it.nsURI)
	if idx < 0 {
		return nil
	}
	n := it.node
	if int(n.Namespace()) != idx {
		cp := *n
		if err := cp.SetNamespace(uint16(idx)); err != nil {
			cp = *ua.NewNumericNodeID(uint16(idx), n.IntID()) // a short numeric form that no longer fits
		}
		n = &cp
	}
	return n
}

// teardown closes the client, first deleting the subscription if asked, within
// teardownTimeout. Errors are expected here (the server may be gone) and only logged.
func (c *Connection) teardown(cl *opcua.Client, sub *opcua.Subscription, deleteSub bool) {
	ctx, cancel := context.WithTimeout(context.Background(), teardownTimeout)
	defer cancel()
	if deleteSub && sub != nil && cl.State() == opcua.Connected {
		// CloseSession asks the server to delete our subscriptions, but gopcua's server
		// ignores that: without this it keeps the old monitored items until the lifetime
		// runs out, and a rebuild would double them there.
		if err := sub.Cancel(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			c.log.Debug("opcua: delete subscription", "err", err)
		}
	}
	if err := cl.Close(ctx); err != nil {
		c.log.Debug("opcua: close client", "err", err)
	}
}

// mergeProblems adds the monitoring refusals to the discovery problems, leaving out those of
// a tag discovery already named (a node the server does not have fails both ways).
func mergeProblems(found, refused []string) []string {
	out := found
	for _, r := range refused {
		tag, _, _ := strings.Cut(r, " ")
		if !slices.ContainsFunc(found, func(f string) bool { return strings.HasPrefix(f, tag+" ") }) {
			out = append(out, r)
		}
	}
	return out
}
