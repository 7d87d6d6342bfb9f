package plugins

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// newManual is a Manual Runtime over h whose clock before the first Step is t0.
func newManual(t *testing.T, h Host, t0 time.Time) *Runtime {
	t.Helper()
	r, err := New(Options{Host: h, Logger: quietLogger(), Manual: true, MinBackoff: time.Second,
		Now: func() time.Time { return t0 }, CacheDir: filepath.Join(guestDir, "cache")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestStep steps the good guest 100 times in AUTO: no goroutine ticks it, each Step is one
// tick whose write reaches Host.Write before Step returns, and the key-value tick count is
// 100.
func TestStep(t *testing.T) {
	h := newFakeHost(siteTags)
	t0 := time.Date(2031, 3, 1, 6, 0, 0, 0, time.UTC)
	r := newManual(t, h, t0)
	loadGood(t, r, t.TempDir())
	time.Sleep(60 * time.Millisecond) // three periods of 20 ms: nothing ticks by itself
	if n := ticks(r, "good"); n != 0 {
		t.Fatalf("%d ticks without a Step", n)
	}
	if err := r.SetMode("good", Auto, "test"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 100; i++ {
		now := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		if err := r.Step("good", now); err != nil {
			t.Fatal(err)
		}
		ws := h.hostWrites()
		if len(ws) != i {
			t.Fatalf("step %d: %d host writes, want %d", i, len(ws), i)
		}
		if w := ws[i-1]; w.Plugin != "good" || w.Tag != "Crushing.AF1.FeederSpeedSP" || w.V != 55 {
			t.Fatalf("step %d: write %+v", i, w)
		}
		st, _ := r.Get("good")
		last := st.RecentWrites[len(st.RecentWrites)-1]
		if st.Ticks != uint64(i) || last.Outcome != "done" || !last.Time.Equal(now) || last.Mode != Auto {
			t.Fatalf("step %d: %d ticks, last write %+v", i, st.Ticks, last)
		}
	}
	if v, ok := r.plugins["good"].kv.get([]byte("ticks")); !ok || string(v) != "100" {
		t.Errorf("kv ticks = %q, %v; want 100", v, ok)
	}
	if st, _ := r.Get("good"); st.State != Running || len(st.RecentWrites) != RecentWritesMax {
		t.Errorf("state %s, %d recent writes", st.State, len(st.RecentWrites))
	}

	// SHADOW: recorded, not sent; OFF: a Step does nothing.
	if err := r.SetMode("good", Shadow, "test"); err != nil {
		t.Fatal(err)
	}
	if err := r.Step("good", t0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	if st, _ := r.Get("good"); len(h.hostWrites()) != 100 || st.RecentWrites[RecentWritesMax-1].Outcome != "suppressed" {
		t.Errorf("SHADOW step: %d host writes, last record %+v", len(h.hostWrites()), st.RecentWrites[RecentWritesMax-1])
	}
	if err := r.SetMode("good", Off, "test"); err != nil {
		t.Fatal(err)
	}
	if err := r.Step("good", t0.Add(4*time.Second)); err != nil || ticks(r, "good") != 101 {
		t.Errorf("OFF step: %v, %d ticks", err, ticks(r, "good"))
	}

	if err := r.Step("nosuch", t0); !errors.Is(err, ErrUnknown) {
		t.Errorf("Step of an unknown plugin: %v", err)
	}
	auto := newRuntime(t, h, nil)
	if err := auto.Step("good", t0); !errors.Is(err, ErrAuto) {
		t.Errorf("Step of a Runtime not Manual: %v", err)
	}
}

// TestStepFault: a fault in a Step restarts the plugin only at a Step whose now is past the
// back-off (1 s, then 2 s), in simulated time.
func TestStepFault(t *testing.T) {
	h := newFakeHost(siteTags)
	t0 := time.Date(2031, 3, 1, 6, 0, 0, 0, time.UTC)
	r := newManual(t, h, t0)
	if _, err := r.Load(plug(t, t.TempDir(), "loop", readFile(t, guest(t, "loop")), hostileBody)); err != nil {
		t.Fatal(err)
	}
	const reason = "tick exceeded its 10ms budget and was interrupted"
	step := func(d time.Duration, state State, restarts int, next time.Duration) {
		t.Helper()
		if err := r.Step("loop", t0.Add(d)); err != nil {
			t.Fatal(err)
		}
		st, _ := r.Get("loop")
		if st.State != state || st.Restarts != restarts || st.LastError != reason || !st.NextRestart.Equal(t0.Add(next)) {
			t.Fatalf("after a Step at +%v: %s, %d restarts, next %v, %q; want %s, %d, +%v",
				d, st.State, st.Restarts, st.NextRestart.Sub(t0), st.LastError, state, restarts, next)
		}
	}
	step(0, Faulted, 0, time.Second)
	step(500*time.Millisecond, Faulted, 0, time.Second)          // back-off not over: no restart
	step(time.Second, Faulted, 1, 3*time.Second)                 // restarted, ticked, faulted again
	step(2900*time.Millisecond, Faulted, 1, 3*time.Second)       // 2 s back-off
	step(3*time.Second, Faulted, 2, 3*time.Second+4*time.Second) // then 4 s
	if _, ok := h.alarm("plugin.loop"); !ok {
		t.Error("no plugin.loop alarm")
	}
}
