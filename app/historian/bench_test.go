package historian

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// signal generates realistic sensor values for many tags: a slow sine per tag plus small
// noise, quantised to 0.01 like a real transmitter.
type signal struct {
	base, amp, w, phase []float64
	r                   *rand.Rand
}

func newSignal(tags int) *signal {
	r := rand.New(rand.NewPCG(42, uint64(tags)))
	s := &signal{r: r}
	for i := 0; i < tags; i++ {
		s.base = append(s.base, 10+r.Float64()*500)
		s.amp = append(s.amp, 1+r.Float64()*50)
		s.w = append(s.w, 2*math.Pi/(600+r.Float64()*7200)) // periods of 10 min to 2 h
		s.phase = append(s.phase, r.Float64()*2*math.Pi)
	}
	return s
}

func (s *signal) value(tag, step int) float64 {
	x := s.base[tag] + s.amp[tag]*math.Sin(s.phase[tag]+float64(step)*s.w[tag]) + s.r.NormFloat64()*0.05
	return math.Round(x*100) / 100
}

func tagNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("Area%d.U%03d.Signal", i%6, i)
	}
	return names
}

// ingest appends steps seconds of 1 Hz data for len(names) tags and flushes.
func ingest(b *testing.B, s *Store, names []string, sig *signal, from, steps int) {
	batch := make([]Sample, len(names))
	for step := from; step < from+steps; step++ {
		ts := t0.Add(time.Duration(step) * time.Second)
		for i, name := range names {
			batch[i] = Sample{Tag: name, Time: ts, Value: sig.value(i, step)}
		}
		for {
			err := s.Append(batch)
			if err == nil {
				break
			}
			if err != ErrBufferFull {
				b.Fatal(err)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkIngest: 1,000 tags at 1 Hz, samples/s through Append to committed, and the file's
// bytes per sample after Close. One op is one sample.
func BenchmarkIngest(b *testing.B) {
	const tags = 1000
	path := filepath.Join(b.TempDir(), "h.db")
	s := openTest(b, path, Options{})
	names := tagNames(tags)
	sig := newSignal(tags)
	steps := max(1, b.N/tags)
	b.ResetTimer()
	start := time.Now()
	ingest(b, s, names, sig, 0, steps)
	el := time.Since(start)
	b.StopTimer()
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	n := float64(steps * tags)
	fi, _ := os.Stat(path)
	b.ReportMetric(n/el.Seconds(), "samples/s")
	b.ReportMetric(float64(fi.Size())/n, "B/sample")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkBytesPerSample: one hour of 1,000 tags at 1 Hz (3.6 M samples), file size after
// Close divided by samples.
func BenchmarkBytesPerSample(b *testing.B) {
	const tags, steps = 1000, 3600
	for i := 0; i < b.N; i++ {
		path := filepath.Join(b.TempDir(), "h.db")
		s := openTest(b, path, Options{})
		start := time.Now()
		ingest(b, s, tagNames(tags), newSignal(tags), 0, steps)
		el := time.Since(start)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		fi, _ := os.Stat(path)
		b.ReportMetric(float64(fi.Size())/(tags*steps), "B/sample")
		b.ReportMetric(tags*steps/el.Seconds(), "samples/s")
	}
}

// BenchmarkWeekTrend: one tag, a week at 1 Hz (604,800 samples), into 1,000 buckets of
// min/max/avg/etc. One op is one query.
func BenchmarkWeekTrend(b *testing.B) {
	const week = 7 * 24 * 3600
	s := openTest(b, "", Options{})
	defer s.Close()
	ingest(b, s, []string{"Pit.SH01.HoistCurrentA"}, newSignal(1), 0, week)
	ctx := context.Background()
	from, to := t0.Add(-time.Second), t0.Add(week*time.Second)
	b.ResetTimer()
	for b.Loop() {
		bk, err := s.Aggregate(ctx, "Pit.SH01.HoistCurrentA", from, to, 1000)
		if err != nil || len(bk) != 1000 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/query")
}

// BenchmarkLatest1000: the latest value of 1,000 tags. One op is one call for all 1,000.
func BenchmarkLatest1000(b *testing.B) {
	s := openTest(b, "", Options{})
	defer s.Close()
	names := tagNames(1000)
	ingest(b, s, names, newSignal(1000), 0, 10)
	b.ResetTimer()
	for b.Loop() {
		l := s.Latest(names)
		if !l[999].OK {
			b.Fatal("missing")
		}
	}
}

// BenchmarkReadWhileIngest: one op ingests 2 h of 1,000 tags at 1 Hz (7.2 M samples) as fast
// as possible while a reader runs one-hour trend queries (500 buckets) on one tag back to
// back; reports the worst and median query latency.
func BenchmarkReadWhileIngest(b *testing.B) {
	const tags = 1000
	names := tagNames(tags)
	for b.Loop() {
		s := openTest(b, "", Options{})
		sig := newSignal(tags)
		ingest(b, s, names, sig, 0, 3600)
		done := make(chan struct{})
		go func() {
			defer close(done)
			ingest(b, s, names, sig, 3600, 3600)
		}()
		ctx := context.Background()
		var lat []time.Duration
	loop:
		for {
			select {
			case <-done:
				break loop
			default:
			}
			st := time.Now()
			if _, err := s.Aggregate(ctx, names[7], t0.Add(time.Duration(len(lat)%60)*time.Second), t0.Add(time.Hour), 500); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(st))
		}
		s.Close()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "worst-ms")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "median-ms")
		b.ReportMetric(float64(len(lat)), "queries")
	}
}
