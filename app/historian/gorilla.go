package historian

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// Block codec: one tag's samples, Gorilla style, lossless.
//
// Layout (all varints are encoding/binary varints):
//
//	byte     format (1)
//	uvarint  count (>= 1)
//	uvarint  number of status runs, then per run: uvarint status, uvarint length
//	varint   t0, the first timestamp in Unix ns
//	byte     value mode: 0 = XOR floats, 1+d = decimal with d fraction digits (d <= maxDecimals)
//	         XOR:     8 bytes, the first value's IEEE-754 bits, little endian
//	         decimal: varint k0, the first value times 10^d
//	bits     count-1 timestamp codes (delta-of-delta), then count-1 value codes
//
// Timestamp codes (dod = delta - previous delta, ns, two's complement wrap-around):
// '0' dod 0; '10'+16 bits; '110'+26 bits; '1110'+40 bits; '1111'+64 bits.
//
// XOR value codes (Gorilla): '0' same bits as previous; '10' + meaningful bits within the
// previous leading/trailing window; '11' + 6 bits leading zeros + 6 bits (length-1) + bits.
//
// Decimal mode is chosen when every value v of the block equals float64(k)/10^d exactly (bit
// for bit) for an integer |k| <= 2^53 — sensors quantised to 0.01, counters, booleans. The
// integers are delta-coded: zigzag(delta) as '0' (zero), '10'+4, '110'+7, '1110'+12,
// '11110'+20, '111110'+32, '111111'+64 bits. A slow analog signal with a little noise costs
// about one byte per sample this way, where XOR'd floats of decimal fractions cost six or seven.
//
// Status codes are run-length coded: quality changes are rare.

const (
	blockFormat   = 1
	maxDecimals   = 12
	maxDecodeSize = 1 << 22 // samples; a guard against absurd counts in corrupt data
)

var pow10 = func() [maxDecimals + 1]float64 {
	var p [maxDecimals + 1]float64
	p[0] = 1
	for i := 1; i <= maxDecimals; i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// ErrCorruptBlock is returned (wrapped) when block bytes cannot be decoded.
var ErrCorruptBlock = errors.New("historian: corrupt block")

// EncodeBlock appends the encoding of pts (at least one point) to dst and returns it.
func EncodeBlock(dst []byte, pts []Point) []byte {
	if len(pts) == 0 {
		panic("historian: EncodeBlock of no points")
	}
	dst = append(dst, blockFormat)
	dst = binary.AppendUvarint(dst, uint64(len(pts)))
	// Status runs.
	nruns := 1
	for i := 1; i < len(pts); i++ {
		if pts[i].S != pts[i-1].S {
			nruns++
		}
	}
	dst = binary.AppendUvarint(dst, uint64(nruns))
	runStart := 0
	for i := 1; i <= len(pts); i++ {
		if i == len(pts) || pts[i].S != pts[runStart].S {
			dst = binary.AppendUvarint(dst, uint64(pts[runStart].S))
			dst = binary.AppendUvarint(dst, uint64(i-runStart))
			runStart = i
		}
	}
	dst = binary.AppendVarint(dst, pts[0].T)

	d, decimal := decimalDigits(pts)
	if decimal {
		dst = append(dst, byte(1+d))
		dst = binary.AppendVarint(dst, int64(math.Round(pts[0].V*pow10[d])))
	} else {
		dst = append(dst, 0)
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(pts[0].V))
	}

	w := bitWriter{buf: dst}
	var prevDelta int64
	for i := 1; i < len(pts); i++ {
		delta := pts[i].T - pts[i-1].T
		dod := delta - prevDelta
		prevDelta = delta
		switch {
		case dod == 0:
			w.write(0, 1)
		case fitsSigned(dod, 16):
			w.write(0b10, 2)
			w.write(uint64(dod), 16)
		case fitsSigned(dod, 26):
			w.write(0b110, 3)
			w.write(uint64(dod), 26)
		case fitsSigned(dod, 40):
			w.write(0b1110, 4)
			w.write(uint64(dod), 40)
		default:
			w.write(0b1111, 4)
			w.write(uint64(dod), 64)
		}
	}
	if decimal {
		prev := int64(math.Round(pts[0].V * pow10[d]))
		for i := 1; i < len(pts); i++ {
			k := int64(math.Round(pts[i].V * pow10[d]))
			zz := zigzag(k - prev)
			prev = k
			switch {
			case zz == 0:
				w.write(0, 1)
			case zz < 1<<4:
				w.write(0b10, 2)
				w.write(zz, 4)
			case zz < 1<<7:
				w.write(0b110, 3)
				w.write(zz, 7)
			case zz < 1<<12:
				w.write(0b1110, 4)
				w.write(zz, 12)
			case zz < 1<<20:
				w.write(0b11110, 5)
				w.write(zz, 20)
			case zz < 1<<32:
				w.write(0b111110, 6)
				w.write(zz, 32)
			default:
				w.write(0b111111, 6)
				w.write(zz, 64)
			}
		}
	} else {
		prev := math.Float64bits(pts[0].V)
		prevLead, prevTrail := uint(65), uint(0) // no window yet
		for i := 1; i < len(pts); i++ {
			cur := math.Float64bits(pts[i].V)
			x := cur ^ prev
			prev = cur
			if x == 0 {
				w.write(0, 1)
				continue
			}
			lead := uint(bits.LeadingZeros64(x))
			trail := uint(bits.TrailingZeros64(x))
			if prevLead <= 64 && lead >= prevLead && trail >= prevTrail {
				w.write(0b10, 2)
				w.write(x>>prevTrail, 64-prevLead-prevTrail)
				continue
			}
			if lead > 63 {
				lead = 63
			}
			sig := 64 - lead - trail
			w.write(0b11, 2)
			w.write(uint64(lead), 6)
			w.write(uint64(sig-1), 6)
			w.write(x>>trail, sig)
			prevLead, prevTrail = lead, trail
		}
	}
	return w.finish()
}

// decimalDigits returns the smallest d for which every value is float64(k)/10^d exactly.
func decimalDigits(pts []Point) (int, bool) {
	d := 0
	for _, p := range pts {
		for !fitsDecimal(p.V, d) {
			d++
			if d > maxDecimals {
				return 0, false
			}
		}
	}
	// Verify at the final d (exactness at a smaller d almost always carries over; make sure).
	for _, p := range pts {
		if !fitsDecimal(p.V, d) {
			return 0, false
		}
	}
	return d, true
}

func fitsDecimal(v float64, d int) bool {
	s := v * pow10[d]
	if !(math.Abs(s) <= 1<<53) { // also rejects NaN and ±Inf
		return false
	}
	k := int64(math.Round(s))
	return math.Float64bits(float64(k)/pow10[d]) == math.Float64bits(v) // -0 fails: k is an integer
}

func fitsSigned(v int64, n uint) bool {
	lim := int64(1) << (n - 1)
	return v >= -lim && v < lim
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// signExtend interprets the low n bits of u as a two's complement number.
func signExtend(u uint64, n uint) int64 {
	shift := 64 - n
	return int64(u<<shift) >> shift
}

// BlockCount returns the number of samples in an encoded block without decoding it.
func BlockCount(data []byte) (int, error) {
	if len(data) < 1 || data[0] != blockFormat {
		return 0, fmt.Errorf("%w: unknown format", ErrCorruptBlock)
	}
	n, k := binary.Uvarint(data[1:])
	if k <= 0 || n == 0 || n > maxDecodeSize {
		return 0, fmt.Errorf("%w: bad count", ErrCorruptBlock)
	}
	return int(n), nil
}

// DecodeBlock decodes an encoded block, appending its points to dst. It never panics on
// arbitrary input; corrupt input returns an error wrapping ErrCorruptBlock.
//
// It is the hot path of long trends (a week at 1 Hz is 600,000 samples), hence the hand-tuned
// loops below: the bit window lives in locals, prefix codes are decoded by counting leading
// ones of the window, runs of '0' codes (regular timestamps, unchanged values) are expanded
// many samples at a time, and each value mode has its own loop.
func DecodeBlock(dst []Point, data []byte) ([]Point, error) {
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
	// Validate the runs now and apply them once the output exists (a second, cheap pass over
	// the varints), so no run list is allocated.
	runsAt := p
	var total uint64
	for i := uint64(0); i < nruns; i++ {
		s, ok1 := uv()
		n, ok2 := uv()
		if !ok1 || !ok2 || s > math.MaxUint32 || n == 0 || n > count-total {
			return bad("status run")
		}
		total += n
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

	// Grow without zeroing: every field of every new point is written below.
	start := len(dst)
	dst = slices.Grow(dst, int(count))[:start+int(count)]
	out := dst[start:]

	// Statuses, run by run (the varints were validated above).
	q := runsAt
	i := 0
	for range nruns {
		s, k1 := binary.Uvarint(data[q:])
		q += k1
		n, k2 := binary.Uvarint(data[q:])
		q += k2
		st := uint32(s)
		run := out[i : i+int(n)]
		for j := range run {
			run[j].S = st
		}
		i += int(n)
	}

	buf := data[p:]
	v, pos, n := decodeTimes(out, buf, t0)
	if 8*pos-int(n) > 8*len(buf) {
		return dst[:start], fmt.Errorf("%w: timestamps: %v", ErrCorruptBlock, errShortBlock)
	}
	var err error
	if mode == 0 {
		v, pos, n, err = decodeXOR(out, buf, v, pos, n, math.Float64bits(v0))
		if err != nil {
			return dst[:start], err
		}
	} else {
		v, pos, n = decodeDecimal(out, buf, v, pos, n, k0, pow10[mode-1])
	}
	if 8*pos-int(n) > 8*len(buf) {
		return dst[:start], fmt.Errorf("%w: values: %v", ErrCorruptBlock, errShortBlock)
	}
	return dst, nil
}

// Decode tables, indexed by the window's top bits: the code those bits begin with, packed in
// one word as field mask<<8 | bits to consume (prefix + field). Looking the code up instead of
// branching on it keeps noisy data (code lengths varying at random) free of branch
// mispredictions, and one word per entry keeps the per-sample chain short (one load).
// The all-ones index is the 64-bit escape, which the decoders handle outside the table.
func codeTable(top int, widths []uint) []uint64 {
	t := make([]uint64, 1<<top)
	for idx := range t {
		o := min(bits.LeadingZeros64(^(uint64(idx) << (64 - top))), top)
		if o == top {
			continue // escape
		}
		w := widths[o]
		t[idx] = (1<<w-1)<<8 | uint64(o+1) + uint64(w)
	}
	return t
}

var (
	// Timestamps: '0' dod 0; '10'+16 bits; '110'+26; '1110'+40; '1111'+64 (escape).
	tsCodes = [16]uint64(codeTable(4, []uint{0, 16, 26, 40}))
	// Decimal: '0' zero; '10'+4; '110'+7; '1110'+12; '11110'+20; '111110'+32; '111111'+64.
	decCodes = [64]uint64(codeTable(6, []uint{0, 4, 7, 12, 20, 32}))
)

// minRun is the shortest run of '0' codes worth expanding in a batch; shorter ones go through
// the table like any code, so noisy data does not mispredict a run test.
const minRun = 8

// decodeTimes sets out[i].T from t0 and the delta-of-delta codes at the start of buf and
// returns the bit window after them. Same structure as decodeDecimal.
func decodeTimes(out []Point, buf []byte, t0 int64) (v uint64, pos int, n uint) {
	if len(out) == 0 {
		return
	}
	out[0].T = t0
	t, delta := t0, int64(0)
	o := out[1:]
	for len(o) > 0 {
		rest := buf[min(pos, len(buf)):]
		for len(o) > 0 && len(rest) >= 8 {
			if n < 44 { // the longest code but for the escape
				v |= binary.BigEndian.Uint64(rest) >> n
				rest = rest[(63-n)>>3:]
				n |= 56
			}
			if v>>(64-minRun) == 0 {
				// A run of '0' codes (dod 0: a regular sample rate), all in one go.
				z := min(uint(bits.LeadingZeros64(v)), n, uint(len(o)))
				for j := range o[:z] {
					t += delta
					o[j].T = t
				}
				o = o[z:]
				v <<= z
				n -= z
				continue
			}
			if v>>60 == 0b1111 {
				break
			}
			// Prefix and field (at most 44 bits) are in the window. (x^sign)-sign extends the
			// field's sign; the '0' code has mask and sign 0.
			c := tsCodes[v>>60]
			k, mask := uint(c&0xff), c>>8
			sign := mask &^ (mask >> 1) // the field's top bit
			x := v >> (-k & 63) & mask  // -k&63 == 64-k, for 1 <= k <= 44
			v <<= k & 63
			n -= k
			delta += int64((x ^ sign) - sign)
			t += delta
			o[0].T = t
			o = o[1:]
		}
		if pos < len(buf) {
			pos = len(buf) - len(rest)
		}
		if len(o) == 0 {
			break
		}
		var dod int64
		dod, v, pos, n = timeCode(buf, v, pos, n)
		delta += dod
		t += delta
		o[0].T = t
		o = o[1:]
	}
	return
}

// timeCode reads one timestamp code the slow way (near the end of buf, or the escape).
//
//go:noinline
func timeCode(buf []byte, v uint64, pos int, n uint) (int64, uint64, int, uint) {
	v, pos, n = refill(buf, pos, v, n)
	if v>>60 == 0b1111 {
		x, v, pos, n := readBits(buf, pos, v<<4, n-4, 64)
		return int64(x), v, pos, n
	}
	c := tsCodes[v>>60]
	k, mask := uint(c&0xff), c>>8
	sign := mask &^ (mask >> 1)
	x := v >> (-k & 63) & mask
	return int64((x ^ sign) - sign), v << (k & 63), pos, n - k
}

// decodeDecimal sets out[i].V = k_i / scale from k0 and the zigzag delta codes.
func decodeDecimal(out []Point, buf []byte, v uint64, pos int, n uint, k0 int64, scale float64) (uint64, int, uint) {
	if len(out) == 0 {
		return v, pos, n
	}
	kv := k0
	f := float64(kv) / scale // division, not a reciprocal multiply: bit-exact with the encoder
	out[0].V = f
	o := out[1:] // the points still to decode
	for len(o) > 0 {
		// The inner loop makes no calls and advances slices rather than indexes, so its state
		// fits in registers; the last bytes of buf and the 64-bit escape go through the slow
		// step below.
		rest := buf[min(pos, len(buf)):]
		for len(o) > 0 && len(rest) >= 8 {
			// Refill only when a code (at most 38 bits but for the escape) might not fit:
			// each refill adds a load to the chain of dependent instructions.
			if n < 38 {
				v |= binary.BigEndian.Uint64(rest) >> n
				rest = rest[(63-n)>>3:]
				n |= 56
			}
			if v>>(64-minRun) == 0 {
				// A run of '0' codes (value unchanged).
				z := min(uint(bits.LeadingZeros64(v)), n, uint(len(o)))
				for j := range o[:z] {
					o[j].V = f
				}
				o = o[z:]
				v <<= z
				n -= z
				continue
			}
			if v>>58 == 0b111111 {
				break
			}
			c := decCodes[v>>58] // prefix and field, at most 38 bits: in the window
			k := uint(c & 0xff)
			zz := v >> (-k & 63) & (c >> 8) // -k&63 == 64-k, for 1 <= k <= 38
			v <<= k & 63
			n -= k
			kv += unzigzag(zz)
			f = float64(kv) / scale
			o[0].V = f
			o = o[1:]
		}
		if pos < len(buf) {
			pos = len(buf) - len(rest)
		}
		if len(o) == 0 {
			break
		}
		var zz uint64
		zz, v, pos, n = decimalCode(buf, v, pos, n)
		kv += unzigzag(zz)
		f = float64(kv) / scale
		o[0].V = f
		o = o[1:]
	}
	return v, pos, n
}

// decimalCode reads one decimal code the slow way (near the end of buf, or the escape).
//
//go:noinline
func decimalCode(buf []byte, v uint64, pos int, n uint) (uint64, uint64, int, uint) {
	v, pos, n = refill(buf, pos, v, n)
	if v>>58 == 0b111111 {
		v <<= 6
		n -= 6
		return readBits(buf, pos, v, n, 64)
	}
	c := decCodes[v>>58]
	k := uint(c & 0xff)
	zz := v >> (-k & 63) & (c >> 8)
	return zz, v << (k & 63), pos, n - k
}

// decodeXOR sets out[i].V from the first value's bits and the Gorilla XOR codes.
func decodeXOR(out []Point, buf []byte, v uint64, pos int, n uint, prev uint64) (uint64, int, uint, error) {
	if len(out) == 0 {
		return v, pos, n, nil
	}
	out[0].V = math.Float64frombits(prev)
	var lead, trail uint
	window := false
	for i := 1; i < len(out); {
		// refill, by hand: with its bounds check it is too big for the inliner.
		if pos+8 <= len(buf) {
			v |= binary.BigEndian.Uint64(buf[pos:]) >> n
			pos += int((63 - n) >> 3)
			n |= 56
		} else {
			v, pos, n = refillTail(buf, pos, v, n)
		}
		if v>>63 == 0 {
			// A run of '0' codes (same bits as before).
			z := min(uint(bits.LeadingZeros64(v)), n, uint(len(out)-i))
			f := math.Float64frombits(prev)
			run := out[i : i+int(z)]
			for j := range run {
				run[j].V = f
			}
			i += int(z)
			v <<= z
			n -= z
			continue
		}
		if v>>62 == 0b10 {
			// '10': meaningful bits within the previous window.
			if !window {
				return v, pos, n, xorError(buf, pos, n, "value window before any")
			}
			w := 64 - lead - trail
			if w <= 54 { // 2 + w bits: in the window (n >= 56 after refill)
				prev ^= v << 2 >> (64 - w) << trail
				v <<= 2 + w
				n -= 2 + w
			} else {
				v <<= 2
				n -= 2
				var x uint64
				x, v, pos, n = readBits(buf, pos, v, n, w)
				prev ^= x << trail
			}
		} else {
			// '11' + 6 bits leading zeros + 6 bits (length-1) + the bits: a new window.
			lead = uint(v >> 56 & 63)
			sig := uint(v>>50&63) + 1
			v <<= 14
			n -= 14
			if lead+sig > 64 {
				return v, pos, n, xorError(buf, pos, n+14, "value bit count")
			}
			trail = 64 - lead - sig
			window = true
			var x uint64
			if sig <= n {
				x = v >> (64 - sig)
				v <<= sig
				n -= sig
			} else {
				x, v, pos, n = readBits(buf, pos, v, n, sig)
			}
			prev ^= x << trail
		}
		out[i].V = math.Float64frombits(prev)
		i++
	}
	return v, pos, n, nil
}

// xorError is the error for a bad XOR code; n0 is the window's valid count where the sample
// began. Like the old decoder it reports truncation instead if the previous samples had
// already run past the end (their zeros led here).
func xorError(buf []byte, pos int, n0 uint, what string) error {
	if 8*pos-int(n0) > 8*len(buf) {
		return fmt.Errorf("%w: values: %v", ErrCorruptBlock, errShortBlock)
	}
	return fmt.Errorf("%w: %s", ErrCorruptBlock, what)
}
