package alarms

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestConcurrent drives samples, operator actions, ticks, system alarms and queries from
// many goroutines (run with -race), then checks that the journal is one unbroken chain of
// states per alarm: every transition starts where the previous one ended.
func TestConcurrent(t *testing.T) {
	const n = 200
	var defs []Definition
	for i := range n {
		d := Definition{ID: fmt.Sprintf("A%d", i), Tag: fmt.Sprintf("t%d", i),
			Area: fmt.Sprintf("area%d", i%5), Priority: Priority(i % 4), Kind: HI, Limit: 50,
			Deadband: 1, Latched: i%7 == 0}
		if i%3 == 0 {
			d.OnDelay = time.Second
		}
		if i%11 == 0 {
			d.SuppressWhen = &Condition{Tag: "run", Op: Eq, Value: 0}
		}
		defs = append(defs, d)
	}
	r := newRig(t, defs...)
	var wg sync.WaitGroup
	run := func(seed uint64, f func(*rand.Rand)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 1))
			for range 2000 {
				f(rng)
			}
		}()
	}
	for w := range 4 {
		run(uint64(w), func(rng *rand.Rand) {
			batch := make([]Sample, 20)
			for i := range batch {
				batch[i] = Sample{Tag: fmt.Sprintf("t%d", rng.IntN(n)), Value: rng.Float64() * 100,
					Time: r.clk.Now()}
				if rng.IntN(50) == 0 {
					batch[i].Status = badStatus
				}
			}
			if rng.IntN(20) == 0 {
				batch = append(batch, Sample{Tag: "run", Value: float64(rng.IntN(2)), Time: r.clk.Now()})
			}
			r.e.Process(batch)
		})
	}
	for w := range 2 {
		run(uint64(10+w), func(rng *rand.Rand) {
			id := fmt.Sprintf("A%d", rng.IntN(n))
			switch rng.IntN(7) {
			case 0, 1:
				_ = r.e.Acknowledge(id, "op1")
			case 2:
				_ = r.e.Shelve(id, "op1", "race", r.clk.Now().Add(time.Duration(rng.IntN(5))*time.Second+time.Millisecond))
			case 3:
				_ = r.e.ShelveOneShot(id, "op1", "race")
			case 4:
				_ = r.e.Unshelve(id, "op1")
			case 5:
				_ = r.e.Reset(id, "op1")
			case 6:
				if rng.IntN(2) == 0 {
					_ = r.e.RemoveFromService(id, "tech", "race")
				} else {
					_ = r.e.ReturnToService(id, "tech", "race")
				}
			}
		})
	}
	run(20, func(rng *rand.Rand) { r.after(100 * time.Millisecond) })
	run(21, func(rng *rand.Rand) {
		id := fmt.Sprintf("sys%d", rng.IntN(3))
		if rng.IntN(2) == 0 {
			_ = r.e.RaiseSystem(id, High, "system")
		} else {
			_ = r.e.ClearSystem(id)
		}
	})
	run(22, func(rng *rand.Rand) {
		_ = r.e.Active()
		_ = r.e.Hidden()
		_ = r.e.Counts("")
		_ = r.e.CountsByArea()
		_ = r.e.Floods()
		_ = r.e.KPIs()
	})
	wg.Wait()

	last := map[string]State{}
	ts := r.j.all()
	for _, tr := range ts {
		if tr.From != last[tr.AlarmID] {
			t.Fatalf("%s: transition from %s, but the alarm was %s", tr.AlarmID, tr.From, last[tr.AlarmID])
		}
		last[tr.AlarmID] = tr.To
	}
	for id, s := range last {
		if got, _ := r.e.Get(id); got.State != s {
			t.Fatalf("%s: state %s, journal ends at %s", id, got.State, s)
		}
	}
	if len(ts) < 100 {
		t.Fatalf("only %d transitions: the test exercised too little", len(ts))
	}
}
