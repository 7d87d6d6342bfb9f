package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/net/websocket"
)

const (
	// writeTimeout drops a client that cannot take one message in this long: it is gone or
	// hopelessly behind, and its goroutines must not live forever.
	writeTimeout = 10 * time.Second
	// maxRequestBytes bounds one client message; requests are tiny.
	maxRequestBytes = 1 << 20
	// replyQueue is how many replies may wait for the writer before the reader waits too.
	replyQueue = 16
)

// request is a client call (Contract 3).
type request struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

// resultReply answers a successful request; "result" is present even when it is null.
type resultReply struct {
	ID     json.RawMessage `json:"id"`
	Result any             `json:"result"`
}

// errorReply answers a failed request.
type errorReply struct {
	ID    json.RawMessage `json:"id"`
	Error string          `json:"error"`
}

// client is one WebSocket connection of a session.
type client struct {
	ws     *websocket.Conn
	sess   *session
	logout sync.Once
}

// closeLoggedOut is the close code and reason of a socket whose session ended (logout,
// expiry, user disabled): the page shows its login again rather than reconnecting.
const (
	closeLoggedOut4401 = 4401
	closeLoggedOutText = "logged out"
)

// closeFrame sends a close frame with a code and reason: x/net/websocket's own Close always
// sends 1000, and a Codec is the package's way to choose a frame's opcode.
var closeFrame = websocket.Codec{Marshal: func(v any) ([]byte, byte, error) {
	code := v.(int)
	b := []byte{byte(code >> 8), byte(code)}
	return append(b, closeLoggedOutText...), websocket.CloseFrame, nil
}}

// closeLoggedOut closes the sockets of an ended session with close code 4401, each in its
// own goroutine: a client that is slow to take the frame must not hold up the others.
func closeLoggedOut(socks []*client) {
	for _, c := range socks {
		go c.logout.Do(func() {
			c.ws.SetWriteDeadline(time.Now().Add(2 * time.Second))
			closeFrame.Send(c.ws, closeLoggedOut4401)
			c.ws.Close()
		})
	}
}

func (s *Server) wsHandler() http.Handler {
	return websocket.Server{
		Handshake: s.checkOrigin,
		Handler:   s.serveClient,
	}
}

// checkOrigin accepts clients without an Origin (not a browser), pages of the same host,
// and, while serving loopback only, pages of any loopback origin (the Vite dev server).
// Anything else is refused: any web page the operator opens could otherwise read the plant,
// and command it, through the operator's browser. handleWS has already applied the same rule
// with a JSON answer; this sets the handshake's origin.
func (s *Server) checkOrigin(cfg *websocket.Config, r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	if !s.originAllowed(origin, r) {
		return fmt.Errorf("web: origin %q not allowed", origin)
	}
	u, err := url.Parse(origin)
	if err != nil {
		return fmt.Errorf("web: bad origin %q", origin)
	}
	cfg.Origin = u
	return nil
}

// serveClient runs one connection: a reader that answers calls, and this goroutine as the
// only writer, taking replies and engine events in turn.
func (s *Server) serveClient(ws *websocket.Conn) {
	ws.MaxPayloadBytes = maxRequestBytes
	sess, _ := ws.Request().Context().Value(sessionKey{}).(*session)
	if sess == nil { // handleWS admits no request without one
		ws.Close()
		return
	}
	c := &client{ws: ws, sess: sess}
	if !s.addClient(c) {
		ws.Close()
		return
	}
	defer s.removeClient(c)
	if !s.sessions.addSocket(sess, c) {
		closeLoggedOut([]*client{c})
		return
	}
	defer s.sessions.removeSocket(sess, c)
	// Remote addresses repeat (every local browser is 127.0.0.1); an id per connection lets
	// an operator's session be followed through the log.
	name, _ := s.sessions.user(sess)
	log := s.log.With("client", uuid.NewString(), "remote", ws.Request().RemoteAddr, "user", name)
	log.Info("web: client connected")
	defer log.Info("web: client disconnected")

	events, cancel := s.e.Subscribe()
	defer cancel()

	replies := make(chan any, replyQueue)
	readerDone := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		s.readRequests(c, replies, writerDone)
	}()
	defer func() {
		close(writerDone) // unblocks a reader waiting to queue a reply
		ws.Close()        // unblocks a reader waiting for a message
		<-readerDone
	}()

	for {
		var msg any
		select {
		case r := <-replies:
			msg = r
		case ev, ok := <-events:
			if !ok {
				return // the engine closed
			}
			msg = ev
		case <-readerDone:
			return
		}
		if err := s.write(ws, msg); err != nil {
			if !errors.Is(err, net.ErrClosed) {
				log.Info("web: dropping client", "err", err)
			}
			return
		}
	}
}

func (s *Server) write(ws *websocket.Conn, msg any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("web: encode %T: %w", msg, err)
	}
	ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	return websocket.Message.Send(ws, string(b))
}

// readRequests decodes calls until the connection ends and queues their replies. A
// malformed message is answered with an error rather than dropping the client.
func (s *Server) readRequests(c *client, replies chan<- any, writerDone <-chan struct{}) {
	ws := c.ws
	queue := func(r any) bool {
		select {
		case replies <- r:
			return true
		case <-writerDone:
			return false
		}
	}
	for {
		var raw []byte
		if err := websocket.Message.Receive(ws, &raw); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.log.Debug("web: read", "err", err)
			}
			return
		}
		var req request
		var r any
		if err := json.Unmarshal(raw, &req); err != nil {
			r = errorReply{ID: json.RawMessage("null"), Error: "invalid request: " + err.Error()}
		} else {
			if req.ID == nil {
				req.ID = json.RawMessage("null")
			}
			if result, err := s.callAs(c.sess, req.Method, req.Params); err != nil {
				r = errorReply{ID: req.ID, Error: err.Error()}
			} else {
				r = resultReply{ID: req.ID, Result: result}
			}
		}
		if !queue(r) {
			return
		}
	}
}

func (s *Server) addClient(c *client) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.clients[c] = struct{}{}
	return true
}

func (s *Server) removeClient(c *client) {
	s.mu.Lock()
	delete(s.clients, c)
	s.mu.Unlock()
}

// closeClients closes every WebSocket and refuses new ones.
func (s *Server) closeClients() {
	s.mu.Lock()
	s.closing = true
	for c := range s.clients {
		c.ws.Close()
	}
	s.mu.Unlock()
}
