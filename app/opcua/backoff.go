package opcua

import (
	"math/rand/v2"
	"time"
)

// backoff doubles the wait between reconnect attempts from min to max. Up to a fifth of each
// wait is random, so that many clients cut off by the same network fault do not all knock
// on the server in the same millisecond when it comes back.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	switch {
	case b.cur == 0:
		b.cur = b.min
	case b.cur < b.max:
		b.cur = min(2*b.cur, b.max)
	}
	jitter := time.Duration(rand.Int64N(int64(b.cur)/5 + 1))
	return b.cur - jitter
}

func (b *backoff) reset() { b.cur = 0 }
