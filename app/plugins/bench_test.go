package plugins

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"minebrain/app/alarms"
	"minebrain/app/audit"
	"minebrain/app/control"
)

// benchHost serves fixed values without locking, so the figures are the runtime's. It is a
// BatchHost: ValueReader resolves the tags to indexes once.
type benchHost struct {
	names []string
	vals  map[string]Value
	list  []Value // by index of names
}

func newBenchHost() *benchHost {
	h := &benchHost{vals: map[string]Value{}}
	now := time.Now()
	for i := range 100 {
		t := fmt.Sprintf("Area.U%02d.Signal", i)
		h.names = append(h.names, t)
		h.vals[t] = Value{V: float64(i), Time: now}
	}
	for i := range 3 {
		t := fmt.Sprintf("Area.W%d.SpeedSP", i)
		h.names = append(h.names, t)
		h.vals[t] = Value{V: 50, Time: now}
	}
	for _, t := range h.names {
		h.list = append(h.list, h.vals[t])
	}
	return h
}

func (h *benchHost) Tags() []string                 { return h.names }
func (h *benchHost) Value(tag string) (Value, bool) { v, ok := h.vals[tag]; return v, ok }
func (h *benchHost) Write(context.Context, string, string, float64) control.Result {
	return control.Result{Outcome: control.Done}
}
func (h *benchHost) RaiseAlarm(string, alarms.Priority, string) error { return nil }
func (h *benchHost) ClearAlarm(string) error                          { return nil }
func (h *benchHost) Audit(audit.Entry)                                {}

func (h *benchHost) ValueReader(tags []string) func(dst []Value) {
	idx := make([]int, len(tags))
	for i, t := range tags {
		idx[i] = -1
		for j, n := range h.names {
			if n == t {
				idx[i] = j
			}
		}
	}
	return func(dst []Value) {
		for i, j := range idx {
			if j < 0 {
				dst[i] = Value{Missing: true}
				continue
			}
			dst[i] = h.list[j]
		}
	}
}

// valueHost hides benchHost's ValueReader: the snapshot goes through Host.Value.
type valueHost struct{ Host }

// benchBody grants the 100 Area.U*.Signal tags and 3 setpoints; tick is the period.
func benchBody(tick string, empty bool) string {
	s := "tick: " + tick + "\nmemory: 64MiB\nbudget: 50ms\nreads: [\"Area.U*.Signal\"]\nwrites:\n"
	for i := range 3 {
		s += fmt.Sprintf("  - tag: Area.W%d.SpeedSP\n    min: 0\n    max: 100\n", i)
	}
	if empty {
		return s + "config:\n  empty: true\n"
	}
	return s + "config:\n  writes: true\n"
}

// BenchmarkTick is one tick (snapshot, mb_tick with its host calls, the SHADOW records),
// called the way the plugin's loop calls it, of:
//
//	tiny/empty          a hand-assembled guest (tinyGuest) whose mb_tick returns 0: the host's
//	                    own overhead per tick
//	tiny/loop100        the same running an empty loop of 100 iterations: loopguard's
//	                    countdown at every iteration
//	tiny/read100write3  the same reading 100 tags, summing them in a loop, asking for 3 writes
//	go/empty            the Go bench guest with an empty tick: adds the Go runtime's entry
//	go/read100write3    the Go bench guest reading 100 tags and asking for 3 writes
//	go/read100write3-valuehost  the same with a Host that is not a BatchHost (100 Value calls)
//
// It reports ns/tick and allocs/tick (Go heap allocations, all goroutines, per tick).
func BenchmarkTick(b *testing.B) {
	goWasm := readFile(b, guest(b, "bench"))
	for _, c := range []struct {
		name      string
		wasm      []byte
		empty     bool
		valueHost bool
	}{
		{"tiny/empty", tinyGuest(tinyEmpty), true, false},
		{"tiny/loop100", tinyGuest(tinyLoop), true, false},
		{"tiny/read100write3", tinyGuest(tinyWork), false, false},
		{"go/empty", goWasm, true, false},
		{"go/read100write3", goWasm, false, false},
		{"go/read100write3-valuehost", goWasm, false, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			var h Host = newBenchHost()
			if c.valueHost {
				h = valueHost{h}
			}
			r, err := New(Options{Host: h, Logger: quietLogger(), CacheDir: filepath.Join(guestDir, "cache")})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			// A one-hour period: the plugin's own loop never ticks; the benchmark does.
			if _, err := r.Load(plug(b, b.TempDir(), "bench", c.wasm, benchBody("1h", c.empty))); err != nil {
				b.Fatal(err)
			}
			p := r.plugins["bench"]
			for range 100 { // warm up
				if reason := p.tick(); reason != "" {
					b.Fatal(reason)
				}
			}
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if reason := p.tick(); reason != "" {
					b.Fatal(reason)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&m1)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/tick")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(b.N), "allocs/tick")
			if !c.empty {
				if st, _ := r.Get("bench"); len(st.RecentWrites) == 0 || len(st.Reads) != 100 {
					b.Fatalf("reads %d, writes %d", len(st.Reads), len(st.RecentWrites))
				}
			}
		})
	}
}

func benchLoad(b *testing.B, cacheDir string) {
	wasm := readFile(b, guest(b, "bench"))
	path := plug(b, b.TempDir(), "bench", wasm, benchBody("1s", true))
	h := newBenchHost()
	if cacheDir != "" { // warm the cache
		r, err := New(Options{Host: h, Logger: quietLogger(), CacheDir: cacheDir})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Load(path); err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
	b.ResetTimer()
	for range b.N {
		r, err := New(Options{Host: h, Logger: quietLogger(), CacheDir: cacheDir})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Load(path); err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
}

// BenchmarkLoadCold loads a Go guest (≈1.8 MB) compiling it from scratch.
func BenchmarkLoadCold(b *testing.B) { benchLoad(b, "") }

// BenchmarkLoadCached loads it with its compilation in the cache directory.
func BenchmarkLoadCached(b *testing.B) { benchLoad(b, b.TempDir()) }

func rss() uint64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseUint(f[1], 10, 64)
			return n << 10
		}
	}
	return 0
}

func loadMany(b *testing.B, r *Runtime, n int, tick string) {
	wasm := readFile(b, guest(b, "bench"))
	dir := b.TempDir()
	for i := range n {
		if _, err := r.Load(plug(b, dir, fmt.Sprintf("bench%d", i), wasm, benchBody(tick, false))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryPerInstance reports what one more instance of a small Go guest costs: Go
// heap, process RSS and the guest's own linear memory.
func BenchmarkMemoryPerInstance(b *testing.B) {
	const n = 20
	for range b.N {
		r, err := New(Options{Host: newBenchHost(), Logger: quietLogger(), CacheDir: filepath.Join(guestDir, "cache")})
		if err != nil {
			b.Fatal(err)
		}
		loadMany(b, r, 1, "1h") // compiled and cached: the rest are instances
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		rss0 := rss()
		r.mu.Lock()
		r.mu.Unlock()
		wasm := readFile(b, guest(b, "bench"))
		dir := b.TempDir()
		for i := range n {
			if _, err := r.Load(plug(b, dir, fmt.Sprintf("m%d", i), wasm, benchBody("1h", false))); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		rss1 := rss()
		var guestMem uint64
		for _, s := range r.List() {
			guestMem += s.MemoryBytes
		}
		b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/n, "heap-B/instance")
		b.ReportMetric(float64(int64(rss1)-int64(rss0))/n, "rss-B/instance")
		b.ReportMetric(float64(guestMem)/(n+1), "guest-mem-B/instance")
		r.Close()
	}
}

// BenchmarkFiftyPluginsAtTenHz runs 50 instances reading 100 tags and asking for 3 writes at
// 10 Hz for 5 s and reports the process's CPU use (getrusage) as a percentage of one core.
func BenchmarkFiftyPluginsAtTenHz(b *testing.B) {
	for range b.N {
		r, err := New(Options{Host: newBenchHost(), Logger: quietLogger(), CacheDir: filepath.Join(guestDir, "cache")})
		if err != nil {
			b.Fatal(err)
		}
		loadMany(b, r, 50, "100ms")
		time.Sleep(500 * time.Millisecond) // settle
		var u0, u1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &u0)
		t0 := time.Now()
		time.Sleep(5 * time.Second)
		syscall.Getrusage(syscall.RUSAGE_SELF, &u1)
		wall := time.Since(t0)
		cpu := time.Duration(u1.Utime.Nano()-u0.Utime.Nano()) + time.Duration(u1.Stime.Nano()-u0.Stime.Nano())
		var ticks uint64
		var avg time.Duration
		for _, s := range r.List() {
			ticks += s.Ticks
			avg += s.TickAvg
		}
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu%")
		b.ReportMetric(float64(avg.Nanoseconds())/50, "ns/tick-avg")
		b.ReportMetric(float64(ticks), "ticks")
		r.Close()
	}
}
