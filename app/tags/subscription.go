package tags

// Subscription receives the table's changes as a coalesced set of changed tags. The producer
// only flips a flag per changed tag and pokes a one-slot channel, so a subscriber that falls
// behind costs the producer nothing and, when it catches up, reads the latest value of every
// tag that changed meanwhile.
type Subscription struct {
	t      *Table
	signal chan struct{}

	// Guarded by t.mu.
	dirty  []bool
	list   []ID
	closed bool
}

// Subscribe returns a new subscription. It starts with nothing changed: read Snapshot after
// subscribing to get the current state without missing anything in between.
func (t *Table) Subscribe() *Subscription {
	s := &Subscription{t: t, signal: make(chan struct{}, 1)}
	t.mu.Lock()
	defer t.mu.Unlock()
	subs := make([]*Subscription, len(t.subs), len(t.subs)+1)
	copy(subs, t.subs)
	// A fresh slice, so Update can range over its copy of the old one without the lock.
	t.subs = append(subs, s)
	return s
}

// C receives a value whenever changes are waiting to be drained. Several changes may be
// signalled once.
func (s *Subscription) C() <-chan struct{} { return s.signal }

// Drain appends the latest value of every tag changed since the previous Drain to dst, in the
// order the tags first changed, and clears the set.
func (s *Subscription) Drain(dst []Value) []Value {
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range s.list {
		s.dirty[id] = false
		dst = append(dst, Value{ID: id, Name: t.names[id], Sample: t.samples[id]})
	}
	s.list = s.list[:0]
	return dst
}

// Pending returns how many tags are waiting to be drained.
func (s *Subscription) Pending() int {
	s.t.mu.RLock()
	defer s.t.mu.RUnlock()
	return len(s.list)
}

// Close detaches the subscription from the table. It is safe to call more than once.
func (s *Subscription) Close() {
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	subs := make([]*Subscription, 0, len(t.subs))
	for _, x := range t.subs {
		if x != s {
			subs = append(subs, x)
		}
	}
	t.subs = subs
	s.list, s.dirty = nil, nil
}

// markLocked records a change of id; the caller holds t.mu for writing.
func (s *Subscription) markLocked(id ID) {
	if int(id) >= len(s.dirty) {
		grown := make([]bool, len(s.t.samples))
		copy(grown, s.dirty)
		s.dirty = grown
	}
	if !s.dirty[id] {
		s.dirty[id] = true
		s.list = append(s.list, id)
	}
}

// notify pokes the subscriber without ever blocking: a pending poke already covers this change.
func (s *Subscription) notify() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}
