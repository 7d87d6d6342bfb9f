// Package tags is the live tag table: the latest sample of every tag, safe for concurrent use,
// with a fan-out of changes that never blocks the producer.
//
// Tags are registered once by name and then addressed by a dense ID, so the hot path (Update)
// is a slice write per sample with no hashing or allocation. Subscribers receive changes as a
// coalesced dirty set: however slow a subscriber is, it loses no tag, only intermediate values
// of a tag that changed again before it looked.
package tags

import (
	"sync"
	"time"
)

// ID addresses a registered tag. IDs are dense, start at 0, and never change for the life of
// a Table, so callers may use them as slice indexes (the OPC UA client uses them as monitored
// item client handles).
type ID uint32

// Update is one new sample for a registered tag.
type Update struct {
	ID     ID
	Sample Sample
}

// Value is a tag's latest sample together with its identity, as returned by Snapshot and
// Subscription.Drain.
type Value struct {
	ID   ID
	Name string
	Sample
}

// Table holds the latest sample of every registered tag. The zero value is not usable; call
// NewTable.
type Table struct {
	mu      sync.RWMutex
	names   []string
	index   map[string]ID
	samples []Sample
	set     []bool // set[id]: a sample has been stored; unset tags are left out of snapshots
	subs    []*Subscription
	tap     func([]Update) // sees every stored sample; see SetTap
}

// SetTap installs fn (nil removes it) to receive every sample the table stores, uncoalesced,
// after the table lock is released: each Update batch, and each Invalidate as the tags' kept
// values with their new status and time. It is how the historian records every sample while
// subscriptions keep only the latest. fn runs on the producer's goroutine, so it must return
// at once (hand off to a bounded channel, dropping when full) and must not keep the slice.
func (t *Table) SetTap(fn func([]Update)) {
	t.mu.Lock()
	t.tap = fn
	t.mu.Unlock()
}

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{index: make(map[string]ID)}
}

// Register returns the ID of the named tag, adding it if it is new. Registering the same name
// again returns the same ID.
func (t *Table) Register(name string) ID {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.registerLocked(name)
}

// RegisterAll registers names in order and returns their IDs, under one lock.
func (t *Table) RegisterAll(names []string) []ID {
	ids := make([]ID, len(names))
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, n := range names {
		ids[i] = t.registerLocked(n)
	}
	return ids
}

func (t *Table) registerLocked(name string) ID {
	if id, ok := t.index[name]; ok {
		return id
	}
	id := ID(len(t.names))
	t.names = append(t.names, name)
	t.samples = append(t.samples, Sample{})
	t.set = append(t.set, false)
	t.index[name] = id
	return id
}

// Lookup returns the ID of a registered tag.
func (t *Table) Lookup(name string) (ID, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	id, ok := t.index[name]
	return id, ok
}

// Name returns the name of a registered tag, or "" for an unknown ID.
func (t *Table) Name(id ID) string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if int(id) >= len(t.names) {
		return ""
	}
	return t.names[id]
}

// Len returns the number of registered tags.
func (t *Table) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.names)
}

// Update stores a batch of samples and marks them changed for every subscriber. It takes the
// table lock once per batch, does O(1) work per sample and subscriber, and never blocks on a
// subscriber. Updates for unknown IDs are ignored.
func (t *Table) Update(batch []Update) {
	if len(batch) == 0 {
		return
	}
	t.mu.Lock()
	n := ID(len(t.samples))
	for i := range batch {
		u := &batch[i]
		if u.ID >= n {
			continue
		}
		t.samples[u.ID] = u.Sample
		t.set[u.ID] = true
		for _, s := range t.subs {
			s.markLocked(u.ID)
		}
	}
	subs, tap := t.subs, t.tap
	t.mu.Unlock()
	for _, s := range subs {
		s.notify()
	}
	if tap != nil {
		tap(batch)
	}
}

// Invalidate gives the listed tags a new status code and timestamps while keeping their last
// value, so a consumer still sees what the value was but never mistakes it for live data. The
// OPC UA client uses it with BadCommunicationError when a connection is lost. Tags that never
// had a sample get one with a nil value.
func (t *Table) Invalidate(ids []ID, status uint32, at time.Time) {
	if len(ids) == 0 {
		return
	}
	t.mu.Lock()
	n := ID(len(t.samples))
	var tapped []Update
	if t.tap != nil {
		tapped = make([]Update, 0, len(ids))
	}
	for _, id := range ids {
		if id >= n {
			continue
		}
		s := &t.samples[id]
		s.Status = status
		s.SourceTime = at
		s.ServerTime = at
		t.set[id] = true
		for _, sub := range t.subs {
			sub.markLocked(id)
		}
		if t.tap != nil {
			tapped = append(tapped, Update{ID: id, Sample: *s})
		}
	}
	subs, tap := t.subs, t.tap
	t.mu.Unlock()
	for _, s := range subs {
		s.notify()
	}
	if tap != nil && len(tapped) > 0 {
		tap(tapped)
	}
}

// Get returns the latest sample of a tag; ok is false when the tag is unknown or has no
// sample yet.
func (t *Table) Get(id ID) (s Sample, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if int(id) >= len(t.samples) || !t.set[id] {
		return Sample{}, false
	}
	return t.samples[id], true
}

// Snapshot returns the latest value of every tag that has a sample, in registration order.
func (t *Table) Snapshot() []Value {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]Value, 0, len(t.samples))
	for i, s := range t.samples {
		if t.set[i] {
			out = append(out, Value{ID: ID(i), Name: t.names[i], Sample: s})
		}
	}
	return out
}
