package opcua

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"

	"minebrain/app/tags"
)

// pump drains one session's notification and state channels into the tag table. It runs
// from before Connect until after the client is closed, because gopcua blocks (and with it
// its publish loop) whenever either channel is full.
type pump struct {
	c      *Connection
	states <-chan opcua.ConnState
	notifs <-chan *opcua.PublishNotificationData

	known     []bool // known[tagID]: the handle is one of ours; set by accept
	batch     []tags.Update
	delivered atomic.Bool

	lost chan error // the session is over; buffered, sent at most once
	stop chan struct{}
	done chan struct{}
}

func newPump(c *Connection, states <-chan opcua.ConnState, notifs <-chan *opcua.PublishNotificationData) *pump {
	return &pump{
		c:      c,
		states: states,
		notifs: notifs,
		lost:   make(chan error, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
}

// accept sets the client handles the pump stores; anything else a server sends is dropped.
// Call it before the subscription exists: its first notification is what hands the slice to
// the pump goroutine.
func (p *pump) accept(ids []tags.ID) {
	var n tags.ID
	for _, id := range ids {
		n = max(n, id+1)
	}
	p.known = make([]bool, n)
	for _, id := range ids {
		p.known[id] = true
	}
}

// close stops the pump and waits for it.
func (p *pump) close() {
	close(p.stop)
	<-p.done
}

func (p *pump) run() {
	defer close(p.done)
	wasConnected := false
	for {
		select {
		case <-p.stop:
			return
		case s := <-p.states:
			switch s {
			case opcua.Connected:
				wasConnected = true
			case opcua.Disconnected, opcua.Closed:
				if wasConnected {
					p.report(errors.New("opcua: connection lost"))
				}
			}
		case n := <-p.notifs:
			p.handle(n)
		}
	}
}

// report ends the session with err unless it is already ending.
func (p *pump) report(err error) {
	select {
	case p.lost <- err:
	default:
	}
}

func (p *pump) handle(n *opcua.PublishNotificationData) {
	if n == nil {
		return
	}
	if n.Error != nil {
		// A status code here means the server refused a publish; gopcua then pauses its
		// publish loop for good, so the subscription is dead and must be rebuilt.
		var sc ua.StatusCode
		if errors.As(n.Error, &sc) {
			p.report(fmt.Errorf("opcua: publish: %w", n.Error))
			return
		}
		p.c.log.Warn("opcua: notification error", "err", n.Error)
		return
	}
	now := time.Now()
	switch v := n.Value.(type) {
	case *ua.DataChangeNotification:
		p.batch = p.batch[:0]
		for _, mi := range v.MonitoredItems {
			if mi == nil {
				continue
			}
			id, ok := tagOf(mi.ClientHandle)
			if !ok || int(id) >= len(p.known) || !p.known[id] {
				continue // the heartbeat, or a handle that is not ours
			}
			p.batch = append(p.batch, tags.Update{ID: id, Sample: sampleOf(mi.Value, now)})
		}
		p.c.lastAlive.Store(now.UnixNano())
		if len(p.batch) > 0 {
			p.c.table.Update(p.batch)
			p.c.samples.Add(uint64(len(p.batch)))
			p.delivered.Store(true)
		}
	case *ua.StatusChangeNotification:
		p.c.lastAlive.Store(now.UnixNano())
		if bad(v.Status) {
			p.report(fmt.Errorf("opcua: subscription status: %w", v.Status))
		}
	default:
		p.c.lastAlive.Store(now.UnixNano())
	}
}
