package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"sync"
	"time"

	"minebrain/app/audit"
	"minebrain/app/engine"
	"minebrain/app/users"
)

// Session defaults (Options.SessionIdle, Options.SessionLifetime).
const (
	DefaultSessionIdle     = 30 * time.Minute
	DefaultSessionLifetime = 12 * time.Hour
)

const (
	// cookieName is the session cookie.
	cookieName = "mb_session"
	// userCheckEvery is how often a session's user is looked up again, so that a user who is
	// disabled or removed (from any face or the command line) is logged out within seconds.
	userCheckEvery = 5 * time.Second
	// sweepEvery is how often Serve ends sessions that expired or whose user went away,
	// also when nothing is sent.
	sweepEvery = time.Second
)

// Why a session ended, for the log.
const (
	endLogout   = "logout"
	endIdle     = "idle"
	endLifetime = "lifetime"
	endUser     = "user disabled or removed"
	endShutdown = "shutdown"
)

// session is one login of the web face. The store keys it by the SHA-256 of its ID: the ID
// itself (the cookie) is never kept, so neither a memory dump nor a timing difference in the
// lookup gives a usable cookie away.
type session struct {
	key     [sha256.Size]byte
	name    string
	role    users.Role
	csrf    string
	remote  string
	created time.Time
	seen    time.Time // the last activity: a request or a WebSocket message
	checked time.Time // the last look-up of the user
	ended   bool
	sockets map[*client]struct{}
}

// sessions is the in-memory session store. A restart logs everyone out.
type sessions struct {
	now        func() time.Time
	idle, life time.Duration

	mu   sync.Mutex
	byID map[[sha256.Size]byte]*session
}

func newSessions(now func() time.Time, idle, life time.Duration) *sessions {
	return &sessions{now: now, idle: idle, life: life, byID: map[[sha256.Size]byte]*session{}}
}

// randomToken returns 256 random bits, URL-safe base64.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for u and returns it with its ID, the cookie's value.
func (st *sessions) create(u users.User, remote string) (*session, string) {
	id := randomToken()
	now := st.now()
	s := &session{key: sha256.Sum256([]byte(id)), name: u.Name, role: u.Role, csrf: randomToken(),
		remote: remote, created: now, seen: now, checked: now, sockets: map[*client]struct{}{}}
	st.mu.Lock()
	st.byID[s.key] = s
	st.mu.Unlock()
	return s, id
}

// expiredLocked says why s has expired by now, or "".
func (st *sessions) expiredLocked(s *session, now time.Time) string {
	switch {
	case now.Sub(s.created) >= st.life:
		return endLifetime
	case now.Sub(s.seen) >= st.idle:
		return endIdle
	}
	return ""
}

// lookup returns the live session of a cookie value, or nil. With touch it counts as
// activity. An expired session found here ends (its sockets are closed).
func (st *sessions) lookup(id string, touch bool) *session {
	if id == "" {
		return nil
	}
	key := sha256.Sum256([]byte(id))
	st.mu.Lock()
	s := st.byID[key]
	if s == nil {
		st.mu.Unlock()
		return nil
	}
	now := st.now()
	if why := st.expiredLocked(s, now); why != "" {
		socks := st.endLocked(s)
		st.mu.Unlock()
		closeLoggedOut(socks)
		return nil
	}
	if touch {
		s.seen = now
	}
	st.mu.Unlock()
	return s
}

// touch records activity on s; false if s has ended or expired meanwhile.
func (st *sessions) touch(s *session) bool {
	st.mu.Lock()
	if s.ended {
		st.mu.Unlock()
		return false
	}
	now := st.now()
	if why := st.expiredLocked(s, now); why != "" {
		socks := st.endLocked(s)
		st.mu.Unlock()
		closeLoggedOut(socks)
		return false
	}
	s.seen = now
	st.mu.Unlock()
	return true
}

// csrfOK compares a presented CSRF token with the session's in constant time.
func (st *sessions) csrfOK(s *session, token string) bool {
	st.mu.Lock()
	want := s.csrf
	st.mu.Unlock()
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(want)) == 1
}

// user returns the session's user name and role.
func (st *sessions) user(s *session) (string, users.Role) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return s.name, s.role
}

// actor is the engine.Actor of s.
func (st *sessions) actor(s *session) engine.Actor {
	name, role := st.user(s)
	return engine.Actor{Name: name, Role: role, Face: audit.FaceWeb}
}

// addSocket ties a WebSocket to s, so that ending s closes it; false if s has ended.
func (st *sessions) addSocket(s *session, c *client) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s.ended {
		return false
	}
	s.sockets[c] = struct{}{}
	return true
}

func (st *sessions) removeSocket(s *session, c *client) {
	st.mu.Lock()
	delete(s.sockets, c)
	st.mu.Unlock()
}

// endLocked removes s and returns its sockets for the caller to close outside the lock.
func (st *sessions) endLocked(s *session) []*client {
	if s.ended {
		return nil
	}
	s.ended = true
	delete(st.byID, s.key)
	socks := make([]*client, 0, len(s.sockets))
	for c := range s.sockets {
		socks = append(socks, c)
	}
	s.sockets = nil
	return socks
}

// end ends s and closes its WebSockets with close code 4401. It reports whether s was live.
func (st *sessions) end(s *session) bool {
	st.mu.Lock()
	was := !s.ended
	socks := st.endLocked(s)
	st.mu.Unlock()
	closeLoggedOut(socks)
	return was
}

// endAll ends every session (shutdown).
func (st *sessions) endAll() {
	st.mu.Lock()
	var socks []*client
	for _, s := range st.byID {
		socks = append(socks, st.endLocked(s)...)
	}
	st.mu.Unlock()
	closeLoggedOut(socks)
}

// expire ends every session that has expired by now and returns them with why.
func (st *sessions) expire() map[*session]string {
	st.mu.Lock()
	now := st.now()
	ended := map[*session]string{}
	var socks []*client
	for _, s := range st.byID {
		if why := st.expiredLocked(s, now); why != "" {
			ended[s] = why
			socks = append(socks, st.endLocked(s)...)
		}
	}
	st.mu.Unlock()
	closeLoggedOut(socks)
	return ended
}

// due returns the live sessions whose user should be looked up again: all of them with
// force, else those not checked for userCheckEvery. If name is not "", only its sessions.
func (st *sessions) due(name string, force bool) []*session {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := st.now()
	var out []*session
	for _, s := range st.byID {
		if name != "" && !equalFoldASCII(s.name, name) {
			continue
		}
		if force || now.Sub(s.checked) >= userCheckEvery {
			out = append(out, s)
		}
	}
	return out
}

// checkDue reports whether s's user should be looked up again.
func (st *sessions) checkDue(s *session) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return !s.ended && st.now().Sub(s.checked) >= userCheckEvery
}

// checked records the result of a look-up of s's user: a user that still may log in keeps
// the session, with its role as it is now (a changed role applies at once); otherwise the
// session ends. It reports whether s is still live.
func (st *sessions) checked(s *session, u users.User, err error) bool {
	gone := errors.Is(err, users.ErrNotFound) || errors.Is(err, users.ErrDisabled) || (err == nil && (u.Disabled || !u.Role.Valid()))
	if gone {
		st.end(s)
		return false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err == nil {
		s.checked = st.now()
		s.role = u.Role
	}
	// Another error (the database is busy) keeps the session and retries next time.
	return !s.ended
}

// equalFoldASCII compares user names as the users table does (COLLATE NOCASE: ASCII only).
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
