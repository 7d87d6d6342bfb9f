package historian

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"testing"
	"time"
)

// referenceDecode is DecodeBlock as it was before the fast decoder (kept verbatim but for
// names): the straightforward reference the fast one must match sample for sample, error for
// error. referenceDecode decodes an encoded block, appending its points to dst. It never panics on
// arbitrary input; corrupt input returns an error wrapping ErrCorruptBlock.
func referenceDecode(dst []Point, data []byte) ([]Point, error) {
	bad := func(what string) ([]Point, error) {
		return dst, fmt.Errorf("%w: %s", ErrCorruptBlock, what)
	}
	if len(data) < 1 || data[0] != blockFormat {
		return bad("unknown format")
	}
	p := 1
	uv := func() (uint64, bool) {
		v, k := binary.Uvarint(data[p:])
		if k <= 0 {
			return 0, false
		}
		p += k
		return v, true
	}
	count, ok := uv()
	if !ok || count == 0 || count > maxDecodeSize {
		return bad("count")
	}
	nruns, ok := uv()
	if !ok || nruns == 0 || nruns > count {
		return bad("status runs")
	}
	// Every run costs at least two bytes, every further sample at least two bits: check sizes
	// before allocating anything.
	if nruns > uint64(len(data)) || (count-1) > 4*uint64(len(data)) {
		return bad("count exceeds data")
	}
	type run struct {
		s uint32
		n uint64
	}
	runs := make([]run, 0, nruns)
	var total uint64
	for i := uint64(0); i < nruns; i++ {
		s, ok1 := uv()
		n, ok2 := uv()
		if !ok1 || !ok2 || s > math.MaxUint32 || n == 0 || n > count-total {
			return bad("status run")
		}
		total += n
		runs = append(runs, run{uint32(s), n})
	}
	if total != count {
		return bad("status runs do not add up")
	}
	t0, k := binary.Varint(data[p:])
	if k <= 0 {
		return bad("t0")
	}
	p += k
	if p >= len(data) {
		return bad("value mode")
	}
	mode := data[p]
	p++
	var v0 float64
	var k0 int64
	switch {
	case mode == 0:
		if len(data)-p < 8 {
			return bad("v0")
		}
		v0 = math.Float64frombits(binary.LittleEndian.Uint64(data[p:]))
		p += 8
	case mode <= 1+maxDecimals:
		k0, k = binary.Varint(data[p:])
		if k <= 0 {
			return bad("k0")
		}
		p += k
	default:
		return bad("value mode")
	}

	n := int(count)
	start := len(dst)
	dst = append(dst, make([]Point, n)...)
	out := dst[start:]
	// Statuses.
	i := 0
	for _, r := range runs {
		for j := uint64(0); j < r.n; j++ {
			out[i].S = r.s
			i++
		}
	}
	r := refBitReader{buf: data[p:]}
	out[0].T = t0
	var delta int64
	for i := 1; i < n; i++ {
		var dod int64
		r.ensure()
		switch r.ones(4) {
		case 0:
		case 1:
			dod = signExtend(r.take(16), 16)
		case 2:
			dod = signExtend(r.take(26), 26)
		case 3:
			dod = signExtend(r.take(40), 40)
		default:
			dod = int64(r.read64())
		}
		delta += dod
		out[i].T = out[i-1].T + delta
		if r.overrun() {
			return dst[:start], fmt.Errorf("%w: timestamps: %v", ErrCorruptBlock, errShortBlock)
		}
	}
	if mode == 0 {
		out[0].V = v0
		prev := math.Float64bits(v0)
		var lead, trail uint
		window := false
		for i := 1; i < n; i++ {
			if !r.bit() {
				out[i].V = math.Float64frombits(prev)
			} else if !r.bit() {
				if !window {
					return dst[:start], fmt.Errorf("%w: value window before any", ErrCorruptBlock)
				}
				prev ^= r.readAny(64-lead-trail) << trail
				out[i].V = math.Float64frombits(prev)
			} else {
				lead = uint(r.read(6))
				sig := uint(r.read(6)) + 1
				if lead+sig > 64 {
					return dst[:start], fmt.Errorf("%w: value bit count", ErrCorruptBlock)
				}
				trail = 64 - lead - sig
				window = true
				prev ^= r.readAny(sig) << trail
				out[i].V = math.Float64frombits(prev)
			}
			if r.overrun() {
				return dst[:start], fmt.Errorf("%w: values: %v", ErrCorruptBlock, errShortBlock)
			}
		}
	} else {
		scale := pow10[mode-1]
		kv := k0
		out[0].V = float64(kv) / scale
		for i := 1; i < n; i++ {
			var zz uint64
			r.ensure()
			switch r.ones(6) {
			case 0:
			case 1:
				zz = r.take(4)
			case 2:
				zz = r.take(7)
			case 3:
				zz = r.take(12)
			case 4:
				zz = r.take(20)
			case 5:
				zz = r.take(32)
			default:
				zz = r.read64()
			}
			kv += unzigzag(zz)
			out[i].V = float64(kv) / scale
			if r.overrun() {
				return dst[:start], fmt.Errorf("%w: values: %v", ErrCorruptBlock, errShortBlock)
			}
		}
	}
	return dst, nil
}

// refBitReader reads bits written by bitWriter.
type refBitReader struct {
	buf []byte
	pos int    // next byte to load
	v   uint64 // loaded bits, left-aligned
	n   uint   // loaded bits in v, including pad
	pad uint   // zero bits loaded past the end of buf (the last pad bits of the n)
}

func (r *refBitReader) refill() {
	if r.pos+8 <= len(r.buf) {
		// Fast path: take whole bytes from one big-endian load.
		w := binary.BigEndian.Uint64(r.buf[r.pos:])
		take := (64 - r.n) / 8
		r.v |= w >> r.n
		if take < 8 {
			r.v &^= (1<<(64-r.n-take*8) - 1) // keep only the whole bytes taken
		}
		r.pos += int(take)
		r.n += take * 8
		return
	}
	for r.n <= 56 {
		var b byte
		if r.pos < len(r.buf) {
			b = r.buf[r.pos]
			r.pos++
		} else {
			r.pad += 8
		}
		r.v |= uint64(b) << (56 - r.n)
		r.n += 8
	}
}

// read returns the next n bits (n <= 56). Reading past the end yields zeros; callers check
// overrun once per sample.
func (r *refBitReader) read(n uint) uint64 {
	if r.n < n {
		r.refill()
	}
	x := r.v >> (64 - n) // n == 0 gives 0: Go shifts of 64 yield 0
	r.v <<= n
	r.n -= n
	return x
}

// readAny returns the next n bits, n <= 64.
func (r *refBitReader) readAny(n uint) uint64 {
	if n > 56 {
		hi := r.read(n - 32)
		return hi<<32 | r.read(32)
	}
	return r.read(n)
}

// read64 returns the next 64 bits.
func (r *refBitReader) read64() uint64 {
	hi := r.read(32)
	return hi<<32 | r.read(32)
}

// overrun reports whether more bits were read than the buffer holds.
func (r *refBitReader) overrun() bool { return r.n < r.pad }

func (r *refBitReader) bit() bool { return r.read(1) == 1 }

// ensure loads bits so that at least 57 are available to take and ones.
func (r *refBitReader) ensure() {
	if r.n < 57 {
		r.refill()
	}
}

// take returns the next n bits (1 <= n <= 56) after ensure made them available.
func (r *refBitReader) take(n uint) uint64 {
	x := r.v >> (64 - n)
	r.v <<= n
	r.n -= n
	return x
}

// ones is unary without refilling, after ensure.
func (r *refBitReader) ones(max uint) uint {
	o := min(uint(bits.LeadingZeros64(^r.v)), max)
	adv := o + 1
	if o == max {
		adv = max
	}
	r.v <<= adv
	r.n -= adv
	return o
}

// sameDecode decodes data with both decoders, after a non-empty dst prefix, and requires the
// same points bit for bit, the same error text and the same returned slice length.
func sameDecode(t testing.TB, data []byte) {
	t.Helper()
	prefix := []Point{{T: 7, V: 7, S: 7}}
	want, werr := referenceDecode(append([]Point(nil), prefix...), data)
	got, gerr := DecodeBlock(append([]Point(nil), prefix...), data)
	if fmt.Sprint(werr) != fmt.Sprint(gerr) {
		t.Fatalf("data %x: error %v, reference %v", data, gerr, werr)
	}
	samePoints(t, got, want)
}

// diffSignals generates blocks that exercise every code of both value modes and of the
// timestamps: realistic sensors, noise, NaN payloads, ±Inf, decimal edge cases, single
// samples, large and negative timestamp steps, status runs.
func diffSignals(r *rand.Rand) [][]Point {
	var out [][]Point
	gen := func(n int, ts func(i int) int64, val func(i int) float64, st func(i int) uint32) {
		pts := make([]Point, n)
		for i := range pts {
			pts[i] = Point{T: ts(i), V: val(i), S: st(i)}
		}
		out = append(out, pts)
	}
	regular := func(i int) int64 { return 1_700_000_000e9 + int64(i)*1e9 }
	jitter := func() func(int) int64 {
		t := r.Int64N(1 << 62)
		return func(int) int64 { t += 1e9 + r.Int64N(2e6) - 1e6; return t }
	}
	wild := func() func(int) int64 { // every timestamp code, backwards steps, wrap-around
		t := r.Int64()
		return func(int) int64 {
			switch r.IntN(6) {
			case 0:
				t += r.Int64N(1 << 15)
			case 1:
				t -= r.Int64N(1 << 25)
			case 2:
				t += r.Int64N(1 << 39)
			case 3:
				t = r.Int64() // dod beyond 40 bits, wrapping
			default:
				t += 1e9
			}
			return t
		}
	}
	good := func(int) uint32 { return 0 }
	runs := func(i int) uint32 { return uint32(i/37%3) << 30 }
	noisy := func(i int) uint32 { return uint32(r.IntN(2)) << 31 }
	specials := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(),
		math.Float64frombits(0x7ff0000000000001), math.Float64frombits(0xfff8dead00000000),
		math.Float64frombits(0x7ff4000000000abc), math.MaxFloat64, -math.MaxFloat64,
		math.SmallestNonzeroFloat64, 1, -1, 0.1}
	for _, n := range []int{1, 2, 3, 63, 64, 65, 300, 1000, 5000} {
		base, amp := 10+r.Float64()*500, 1+r.Float64()*50
		sensor := func(i int) float64 {
			return math.Round((base+amp*math.Sin(float64(i)/600)+r.NormFloat64()*0.05)*100) / 100
		}
		for _, ts := range []func(int) int64{regular, jitter(), wild()} {
			gen(n, ts, sensor, good)
			gen(n, ts, func(i int) float64 { return base + amp*math.Sin(float64(i)/600) + r.NormFloat64() }, runs)
			gen(n, ts, func(i int) float64 { return float64((i / 50) % 2) }, good)             // boolean
			gen(n, ts, func(i int) float64 { return float64(i / 7) }, runs)                    // counter
			gen(n, ts, func(i int) float64 { return specials[r.IntN(len(specials))] }, noisy)  // specials
			gen(n, ts, func(i int) float64 { return math.Float64frombits(r.Uint64()) }, noisy) // 64-bit windows
			gen(n, ts, func(i int) float64 { return math.Float64frombits(r.Uint64() >> (r.IntN(64))) }, good)
			gen(n, ts, func(i int) float64 { // decimal edges: every code up to 64-bit deltas, 2^53
				switch r.IntN(8) {
				case 0:
					return 1 << 53
				case 1:
					return -(1 << 53)
				case 2:
					return float64(r.Int64N(1<<53)) / 1e12
				case 3:
					return float64(r.Int64N(1 << 40))
				case 4:
					return -float64(r.Int64N(1 << 20))
				case 5:
					return math.Round(r.NormFloat64()*1e6) / 1000
				default:
					return float64(r.IntN(20)) / 100
				}
			}, runs)
			gen(n, ts, func(i int) float64 { // constant, then a step
				if i < n/2 {
					return 42.5
				}
				return -3
			}, good)
			gen(n, ts, func(i int) float64 { return float64(r.Int64N(3)) * 0.5 }, good)
		}
	}
	return out
}

func TestDecodeMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for round := 0; round < 3; round++ {
		for _, pts := range diffSignals(r) {
			enc := EncodeBlock(nil, pts)
			sameDecode(t, enc)
			got, err := DecodeBlock(nil, enc)
			if err != nil {
				t.Fatal(err)
			}
			samePoints(t, got, pts)
		}
	}
}

// TestDecodeCorruptMatchesReference: on truncated, bit-flipped and random data the fast
// decoder must fail (or not) exactly like the reference, with the same message.
func TestDecodeCorruptMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, pts := range diffSignals(r) {
		enc := EncodeBlock(nil, pts)
		for cut := max(0, len(enc)-12); cut < len(enc); cut++ {
			sameDecode(t, enc[:cut])
		}
		for k := 0; k < 20; k++ {
			b := append([]byte(nil), enc...)
			for f := 0; f <= r.IntN(3); f++ {
				i := r.IntN(len(b))
				b[i] ^= 1 << r.IntN(8)
			}
			sameDecode(t, b)
		}
	}
	for k := 0; k < 20000; k++ {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if len(b) > 0 {
			b[0] = blockFormat
		}
		if len(b) > 2 && r.IntN(2) == 0 {
			b[2] = 1 // one status run, so decoding gets to the bits more often
		}
		sameDecode(t, b)
	}
}

// FuzzDecodeMatchesReference: any input decodes identically with both decoders.
func FuzzDecodeMatchesReference(f *testing.F) {
	f.Add(EncodeBlock(nil, []Point{{T: 1, V: 1.5}, {T: 2, V: 2.5, S: 1 << 31}, {T: 3, V: math.NaN()}}))
	f.Add(EncodeBlock(nil, []Point{{T: 0, V: 0.01}, {T: 1e9, V: 0.02}, {T: 2e9, V: 0.05}}))
	f.Add([]byte{blockFormat, 3, 1, 0, 3, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) { sameDecode(t, data) })
}

// Decoding speed per value mode and timestamp path, fast decoder against the reference:
//
//	sensor: quantised sensor (decimal mode), regular 1 Hz timestamps
//	float:  unquantised noisy float (XOR mode), regular timestamps
//	jitter: quantised sensor with ±1 ms timestamp jitter (every timestamp a '10' code)
func BenchmarkDecodeModes(b *testing.B) {
	sig := newSignal(1)
	r := rand.New(rand.NewPCG(5, 6))
	mk := func(jit bool, float bool) []byte {
		pts := make([]Point, 300)
		for i := range pts {
			t := t0.Add(time.Duration(i) * time.Second).UnixNano()
			if jit {
				t += r.Int64N(2e6) - 1e6
			}
			v := sig.value(0, i)
			if float {
				v += r.Float64() * 1e-3
			}
			pts[i] = Point{T: t, V: v}
		}
		return EncodeBlock(nil, pts)
	}
	cases := []struct {
		name string
		enc  []byte
	}{{"sensor", mk(false, false)}, {"float", mk(false, true)}, {"jitter", mk(true, false)}}
	impls := []struct {
		name string
		fn   func([]Point, []byte) ([]Point, error)
	}{{"new", DecodeBlock}, {"ref", referenceDecode}}
	for _, c := range cases {
		for _, im := range impls {
			b.Run(c.name+"/"+im.name, func(b *testing.B) {
				var buf []Point
				for b.Loop() {
					var err error
					if buf, err = im.fn(buf[:0], c.enc); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*300), "ns/sample")
			})
		}
	}
}
