package historian

import (
	"encoding/binary"
	"errors"
	"math/bits"
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

// bitReader reads bits written by bitWriter.
type bitReader struct {
	buf []byte
	pos int    // next byte to load
	v   uint64 // loaded bits, left-aligned
	n   uint   // loaded bits in v, including pad
	pad uint   // zero bits loaded past the end of buf (the last pad bits of the n)
}

func (r *bitReader) refill() {
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
func (r *bitReader) read(n uint) uint64 {
	if r.n < n {
		r.refill()
	}
	x := r.v >> (64 - n) // n == 0 gives 0: Go shifts of 64 yield 0
	r.v <<= n
	r.n -= n
	return x
}

// readAny returns the next n bits, n <= 64.
func (r *bitReader) readAny(n uint) uint64 {
	if n > 56 {
		hi := r.read(n - 32)
		return hi<<32 | r.read(32)
	}
	return r.read(n)
}

// read64 returns the next 64 bits.
func (r *bitReader) read64() uint64 {
	hi := r.read(32)
	return hi<<32 | r.read(32)
}

// overrun reports whether more bits were read than the buffer holds.
func (r *bitReader) overrun() bool { return r.n < r.pad }

func (r *bitReader) bit() bool { return r.read(1) == 1 }

// ensure loads bits so that at least 57 are available to take and ones.
func (r *bitReader) ensure() {
	if r.n < 57 {
		r.refill()
	}
}

// take returns the next n bits (1 <= n <= 56) after ensure made them available.
func (r *bitReader) take(n uint) uint64 {
	x := r.v >> (64 - n)
	r.v <<= n
	r.n -= n
	return x
}

// ones is unary without refilling, after ensure.
func (r *bitReader) ones(max uint) uint {
	o := min(uint(bits.LeadingZeros64(^r.v)), max)
	adv := o + 1
	if o == max {
		adv = max
	}
	r.v <<= adv
	r.n -= adv
	return o
}
