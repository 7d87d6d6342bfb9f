package engine

import (
	"fmt"
	"testing"
	"time"

	"minebrain/app/tags"
)

// newBareEngine returns an engine that was never started, with n tags registered: enough to
// test the event stream without a server.
func newBareEngine(t *testing.T, n int) (*Engine, []tags.ID) {
	t.Helper()
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("Area.U%04d.Value", i)
	}
	return e, e.table.RegisterAll(names)
}

// produce updates every tag every period until stop is closed; the last value written for
// every tag is returned on done.
func produce(e *Engine, ids []tags.ID, period time.Duration, stop <-chan struct{}, done chan<- float64) {
	batch := make([]tags.Update, len(ids))
	v := 0.0
	tk := time.NewTicker(period)
	defer tk.Stop()
	for {
		select {
		case <-stop:
			done <- v
			return
		case <-tk.C:
			v++
			now := time.Now()
			for i, id := range ids {
				batch[i] = tags.Update{ID: id, Sample: tags.Sample{Value: v, SourceTime: now, ServerTime: now}}
			}
			e.table.Update(batch)
		}
	}
}

func TestTagsEventsAreCoalesced(t *testing.T) {
	e, ids := newBareEngine(t, 1000)
	events, cancel := e.Subscribe()
	defer cancel()

	first := <-events
	if first.Name != EventStatus {
		t.Fatalf("first event %q, want status", first.Name)
	}

	stop, done := make(chan struct{}), make(chan float64, 1)
	go produce(e, ids, 5*time.Millisecond, stop, done) // 200,000 changes a second
	time.AfterFunc(1500*time.Millisecond, func() { close(stop) })

	latest := map[string]any{}
	var times []time.Time
	statuses := 0
	deadline := time.After(2500 * time.Millisecond)
loop:
	for {
		select {
		case ev := <-events:
			switch ev.Name {
			case EventStatus:
				statuses++
			case EventTags:
				times = append(times, time.Now())
				batch := ev.Data.([]TagValue)
				checkCoalesced(t, batch)
				for _, tv := range batch {
					latest[tv.Tag] = tv.Value
				}
			}
		case <-deadline:
			break loop
		}
	}
	final := <-done
	if len(times) < 4 {
		t.Fatalf("only %d tags events in 1.5 s of changes", len(times))
	}
	// At most one batch per TagsInterval: about 8 in 1.5 s, never 300.
	if len(times) > 10 {
		t.Fatalf("%d tags events in 1.5 s: not coalesced", len(times))
	}
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < TagsInterval-30*time.Millisecond {
			t.Fatalf("tags events %d and %d only %v apart", i-1, i, gap)
		}
	}
	if len(latest) != 1000 {
		t.Fatalf("saw %d distinct tags, want 1000", len(latest))
	}
	for tag, v := range latest {
		if v != final {
			t.Fatalf("%s: last value seen %v, latest written %v", tag, v, final)
		}
	}
	if statuses < 2 {
		t.Fatalf("%d status events in 2.5 s, want one at least every second", statuses)
	}
}

func TestSlowSubscriberDoesNotStallProducer(t *testing.T) {
	e, ids := newBareEngine(t, 500)
	events, cancel := e.Subscribe()
	defer cancel()

	// Nobody reads events for a while; the producer must run at full speed regardless.
	start := time.Now()
	batch := make([]tags.Update, len(ids))
	for n := 1; n <= 2000; n++ {
		for i, id := range ids {
			batch[i] = tags.Update{ID: id, Sample: tags.Sample{Value: float64(n)}}
		}
		e.table.Update(batch)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("1,000,000 updates took %v with a stalled subscriber", el)
	}
	// When it reads again it catches up to the latest values.
	got := map[string]any{}
	timeout := time.After(3 * time.Second)
	for len(got) < len(ids) || !allEqual(got, 2000.0) {
		select {
		case ev := <-events:
			if ev.Name == EventTags {
				for _, tv := range ev.Data.([]TagValue) {
					got[tv.Tag] = tv.Value
				}
			}
		case <-timeout:
			t.Fatalf("subscriber did not catch up: %d tags, e.g. %v", len(got), firstOf(got))
		}
	}
}

func allEqual(m map[string]any, v any) bool {
	for _, x := range m {
		if x != v {
			return false
		}
	}
	return true
}

func firstOf(m map[string]any) any {
	for k, v := range m {
		return k + "=" + fmt.Sprint(v)
	}
	return nil
}

func TestCancelAndCloseEndTheStream(t *testing.T) {
	e, _ := newBareEngine(t, 1)
	ev1, cancel1 := e.Subscribe()
	ev2, _ := e.Subscribe()
	cancel1()
	cancel1() // idempotent
	if !drainedAndClosed(ev1) {
		t.Fatal("cancel did not close the channel")
	}
	e.Close()
	if !drainedAndClosed(ev2) {
		t.Fatal("Close did not close the channel")
	}
	ev3, cancel3 := e.Subscribe()
	defer cancel3()
	if !drainedAndClosed(ev3) {
		t.Fatal("Subscribe after Close returned an open channel")
	}
}

func drainedAndClosed(ch <-chan Event) bool {
	timeout := time.After(2 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

// checkCoalesced fails the test when a tags batch carries a tag more than once: a batch holds
// the latest value per tag.
func checkCoalesced(t *testing.T, batch []TagValue) {
	t.Helper()
	seen := make(map[string]bool, len(batch))
	for _, tv := range batch {
		if seen[tv.Tag] {
			t.Fatalf("tag %s twice in one batch", tv.Tag)
		}
		seen[tv.Tag] = true
	}
}
