package desktop

import (
	"context"
	"errors"
	"sync"
	"time"

	"minebrain/app/audit"
	"minebrain/app/engine"
	"minebrain/app/users"
)

// WallDisplay is the name of the viewer session of `minebrain desktop --auto-login-viewer`.
// It has no user row: it can only read, and nobody logs in as it.
const WallDisplay = "wall-display"

// userCheckEvery is how often the logged-in user is looked up again, so that disabling or
// removing them ends the window's session within seconds.
const userCheckEvery = 5 * time.Second

// ErrNotLoggedIn fails every call but Session, Login and SetupFirstAdmin before a login.
var ErrNotLoggedIn = errors.New("not logged in")

// SessionUser is the logged-in user as the page sees it.
type SessionUser struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// SessionInfo is what Session returns: the user, null before a login.
type SessionInfo struct {
	User        *SessionUser `json:"user"`
	SetupNeeded bool         `json:"setupNeeded"`
}

// session is the window's one login. Unlike the web face's it does not expire when idle: a
// control-room workstation stays logged in through a quiet shift. It ends on Logout or when
// its user is disabled or removed.
type session struct {
	mu      sync.Mutex
	name    string
	role    users.Role
	wall    bool             // the --auto-login-viewer session: no user row to check
	checked time.Time        // the last look-up of the user
	ended   func()           // tells the page that the session ended (an event); may be nil
	now     func() time.Time // the clock of the user checks; nil is time.Now (tests set it)
}

// clock returns the time of the session's clock. The caller holds s.mu.
func (s *session) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// start makes u the session's user.
func (s *session) start(name string, role users.Role, wall bool) SessionUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.name, s.role, s.wall, s.checked = name, role, wall, s.clock()
	return SessionUser{Name: name, Role: role.String()}
}

// clear ends the session.
func (s *session) clear() {
	s.mu.Lock()
	s.name, s.role, s.wall = "", 0, false
	s.mu.Unlock()
}

// user returns the logged-in user, nil if there is none.
func (s *session) user() *SessionUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.name == "" {
		return nil
	}
	return &SessionUser{Name: s.name, Role: s.role.String()}
}

// Session returns the window's session: its user (null before a login) and whether the
// first administrator must be set up.
func (a *App) Session() SessionInfo {
	a.checkUser(false)
	info := SessionInfo{User: a.sess.user()}
	if info.User == nil {
		need, err := a.engine.NeedsSetup()
		if err != nil {
			a.logger.Warn("desktop: cannot tell whether setup is needed", "err", err)
		}
		info.SetupNeeded = need
	}
	return info
}

// Login logs the window in as name. The console is one source for the login rate limit.
func (a *App) Login(name, password string) (SessionUser, error) {
	u, err := a.engine.Login(name, password, audit.FaceDesktop)
	if err != nil {
		a.logger.Warn("desktop: login refused", "user", name, "err", err)
		return SessionUser{}, err
	}
	a.logger.Info("desktop: logged in", "user", u.Name, "role", u.Role)
	return a.sess.start(u.Name, u.Role, false), nil
}

// Logout ends the window's session. A wall display goes back to its viewer session.
func (a *App) Logout() error {
	if u := a.sess.user(); u != nil {
		a.logger.Info("desktop: logged out", "user", u.Name)
	}
	a.sess.clear()
	if a.autoViewer {
		a.sess.start(WallDisplay, users.Viewer, true)
	}
	return nil
}

// SetupFirstAdmin creates the first administrator, while there are no users, and logs the
// window in as them.
func (a *App) SetupFirstAdmin(name, password string) (SessionUser, error) {
	need, err := a.engine.NeedsSetup()
	if err != nil {
		return SessionUser{}, err
	}
	if !need {
		return SessionUser{}, errors.New("already set up: there are users; log in")
	}
	u, err := a.engine.SetupFirstAdmin(name, password, audit.FaceDesktop)
	if err != nil {
		return SessionUser{}, err
	}
	a.logger.Info("desktop: first administrator set up", "user", u.Name)
	return a.sess.start(u.Name, u.Role, false), nil
}

// actor is the engine.Actor of the window's session, or ErrNotLoggedIn.
func (a *App) actor() (engine.Actor, error) {
	a.checkUser(false)
	a.sess.mu.Lock()
	defer a.sess.mu.Unlock()
	if a.sess.name == "" {
		return engine.Actor{}, ErrNotLoggedIn
	}
	return engine.Actor{Name: a.sess.name, Role: a.sess.role, Face: audit.FaceDesktop}, nil
}

// loggedIn fails before a login, for the calls that need no actor.
func (a *App) loggedIn() error {
	_, err := a.actor()
	return err
}

// checkUser looks the session's user up again when it is due (or at once with force): a
// user who was disabled or removed is logged out, a changed role applies.
func (a *App) checkUser(force bool) {
	s := a.sess
	s.mu.Lock()
	name, wall := s.name, s.wall
	due := name != "" && !wall && (force || s.clock().Sub(s.checked) >= userCheckEvery)
	s.mu.Unlock()
	if !due {
		return
	}
	u, err := a.engine.CurrentUser(name)
	gone := errors.Is(err, users.ErrNotFound) || errors.Is(err, users.ErrDisabled) || (err == nil && (u.Disabled || !u.Role.Valid()))
	s.mu.Lock()
	if s.name != name { // logged out or in as someone else meanwhile
		s.mu.Unlock()
		return
	}
	switch {
	case gone:
		s.name, s.role = "", 0
	case err == nil:
		s.role, s.checked = u.Role, s.clock()
	}
	ended := s.ended
	s.mu.Unlock()
	if err != nil && !gone {
		a.logger.Warn("desktop: cannot look the session's user up; keeping the session", "user", name, "err", err)
	}
	if gone {
		a.logger.Info("desktop: session ended: user disabled or removed", "user", name)
		if a.autoViewer {
			a.sess.start(WallDisplay, users.Viewer, true)
		}
		if ended != nil {
			ended()
		}
	}
}

// watchUser checks the session's user every userCheckEvery until ctx ends, so that a
// disabled user's window is logged out even when it calls nothing.
func (a *App) watchUser(ctx context.Context) {
	t := time.NewTicker(userCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// Forced: the last check (a call's, or the previous tick's, stamped after its
			// look-up) is usually a little less than userCheckEvery ago at a tick, and an
			// unforced check would then wait for the next tick, 10 s instead of 5.
			a.checkUser(true)
		}
	}
}
