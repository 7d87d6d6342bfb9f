package sim

import (
	"context"
	"sync"
	"time"

	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"
)

// sendBudget bounds how long one publish cycle may wait for subscriptions
// to take their notifications, so a stuck subscription cannot stall the
// simulation.
const sendBudget = 100 * time.Millisecond

// notifier delivers value changes, and the initial value of every new
// monitored item, to gopcua's subscriptions.
//
// It does not use server.ChangeNotification, which sends to each
// subscription's 100-slot queue while holding the monitored-item lock and
// blocks until there is room. A subscription whose goroutine has ended (its
// client vanished, or it was deleted) never makes room, and the goroutine
// that would clean it up needs that same lock: the server deadlocks, and the
// simulator's update loop with it. (gopcua's CreateMonitoredItems sends the
// initial values that way, which is why it is replaced; see subscriptions.go.)
// Instead the notifier copies the recipients under the lock, releases it,
// and sends with a deadline; whatever does not fit is retried next cycle with
// the then-current value, so a value is late rather than lost and a slow
// client only slows itself.
//
// notify runs on the server's update goroutine only; owe may be called from
// any goroutine.
type notifier struct {
	srv     *server.Server
	ns      *addressSpace
	pending map[uint32]bool // monitored item id -> still owed its current value
	stalled map[chan *ua.MonitoredItemNotification]bool

	mu   sync.Mutex
	owed []uint32      // new monitored items, owed their initial value
	wake chan struct{} // tells the update goroutine that owed is not empty
}

type delivery struct {
	item   uint32
	ch     chan *ua.MonitoredItemNotification
	handle uint32
	node   *ua.NodeID
	attr   ua.AttributeID
}

func newNotifier(srv *server.Server, ns *addressSpace) *notifier {
	return &notifier{
		srv: srv, ns: ns,
		pending: map[uint32]bool{},
		stalled: map[chan *ua.MonitoredItemNotification]bool{},
		wake:    make(chan struct{}, 1),
	}
}

// owe schedules the initial values of new monitored items; the update
// goroutine sends them at once, without waiting for the next cycle.
func (n *notifier) owe(items []uint32) {
	if len(items) == 0 {
		return
	}
	n.mu.Lock()
	n.owed = append(n.owed, items...)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default: // already woken
	}
}

// notify sends the current value of each changed node to every monitored
// item that watches it, plus what earlier cycles still owe and the initial
// values of new items.
func (n *notifier) notify(ctx context.Context, changed []*uaNode) {
	mis := n.srv.MonitoredItemService
	if mis == nil {
		return
	}
	n.mu.Lock()
	for _, id := range n.owed {
		n.pending[id] = true
	}
	n.owed = nil
	n.mu.Unlock()

	var out []delivery
	seen := map[uint32]bool{}
	collect := func(it *server.MonitoredItem, changes bool) {
		if it == nil || seen[it.ID] || it.Sub == nil || it.Req == nil || it.Req.ItemToMonitor == nil ||
			it.Req.ItemToMonitor.NodeID == nil || it.Req.RequestedParameters == nil {
			return
		}
		if changes && it.Req.ItemToMonitor.AttributeID != ua.AttributeIDValue {
			return // only values change; the other attributes were sent once
		}
		seen[it.ID] = true
		out = append(out, delivery{
			item: it.ID, ch: it.Sub.NotifyChannel, handle: it.Req.RequestedParameters.ClientHandle,
			node: it.Req.ItemToMonitor.NodeID, attr: it.Req.ItemToMonitor.AttributeID,
		})
	}
	mis.Mu.Lock()
	for _, node := range changed {
		for _, it := range mis.Nodes[node.key] {
			collect(it, true)
		}
	}
	for id := range n.pending {
		collect(mis.Items[id], false) // gone items drop out here
	}
	mis.Mu.Unlock()
	clear(n.pending)

	sendCtx, cancel := context.WithTimeout(ctx, sendBudget)
	defer cancel()
	live := map[chan *ua.MonitoredItemNotification]bool{}
	for _, d := range out {
		live[d.ch] = true
		msg := &ua.MonitoredItemNotification{ClientHandle: d.handle, Value: n.value(d.node, d.attr)}
		// Try without waiting first: the common case, and the only try a
		// queue gets once it has been stuck for a whole budget.
		select {
		case d.ch <- msg:
			delete(n.stalled, d.ch)
			continue
		default:
		}
		if n.stalled[d.ch] || sendCtx.Err() != nil {
			n.pending[d.item] = true
			continue
		}
		select {
		case d.ch <- msg:
		case <-sendCtx.Done():
			n.pending[d.item] = true
			n.stalled[d.ch] = true
		}
	}
	for ch := range n.stalled {
		if !live[ch] {
			delete(n.stalled, ch) // its subscription is gone
		}
	}
}

// value reads the monitored attribute of a node in any namespace: clients
// also monitor standard nodes such as the server's CurrentTime.
func (n *notifier) value(nid *ua.NodeID, attr ua.AttributeID) (dv *ua.DataValue) {
	if nid.Namespace() == n.ns.ID() {
		return n.ns.Attribute(nid, attr)
	}
	// gopcua's namespaces are not ours to vouch for, and a panic here, on
	// the update goroutine, would end the process.
	defer func() {
		if recover() != nil {
			dv = statusValue(ua.StatusBadInternalError)
		}
	}()
	ns, err := n.srv.Namespace(int(nid.Namespace()))
	if err != nil {
		return statusValue(ua.StatusBadNodeIDUnknown)
	}
	return ns.Attribute(nid, attr)
}
