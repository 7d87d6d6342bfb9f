package opcua

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"
)

// Watch subscribes to the Value of every node and calls fn with each notification (the
// initial values first) until ctx ends, then returns nil. A node the server refuses to
// monitor is reported to fn with its status and the others go on; Watch then returns a
// *StatusError for the first such node once ctx ends. interval is the publishing and
// sampling interval (default DefaultPublishInterval).
func (t *Tool) Watch(ctx context.Context, nodes []*ua.NodeID, interval time.Duration, fn func(NodeValue)) error {
	if interval <= 0 {
		interval = DefaultPublishInterval
	}
	types, err := t.dataTypes(ctx, nodes)
	if err != nil {
		return err
	}
	// gopcua blocks when notifications are not drained: drain until the client is closed,
	// which the deferred Close of the caller does after Watch returns; stop forwarding then.
	notifs := make(chan *opcua.PublishNotificationData, 64)
	stop := make(chan struct{})
	defer close(stop)
	forward := make(chan *opcua.PublishNotificationData)
	go func() {
		for {
			select {
			case n := <-notifs:
				select {
				case forward <- n:
				case <-stop:
					go drainUntilClosed(t, notifs)
					return
				}
			case <-stop:
				go drainUntilClosed(t, notifs)
				return
			}
		}
	}()

	keepAlive := uint32(max(1, int64(2*time.Second/interval)))
	sub, err := t.cl.Subscribe(ctx, &opcua.SubscriptionParameters{
		Interval:                   interval,
		MaxKeepAliveCount:          keepAlive,
		LifetimeCount:              max(3*keepAlive, uint32(20*time.Second/interval)),
		MaxNotificationsPerPublish: 1000, // keeps each publish response well under 64 KiB
	}, notifs)
	// The subscription is not deleted at the end: the closing session takes it along, and
	// deleting one whose initial values gopcua's server is still sending can deadlock that
	// server (see Connection.runSession).
	if err != nil {
		return statusErr("create subscription", err)
	}
	var firstErr error
	for _, part := range chunks(indexes(len(nodes)), t.cl.lim.monitor) {
		reqs := make([]*ua.MonitoredItemCreateRequest, len(part))
		for i, k := range part {
			// 1-based: node-opcua takes handle 0 for "not set" (see handleOf).
			reqs[i] = opcua.NewMonitoredItemCreateRequestWithDefaults(nodes[k], ua.AttributeIDValue, uint32(k)+1)
			reqs[i].RequestedParameters.SamplingInterval = float64(interval / time.Millisecond)
		}
		res, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth, reqs...)
		if err != nil {
			return statusErr("create monitored items", err)
		}
		if len(res.Results) != len(part) {
			return fmt.Errorf("create monitored items: %d results for %d items", len(res.Results), len(part))
		}
		for i, r := range res.Results {
			if bad(r.StatusCode) {
				k := part[i]
				fn(NodeValue{NodeID: nodes[k].String(), DataType: types[k], Code: r.StatusCode, Status: StatusName(r.StatusCode)})
				if firstErr == nil {
					firstErr = &StatusError{Op: "monitor " + nodes[k].String(), Code: r.StatusCode}
				}
			}
		}
	}

	for {
		select {
		case <-ctx.Done():
			return firstErr
		case msg := <-forward:
			if msg.Error != nil {
				if errors.Is(msg.Error, context.Canceled) && ctx.Err() != nil {
					return firstErr
				}
				return statusErr("subscription", msg.Error)
			}
			dcn, ok := msg.Value.(*ua.DataChangeNotification)
			if !ok {
				continue
			}
			for _, it := range dcn.MonitoredItems {
				k := int(it.ClientHandle) - 1
				if k < 0 || k >= len(nodes) {
					continue
				}
				fn(nodeValue(nodes[k], types[k], it.Value))
			}
		}
	}
}

// drainUntilClosed discards notifications until the client is closed (and a little after,
// for any in flight), so gopcua never blocks on a full channel.
func drainUntilClosed(t *Tool, ch <-chan *opcua.PublishNotificationData) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ch:
		case <-tick.C:
			if t.cl.State() == opcua.Closed {
				return
			}
		}
	}
}

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
