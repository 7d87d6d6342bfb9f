package sim

import (
	"context"
	"time"

	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"
)

// sendBudget bounds how long one publish cycle may wait for subscriptions
// to take their notifications, so a stuck subscription cannot stall the
// simulation.
const sendBudget = 100 * time.Millisecond

// notifier delivers value changes to gopcua's subscriptions.
//
// It does not use server.ChangeNotification, which sends to each
// subscription's 100-slot queue while holding the monitored-item lock and
// blocks until there is room. A subscription whose goroutine has ended (its
// client vanished) never makes room, and the goroutine that would clean it
// up needs that same lock: the server deadlocks, and the simulator's update
// loop with it. Instead the notifier copies the recipients under the lock,
// releases it, and sends with a deadline; whatever does not fit is retried
// next cycle with the then-current value, so a change is late rather than
// lost and a slow client only slows itself.
//
// The notifier is used by the server's update goroutine only.
type notifier struct {
	srv     *server.Server
	ns      *addressSpace
	pending map[uint32]*uaNode // monitored item id -> node still owed a notification
	stalled map[chan *ua.MonitoredItemNotification]bool
}

type delivery struct {
	item   uint32
	node   *uaNode
	ch     chan *ua.MonitoredItemNotification
	handle uint32
	attr   ua.AttributeID
}

func newNotifier(srv *server.Server, ns *addressSpace) *notifier {
	return &notifier{srv: srv, ns: ns, pending: map[uint32]*uaNode{}, stalled: map[chan *ua.MonitoredItemNotification]bool{}}
}

// notify sends the current value of each changed node to every monitored
// item that watches it, plus what earlier cycles still owe.
func (n *notifier) notify(ctx context.Context, changed []*uaNode) {
	mis := n.srv.MonitoredItemService
	if mis == nil {
		return
	}
	var out []delivery
	seen := map[uint32]bool{}
	collect := func(it *server.MonitoredItem, node *uaNode) {
		if it == nil || seen[it.ID] || it.Sub == nil || it.Req == nil || it.Req.ItemToMonitor == nil || it.Req.RequestedParameters == nil {
			return
		}
		if it.Req.ItemToMonitor.AttributeID != ua.AttributeIDValue {
			return // only values change; gopcua sent the other attributes once
		}
		seen[it.ID] = true
		out = append(out, delivery{
			item: it.ID, node: node, ch: it.Sub.NotifyChannel,
			handle: it.Req.RequestedParameters.ClientHandle, attr: it.Req.ItemToMonitor.AttributeID,
		})
	}
	mis.Mu.Lock()
	for _, node := range changed {
		for _, it := range mis.Nodes[node.key] {
			collect(it, node)
		}
	}
	for itemID, node := range n.pending {
		collect(mis.Items[itemID], node) // gone items drop out here
	}
	mis.Mu.Unlock()
	clear(n.pending)

	sendCtx, cancel := context.WithTimeout(ctx, sendBudget)
	defer cancel()
	live := map[chan *ua.MonitoredItemNotification]bool{}
	for _, d := range out {
		live[d.ch] = true
		msg := &ua.MonitoredItemNotification{ClientHandle: d.handle, Value: n.ns.Attribute(d.node.id, d.attr)}
		// Try without waiting first: the common case, and the only try a
		// queue gets once it has been stuck for a whole budget.
		select {
		case d.ch <- msg:
			delete(n.stalled, d.ch)
			continue
		default:
		}
		if n.stalled[d.ch] || sendCtx.Err() != nil {
			n.pending[d.item] = d.node
			continue
		}
		select {
		case d.ch <- msg:
		case <-sendCtx.Done():
			n.pending[d.item] = d.node
			n.stalled[d.ch] = true
		}
	}
	for ch := range n.stalled {
		if !live[ch] {
			delete(n.stalled, ch) // its subscription is gone
		}
	}
}
