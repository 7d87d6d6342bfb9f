package historian

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

const bad = 0x80310000

// p builds a point at t0 + sec seconds.
func p(sec int, v float64, status ...uint32) Point {
	pt := Point{T: t0.Add(time.Duration(sec) * time.Second).UnixNano(), V: v}
	if len(status) > 0 {
		pt.S = status[0]
	}
	return pt
}

func secs(pts []Point) []string {
	out := make([]string, len(pts))
	for i, q := range pts {
		out[i] = fmt.Sprintf("%ds=%g/%x", (q.T-t0.UnixNano())/1e9, q.V, q.S)
	}
	return out
}

func samePointList(a, b []Point) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !samePoint(a[i], b[i]) {
			return false
		}
	}
	return true
}

var nanV = math.NaN()

// Shared hand-made signals; want is per algorithm.
var (
	ramp    = []Point{p(0, 0), p(1, .5), p(2, 1), p(3, 1.5), p(4, 2), p(5, 2.5), p(6, 3)}
	step    = []Point{p(0, 0), p(1, 0), p(2, 0), p(3, 5), p(4, 5), p(5, 5)}
	noise   = []Point{p(0, 10), p(1, 10.3), p(2, 9.8), p(3, 10.6), p(4, 10.2), p(5, 9.4), p(6, 9.9)}
	quality = []Point{p(0, 1), p(1, 1), p(2, 1, bad), p(3, 1), p(4, 1), p(5, 1)}
	withNaN = []Point{p(0, 1), p(1, nanV), p(2, 1), p(3, 1), p(4, 1.2)}
	gap     = []Point{p(0, 7), p(1, 7), p(2, 7), p(3, 7), p(4, 7), p(5, 7), p(30, 7), p(31, 7)}
)

func flat(n int) []Point {
	out := make([]Point, n)
	for i := range out {
		out[i] = p(i, 4)
	}
	return out
}

func TestDeadbandTable(t *testing.T) {
	db := Compression{Kind: Deadband, Deviation: 1}
	maxi := Compression{Kind: Deadband, Deviation: 1, MaxInterval: 10 * time.Second}
	for _, tc := range []struct {
		name string
		c    Compression
		in   []Point
		want []Point
	}{
		// "Last stored" is the last kept sample, not the last received: a slow ramp is
		// stored each time it has moved more than the deviation from the kept one.
		{"ramp", db, ramp, []Point{p(0, 0), p(3, 1.5), p(6, 3)}},
		{"step", db, step, []Point{p(0, 0), p(3, 5), p(5, 5)}},
		{"noise", Compression{Kind: Deadband, Deviation: 0.5}, noise,
			[]Point{p(0, 10), p(3, 10.6), p(5, 9.4), p(6, 9.9)}},
		{"percent of span", Compression{Kind: Deadband, DeviationPct: 0.5, Span: 100}, noise,
			[]Point{p(0, 10), p(3, 10.6), p(5, 9.4), p(6, 9.9)}},
		{"quality change", db, quality, []Point{p(0, 1), p(1, 1), p(2, 1, bad), p(3, 1), p(5, 1)}},
		{"NaN", db, withNaN, []Point{p(0, 1), p(1, nanV), p(2, 1), p(4, 1.2)}},
		{"gap and max interval", maxi, gap, []Point{p(0, 7), p(5, 7), p(30, 7), p(31, 7)}},
		{"flat and max interval", maxi, flat(25), []Point{p(0, 4), p(10, 4), p(20, 4), p(24, 4)}},
		{"zero deviation drops repeats only", Compression{Kind: Deadband}, step,
			[]Point{p(0, 0), p(3, 5), p(5, 5)}},
		{"single sample", db, ramp[:1], ramp[:1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := compressPoints(tc.c, tc.in)
			if !samePointList(got, tc.want) {
				t.Fatalf("stored %v\nwant %v", secs(got), secs(tc.want))
			}
		})
	}
}

func TestSwingingDoorTable(t *testing.T) {
	sd := Compression{Kind: SwingingDoor, Deviation: 1}
	maxi := Compression{Kind: SwingingDoor, Deviation: 1, MaxInterval: 10 * time.Second}
	for _, tc := range []struct {
		name string
		c    Compression
		in   []Point
		want []Point
	}{
		{"ramp", sd, ramp, []Point{p(0, 0), p(6, 3)}},
		{"step", sd, step, []Point{p(0, 0), p(2, 0), p(3, 5), p(5, 5)}},
		{"noise", Compression{Kind: SwingingDoor, Deviation: 0.5}, noise,
			[]Point{p(0, 10), p(2, 9.8), p(3, 10.6), p(5, 9.4), p(6, 9.9)}},
		// The textbook doors are still open at 2 s (slopes 0..2 and -0.9..0.1 overlap), but
		// the line 0 s -> 2 s would pass 1.4 from the sample at 1 s: it is kept.
		{"doors open, line too far", sd, []Point{p(0, 0), p(1, 1), p(2, -0.8), p(3, -1.6)},
			[]Point{p(0, 0), p(1, 1), p(3, -1.6)}},
		{"quality change", sd,
			[]Point{p(0, 0), p(1, 1), p(2, 2), p(3, 3, bad), p(4, 4), p(5, 5), p(6, 6)},
			[]Point{p(0, 0), p(2, 2), p(3, 3, bad), p(4, 4), p(6, 6)}},
		{"uncertain run kept", sd,
			[]Point{p(0, 0), p(1, 0, 0x40000000), p(2, 0, 0x40000000), p(3, 0)},
			[]Point{p(0, 0), p(1, 0, 0x40000000), p(2, 0, 0x40000000), p(3, 0)}},
		{"NaN", sd, withNaN, []Point{p(0, 1), p(1, nanV), p(2, 1), p(4, 1.2)}},
		{"gap and max interval", maxi, gap, []Point{p(0, 7), p(5, 7), p(30, 7), p(31, 7)}},
		{"flat and max interval", maxi, flat(25), []Point{p(0, 4), p(10, 4), p(20, 4), p(24, 4)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := compressPoints(tc.c, tc.in)
			if !samePointList(got, tc.want) {
				t.Fatalf("stored %v\nwant %v", secs(got), secs(tc.want))
			}
		})
	}
}

// plantSignal: a random walk with noise, steps, runs of Bad/Uncertain, NaNs, gaps, irregular times.
func plantSignal(r *rand.Rand, n int) []Point {
	pts := make([]Point, 0, n)
	t, v := t0.UnixNano(), 100.0
	var status uint32
	for range n {
		t += int64(time.Second) + r.Int64N(int64(time.Second)) - int64(500*time.Millisecond)
		if r.IntN(200) == 0 {
			t += int64(r.IntN(3600)) * int64(time.Second)
		}
		v += r.NormFloat64() * 0.2
		if r.IntN(300) == 0 {
			v += r.NormFloat64() * 20
		}
		if r.IntN(150) == 0 {
			status = []uint32{0, 0, bad, 0x40000000, 0x00960000}[r.IntN(5)] // incl. a Good subcode
		}
		x := math.Round((v+r.NormFloat64()*0.3)*100) / 100
		if r.IntN(400) == 0 {
			x = math.NaN()
		}
		pts = append(pts, Point{T: t, V: x, S: status})
	}
	return pts
}

// checkCompressed verifies the guarantees on stored (a subsequence of in): every sample not
// dropped by the rules is there, each dropped sample is within the deviation of the
// reconstruction (steps for deadband, lines for swinging door), and no two stored samples are
// more than MaxInterval apart unless nothing came between them.
func checkCompressed(t *testing.T, c Compression, in, stored []Point) {
	t.Helper()
	dev := c.deviation() * (1 + 1e-9)
	j := 0 // stored[j] is the first stored sample at or after in[i]
	for i, q := range in {
		for j < len(stored) && stored[j].T < q.T {
			j++
		}
		kept := j < len(stored) && stored[j].T == q.T
		if kept {
			if !samePoint(stored[j], q) {
				t.Fatalf("stored %+v for input %+v", stored[j], q)
			}
			continue
		}
		if !compressible(q) {
			t.Fatalf("sample %d %+v (not good) dropped", i, q)
		}
		if i > 0 && in[i-1].S != q.S || i+1 < len(in) && in[i+1].S != q.S {
			t.Fatalf("sample %d %+v next to a status change dropped", i, q)
		}
		if i == len(in)-1 {
			t.Fatalf("the newest sample was dropped")
		}
		a, b := stored[j-1], stored[j]
		if !compressible(a) || !compressible(b) {
			t.Fatalf("dropped %+v between non-good stored samples %+v %+v", q, a, b)
		}
		ref := a.V
		if c.Kind == SwingingDoor {
			ref = a.V + (b.V-a.V)*float64(q.T-a.T)/float64(b.T-a.T)
		}
		if math.Abs(ref-q.V) > dev {
			t.Fatalf("dropped sample %d %+v is %g from the reconstruction (deviation %g)",
				i, q, math.Abs(ref-q.V), dev)
		}
		if c.MaxInterval > 0 && b.T-a.T > int64(c.MaxInterval) {
			t.Fatalf("stored %+v and %+v more than MaxInterval apart with %+v between", a, b, q)
		}
	}
}

func TestCompressionWithinDeviation(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for trial := range 200 {
		in := plantSignal(r, 2000)
		c := Compression{
			Kind:      []CompressionKind{Deadband, SwingingDoor}[trial%2],
			Deviation: []float64{0, 0.01, 0.1, 0.5, 2, 50}[trial%6],
		}
		if trial%3 == 0 {
			c.MaxInterval = time.Duration(1+r.IntN(60)) * time.Second
		}
		stored := compressPoints(c, in)
		checkCompressed(t, c, in, stored)
		if trial < 6 {
			t.Logf("%v dev %g max %v: %d of %d stored", c.Kind, c.Deviation, c.MaxInterval, len(stored), len(in))
		}
	}
}

// TestCompressionInStore: what a Store keeps equals compressPoints whatever the commit, seal and
// flush timing; the held snapshot is queryable at once and stored at Close; the setting
// survives a restart, after which compression restarts from the newest stored sample.
func TestCompressionInStore(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 3))
	for _, c := range []Compression{
		{Kind: Deadband, Deviation: 0.5, MaxInterval: time.Minute},
		{Kind: SwingingDoor, DeviationPct: 1, Span: 50},
	} {
		path := filepath.Join(t.TempDir(), "h.db")
		opts := Options{BlockMaxSamples: 40, FlushInterval: time.Millisecond}
		s := openTest(t, path, opts)
		if err := s.SetCompression("x", c); err != nil {
			t.Fatal(err)
		}
		if err := s.SetCompression("y", Compression{Kind: SwingingDoor, Deviation: -1}); err == nil {
			t.Fatal("negative deviation accepted")
		}
		in := plantSignal(r, 3000)
		half := in[:1700]
		for i := 0; i < len(half); {
			n := min(1+r.IntN(60), len(half)-i)
			appendAll(t, s, toSamples("x", half[i:i+n]))
			i += n
			if r.IntN(4) == 0 {
				if err := s.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
			// The newest sample is queryable even while it is an undecided snapshot.
			waitVisible(t, s, "x", half[i-1])
			if pts, _ := s.Range(ctx, "x", t0, t0.Add(1000*time.Hour)); !samePoint(pts[len(pts)-1], half[i-1]) {
				t.Fatalf("Range ends with %+v, want the newest %+v", pts[len(pts)-1], half[i-1])
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		want := compressPoints(c, half)
		s = openTest(t, path, opts)
		got, err := s.Range(ctx, "x", t0, t0.Add(1000*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if !samePointList(got, want) {
			t.Fatalf("%v: stored %d points, want %d", c.Kind, len(got), len(want))
		}
		if ti := s.Tags(); len(ti) != 1 || ti[0].Compression != c {
			t.Fatalf("tags after reopen: %+v", ti)
		}
		// After the restart the compressor starts from the stored snapshot.
		appendAll(t, s, toSamples("x", in[1700:]))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		z := newCompressor(c, half[len(half)-1], true)
		for _, q := range in[1700:] {
			if z.offer(q) {
				want = want[:len(want)-1]
			}
			want = append(want, q)
		}
		s = openTest(t, path, opts)
		got, _ = s.Range(ctx, "x", t0, t0.Add(1000*time.Hour))
		s.Close()
		if !samePointList(got, want) {
			t.Fatalf("%v after restart: stored %d points, want %d", c.Kind, len(got), len(want))
		}
		checkCompressed(t, c, in, got)
		rep, err := Check(ctx, path)
		if err != nil || !rep.OK() {
			t.Fatalf("Check: %v %+v", err, rep.Problems)
		}
		t.Logf("%v: %d of %d samples stored", c.Kind, len(got), len(in))
	}
}

func TestCompressionStatsAndSwitch(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", Options{})
	defer s.Close()
	s.SetCompression("f", Compression{Kind: Deadband, Deviation: 1})
	appendAll(t, s, toSamples("f", flat(10)))
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// 10 flat samples: the first and the held newest are stored.
	if st := s.Stats(); st.Compressed != 8 {
		t.Fatalf("Compressed %d, want 8", st.Compressed)
	}
	// Back to lossless: the held snapshot is kept and everything after it too.
	s.SetCompression("f", Compression{})
	more := []Point{p(10, 4), p(11, 4), p(12, 4)}
	appendAll(t, s, toSamples("f", more))
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Range(ctx, "f", t0, t0.Add(time.Hour))
	want := append([]Point{p(0, 4), p(9, 4)}, more...)
	if !samePointList(got, want) {
		t.Fatalf("stored %v, want %v", secs(got), secs(want))
	}
}

// BenchmarkCompressionRatio prints the share of samples stored and the bytes per input sample
// on realistic signals (slow sines, 0.05 noise, 0.01 quantisation: bench_test's newSignal) at
// 1 Hz, for typical deviations.
func BenchmarkCompressionRatio(b *testing.B) {
	const tags, n = 50, 86400 / 4 // 6 h per tag
	sig := newSignal(tags)
	in := make([][]Point, tags)
	for i := range in {
		for k := range n {
			in[i] = append(in[i], Point{T: t0.Add(time.Duration(k) * time.Second).UnixNano(), V: sig.value(i, k)})
		}
	}
	for _, c := range []Compression{
		{Kind: Lossless},
		{Kind: Deadband, Deviation: 0.1},
		{Kind: Deadband, Deviation: 0.25},
		{Kind: SwingingDoor, Deviation: 0.1},
		{Kind: SwingingDoor, Deviation: 0.25},
		{Kind: SwingingDoor, Deviation: 0.25, MaxInterval: 10 * time.Minute},
	} {
		name := fmt.Sprintf("%v/dev=%g", c.Kind, c.Deviation)
		if c.MaxInterval > 0 {
			name += "/max=" + c.MaxInterval.String()
		}
		b.Run(name, func(b *testing.B) {
			var stored, bytes int
			for range b.N {
				stored, bytes = 0, 0
				for _, pts := range in {
					kept := compressPoints(c, pts)
					stored += len(kept)
					for i := 0; i < len(kept); i += 2048 {
						bytes += len(EncodeBlock(nil, kept[i:min(i+2048, len(kept))])) + statsLen
					}
				}
			}
			total := float64(tags * n)
			b.ReportMetric(total/float64(stored), "ratio")
			b.ReportMetric(float64(bytes)/total, "B/sample")
			b.ReportMetric(0, "ns/op")
		})
	}
}
