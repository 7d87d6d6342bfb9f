package historian

import (
	"encoding/binary"
	"fmt"
	"math"
)

// blockMeta is a sealed block's precomputed summary, stored beside its data so that long
// trends read a block's min/max/average without decoding it.
//
// "Good" here means a Good status code and a value that is a number (not NaN). Time weighting
// holds each sample's value until the next sample of the tag (step interpolation); tw and
// goodNs cover only the holds inside the block (from its first to its last sample).
type blockMeta struct {
	start, end  int64 // first and last sample times, Unix ns
	count       int
	goodCount   int
	min, max    float64 // over good samples; NaN when there are none
	goodSum     float64 // sum of good values
	tw          float64 // sum of value * hold (ns) over good samples' holds inside the block
	goodNs      int64   // total hold (ns) of good samples inside the block
	first, last Point
}

// blockRec is a sealed block: its summary and its encoded samples.
type blockRec struct {
	meta blockMeta
	data []byte
}

func summarize(pts []Point) blockMeta {
	m := blockMeta{
		start: pts[0].T, end: pts[len(pts)-1].T, count: len(pts),
		min: math.NaN(), max: math.NaN(),
		first: pts[0], last: pts[len(pts)-1],
	}
	for i, p := range pts {
		if !usable(p.V, p.S) {
			continue
		}
		m.goodCount++
		m.goodSum += p.V
		if !(p.V >= m.min) {
			m.min = p.V
		}
		if !(p.V <= m.max) {
			m.max = p.V
		}
		if i+1 < len(pts) {
			dt := pts[i+1].T - p.T
			m.goodNs += dt
			m.tw += p.V * float64(dt)
		}
	}
	return m
}

func sealBlock(pts []Point) *blockRec {
	return &blockRec{meta: summarize(pts), data: EncodeBlock(nil, pts)}
}

// Block statistics blob (blocks.stats), little endian: byte version (1); uint64 count,
// good_count; float64 min, max, good_sum, tw_sum; int64 good_ns; float64 first value;
// uint32 first status; float64 last value; uint32 last status. Floats are IEEE-754 bits, so
// NaN and -0 survive (the REAL columns min and max are copies for other tools).
const statsLen = 1 + 8*9 + 4*2

func (m *blockMeta) appendStats(dst []byte) []byte {
	le := binary.LittleEndian
	dst = append(dst, 1)
	dst = le.AppendUint64(dst, uint64(m.count))
	dst = le.AppendUint64(dst, uint64(m.goodCount))
	for _, f := range []float64{m.min, m.max, m.goodSum, m.tw} {
		dst = le.AppendUint64(dst, math.Float64bits(f))
	}
	dst = le.AppendUint64(dst, uint64(m.goodNs))
	dst = le.AppendUint64(dst, math.Float64bits(m.first.V))
	dst = le.AppendUint32(dst, m.first.S)
	dst = le.AppendUint64(dst, math.Float64bits(m.last.V))
	dst = le.AppendUint32(dst, m.last.S)
	return dst
}

// parseStats fills m from a stats blob; m.start and m.end must already be set.
func (m *blockMeta) parseStats(b []byte) error {
	if len(b) != statsLen || b[0] != 1 {
		return fmt.Errorf("%w: bad stats", ErrCorruptBlock)
	}
	le := binary.LittleEndian
	f := func(i int) float64 { return math.Float64frombits(le.Uint64(b[i:])) }
	m.count = int(le.Uint64(b[1:]))
	m.goodCount = int(le.Uint64(b[9:]))
	m.min, m.max, m.goodSum, m.tw = f(17), f(25), f(33), f(41)
	m.goodNs = int64(le.Uint64(b[49:]))
	m.first = Point{T: m.start, V: f(57), S: le.Uint32(b[65:])}
	m.last = Point{T: m.end, V: f(69), S: le.Uint32(b[77:])}
	return nil
}
