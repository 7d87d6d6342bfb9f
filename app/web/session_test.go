package web

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"minebrain/app/audit"
	"minebrain/app/engine"
	"minebrain/app/users"
)

// Test users' passwords: CheckPassword wants 10+ characters, not the name.
const (
	adminName     = "root-admin"
	adminPassword = "admin-secret-42"
	testPassword  = "correct-horse-7"
)

var adminActor = engine.Actor{Name: adminName, Role: users.Admin, Face: audit.FaceWeb}

// addUser creates a user through the engine, setting up the first administrator first if
// there are no users yet. An existing user is left as it is.
func addUser(t *testing.T, e *engine.Engine, name string, role users.Role) {
	t.Helper()
	need, err := e.NeedsSetup()
	if err != nil {
		t.Fatal(err)
	}
	if need {
		if _, err := e.SetupFirstAdmin(adminName, adminPassword, audit.FaceWeb); err != nil {
			t.Fatal(err)
		}
	}
	if name == adminName {
		return
	}
	if err := e.AddUser(adminActor, name, role.String(), testPassword); err != nil && !strings.Contains(err.Error(), "exists") {
		t.Fatal(err)
	}
}

// sessionClient is a logged-in browser: its cookie and its CSRF token.
type sessionClient struct {
	cookie *http.Cookie
	csrf   string
	user   sessionUser
}

// post sends a same-origin JSON POST, with the cookie when there is one.
func post(t *testing.T, s *Server, path string, body any, cookie *http.Cookie, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", "http://"+s.Addr()+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "http://"+s.Addr())
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res, out
}

// login posts to /api/login and returns the session on a 200.
func login(t *testing.T, s *Server, name, password string) (*sessionClient, int, string) {
	t.Helper()
	res, body := post(t, s, "/api/login", credentials{name, password}, nil, nil)
	if res.StatusCode != http.StatusOK {
		return nil, res.StatusCode, string(body)
	}
	return sessionOf(t, res, body), res.StatusCode, string(body)
}

func sessionOf(t *testing.T, res *http.Response, body []byte) *sessionClient {
	t.Helper()
	var r sessionReply
	if err := json.Unmarshal(body, &r); err != nil || r.CSRF == "" || r.User.Name == "" {
		t.Fatalf("session reply %s: %v", body, err)
	}
	for _, c := range res.Cookies() {
		if c.Name == cookieName {
			return &sessionClient{cookie: c, csrf: r.CSRF, user: r.User}
		}
	}
	t.Fatalf("no %s cookie in %v", cookieName, res.Header["Set-Cookie"])
	return nil
}

// loginAs creates the user (with the admin first) and logs in.
func loginAs(t *testing.T, s *Server, name string, role users.Role) *sessionClient {
	t.Helper()
	addUser(t, s.e, name, role)
	pw := testPassword
	if name == adminName {
		pw = adminPassword
	}
	sc, code, body := login(t, s, name, pw)
	if sc == nil {
		t.Fatalf("login %s: %d %s", name, code, body)
	}
	return sc
}

// wsClient is a test client of the Contract-3 protocol. It keeps every byte the server sent,
// so that the close frame's code can be read (x/net/websocket reports a close as io.EOF).
type wsClient struct {
	t   *testing.T
	ws  *websocket.Conn
	raw *recordingConn
}

type recordingConn struct {
	net.Conn
	mu  sync.Mutex
	got bytes.Buffer
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.got.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

// dialConfig opens a WebSocket with a cookie, a csrf parameter and an Origin.
func dialConfig(s *Server, cookie *http.Cookie, csrf, origin string) (*websocket.Conn, error) {
	ws, _, err := dialRecorded(s, cookie, csrf, origin)
	return ws, err
}

func dialRecorded(s *Server, cookie *http.Cookie, csrf, origin string) (*websocket.Conn, *recordingConn, error) {
	cfg, err := websocket.NewConfig("ws://"+s.Addr()+"/ws?csrf="+url.QueryEscape(csrf), origin)
	if err != nil {
		return nil, nil, err
	}
	if cookie != nil {
		cfg.Header.Set("Cookie", cookie.String())
	}
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		return nil, nil, err
	}
	rc := &recordingConn{Conn: nc}
	ws, err := websocket.NewClient(cfg, rc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return ws, rc, nil
}

// dialAs opens a WebSocket of a session.
func dialAs(t *testing.T, s *Server, sc *sessionClient) *wsClient {
	t.Helper()
	ws, rc, err := dialRecorded(s, sc.cookie, sc.csrf, "http://"+s.Addr())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return &wsClient{t: t, ws: ws, raw: rc}
}

// wsRefusal sends a WebSocket handshake and returns the status and body of its refusal.
func wsRefusal(t *testing.T, s *Server, cookie *http.Cookie, csrf, origin string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+s.Addr()+"/ws?csrf="+url.QueryEscape(csrf), nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// closed waits until the server closes the socket and returns the close frame's code and
// reason (code 0 if it sent none).
func (c *wsClient) closed() (int, string) {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var m message
		err := websocket.JSON.Receive(c.ws, &m)
		if err == nil {
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			c.t.Fatal("socket still open 10 s later")
		}
		break
	}
	c.raw.mu.Lock()
	defer c.raw.mu.Unlock()
	return firstClose(c.raw.got.Bytes())
}

// firstClose parses the server's side of a WebSocket connection (the HTTP response, then
// unmasked frames) and returns the code and reason of its first close frame.
func firstClose(b []byte) (int, string) {
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 {
		return 0, ""
	}
	r := bufio.NewReader(bytes.NewReader(b[i+4:]))
	for {
		var h [2]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return 0, ""
		}
		op, n := h[0]&0x0f, uint64(h[1]&0x7f)
		switch n {
		case 126:
			var x [2]byte
			if _, err := io.ReadFull(r, x[:]); err != nil {
				return 0, ""
			}
			n = uint64(binary.BigEndian.Uint16(x[:]))
		case 127:
			var x [8]byte
			if _, err := io.ReadFull(r, x[:]); err != nil {
				return 0, ""
			}
			n = binary.BigEndian.Uint64(x[:])
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			return 0, ""
		}
		if op == websocket.CloseFrame {
			if len(payload) < 2 {
				return 0, ""
			}
			return int(binary.BigEndian.Uint16(payload)), string(payload[2:])
		}
	}
}

// clock is an injected session clock.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func newTestServer(t *testing.T, e *engine.Engine, opts Options) *Server {
	t.Helper()
	opts.Listen, opts.Assets, opts.Logger = "127.0.0.1:0", builtAssets, quiet
	s, err := New(e, opts)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, s)
	return s
}

func getSession(t *testing.T, s *Server, cookie *http.Cookie) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+s.Addr()+"/api/session", nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func TestLoginSessionLogout(t *testing.T) {
	e := startEngine(t)
	s := newTestServer(t, e, Options{})
	addUser(t, e, "ana", users.Operator)

	if code, body := getSession(t, s, nil); code != 200 || !strings.Contains(string(body), `"user":null`) || !strings.Contains(string(body), `"setupNeeded":false`) {
		t.Fatalf("session before login: %d %s", code, body)
	}
	res, body := post(t, s, "/api/login", credentials{"ana", testPassword}, nil, nil)
	if res.StatusCode != 200 {
		t.Fatalf("login: %d %s", res.StatusCode, body)
	}
	sc := sessionOf(t, res, body)
	set := res.Header.Get("Set-Cookie")
	for _, want := range []string{cookieName + "=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(set, want) {
			t.Errorf("Set-Cookie %q lacks %q", set, want)
		}
	}
	if strings.Contains(set, "Secure") {
		t.Errorf("Set-Cookie %q is Secure over plain HTTP", set)
	}
	if sc.user != (sessionUser{"ana", "operator"}) || len(sc.cookie.Value) < 43 {
		t.Fatalf("session %+v", sc)
	}
	code, body := getSession(t, s, sc.cookie)
	var r sessionReply
	if code != 200 || json.Unmarshal(body, &r) != nil || r.CSRF != sc.csrf || r.User.Role != "operator" {
		t.Fatalf("session after login: %d %s", code, body)
	}

	// A call carries the session's user: a viewer is refused what an operator may do.
	c := dialAs(t, s, sc)
	if m, _ := c.call(1, "Model"); m.Error != "" {
		t.Fatalf("Model as operator: %+v", m)
	}
	vc := dialAs(t, s, loginAs(t, s, "vic", users.Viewer))
	if m, _ := vc.call(1, "AcknowledgeAlarms", []string{"x"}); !strings.Contains(m.Error, "needs the operator role") {
		t.Fatalf("AcknowledgeAlarms as viewer: %+v", m)
	}
	if m, _ := vc.call(2, "AddNode", "sim", "i=2258", "Server.Clock.Now"); !strings.Contains(m.Error, "needs the engineer role") {
		t.Fatalf("AddNode as viewer: %+v", m)
	}

	// Logout needs the CSRF token, ends the session and closes its sockets with 4401.
	if res, body := post(t, s, "/api/logout", nil, sc.cookie, map[string]string{"X-CSRF-Token": "wrong"}); res.StatusCode != 403 {
		t.Fatalf("logout with a wrong token: %d %s", res.StatusCode, body)
	}
	if res, body := post(t, s, "/api/logout", nil, sc.cookie, map[string]string{"X-CSRF-Token": sc.csrf}); res.StatusCode != 204 {
		t.Fatalf("logout: %d %s", res.StatusCode, body)
	}
	if code, reason := c.closed(); code != 4401 || reason != "logged out" {
		t.Fatalf("socket closed with %d %q, want 4401 \"logged out\"", code, reason)
	}
	if code, body := getSession(t, s, sc.cookie); code != 200 || !strings.Contains(string(body), `"user":null`) {
		t.Fatalf("session after logout: %d %s", code, body)
	}
	if code, body := wsRefusal(t, s, sc.cookie, sc.csrf, "http://"+s.Addr()); code != 401 {
		t.Fatalf("ws after logout: %d %s", code, body)
	}
	// The viewer's session is another one: still open.
	if m, _ := vc.call(3, "Status"); m.Error != "" {
		t.Fatalf("the other session after a logout: %+v", m)
	}
}

func TestLoginRefusals(t *testing.T) {
	e := startEngine(t)
	s := newTestServer(t, e, Options{})
	addUser(t, e, "ana", users.Operator)
	addUser(t, e, "dis", users.Operator)
	if err := e.SetUserDisabled(adminActor, "dis", true); err != nil {
		t.Fatal(err)
	}

	if _, code, body := login(t, s, "ana", "not-the-password"); code != 401 || !strings.Contains(body, "wrong user name or password") {
		t.Fatalf("wrong password: %d %s", code, body)
	}
	if _, code, body := login(t, s, "dis", testPassword); code != 403 || !strings.Contains(body, "disabled") {
		t.Fatalf("disabled user: %d %s", code, body)
	}
	// Not JSON, or from another origin: refused before the password is looked at.
	res, body := post(t, s, "/api/login", credentials{"ana", testPassword}, nil, map[string]string{"Content-Type": "text/plain"})
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain login: %d %s", res.StatusCode, body)
	}
	res, body = post(t, s, "/api/login", credentials{"ana", testPassword}, nil, map[string]string{"Origin": "http://evil.example"})
	if res.StatusCode != 403 {
		t.Fatalf("cross-origin login: %d %s", res.StatusCode, body)
	}
	res, body = post(t, s, "/api/login", credentials{"ana", testPassword}, nil, map[string]string{"Origin": ""})
	if res.StatusCode != 403 {
		t.Fatalf("login without Origin: %d %s", res.StatusCode, body)
	}
	res, body = post(t, s, "/api/login", credentials{"ana", strings.Repeat("x", maxBodyBytes)}, nil, nil)
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("huge login: %d %s", res.StatusCode, body)
	}

	// Repeated failures lock the name out: 429, even with the right password.
	code := 0
	for i := 0; i < 10 && code != 429; i++ {
		var body string
		_, code, body = login(t, s, "ana", "not-the-password")
		if code != 401 && code != 429 {
			t.Fatalf("failure %d: %d %s", i, code, body)
		}
	}
	_, code, got := login(t, s, "ana", testPassword)
	if code != 429 || !strings.Contains(got, "too many failed logins; try again after") {
		t.Fatalf("login while locked out: %d %s", code, got)
	}
}

func TestWebSocketNeedsSession(t *testing.T) {
	e := startEngine(t)
	s := newTestServer(t, e, Options{})
	sc := loginAs(t, s, "ana", users.Operator)
	self := "http://" + s.Addr()
	for _, c := range []struct {
		name         string
		cookie       *http.Cookie
		csrf, origin string
		code         int
	}{
		{"no cookie", nil, sc.csrf, self, 401},
		{"unknown cookie", &http.Cookie{Name: cookieName, Value: "bm90LWEtc2Vzc2lvbg"}, sc.csrf, self, 401},
		{"wrong csrf", sc.cookie, "nope", self, 403},
		{"no csrf", sc.cookie, "", self, 403},
		{"cross-origin", sc.cookie, sc.csrf, "http://evil.example", 403},
	} {
		code, body := wsRefusal(t, s, c.cookie, c.csrf, c.origin)
		var eb errorBody
		if code != c.code || json.Unmarshal([]byte(body), &eb) != nil || eb.Error == "" {
			t.Errorf("%s: %d %s, want %d with a JSON error", c.name, code, body, c.code)
		}
	}
	if _, err := dialConfig(s, sc.cookie, sc.csrf, self); err != nil {
		t.Fatalf("the session's own socket: %v", err)
	}
}

func TestIdleAndLifetimeExpiry(t *testing.T) {
	e := startEngine(t)
	clk := newClock()
	s := newTestServer(t, e, Options{Now: clk.now, SessionIdle: 10 * time.Minute, SessionLifetime: time.Hour})
	sc := loginAs(t, s, "ana", users.Operator)
	c := dialAs(t, s, sc)

	// Activity, including calls over the socket, keeps the session.
	for i := 0; i < 6; i++ {
		clk.advance(9 * time.Minute)
		if m, _ := c.call(i, "Status"); m.Error != "" {
			t.Fatalf("call %d after %d min: %+v", i, (i+1)*9, m)
		}
	}
	// Past the lifetime (61 min > 1 h) it ends however active.
	clk.advance(7 * time.Minute)
	s.sweep()
	if code, reason := c.closed(); code != 4401 || reason != "logged out" {
		t.Fatalf("after the lifetime: closed with %d %q", code, reason)
	}
	if code, body := getSession(t, s, sc.cookie); code != 200 || !strings.Contains(string(body), `"user":null`) {
		t.Fatalf("session after its lifetime: %d %s", code, body)
	}

	// Idle: 10 min without activity ends it, found by the sweep.
	sc = loginAs(t, s, "ana", users.Operator)
	c = dialAs(t, s, sc)
	clk.advance(9 * time.Minute)
	s.sweep()
	if code, body := getSession(t, s, sc.cookie); code != 200 || strings.Contains(string(body), `"user":null`) { // also activity
		t.Fatalf("session after 9 idle minutes: %d %s", code, body)
	}
	clk.advance(10 * time.Minute)
	s.sweep()
	if code, reason := c.closed(); code != 4401 || reason != "logged out" {
		t.Fatalf("after the idle timeout: closed with %d %q", code, reason)
	}
	if code, body := getSession(t, s, sc.cookie); code != 200 || !strings.Contains(string(body), `"user":null`) {
		t.Fatalf("session after the idle timeout: %d %s", code, body)
	}
}

func TestDisabledUserLoggedOut(t *testing.T) {
	e := startEngine(t)
	s := newTestServer(t, e, Options{})
	admin := dialAs(t, s, loginAs(t, s, adminName, users.Admin))
	ana := loginAs(t, s, "ana", users.Operator)
	c := dialAs(t, s, ana)
	if m, _ := admin.call(1, "SetUserDisabled", "ana", true); m.Error != "" {
		t.Fatalf("SetUserDisabled: %+v", m)
	}
	if code, reason := c.closed(); code != 4401 || reason != "logged out" {
		t.Fatalf("disabled user's socket closed with %d %q", code, reason)
	}
	if code, body := getSession(t, s, ana.cookie); code != 200 || !strings.Contains(string(body), `"user":null`) {
		t.Fatalf("disabled user's session: %d %s", code, body)
	}
}

func TestSetup(t *testing.T) {
	e := startEngine(t)
	s := newTestServer(t, e, Options{})
	if code, body := getSession(t, s, nil); code != 200 || !strings.Contains(string(body), `"user":null`) || !strings.Contains(string(body), `"setupNeeded":true`) {
		t.Fatalf("session of a fresh server: %d %s", code, body)
	}
	// From another machine: refused, however well formed.
	b, _ := json.Marshal(credentials{"boss", adminPassword})
	req := httptest.NewRequest("POST", "http://"+s.Addr()+"/api/setup", bytes.NewReader(b))
	req.RemoteAddr = "192.0.2.7:50000"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "http://"+s.Addr())
	req.Host = s.Addr()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 403 {
		t.Fatalf("setup from 192.0.2.7: %d %s", rec.Code, rec.Body)
	}
	if need, _ := e.NeedsSetup(); !need {
		t.Fatal("a remote setup created a user")
	}
	// From a page whose DNS name points at 127.0.0.1 (DNS rebinding): the loopback client and
	// a matching Origin do not make it this server's page.
	req = httptest.NewRequest("POST", "http://rebind.example:8080/api/setup", bytes.NewReader(b))
	req.RemoteAddr = "127.0.0.1:50000"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "http://rebind.example:8080")
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "serves loopback only") {
		t.Fatalf("setup through a rebound name: %d %s", rec.Code, rec.Body)
	}
	if need, _ := e.NeedsSetup(); !need {
		t.Fatal("a rebound page created a user")
	}

	res, body := post(t, s, "/api/setup", credentials{"boss", "short"}, nil, nil)
	if res.StatusCode != 400 {
		t.Fatalf("setup with a weak password: %d %s", res.StatusCode, body)
	}
	res, body = post(t, s, "/api/setup", credentials{"boss", adminPassword}, nil, nil)
	if res.StatusCode != 200 {
		t.Fatalf("setup: %d %s", res.StatusCode, body)
	}
	sc := sessionOf(t, res, body)
	if sc.user != (sessionUser{"boss", "admin"}) {
		t.Fatalf("setup logged in as %+v", sc.user)
	}
	res, body = post(t, s, "/api/setup", credentials{"boss2", adminPassword}, nil, nil)
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("second setup: %d %s", res.StatusCode, body)
	}
	if code, body := getSession(t, s, nil); code != 200 || !strings.Contains(string(body), `"user":null`) || !strings.Contains(string(body), `"setupNeeded":false`) {
		t.Fatalf("session once set up: %d %s", code, body)
	}
}

func TestHealthStaysPublic(t *testing.T) {
	e := startEngine(t)
	s := newTestServer(t, e, Options{})
	if code, body, _ := get(t, "http://"+s.Addr()+"/api/health"); code != 200 || !strings.Contains(body, `"ok":true`) {
		t.Fatalf("health without a login: %d %s", code, body)
	}
}
