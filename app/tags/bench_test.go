package tags

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkUpdate measures the hot path: a publish-sized batch of samples into the table with
// a given number of subscribers attached. The updates/s metric is samples per second.
func BenchmarkUpdate(b *testing.B) {
	for _, subs := range []int{0, 1, 4} {
		b.Run(fmt.Sprintf("batch1000/subs%d", subs), func(b *testing.B) {
			tb := NewTable()
			names := make([]string, 1000)
			for i := range names {
				names[i] = fmt.Sprintf("Area.U%03d.Signal", i)
			}
			ids := tb.RegisterAll(names)
			done := make(chan struct{})
			defer close(done)
			for i := 0; i < subs; i++ {
				s := tb.Subscribe()
				defer s.Close()
				// Drain as the engine does, so the dirty sets are exercised.
				go func() {
					var buf []Value
					for {
						select {
						case <-s.C():
							buf = s.Drain(buf[:0])
						case <-done:
							return
						}
					}
				}()
			}
			now := time.Now()
			var v any = 1.0 // boxed once: the OPC UA decoder hands us boxed values already
			batch := make([]Update, len(ids))
			for i, id := range ids {
				batch[i] = Update{ID: id, Sample: Sample{Value: v, SourceTime: now, ServerTime: now}}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tb.Update(batch)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "updates/s")
		})
	}
}

// BenchmarkSnapshot measures a full copy of a 1,000-tag table.
func BenchmarkSnapshot(b *testing.B) {
	tb := NewTable()
	for i := 0; i < 1000; i++ {
		id := tb.Register(fmt.Sprintf("t%d", i))
		tb.Update([]Update{{ID: id, Sample: Sample{Value: 1.0}}})
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = tb.Snapshot()
	}
}
