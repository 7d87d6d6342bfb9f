package historian

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func samePoints(t testing.TB, got, want []Point) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d points, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.T != w.T || g.S != w.S || math.Float64bits(g.V) != math.Float64bits(w.V) {
			t.Fatalf("point %d: got %+v (bits %x), want %+v (bits %x)", i, g, math.Float64bits(g.V), w, math.Float64bits(w.V))
		}
	}
}

func roundTrip(t testing.TB, pts []Point) []byte {
	t.Helper()
	enc := EncodeBlock(nil, pts)
	got, err := DecodeBlock(nil, enc)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	samePoints(t, got, pts)
	if n, err := BlockCount(enc); err != nil || n != len(pts) {
		t.Fatalf("BlockCount = %d, %v", n, err)
	}
	return enc
}

func TestBlockRoundTripSpecialValues(t *testing.T) {
	specials := []float64{0, math.Copysign(0, -1), 1, -1, math.Inf(1), math.Inf(-1), math.NaN(),
		math.Float64frombits(0x7ff0000000000001), math.Float64frombits(0xfff8dead00000000),
		math.MaxFloat64, math.SmallestNonzeroFloat64, 0.1, 12.34, 1e300, -1e-300}
	var pts []Point
	for i, v := range specials {
		pts = append(pts, Point{T: int64(i) * 1e9, V: v, S: uint32(i%3) << 30})
	}
	roundTrip(t, pts)
	for _, v := range specials {
		roundTrip(t, []Point{{T: -5, V: v, S: math.MaxUint32}})
	}
}

func TestBlockRoundTripTimestamps(t *testing.T) {
	// Irregular, jittered, equal, backwards and extreme timestamps all survive.
	ts := []int64{math.MinInt64, -1, 0, 0, 1, 1e9, 2e9 + 3, 3e9 - 7, 3e9 - 8, math.MaxInt64, math.MinInt64, 42}
	var pts []Point
	for i, x := range ts {
		pts = append(pts, Point{T: x, V: float64(i)})
	}
	roundTrip(t, pts)
}

func TestBlockDecimalAndXORModes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var sensor, float []Point
	for i := 0; i < 2000; i++ {
		x := 20 + 5*math.Sin(float64(i)/600) + r.NormFloat64()*0.02
		sensor = append(sensor, Point{T: int64(i) * 1e9, V: math.Round(x*100) / 100})
		float = append(float, Point{T: int64(i) * 1e9, V: x})
	}
	enc := roundTrip(t, sensor)
	if bps := float64(len(enc)) / float64(len(sensor)); bps > 1.5 {
		t.Errorf("quantised sensor: %.2f bytes/sample, want <= 1.5", bps)
	}
	roundTrip(t, float)
	// Booleans and counters.
	var b []Point
	for i := 0; i < 500; i++ {
		b = append(b, Point{T: int64(i) * 1e9, V: float64((i / 50) % 2)})
	}
	enc = roundTrip(t, b)
	if len(enc) > 160 { // about 2 bits per sample
		t.Errorf("boolean block is %d bytes", len(enc))
	}
}

func TestBlockRandomRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for iter := 0; iter < 300; iter++ {
		n := 1 + r.IntN(300)
		pts := make([]Point, n)
		tt := r.Int64()
		for i := range pts {
			tt += r.Int64N(1 << uint(r.IntN(40)))
			var v float64
			switch r.IntN(4) {
			case 0:
				v = math.Float64frombits(r.Uint64())
			case 1:
				v = math.Round(r.NormFloat64()*1e4) / 100
			case 2:
				v = float64(r.IntN(3))
			default:
				v = r.Float64()
			}
			pts[i] = Point{T: tt, V: v, S: uint32(r.IntN(2)) << 31}
		}
		roundTrip(t, pts)
	}
}

func TestBlockDecodeCorrupt(t *testing.T) {
	enc := EncodeBlock(nil, []Point{{T: 1, V: 1.5}, {T: 2, V: 2.5}, {T: 3, V: 3.25}})
	for i := 0; i < len(enc); i++ {
		if _, err := DecodeBlock(nil, enc[:i]); err == nil {
			t.Errorf("truncated to %d bytes decoded without error", i)
		}
	}
	// A huge claimed count is refused before allocating.
	huge := binary.AppendUvarint([]byte{blockFormat}, maxDecodeSize)
	huge = append(huge, 1, 0, maxDecodeSize&0x7f)
	if _, err := DecodeBlock(nil, huge); err == nil {
		t.Error("huge count accepted")
	}
}

func FuzzBlockDecode(f *testing.F) {
	f.Add(EncodeBlock(nil, []Point{{T: 1, V: 1.5}, {T: 2, V: 2.5, S: 1 << 31}, {T: 3, V: math.NaN()}}))
	f.Add(EncodeBlock(nil, []Point{{T: 0, V: 0.01}, {T: 1e9, V: 0.02}, {T: 2e9, V: 0.05}}))
	f.Add([]byte{blockFormat, 3, 1, 0, 3, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		pts, err := DecodeBlock(nil, data)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to something that decodes to the same points.
		got, err := DecodeBlock(nil, EncodeBlock(nil, pts))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		samePoints(t, got, pts)
	})
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\x00\x01"), int64(0), int64(1e9), uint32(0))
	f.Add([]byte("\x7f\xf8\x00\x00\x00\x00\x00\x01\x80\x00\x00\x00\x00\x00\x00\x00"), int64(-7), int64(3), uint32(1<<31))
	f.Fuzz(func(t *testing.T, raw []byte, t0, step int64, status uint32) {
		n := len(raw) / 8
		if n == 0 {
			return
		}
		pts := make([]Point, n)
		for i := range pts {
			bits := binary.LittleEndian.Uint64(raw[8*i:])
			pts[i] = Point{T: t0 + int64(i)*step + int64(bits%7), V: math.Float64frombits(bits), S: status ^ uint32(bits>>60)}
			if bits&1 == 0 { // exercise decimal mode too
				pts[i].V = float64(int64(bits>>40)) / 100
			}
		}
		roundTrip(t, pts)
	})
}

// BenchmarkDecodeBlock: decoding speed of a 300-sample block of a quantised sensor signal.
func BenchmarkDecodeBlock(b *testing.B) {
	sig := newSignal(1)
	pts := make([]Point, 300)
	for i := range pts {
		pts[i] = Point{T: t0.Add(time.Duration(i) * time.Second).UnixNano(), V: sig.value(0, i)}
	}
	enc := EncodeBlock(nil, pts)
	var buf []Point
	for b.Loop() {
		var err error
		if buf, err = DecodeBlock(buf[:0], enc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(pts)), "ns/sample")
	b.ReportMetric(float64(len(enc))/float64(len(pts)), "B/sample")
}
