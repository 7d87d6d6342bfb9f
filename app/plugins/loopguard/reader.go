package loopguard

import (
	"errors"
	"fmt"
)

// reader decodes the binary format. The first error sticks: later reads return zero
// values, so a parse reads straight through and checks err once.
type reader struct {
	b   []byte
	off int
	err error
}

var errShort = errors.New("unexpected end")

func (r *reader) done() bool { return r.off >= len(r.b) }

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = fmt.Errorf("%w at offset %d", err, r.off)
	}
}

func (r *reader) byte() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.fail(errShort)
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b)-r.off {
		r.fail(errShort)
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) rest() []byte {
	if r.err != nil {
		return nil
	}
	return r.b[r.off:]
}

// u32 reads an unsigned LEB128 of at most 5 bytes.
func (r *reader) u32() uint32 {
	var v uint32
	for i := 0; i < 5; i++ {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if i == 4 && c > 0x0f {
				r.fail(errors.New("u32 out of range"))
			}
			return v
		}
	}
	r.fail(errors.New("u32 longer than 5 bytes"))
	return 0
}

// sleb skips a signed LEB128 of at most bits bits.
func (r *reader) sleb(bits int) {
	for i := 0; i < (bits+6)/7; i++ {
		if c := r.byte(); r.err != nil || c&0x80 == 0 {
			return
		}
	}
	r.fail(fmt.Errorf("s%d longer than %d bytes", bits, (bits+6)/7))
}

func (r *reader) name() string {
	n := r.u32()
	return string(r.bytes(int(n)))
}

// limits: a flags byte, the minimum and, when flagged, the maximum.
func (r *reader) limits() {
	flags := r.byte()
	r.u32()
	if flags&1 != 0 {
		r.u32()
	}
}

// blockType: empty (0x40), one value type, or a type index (s33).
func (r *reader) blockType() {
	if r.off < len(r.b) {
		switch r.b[r.off] {
		case 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
			r.off++
			return
		}
	}
	r.sleb(33)
}

// memarg: alignment (bit 6 flags a memory index), memory index, offset.
func (r *reader) memarg() {
	if align := r.u32(); align&0x40 != 0 {
		r.u32()
	}
	r.u32()
}

// miscImmediates: the 0xfc prefix (saturating truncations, bulk memory, tables).
func (r *reader) miscImmediates(at int) {
	switch op := r.u32(); {
	case op <= 7: // trunc_sat
	case op == 8, op == 10, op == 12, op == 14: // memory.init, memory.copy, table.init, table.copy
		r.u32()
		r.u32()
	case op <= 17: // data.drop, memory.fill, elem.drop, table.grow, table.size, table.fill
		r.u32()
	default:
		r.unknown(0xfc, op, at)
	}
}

// vectorImmediates: the 0xfd prefix (SIMD, relaxed SIMD).
func (r *reader) vectorImmediates(at int) {
	switch op := r.u32(); {
	case op <= 11, op == 92, op == 93: // loads and stores
		r.memarg()
	case op == 12, op == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case op >= 21 && op <= 34: // extract and replace lane
		r.byte()
	case op >= 84 && op <= 91: // load and store lane
		r.memarg()
		r.byte()
	case op <= 0x113: // no immediates
	default:
		r.unknown(0xfd, op, at)
	}
}

// atomicImmediates: the 0xfe prefix (threads).
func (r *reader) atomicImmediates(at int) {
	switch op := r.u32(); {
	case op == 3: // atomic.fence
		r.byte()
	case op <= 2, op >= 0x10 && op <= 0x4e:
		r.memarg()
	default:
		r.unknown(0xfe, op, at)
	}
}

func (r *reader) unknown(prefix byte, op uint32, at int) {
	if r.err == nil {
		r.err = fmt.Errorf("instruction 0x%02x %d at offset %d is not one Minebrain can run", prefix, op, at)
	}
}

// appendU32 appends v as an unsigned LEB128.
func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendName(b []byte, s string) []byte {
	return append(appendU32(b, uint32(len(s))), s...)
}
