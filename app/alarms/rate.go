package alarms

import "time"

// rateRing keeps recent samples of a Rate alarm; fixed size so evaluation never allocates.
// When samples come faster than rateCap per window, the rate is taken over a shorter span.
const rateCap = 32

type rateRing struct {
	t     [rateCap]time.Time
	v     [rateCap]float64
	head  int // index of the oldest
	count int
}

// add stores the sample, forgets samples no longer needed, and returns the absolute rate
// per second from the oldest remaining sample.
func (r *rateRing) add(t time.Time, v float64, window time.Duration) (float64, bool) {
	if r.count == rateCap {
		r.head = (r.head + 1) % rateCap
		r.count--
	}
	i := (r.head + r.count) % rateCap
	r.t[i], r.v[i] = t, v
	r.count++
	// Keep one sample at or beyond the window's start, so that the rate spans at least the
	// window even when samples come slower than it.
	for r.count > 2 && t.Sub(r.t[(r.head+1)%rateCap]) >= window {
		r.head = (r.head + 1) % rateCap
		r.count--
	}
	dt := t.Sub(r.t[r.head]).Seconds()
	if r.count < 2 || dt <= 0 {
		return 0, false
	}
	rate := (v - r.v[r.head]) / dt
	if rate < 0 {
		rate = -rate
	}
	return rate, true
}
