package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/net/websocket"

	"minebrain/app/engine"
	"minebrain/app/sim"
	"minebrain/app/users"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var builtAssets = fstest.MapFS{
	"index.html":       {Data: []byte("<!doctype html><title>Minebrain</title><div id=app></div>")},
	"assets/app-1.js":  {Data: []byte("console.log('minebrain')")},
	"favicon.svg":      {Data: []byte("<svg/>")},
	"assets/.keep.txt": {Data: []byte("")},
}

// startEngine runs a real engine on the embedded simulator, with a data directory of its own
// (the users live in its history file).
func startEngine(t *testing.T) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Config{Sim: sim.Options{Seed: 1, TimeScale: 60, Logger: quiet},
		PublishInterval: 100 * time.Millisecond, Logger: quiet,
		HistoryPath: filepath.Join(t.TempDir(), "history.db"), PasswordParams: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// serve starts s and returns a function that stops it and checks that Serve returned nil.
func serve(t *testing.T, s *Server) func() {
	t.Helper()
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

type message struct {
	ID     *int            `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
	Event  string          `json:"event"`
	Data   json.RawMessage `json:"data"`
}

// dial logs in as an operator (created on first use) and opens a WebSocket of that session.
func dial(t *testing.T, s *Server) *wsClient {
	t.Helper()
	return dialAs(t, s, loginAs(t, s, "ana", users.Operator))
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	if err := websocket.JSON.Send(c.ws, v); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *wsClient) recv() message {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var m message
	if err := websocket.JSON.Receive(c.ws, &m); err != nil {
		c.t.Fatalf("receive: %v", err)
	}
	return m
}

// call sends a request and returns its reply, collecting events that arrive meanwhile.
func (c *wsClient) call(id int, method string, params ...any) (message, []message) {
	c.t.Helper()
	if params == nil {
		params = []any{}
	}
	c.send(map[string]any{"id": id, "method": method, "params": params})
	var events []message
	for {
		m := c.recv()
		if m.Event != "" {
			events = append(events, m)
			continue
		}
		if m.ID == nil || *m.ID != id {
			c.t.Fatalf("reply for id %v, want %d: %+v", m.ID, id, m)
		}
		return m, events
	}
}

func TestWebSocketProtocol(t *testing.T) {
	e := startEngine(t)
	s, err := New(e, Options{Listen: "127.0.0.1:0", Assets: builtAssets, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, s)
	c := dial(t, s)

	r, _ := c.call(1, "Model")
	var m engine.Model
	if err := json.Unmarshal(r.Result, &m); err != nil || r.Error != "" {
		t.Fatalf("Model reply %s / %q: %v", r.Result, r.Error, err)
	}
	if m.Site == "" || m.UnitCount() < 28 {
		t.Fatalf("model has site %q and %d units", m.Site, m.UnitCount())
	}
	r, _ = c.call(2, "Snapshot")
	var snap []engine.TagValue
	if err := json.Unmarshal(r.Result, &snap); err != nil || len(snap) == 0 {
		t.Fatalf("Snapshot reply: %d values, %v", len(snap), err)
	}
	r, _ = c.call(3, "Status")
	var st engine.Status
	if err := json.Unmarshal(r.Result, &st); err != nil || len(st.Connections) != 1 || st.Connections[0].State != "connected" {
		t.Fatalf("Status reply %s: %v", r.Result, err)
	}
	r, _ = c.call(4, "Ready", map[string]int{"units": m.UnitCount(), "values": len(snap)})
	if r.Error != "" || string(r.Result) != "null" {
		t.Fatalf("Ready reply %+v", r)
	}
	r, _ = c.call(5, "Explode")
	if !strings.Contains(r.Error, `unknown method "Explode"`) || r.Result != nil {
		t.Fatalf("unknown method reply %+v", r)
	}
	c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	websocket.Message.Send(c.ws, "{not json")
	if m := c.recvReply(); !strings.Contains(m.Error, "invalid request") {
		t.Fatalf("malformed request reply %+v", m)
	}

	// Pushed events: tags batches with real values, and status.
	tagsEvents, statusEvents := 0, 0
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && (tagsEvents < 2 || statusEvents < 1) {
		m := c.recv()
		switch m.Event {
		case "tags":
			var batch []engine.TagValue
			if err := json.Unmarshal(m.Data, &batch); err != nil || len(batch) == 0 {
				t.Fatalf("tags event %s: %v", m.Data, err)
			}
			if batch[0].Tag == "" || batch[0].ServerTime == 0 {
				t.Fatalf("tags event value %+v", batch[0])
			}
			tagsEvents++
		case "status":
			statusEvents++
		}
	}
	if tagsEvents < 2 || statusEvents < 1 {
		t.Fatalf("got %d tags and %d status events in 3 s", tagsEvents, statusEvents)
	}
}

func TestModelEventReachesClient(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // the mine's server is not up yet
	e, err := engine.New(engine.Config{Endpoint: "opc.tcp://" + addr,
		ReconnectMin: 100 * time.Millisecond, ReconnectMax: 300 * time.Millisecond, Logger: quiet,
		HistoryPath: filepath.Join(t.TempDir(), "history.db"), PasswordParams: cheapPasswords})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatalf("Start without the server: %v", err)
	}
	var srv *sim.Server
	t.Cleanup(func() { // last: the engine lets go of the simulator before it stops
		e.Close()
		if srv != nil {
			srv.Close()
		}
	})
	s, err := New(e, Options{Listen: "127.0.0.1:0", Assets: builtAssets, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, s)
	c := dial(t, s)
	r, _ := c.call(1, "Model")
	var m engine.Model
	if err := json.Unmarshal(r.Result, &m); err != nil || m.UnitCount() != 0 {
		t.Fatalf("Model before the server is up: %s (%v), want no units", r.Result, err)
	}

	srv, err = sim.Start(context.Background(), sim.Options{Listen: addr, TimeScale: 60, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ev := c.recv()
		if ev.Event == "model" {
			if err := json.Unmarshal(ev.Data, &m); err != nil || m.UnitCount() < 28 {
				t.Fatalf("model event with %d units (%v): want the simulated mine", m.UnitCount(), err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no model event within 20 s of the server coming up")
		}
	}
}

// recvReply skips events until a reply arrives.
func (c *wsClient) recvReply() message {
	c.t.Helper()
	for {
		if m := c.recv(); m.Event == "" {
			return m
		}
	}
}

func TestSlowClientDoesNotStallOthers(t *testing.T) {
	e := startEngine(t)
	s, err := New(e, Options{Listen: "127.0.0.1:0", Assets: builtAssets, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, s)
	dial(t, s) // connects and never reads
	c := dial(t, s)
	got := 0
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if m := c.recv(); m.Event == "tags" {
			got++
		}
	}
	if got < 8 {
		t.Fatalf("reading client got %d tags events in 3 s beside a stalled one", got)
	}
}

func TestAssetsAndHealth(t *testing.T) {
	e, _ := engine.New(engine.Config{Logger: quiet}) // never started: enough for HTTP
	s, err := New(e, Options{Listen: "127.0.0.1:0", Assets: builtAssets, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, s)
	base := "http://" + s.Addr()
	if s.URL() != base+"/" {
		t.Fatalf("URL %q", s.URL())
	}

	for _, c := range []struct {
		path, want string
		code       int
	}{
		{"/", "<div id=app>", 200},
		{"/area/Pit/SH01", "<div id=app>", 200}, // a client route
		{"/assets/app-1.js", "console.log", 200},
		{"/favicon.svg", "<svg/>", 200},
		{"/assets/missing.js", "404", 404},
	} {
		code, body, hdr := get(t, base+c.path)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("GET %s = %d %q, want %d containing %q", c.path, code, body, c.code, c.want)
		}
		if c.path == "/assets/app-1.js" && !strings.Contains(hdr.Get("Cache-Control"), "immutable") {
			t.Errorf("hashed asset Cache-Control %q", hdr.Get("Cache-Control"))
		}
	}
	code, body, hdr := get(t, base+"/api/health")
	var h struct {
		OK     bool          `json:"ok"`
		Status engine.Status `json:"status"`
	}
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") || json.Unmarshal([]byte(body), &h) != nil || !h.OK || h.Status.Now == 0 {
		t.Fatalf("health = %d %s", code, body)
	}
	if v := hdr.Get("Strict-Transport-Security"); v != "" {
		t.Errorf("plain HTTP sent Strict-Transport-Security %q", v)
	}
}

func TestFrontendNotBuilt(t *testing.T) {
	e, _ := engine.New(engine.Config{Logger: quiet})
	for _, assets := range []fstest.MapFS{nil, {".gitkeep": {Data: nil}}} {
		s, err := New(e, Options{Listen: "127.0.0.1:0", Assets: assets, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptestRecorder(s, "/")
		if rec.code != http.StatusServiceUnavailable || !strings.Contains(rec.body, "make run") || !strings.Contains(rec.body, "not built") {
			t.Fatalf("GET / without a build = %d %q", rec.code, rec.body)
		}
	}
}

func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	e, _ := engine.New(engine.Config{Logger: quiet})
	s, err := New(e, Options{Listen: l.Addr().String(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Listen()
	if err == nil || !strings.Contains(err.Error(), "port "+port+" is already in use") {
		t.Fatalf("Listen on a taken port = %v, want an error naming port %s", err, port)
	}
	if err := s.Serve(context.Background()); err == nil {
		t.Fatal("Serve on a taken port succeeded")
	}
}

func TestNonLoopbackRefused(t *testing.T) {
	e, _ := engine.New(engine.Config{Logger: quiet})
	certFile, keyFile, _ := testCert(t, t.TempDir(), "server")
	for _, addr := range []string{"0.0.0.0:8080", ":8080", "192.0.2.7:8080", "[::]:8080", "example.com:8080"} {
		_, err := New(e, Options{Listen: addr})
		if err == nil || !strings.Contains(err.Error(), AllowRemoteFlag) {
			t.Errorf("New(%q) = %v, want a refusal naming %s", addr, err, AllowRemoteFlag)
		}
		// AllowRemote alone is not enough: other machines need TLS.
		if _, err := New(e, Options{Listen: addr, AllowRemote: true}); err == nil || !strings.Contains(err.Error(), "needs TLS") {
			t.Errorf("New(%q, AllowRemote) = %v, want a refusal asking for TLS", addr, err)
		}
		if _, err := New(e, Options{Listen: addr, AllowRemote: true, TLSCert: certFile, TLSKey: keyFile}); err != nil {
			t.Errorf("New(%q, AllowRemote, TLS) = %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:8080", "[::1]:8080", ""} {
		if _, err := New(e, Options{Listen: addr}); err != nil {
			t.Errorf("New(%q) = %v", addr, err)
		}
	}
	if _, err := New(e, Options{Listen: "8080"}); err == nil {
		t.Error("New(\"8080\") accepted an address without a host part")
	}
}

func TestForeignOriginRefused(t *testing.T) {
	e := startEngine(t)
	s, err := New(e, Options{Listen: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, s)
	sc := loginAs(t, s, "ana", users.Operator)
	// Even with the session's cookie and token, a page from another site is refused.
	if code, body := wsRefusal(t, s, sc.cookie, sc.csrf, "http://evil.example"); code != http.StatusForbidden {
		t.Fatalf("a page from another site: %d %s, want 403", code, body)
	}
	// The Vite dev server on another loopback port is fine.
	ws, err := dialConfig(s, sc.cookie, sc.csrf, "http://localhost:5173")
	if err != nil {
		t.Fatalf("loopback origin refused: %v", err)
	}
	ws.Close()
}

func TestShutdownClosesClients(t *testing.T) {
	e := startEngine(t)
	s, err := New(e, Options{Listen: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	stop := serve(t, s)
	c := dial(t, s)
	if m := c.recv(); m.Event == "" {
		t.Fatalf("first message %+v, want an event", m)
	}
	stop()
	c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var m message
	for {
		err := websocket.JSON.Receive(c.ws, &m)
		if err == nil {
			continue // events already in flight
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("client still open 5 s after shutdown")
		}
		break
	}
	if _, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		t.Fatal("still accepting connections after shutdown")
	}
}

// cheapPasswords keep argon2 from dominating the tests (64 MiB per hash, slower still with -race).
var cheapPasswords = users.Params{Time: 1, Memory: 64, Threads: 1, SaltLen: 16, KeyLen: 32}
