package tags

import (
	"testing"
	"time"
)

func TestSlowSubscriberGetsLatestPerTag(t *testing.T) {
	tb := NewTable()
	ids := tb.RegisterAll([]string{"a", "b", "c"})
	sub := tb.Subscribe()
	defer sub.Close()

	// Many batches while the subscriber is not looking: the producer must not block, and the
	// subscriber must then see each changed tag once, with its latest value.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 10000; i++ {
			tb.Update([]Update{
				{ID: ids[0], Sample: Sample{Value: float64(i)}},
				{ID: ids[2], Sample: Sample{Value: float64(-i)}},
			})
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("producer blocked on a subscriber that does not read")
	}

	select {
	case <-sub.C():
	default:
		t.Fatal("no change signalled")
	}
	if n := sub.Pending(); n != 2 {
		t.Fatalf("Pending = %d, want 2", n)
	}
	got := sub.Drain(nil)
	if len(got) != 2 {
		t.Fatalf("drained %d values, want 2: %+v", len(got), got)
	}
	if got[0].Name != "a" || got[0].Value != 9999.0 || got[1].Name != "c" || got[1].Value != -9999.0 {
		t.Fatalf("drained %+v, want latest a=9999 and c=-9999", got)
	}
	if again := sub.Drain(nil); len(again) != 0 {
		t.Fatalf("second drain returned %d values, want none", len(again))
	}
}

func TestSubscribersAreIndependent(t *testing.T) {
	tb := NewTable()
	id := tb.Register("a")
	s1, s2 := tb.Subscribe(), tb.Subscribe()
	defer s2.Close()
	tb.Update([]Update{{ID: id, Sample: Sample{Value: 1.0}}})
	if got := s1.Drain(nil); len(got) != 1 {
		t.Fatalf("s1 drained %d", len(got))
	}
	if got := s2.Drain(nil); len(got) != 1 {
		t.Fatalf("s2 drained %d", len(got))
	}
	s1.Close()
	s1.Close() // idempotent
	tb.Update([]Update{{ID: id, Sample: Sample{Value: 2.0}}})
	if got := s1.Drain(nil); len(got) != 0 {
		t.Fatalf("closed subscription drained %d values", len(got))
	}
	if got := s2.Drain(nil); len(got) != 1 || got[0].Value != 2.0 {
		t.Fatalf("s2 drained %+v", got)
	}
}

func TestSubscriptionSeesTagsRegisteredLater(t *testing.T) {
	tb := NewTable()
	sub := tb.Subscribe()
	defer sub.Close()
	a := tb.Register("a")
	tb.Update([]Update{{ID: a, Sample: Sample{Value: 1.0}}})
	b := tb.Register("b")
	tb.Update([]Update{{ID: b, Sample: Sample{Value: 2.0}}})
	if got := sub.Drain(nil); len(got) != 2 {
		t.Fatalf("drained %d values, want 2", len(got))
	}
}
