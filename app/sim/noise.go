package sim

import (
	"hash/fnv"
	"math"
)

// noiseSource draws seeded pseudo-random numbers that are pure functions of
// (seed, stream, index). There is no hidden generator state, so a value does
// not depend on how many draws other units made before it: adding a unit or
// chunking time differently cannot shift anybody else's noise.
type noiseSource struct{ seed uint64 }

// mix64 is the splitmix64 finaliser: a cheap bijective scrambler with good
// avalanche, enough for simulation noise (not for cryptography).
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// streamID names a stream of draws by a stable string ("Pit.SH01.payload"),
// so streams survive reordering of the code that uses them.
func streamID(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

func (n noiseSource) u64(stream, index uint64) uint64 {
	return mix64(n.seed ^ mix64(stream^mix64(index+0x632be59bd9b4e019)))
}

// uniform returns a number in [0, 1).
func (n noiseSource) uniform(stream, index uint64) float64 {
	return float64(n.u64(stream, index)>>11) / (1 << 53)
}

// gauss returns a standard normal number (Box-Muller).
func (n noiseSource) gauss(stream, index uint64) float64 {
	u1 := n.uniform(stream, 2*index)
	u2 := n.uniform(stream, 2*index+1)
	if u1 < 1e-300 {
		u1 = 1e-300
	}
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// between returns a number in [lo, hi).
func (n noiseSource) between(stream, index uint64, lo, hi float64) float64 {
	return lo + (hi-lo)*n.uniform(stream, index)
}

// smooth is value noise in [-1, 1] that wanders over roughly one period:
// random knots every period seconds, joined by cosine interpolation. It is a
// function of time only, which keeps slow disturbances (weather, ore
// hardness, rain) identical for identical simulated times.
func (n noiseSource) smooth(stream uint64, t, period float64) float64 {
	x := t / period
	k := math.Floor(x)
	f := x - k
	a := 2*n.uniform(stream, uint64(int64(k))) - 1
	b := 2*n.uniform(stream, uint64(int64(k)+1)) - 1
	w := (1 - math.Cos(math.Pi*f)) / 2
	return a + (b-a)*w
}
