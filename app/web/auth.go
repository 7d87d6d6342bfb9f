package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"minebrain/app/audit"
	"minebrain/app/users"
)

// maxBodyBytes bounds the body of a POST to /api: a name and a password.
const maxBodyBytes = 16 << 10

// sessionUser is the user of a session as the page sees it.
type sessionUser struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// sessionReply is the body of /api/session, /api/login and /api/setup when logged in.
type sessionReply struct {
	User sessionUser `json:"user"`
	CSRF string      `json:"csrf"`
}

// notLoggedIn is the body of /api/session without a live session. It is a 200, not a 401:
// asking whether one is logged in is no error (and browsers log every 401 in the console).
type notLoggedIn struct {
	User        *sessionUser `json:"user"` // always null
	SetupNeeded bool         `json:"setupNeeded"`
}

type errorBody struct {
	Error string `json:"error"`
}

type credentials struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

// remoteIP is the client's address without the port: the source the login rate limit counts.
// Forwarding headers are not believed: anyone can send them.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// cookieSession returns the live session of the request's cookie, or nil; it counts as
// activity.
func (s *Server) cookieSession(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	sess := s.sessions.lookup(c.Value, true)
	if sess != nil && s.sessions.checkDue(sess) && !s.checkUser(sess) {
		return nil
	}
	return sess
}

// checkUser looks the session's user up again and ends the session if the user was disabled
// or removed. It reports whether the session is still live.
func (s *Server) checkUser(sess *session) bool {
	name, _ := s.sessions.user(sess)
	u, err := s.e.CurrentUser(name)
	live := s.sessions.checked(sess, u, err)
	if !live {
		s.log.Info("web: session ended", "user", name, "why", endUser)
	} else if err != nil {
		s.log.Warn("web: cannot look the session's user up; keeping the session", "user", name, "err", err)
	}
	return live
}

// recheckUser looks name's sessions up again at once (after a change to that user).
func (s *Server) recheckUser(name string) {
	for _, sess := range s.sessions.due(name, true) {
		s.checkUser(sess)
	}
}

// sweep ends the sessions that expired and those whose user went away.
func (s *Server) sweep() {
	for sess, why := range s.sessions.expire() {
		s.log.Info("web: session ended", "user", sess.name, "why", why)
	}
	for _, sess := range s.sessions.due("", false) {
		s.checkUser(sess)
	}
}

// sweepSessions runs sweep every sweepEvery until ctx ends.
func (s *Server) sweepSessions(ctx context.Context) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sweep()
		}
	}
}

// originAllowed applies the WebSocket's origin rule to a browser request: the same host, or,
// while serving loopback only, any loopback origin (the Vite dev server).
func (s *Server) originAllowed(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if u.Host == r.Host {
		return true
	}
	return !s.opts.AllowRemote && isLoopback(u.Hostname())
}

// checkPost refuses a POST that is not JSON from a page of this server: the CSRF defence of
// the endpoints that need no session yet (a cross-site form cannot send application/json
// without a CORS preflight, which is never granted). It answers the refusal itself.
func (s *Server) checkPost(w http.ResponseWriter, r *http.Request) bool {
	if origin := r.Header.Get("Origin"); origin != "" {
		if !s.originAllowed(origin, r) {
			s.log.Warn("web: request from a foreign origin refused", "path", r.URL.Path, "origin", origin, "host", r.Host)
			writeError(w, http.StatusForbidden, "cross-origin request refused")
			return false
		}
	} else if r.Header.Get("Sec-Fetch-Site") != "same-origin" {
		writeError(w, http.StatusForbidden, "request without a same-origin Origin refused")
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	return true
}

// readCredentials decodes a {name, password} body; it answers a bad one itself.
func readCredentials(w http.ResponseWriter, r *http.Request) (credentials, bool) {
	var c credentials
	if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
		} else {
			writeError(w, http.StatusBadRequest, "bad request body: want {\"name\": …, \"password\": …}")
		}
		return c, false
	}
	return c, true
}

func (s *Server) reply(sess *session) sessionReply {
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	return sessionReply{User: sessionUser{Name: sess.name, Role: sess.role.String()}, CSRF: sess.csrf}
}

// setupNeeded reports whether there are no users yet; false when that cannot be told.
func (s *Server) setupNeeded() bool {
	need, err := s.e.NeedsSetup()
	if err != nil {
		s.log.Warn("web: cannot tell whether setup is needed", "err", err)
		return false
	}
	return need
}

// GET /api/session
func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	sess := s.cookieSession(r)
	if sess == nil {
		writeJSON(w, http.StatusOK, notLoggedIn{SetupNeeded: s.setupNeeded()})
		return
	}
	writeJSON(w, http.StatusOK, s.reply(sess))
}

// startSession creates the session of a user who just logged in and sets its cookie. A
// session the browser already had ends: one browser, one login.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u users.User) {
	if c, err := r.Cookie(cookieName); err == nil {
		if old := s.sessions.lookup(c.Value, false); old != nil {
			s.sessions.end(old)
		}
	}
	sess, id := s.sessions.create(u, remoteIP(r))
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	s.log.Info("web: logged in", "user", u.Name, "role", u.Role, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, s.reply(sess))
}

// POST /api/login
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !s.checkPost(w, r) {
		return
	}
	c, ok := readCredentials(w, r)
	if !ok {
		return
	}
	u, err := s.e.Login(c.Name, c.Password, audit.FaceWeb+" "+remoteIP(r))
	if err != nil {
		s.loginFailed(w, r, c.Name, err)
		return
	}
	s.startSession(w, r, u)
}

// loginFailed answers a refused login with the status of its reason.
func (s *Server) loginFailed(w http.ResponseWriter, r *http.Request, name string, err error) {
	var locked *users.LockedError
	code := http.StatusInternalServerError
	switch {
	case errors.As(err, &locked):
		code = http.StatusTooManyRequests
		if wait := time.Until(locked.Until); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		}
	case errors.Is(err, users.ErrLocked):
		code = http.StatusTooManyRequests
	case errors.Is(err, users.ErrDisabled):
		code = http.StatusForbidden
	case errors.Is(err, users.ErrBadCredentials):
		code = http.StatusUnauthorized
	}
	level := slog.LevelWarn
	if code == http.StatusInternalServerError {
		level = slog.LevelError
	}
	s.log.Log(r.Context(), level, "web: login refused", "user", name, "remote", r.RemoteAddr, "err", err)
	writeError(w, code, err.Error())
}

// POST /api/logout
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if !s.checkPost(w, r) {
		return
	}
	clear := &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: -1}
	c, err := r.Cookie(cookieName)
	var sess *session
	if err == nil {
		sess = s.sessions.lookup(c.Value, false)
	}
	if sess == nil { // already over: logging out again is no error
		http.SetCookie(w, clear)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !s.sessions.csrfOK(sess, r.Header.Get("X-CSRF-Token")) {
		writeError(w, http.StatusForbidden, "missing or wrong X-CSRF-Token")
		return
	}
	if s.sessions.end(sess) {
		s.log.Info("web: session ended", "user", sess.name, "why", endLogout)
	}
	http.SetCookie(w, clear)
	w.WriteHeader(http.StatusNoContent)
}

// POST /api/setup creates the first administrator: only while there are no users, and only
// from this machine, so that whoever first reaches a fresh server over the network cannot
// make themselves its administrator.
func (s *Server) handleSetup(w http.ResponseWriter, r *http.Request) {
	if !s.checkPost(w, r) {
		return
	}
	if ip := net.ParseIP(remoteIP(r)); ip == nil || !ip.IsLoopback() {
		s.log.Warn("web: setup from another machine refused", "remote", r.RemoteAddr)
		writeError(w, http.StatusForbidden, "the first administrator can be set up only on the server's own machine (a loopback address), or with `minebrain users add NAME --role admin`")
		return
	}
	c, ok := readCredentials(w, r)
	if !ok {
		return
	}
	need, err := s.e.NeedsSetup()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if !need {
		writeError(w, http.StatusConflict, "already set up: there are users; log in")
		return
	}
	u, err := s.e.SetupFirstAdmin(c.Name, c.Password, audit.FaceWeb)
	if err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, users.ErrExists) {
			code = http.StatusConflict
		}
		writeError(w, code, err.Error())
		return
	}
	s.log.Info("web: first administrator set up", "user", u.Name, "remote", r.RemoteAddr)
	s.startSession(w, r, u)
}

// sessionKey is the request context key of the session a WebSocket belongs to.
type sessionKey struct{}

// handleWS admits a WebSocket only from a page of this server with a live session and that
// session's CSRF token (query parameter csrf), answering a JSON 401/403 before the upgrade.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" && !s.originAllowed(origin, r) {
		s.log.Warn("web: websocket from a foreign origin refused", "origin", origin, "host", r.Host)
		writeError(w, http.StatusForbidden, "origin not allowed")
		return
	}
	sess := s.cookieSession(r)
	if sess == nil {
		writeError(w, http.StatusUnauthorized, "not logged in")
		return
	}
	if !s.sessions.csrfOK(sess, r.URL.Query().Get("csrf")) {
		writeError(w, http.StatusForbidden, "missing or wrong csrf token")
		return
	}
	s.ws.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
}
