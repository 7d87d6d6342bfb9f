package sim

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// relay owns the public listening socket and forwards every connection to
// gopcua's server, which listens on a private loopback port.
//
// It exists because gopcua v0.8.0's server cannot drop its clients: its
// Close sends each secure channel a CloseSecureChannel request but never
// closes the TCP connection, then waits 10 s for reader goroutines that stay
// blocked until the client hangs up. Clients would never learn that the
// server went away (a reconnect test would wait forever), and Close would
// take 10 s. Owning the sockets lets Close cut every connection at once.
type relay struct {
	ln     net.Listener
	target string // gopcua's private address
	log    *slog.Logger

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func newRelay(ln net.Listener, target string, log *slog.Logger) *relay {
	r := &relay{ln: ln, target: target, log: log, conns: map[net.Conn]struct{}{}}
	r.wg.Add(1)
	go r.serve()
	return r
}

func (r *relay) serve() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, do not spin.
			r.log.Warn("accept OPC UA connection", "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		r.wg.Add(1)
		go r.handle(c)
	}
}

// track registers connections so that close can cut them; it refuses once
// the relay is closed.
func (r *relay) track(cs ...net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	for _, c := range cs {
		r.conns[c] = struct{}{}
	}
	return true
}

func (r *relay) untrack(cs ...net.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range cs {
		delete(r.conns, c)
	}
}

// handle pipes one client connection to gopcua and back. When either side
// ends, both are closed: OPC UA has no use for half-closed connections.
func (r *relay) handle(client net.Conn) {
	defer r.wg.Done()
	up, err := net.DialTimeout("tcp", r.target, 5*time.Second)
	if err != nil {
		r.log.Warn("connect to the OPC UA server core", "err", err)
		client.Close()
		return
	}
	if !r.track(client, up) {
		client.Close()
		up.Close()
		return
	}
	defer r.untrack(client, up)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(up, client)
		up.Close()
		client.Close()
	}()
	_, _ = io.Copy(client, up)
	client.Close()
	up.Close()
	<-done
}

// close stops accepting, cuts every connection and waits for the relay's
// goroutines to end.
func (r *relay) close() error {
	err := r.ln.Close()
	r.mu.Lock()
	r.closed = true
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
