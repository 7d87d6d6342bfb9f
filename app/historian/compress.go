package historian

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// CompressionKind selects how a tag's good samples are thinned before they are stored.
type CompressionKind uint8

const (
	// Lossless stores every sample (the default).
	Lossless CompressionKind = iota
	// Deadband (exception deviation) drops a good sample that lies within the deviation of
	// the tag's last stored value: the data then reads as steps, each stored value holding
	// (within the deviation) until the next stored sample.
	Deadband
	// SwingingDoor drops a good sample when the straight line between the stored samples
	// around it passes within the deviation of it: the data then reads as lines.
	SwingingDoor
)

func (k CompressionKind) String() string {
	switch k {
	case Lossless:
		return "lossless"
	case Deadband:
		return "deadband"
	case SwingingDoor:
		return "swingingdoor"
	}
	return fmt.Sprintf("CompressionKind(%d)", uint8(k))
}

// Compression is a tag's compression setting. The deviation is Deviation in engineering
// units, or, when DeviationPct is set, DeviationPct percent of Span (e.g. the instrument's
// range); setting both is an error.
type Compression struct {
	Kind         CompressionKind
	Deviation    float64
	DeviationPct float64
	Span         float64
	// MaxInterval, when positive, bounds the time between stored samples: the sample before
	// the first one more than MaxInterval after the last stored sample is stored, so a flat
	// signal still gets a sample at least every MaxInterval (unless the data itself has a gap).
	MaxInterval time.Duration
}

var errBadCompression = errors.New("historian: invalid compression setting")

func (c Compression) validate() error {
	switch {
	case c.Kind > SwingingDoor:
		return errBadCompression
	case !(c.Deviation >= 0) || math.IsInf(c.Deviation, 0), !(c.DeviationPct >= 0), !(c.Span >= 0),
		math.IsInf(c.Span, 0), c.MaxInterval < 0:
		return errBadCompression
	case c.DeviationPct > 0 && (c.Deviation > 0 || c.Span == 0):
		return errBadCompression
	}
	return nil
}

// deviation is the absolute deviation in engineering units.
func (c Compression) deviation() float64 {
	if c.DeviationPct > 0 {
		return c.DeviationPct / 100 * c.Span
	}
	return c.Deviation
}

// compressor decides, per tag, which samples are stored. The newest sample (the snapshot) is
// always held, queryable and written at every commit; whether it is kept for good is decided
// only when the next sample arrives, because that is when both algorithms can tell whether it
// was redundant. So the newest value is never lost, and a clean Close stores it.
type compressor struct {
	c        Compression
	dev      float64
	arch     Point // the last stored sample: the reference for both algorithms
	hasArch  bool
	snap     Point // the newest sample, not yet decided
	hasSnap  bool
	lo, hi   float64 // swinging door: the slopes from arch that pass within dev of every dropped sample
	maxIntNs int64
}

// newCompressor starts from last, the tag's newest stored sample, if any.
func newCompressor(c Compression, last Point, hasLast bool) *compressor {
	if c.Kind == Lossless {
		return nil
	}
	z := &compressor{c: c, dev: c.deviation(), arch: last, hasArch: hasLast, maxIntNs: int64(c.MaxInterval)}
	z.resetDoors()
	return z
}

func (z *compressor) resetDoors() { z.lo, z.hi = math.Inf(-1), math.Inf(1) }

// compressible: only good, finite values are ever dropped. Bad and Uncertain samples, NaN and
// ±Inf are stored as they come.
func compressible(p Point) bool { return IsGood(p.S) && !math.IsNaN(p.V) && !math.IsInf(p.V, 0) }

// offer takes the next sample n (newer than the snapshot) and reports whether the previous
// snapshot is dropped. n becomes the snapshot.
func (z *compressor) offer(n Point) (dropPrev bool) {
	if !z.hasSnap {
		z.snap, z.hasSnap = n, true
		return false
	}
	s := z.snap
	z.snap = n
	if z.keep(s, n) {
		z.arch, z.hasArch = s, true
		z.resetDoors()
		return false
	}
	return true
}

// keep decides whether snapshot s stays stored now that n follows it.
func (z *compressor) keep(s, n Point) bool {
	a := z.arch
	switch {
	case !z.hasArch, !compressible(s), !compressible(a), s.S != a.S:
		return true // the first sample; never drop non-good data; s is a changed status
	case !compressible(n), n.S != s.S:
		return true // the sample before a status change ends the line at the right place
	case z.maxIntNs > 0 && n.T-a.T > z.maxIntNs:
		return true
	}
	if z.c.Kind == Deadband {
		return !(math.Abs(s.V-a.V) <= z.dev)
	}
	// Swinging door. lo and hi are the door slopes: every line from arch with a slope in
	// [lo, hi] passes within dev of every dropped sample. Adding s narrows them; s may be
	// dropped only if the line from arch to n has a slope inside them, so that the line
	// actually stored (arch to the next stored sample) stays within dev of everything dropped.
	// (The textbook test, "doors still open", allows up to twice the deviation.)
	dt := float64(s.T - a.T)
	lo := max(z.lo, (s.V-z.dev-a.V)/dt)
	hi := min(z.hi, (s.V+z.dev-a.V)/dt)
	m := (n.V - a.V) / float64(n.T-a.T)
	if !(lo <= m && m <= hi) {
		return true
	}
	z.lo, z.hi = lo, hi
	return false
}

// compressPoints is what a Store keeps of pts (one tag, increasing times) under c, the last
// sample included as on Close. For tests and the benchmark.
func compressPoints(c Compression, pts []Point) []Point {
	z := newCompressor(c, Point{}, false)
	if z == nil {
		return append([]Point(nil), pts...)
	}
	var out []Point
	for _, p := range pts {
		if z.offer(p) {
			out = out[:len(out)-1]
		}
		out = append(out, p)
	}
	return out
}
