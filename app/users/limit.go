package users

import (
	"sync"
	"time"
)

// limiter counts failed logins per key (a user name or a source) and locks a key out after
// too many. The lockout doubles with each further failure, up to a cap, and the count is
// forgotten once Window passes with no failure and no lockout. It lives in memory: a restart
// clears it, which needs access to the workstation anyway.
type limiter struct {
	mu     sync.Mutex
	now    func() time.Time
	max    int           // failures before the first lockout
	window time.Duration // quiet time after which the count is forgotten
	base   time.Duration // the first lockout
	cap    time.Duration // the longest lockout
	keys   map[string]*tally
}

type tally struct {
	count int
	last  time.Time // the last failure
	until time.Time // locked until then
}

// quiet reports whether t has been forgotten by now.
func (l *limiter) quiet(t *tally, now time.Time) bool {
	end := t.last
	if t.until.After(end) {
		end = t.until
	}
	return now.Sub(end) > l.window
}

// lockedUntil returns when key's lockout ends, or the zero time if it is not locked.
func (l *limiter) lockedUntil(key string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.keys[key]
	if t == nil || !l.now().Before(t.until) {
		return time.Time{}
	}
	return t.until
}

// fail records a failure for key.
func (l *limiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.prune(now)
	t := l.keys[key]
	if t == nil || l.quiet(t, now) {
		t = &tally{}
		l.keys[key] = t
	}
	t.count++
	t.last = now
	if over := t.count - l.max; over >= 0 {
		d := l.base
		for i := 0; i < over && d < l.cap; i++ {
			d *= 2
		}
		t.until = now.Add(min(d, l.cap))
	}
}

// clear forgets key (after a successful login).
func (l *limiter) clear(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, key)
}

// prune drops forgotten tallies so that guessing many names cannot grow memory for ever.
func (l *limiter) prune(now time.Time) {
	if len(l.keys) < 1024 {
		return
	}
	for k, t := range l.keys {
		if l.quiet(t, now) {
			delete(l.keys, k)
		}
	}
}
