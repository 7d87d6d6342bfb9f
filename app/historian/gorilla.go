package historian

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
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
	r := bitReader{buf: data[p:]}
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
