package sim

import (
	"time"

	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"
	"github.com/gopcua/opcua/uasc"
)

// This file replaces gopcua v0.8.0's CreateMonitoredItems and wraps its
// CreateSubscription, because clients that start and stop in a hurry (the
// engine closed during start-up) wedged the server or broke other clients'
// subscriptions.
//
// CreateMonitoredItems. gopcua's holds the monitored-item lock, takes the
// subscription lock inside it, and starts one goroutine per item to send the
// item's initial value. Each of those takes the monitored-item lock and,
// holding it, sends into the subscription's 100-slot queue, waiting as long
// as the queue is full. Only the subscription's own goroutine empties that
// queue, and it stops as soon as the subscription is deleted: by the client,
// because its client went away (a failed send), or by Close. Deleting takes
// the subscription lock, stops that goroutine and then needs the
// monitored-item lock to drop the items. With 600 items queued behind 100
// slots, a deletion that comes right after the items were created finds a
// sender holding the monitored-item lock in front of a queue nobody will ever
// empty: the deletion waits forever holding the subscription lock, and with
// it every later subscription request, the simulator's update loop (which
// needs the monitored-item lock to publish) and Close (which waits for both).
// The reversed lock order (monitored items, then subscriptions; deletion takes
// them the other way round) can deadlock the same way without any queue.
//
// createMonitoredItems below does gopcua's bookkeeping itself, takes the two
// locks in the order deletion takes them, starts no goroutines and sends
// nothing: the notifier delivers the initial values from the update
// goroutine, outside any lock and with a deadline (notify.go).
//
// CreateSubscription. gopcua numbers a new subscription len(Subs)+1. Once a
// subscription other than the newest has been deleted, that is the id of a
// live one, which the new subscription silently replaces: the old one keeps
// running unreachable (Close cannot find it, its client cannot delete it:
// BadSessionIdInvalid), and when it finally ends it deletes the new one by
// id. gopcua cannot be told which id to use, so createSubscription moves the
// new subscription to an id of its own before the client learns it. Those
// ids count up from firstSubscriptionID, far above any len(Subs)+1 that
// maxSubscriptions allows, so gopcua's provisional id never names a live
// subscription or one that is still shutting down, and no id is reused.

// maxSubscriptions bounds the subscriptions the server keeps; gopcua sets no
// limit, and createSubscription relies on one.
const maxSubscriptions = 1000

// firstSubscriptionID is the first id createSubscription hands out; it must
// stay above maxSubscriptions+1.
const firstSubscriptionID = 1 << 20

// subscriptions serves the services that create subscriptions and monitored
// items. They run on gopcua's single request goroutine.
type subscriptions struct {
	srv      *server.Server
	notifier *notifier
	lastID   uint32 // the last subscription id handed out; guarded by SubscriptionService.Mu
}

// createSubscription serves CreateSubscription: gopcua's, with the limits it
// does not apply and an id of our own (see above).
func (s *subscriptions) createSubscription(sc *uasc.SecureChannel, r ua.Request, reqID uint32) (ua.Response, error) {
	req, ok := r.(*ua.CreateSubscriptionRequest)
	if !ok {
		return nil, ua.StatusBadRequestTypeInvalid
	}
	reviseSubscription(req)
	ss := s.srv.SubscriptionService
	ss.Mu.Lock()
	full := len(ss.Subs) >= maxSubscriptions
	ss.Mu.Unlock()
	if full {
		return nil, ua.StatusBadTooManySubscriptions
	}
	// Requests are served one at a time, so nothing else adds a subscription
	// meanwhile, and deletions only lower gopcua's provisional id.
	resp, err := ss.CreateSubscription(sc, req, reqID)
	res, ok := resp.(*ua.CreateSubscriptionResponse)
	if err != nil || !ok {
		return resp, err
	}
	ss.Mu.Lock()
	defer ss.Mu.Unlock()
	provisional := res.SubscriptionID
	sub := ss.Subs[provisional]
	if sub == nil {
		return nil, ua.StatusBadShutdown // Close has already deleted it
	}
	s.lastID++
	if s.lastID < firstSubscriptionID {
		s.lastID = firstSubscriptionID // the first, or after 4 billion
	}
	delete(ss.Subs, provisional)
	sub.ID = s.lastID
	ss.Subs[sub.ID] = sub
	res.SubscriptionID = sub.ID
	// The subscription's goroutine is already running and reads its ID when
	// it publishes or ends. Publish requests come later from this goroutine
	// and a deletion takes the lock held here, so those reads see the new ID;
	// a keep-alive or a lifetime timeout comes many intervals later, after
	// the goroutine has taken this no-op modification (the values it has),
	// which orders them too.
	select {
	case sub.ModifyChannel <- &ua.ModifySubscriptionRequest{
		SubscriptionID:              sub.ID,
		RequestedPublishingInterval: res.RevisedPublishingInterval,
		RequestedLifetimeCount:      res.RevisedLifetimeCount,
		RequestedMaxKeepAliveCount:  res.RevisedMaxKeepAliveCount,
	}:
	default:
	}
	return res, nil
}

// createMonitoredItems serves CreateMonitoredItems (see above). Like
// gopcua's, it accepts any node and attribute; the first notification tells
// the client what is there.
func (s *subscriptions) createMonitoredItems(r ua.Request) (ua.Response, error) {
	req, ok := r.(*ua.CreateMonitoredItemsRequest)
	if !ok {
		return nil, ua.StatusBadRequestTypeInvalid
	}
	sess := s.srv.Session(req.RequestHeader)
	if sess == nil {
		return nil, ua.StatusBadSessionIDInvalid
	}
	if len(req.ItemsToCreate) == 0 {
		return nil, ua.StatusBadNothingToDo
	}
	results, created, err := s.addItems(req, sess.AuthTokenID.String())
	if err != nil {
		return nil, err
	}
	s.notifier.owe(created)
	return &ua.CreateMonitoredItemsResponse{
		ResponseHeader:  responseHeader(req.RequestHeader),
		Results:         results,
		DiagnosticInfos: []*ua.DiagnosticInfo{},
	}, nil
}

// addItems enters the new monitored items in gopcua's books.
func (s *subscriptions) addItems(req *ua.CreateMonitoredItemsRequest, session string) ([]*ua.MonitoredItemCreateResult, []uint32, error) {
	ss, mis := s.srv.SubscriptionService, s.srv.MonitoredItemService
	results := make([]*ua.MonitoredItemCreateResult, len(req.ItemsToCreate))
	created := make([]uint32, 0, len(req.ItemsToCreate))

	// Subscriptions first, then monitored items: the order in which
	// SubscriptionService.DeleteSubscription takes them. Holding the
	// subscription lock throughout means the subscription cannot be deleted
	// halfway, leaving items behind that nothing would ever remove.
	ss.Mu.Lock()
	defer ss.Mu.Unlock()
	sub := ss.Subs[req.SubscriptionID]
	if sub == nil || sub.Session == nil || sub.Session.AuthTokenID.String() != session {
		return nil, nil, ua.StatusBadSubscriptionIDInvalid
	}
	mis.Mu.Lock()
	defer mis.Mu.Unlock()
	for i, it := range req.ItemsToCreate {
		if it == nil || it.ItemToMonitor == nil || it.ItemToMonitor.NodeID == nil || it.RequestedParameters == nil {
			results[i] = &ua.MonitoredItemCreateResult{StatusCode: ua.StatusBadNodeIDInvalid, FilterResult: ua.NewExtensionObject(nil)}
			continue
		}
		item := &server.MonitoredItem{ID: mis.NextID(), Sub: sub, Req: it, Mode: it.MonitoringMode}
		key := it.ItemToMonitor.NodeID.String()
		mis.Items[item.ID] = item
		mis.Nodes[key] = append(mis.Nodes[key], item)
		mis.Subs[req.SubscriptionID] = append(mis.Subs[req.SubscriptionID], item)
		results[i] = &ua.MonitoredItemCreateResult{
			StatusCode:      ua.StatusOK,
			MonitoredItemID: item.ID,
			// Values are sampled once per update, whatever was asked.
			RevisedSamplingInterval: float64(publishInterval / time.Millisecond),
			RevisedQueueSize:        1,
			FilterResult:            ua.NewExtensionObject(nil),
		}
		created = append(created, item.ID)
	}
	return results, created, nil
}
