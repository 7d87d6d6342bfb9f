package historian

import (
	"encoding/binary"
	"errors"
)

// bitWriter appends bits, most significant first, to a byte slice.
type bitWriter struct {
	buf  []byte
	acc  uint64 // pending bits, right-aligned
	nacc uint   // number of pending bits (< 8 between calls)
}

// write appends the low n bits of v (n <= 64).
func (w *bitWriter) write(v uint64, n uint) {
	for n > 0 {
		take := n
		if take > 56 {
			take = 56
		}
		n -= take
		chunk := (v >> n)
		if take < 64 {
			chunk &= (1 << take) - 1
		}
		w.acc = w.acc<<take | chunk
		w.nacc += take
		for w.nacc >= 8 {
			w.nacc -= 8
			w.buf = append(w.buf, byte(w.acc>>w.nacc))
		}
		w.acc &= (1 << w.nacc) - 1
	}
}

// finish flushes the last partial byte (padded with zeros) and returns the buffer.
func (w *bitWriter) finish() []byte {
	if w.nacc > 0 {
		w.buf = append(w.buf, byte(w.acc<<(8-w.nacc)))
		w.acc, w.nacc = 0, 0
	}
	return w.buf
}

var errShortBlock = errors.New("historian: block truncated")

// The decoder reads bits with a 64-bit window kept in locals (v, n, pos) rather than in a
// struct, so that the hot loops keep it in registers:
//
//	v    the next bits of the stream, left-aligned; the top n are valid
//	n    valid bits in v; refill keeps n <= 63 and leaves 56..63
//	pos  the next byte of buf to load: 8*pos == bits consumed + n
//
// Past the end of buf the stream reads as zeros, as the old reader did; the decoder detects
// overrun afterwards from the consumed count (8*pos - n > 8*len(buf)).

// refill tops v up to 56..63 valid bits with one big-endian load (branchless refill after
// F. Giesen, "Reading bits in far too many ways"). The bits below the valid n are also the
// true next stream bits (or zeros past the end), so ORing a later load over them is harmless.
// Small enough to be inlined into the decode loops; the last 7 bytes go through refillTail.
func refill(buf []byte, pos int, v uint64, n uint) (uint64, int, uint) {
	if pos+8 > len(buf) {
		return refillTail(buf, pos, v, n)
	}
	v |= binary.BigEndian.Uint64(buf[pos:]) >> n
	return v, pos + int((63-n)>>3), n | 56 // n|56 == n + 8*(whole bytes that fitted), n < 64
}

// refillTail is refill near and past the end of buf, where the stream reads as zeros.
//
//go:noinline
func refillTail(buf []byte, pos int, v uint64, n uint) (uint64, int, uint) {
	var w uint64
	for i := 0; i < 8; i++ {
		w <<= 8
		if j := pos + i; j >= 0 && j < len(buf) {
			w |= uint64(buf[j])
		}
	}
	v |= w >> n
	return v, pos + int((63-n)>>3), n | 56
}

// readBits returns the next k bits (1 <= k <= 64) whatever n is; the slow path for fields
// that may not fit in one refill (64-bit escapes, wide XOR values).
func readBits(buf []byte, pos int, v uint64, n uint, k uint) (uint64, uint64, int, uint) {
	var x uint64
	if k > 32 {
		v, pos, n = refill(buf, pos, v, n)
		hi := k - 32
		x = v >> (64 - hi)
		v <<= hi
		n -= hi
		k = 32
	}
	v, pos, n = refill(buf, pos, v, n)
	x = x<<k | v>>(64-k)
	v <<= k
	n -= k
	return x, v, pos, n
}
