package alarms

import (
	"fmt"
	"testing"
	"time"
)

const benchTags = 10_000

// benchEngine: 10,000 HI limit alarms with deadband, one per tag, in 20 areas, and a
// batch of one sample per tag, all below the limit.
func benchEngine(tb testing.TB) (*Engine, []Sample) {
	defs := make([]Definition, benchTags)
	batch := make([]Sample, benchTags)
	t0 := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	for i := range defs {
		tag := fmt.Sprintf("Area%d.Unit%d.Value", i%20, i)
		defs[i] = Definition{ID: tag + ".HI", Tag: tag, Area: fmt.Sprintf("Area%d", i%20),
			Priority: Priority(i % 4), Kind: HI, Limit: 100, Deadband: 2}
		batch[i] = Sample{Tag: tag, Value: float64(i % 90), Time: t0}
	}
	e, err := New(defs, Options{Now: func() time.Time { return t0 }})
	if err != nil {
		tb.Fatal(err)
	}
	return e, batch
}

// BenchmarkEvaluate measures alarm evaluations per second: each op is one batch of 10,000
// samples, each evaluated against its tag's limit alarm. In every batch one sample
// crosses its limit and one returns, so the journal path is exercised too; the other
// 9,998 change nothing.
func BenchmarkEvaluate(b *testing.B) {
	e, batch := benchEngine(b)
	b.ReportAllocs()
	b.ResetTimer()
	for it := range b.N {
		k := it % benchTags
		prev := (k + benchTags - 1) % benchTags
		batch[prev].Value = float64(prev % 90)
		batch[k].Value = 150
		ts := batch[0].Time.Add(time.Second)
		batch[k].Time, batch[prev].Time, batch[0].Time = ts, ts, ts
		e.Process(batch)
	}
	b.ReportMetric(float64(b.N)*benchTags/b.Elapsed().Seconds(), "evals/s")
}

// TestProcessDoesNotAllocate: evaluating samples that change nothing allocates nothing.
func TestProcessDoesNotAllocate(t *testing.T) {
	e, batch := benchEngine(t)
	e.Process(batch)
	if n := testing.AllocsPerRun(20, func() { e.Process(batch) }); n != 0 {
		t.Fatalf("%g allocations per batch of %d samples, want 0", n, len(batch))
	}
}
