package engine

import (
	"context"
	"sync"
	"time"

	"minebrain/app/opcua"
	"minebrain/app/tags"
)

// Event names.
const (
	// EventTags carries []TagValue: the latest value of every tag that changed since the
	// previous tags event.
	EventTags = "tags"
	// EventStatus carries Status.
	EventStatus = "status"
	// EventModel carries Model: the equipment was discovered for the first time, or a
	// reconnect found a different address space.
	EventModel = "model"
)

// TagsInterval is the shortest time between two tags events to one subscriber: 1,000 values
// changing several times a second still cost the UI five small batches a second.
const TagsInterval = 200 * time.Millisecond

// StatusInterval is the longest time between two status events, so the UI's freshness
// clock keeps ticking even when nothing changes.
const StatusInterval = time.Second

// Event is one item of the event stream. Its JSON form is the web face's push message
// (Contract 3).
type Event struct {
	Name string `json:"event"`
	Data any    `json:"data"`
}

// subscriber is one consumer of the event stream, with its own coalescing tag subscription
// and goroutine: a consumer that stops reading stalls only itself, and when it reads again
// gets the latest value of every tag that changed meanwhile.
type subscriber struct {
	e      *Engine
	out    chan Event
	tags   *tags.Subscription
	status chan struct{} // poked on a connection status change
	model  chan struct{} // poked when the model changed
	alarms chan struct{} // poked after alarm transitions
	done   chan struct{}
	exited chan struct{}
	once   sync.Once
}

// Subscribe returns the event stream and a function that ends it. The stream starts with a
// status event; read Model and Snapshot after subscribing for the equipment and values so
// far. The channel is closed when cancel is called or the engine is closed.
func (e *Engine) Subscribe() (events <-chan Event, cancel func()) {
	s := &subscriber{
		e:      e,
		out:    make(chan Event, 4),
		tags:   e.table.Subscribe(),
		status: make(chan struct{}, 1),
		model:  make(chan struct{}, 1),
		alarms: make(chan struct{}, 1),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		s.tags.Close()
		close(s.out)
		return s.out, func() {}
	}
	e.subs[s] = struct{}{}
	e.mu.Unlock()
	go s.run()
	return s.out, s.cancel
}

// cancel ends the subscription and waits for its goroutine, which closes the channel.
func (s *subscriber) cancel() {
	s.once.Do(func() {
		close(s.done)
		<-s.exited
		s.tags.Close()
		s.e.mu.Lock()
		delete(s.e.subs, s)
		s.e.mu.Unlock()
	})
}

func (s *subscriber) run() {
	defer close(s.exited)
	defer close(s.out)

	statusTick := time.NewTicker(StatusInterval)
	defer statusTick.Stop()
	var (
		buf      []tags.Value
		lastTags time.Time
		pending  *time.Timer // armed while a tags event waits for TagsInterval to pass
		due      <-chan time.Time
	)
	defer func() {
		if pending != nil {
			pending.Stop()
		}
	}()
	flush := func() bool {
		due = nil
		buf = s.tags.Drain(buf[:0])
		if len(buf) == 0 {
			return true
		}
		lastTags = time.Now()
		return s.send(Event{Name: EventTags, Data: tagValues(buf)})
	}

	if !s.send(Event{Name: EventStatus, Data: s.e.Status()}) {
		return
	}
	for {
		select {
		case <-s.done:
			return
		case <-s.tags.C():
			if due != nil {
				continue // a flush is already scheduled and will take these changes too
			}
			wait := TagsInterval - time.Since(lastTags)
			if wait <= 0 {
				if !flush() {
					return
				}
				continue
			}
			if pending == nil {
				pending = time.NewTimer(wait)
			} else {
				pending.Reset(wait)
			}
			due = pending.C
		case <-due:
			if !flush() {
				return
			}
		case <-s.status:
			if !s.send(Event{Name: EventStatus, Data: s.e.Status()}) {
				return
			}
		case <-s.model:
			if !s.send(Event{Name: EventModel, Data: s.e.Model()}) {
				return
			}
		case <-s.alarms:
			sum, err := s.e.alarmSummary()
			if err == nil && !s.send(Event{Name: EventAlarms, Data: sum}) {
				return
			}
		case <-statusTick.C:
			if !s.send(Event{Name: EventStatus, Data: s.e.Status()}) {
				return
			}
		}
	}
}

// send delivers ev, waiting as long as the consumer needs; it returns false when the
// subscription ended meanwhile.
func (s *subscriber) send(ev Event) bool {
	select {
	case s.out <- ev:
		return true
	case <-s.done:
		return false
	}
}

// broadcastStatus pokes every subscriber when the connection's status changes.
func (e *Engine) broadcastStatus(ctx context.Context, conn *opcua.Connection) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-conn.Changed():
			e.notifySubscribers(func(s *subscriber) chan struct{} { return s.status })
		}
	}
}

// notifySubscribers pokes one channel of every subscriber, the one which returns, without
// blocking: a poke already pending covers this one, as the subscriber sends the latest state.
func (e *Engine) notifySubscribers(which func(*subscriber) chan struct{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for s := range e.subs {
		select {
		case which(s) <- struct{}{}:
		default:
		}
	}
}
