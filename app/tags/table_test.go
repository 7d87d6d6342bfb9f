package tags

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestRegisterIsIdempotent(t *testing.T) {
	tb := NewTable()
	a := tb.Register("Pit.SH01.HoistCurrentA")
	b := tb.Register("Pit.SH01.PayloadT")
	if a == b {
		t.Fatalf("two names got the same ID %d", a)
	}
	if again := tb.Register("Pit.SH01.HoistCurrentA"); again != a {
		t.Fatalf("re-register: got %d, want %d", again, a)
	}
	if id, ok := tb.Lookup("Pit.SH01.PayloadT"); !ok || id != b {
		t.Fatalf("Lookup = %d,%v; want %d,true", id, ok, b)
	}
	if _, ok := tb.Lookup("nope"); ok {
		t.Fatal("Lookup of an unknown name succeeded")
	}
	if got := tb.Name(b); got != "Pit.SH01.PayloadT" {
		t.Fatalf("Name(%d) = %q", b, got)
	}
	if got := tb.Name(99); got != "" {
		t.Fatalf("Name(99) = %q, want empty", got)
	}
	if tb.Len() != 2 {
		t.Fatalf("Len = %d, want 2", tb.Len())
	}
}

func TestUpdateSnapshotGet(t *testing.T) {
	tb := NewTable()
	ids := tb.RegisterAll([]string{"a", "b", "c"})
	now := time.Now()
	tb.Update([]Update{
		{ID: ids[0], Sample: Sample{Value: 1.5, SourceTime: now, ServerTime: now}},
		{ID: ids[2], Sample: Sample{Value: true, Status: 0x40000000}},
		{ID: 1000, Sample: Sample{Value: "ignored"}}, // unknown IDs are dropped, not a panic
	})
	tb.Update([]Update{{ID: ids[0], Sample: Sample{Value: 2.5, SourceTime: now}}})

	snap := tb.Snapshot()
	if len(snap) != 2 {
		t.Fatalf("snapshot has %d values, want 2 (b has no sample): %+v", len(snap), snap)
	}
	if snap[0].Name != "a" || snap[0].Value != 2.5 {
		t.Fatalf("snap[0] = %+v, want a=2.5", snap[0])
	}
	if snap[1].Name != "c" || snap[1].Quality() != Uncertain {
		t.Fatalf("snap[1] = %+v, want c uncertain", snap[1])
	}
	if _, ok := tb.Get(ids[1]); ok {
		t.Fatal("Get of a tag without a sample reported ok")
	}
	if s, ok := tb.Get(ids[0]); !ok || s.Value != 2.5 {
		t.Fatalf("Get(a) = %+v,%v", s, ok)
	}
}

func TestInvalidateKeepsValue(t *testing.T) {
	tb := NewTable()
	ids := tb.RegisterAll([]string{"a", "b"})
	tb.Update([]Update{{ID: ids[0], Sample: Sample{Value: 7.0}}})
	sub := tb.Subscribe()
	defer sub.Close()

	lost := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	const badComm = 0x80050000
	tb.Invalidate(ids, badComm, lost)

	a, _ := tb.Get(ids[0])
	if a.Value != 7.0 || a.Status != badComm || !a.SourceTime.Equal(lost) || !a.ServerTime.Equal(lost) {
		t.Fatalf("a after Invalidate = %+v", a)
	}
	if a.Quality() != Bad {
		t.Fatalf("quality = %v, want bad", a.Quality())
	}
	b, ok := tb.Get(ids[1])
	if !ok || b.Value != nil || b.Status != badComm {
		t.Fatalf("b after Invalidate = %+v,%v; want nil value, bad", b, ok)
	}
	if got := sub.Drain(nil); len(got) != 2 {
		t.Fatalf("subscriber saw %d changes, want 2", len(got))
	}
}

func TestQualityOf(t *testing.T) {
	for _, c := range []struct {
		code uint32
		want Quality
	}{
		{0, Good},
		{0x00A80000, Good}, // GoodOverload-like info bits stay good
		{0x40000000, Uncertain},
		{0x80050000, Bad},
		{0xC0000000, Bad},
	} {
		if got := QualityOf(c.code); got != c.want {
			t.Errorf("QualityOf(%#x) = %v, want %v", c.code, got, c.want)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	tb := NewTable()
	names := make([]string, 200)
	for i := range names {
		names[i] = fmt.Sprintf("t%03d", i)
	}
	ids := tb.RegisterAll(names)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			batch := make([]Update, len(ids))
			for n := 0; n < 200; n++ {
				for i, id := range ids {
					batch[i] = Update{ID: id, Sample: Sample{Value: float64(w*1000 + n)}}
				}
				tb.Update(batch)
			}
		}(w)
	}
	readers := sync.WaitGroup{}
	for r := 0; r < 2; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			sub := tb.Subscribe()
			defer sub.Close()
			var buf []Value
			for {
				select {
				case <-stop:
					return
				case <-sub.C():
					buf = sub.Drain(buf[:0])
					_ = tb.Snapshot()
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	if got := len(tb.Snapshot()); got != len(ids) {
		t.Fatalf("snapshot has %d values, want %d", got, len(ids))
	}
}

func TestTapSeesEverySample(t *testing.T) {
	tb := NewTable()
	ids := tb.RegisterAll([]string{"a", "b"})
	var got []Update
	tb.SetTap(func(b []Update) { got = append(got, b...) })
	now := time.Now()
	tb.Update([]Update{{ID: ids[0], Sample: Sample{Value: 1.0, SourceTime: now}}})
	tb.Update([]Update{{ID: ids[0], Sample: Sample{Value: 2.0, SourceTime: now.Add(time.Second)}}})
	tb.Invalidate(ids, 0x80050000, now.Add(2*time.Second))
	if len(got) != 4 {
		t.Fatalf("tap saw %d samples, want 4 (two updates, two invalidations): %+v", len(got), got)
	}
	if got[1].Sample.Value != 2.0 {
		t.Fatalf("second sample coalesced away: %+v", got[1])
	}
	if inv := got[2]; inv.ID != ids[0] || inv.Sample.Value != 2.0 || inv.Sample.Status != 0x80050000 {
		t.Fatalf("invalidation = %+v, want a's kept value with the bad status", inv)
	}
	tb.SetTap(nil)
	tb.Update([]Update{{ID: ids[1], Sample: Sample{Value: 3.0}}})
	if len(got) != 4 {
		t.Fatal("tap called after SetTap(nil)")
	}
}

func TestNumber(t *testing.T) {
	for _, c := range []struct {
		v    any
		want float64
		ok   bool
	}{
		{2.5, 2.5, true}, {float32(1.5), 1.5, true}, {int64(-3), -3, true}, {uint64(7), 7, true},
		{int32(4), 4, true}, {uint16(9), 9, true}, {true, 1, true}, {false, 0, true},
		{"12", 0, false}, {nil, 0, false}, {[]byte{1}, 0, false},
	} {
		if got, ok := Number(c.v); got != c.want || ok != c.ok {
			t.Errorf("Number(%#v) = %v, %v; want %v, %v", c.v, got, ok, c.want, c.ok)
		}
	}
}
