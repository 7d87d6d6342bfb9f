// Package opcuapeer starts the node-opcua test server in testpeer/opcua for tests, so
// Minebrain's OPC UA client is checked against an implementation that is not gopcua.
//
// The peer needs `make testpeer-deps` (or `npm ci --prefix testpeer/opcua`) once.
package opcuapeer

import (
	"bufio"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Credentials and namespace served by testpeer/opcua/server.mjs.
const (
	User         = "operator"
	Password     = "s3cret-Pa55"
	NamespaceURI = "urn:minebrain:testpeer"
)

const (
	readyTimeout = 60 * time.Second
	killAfter    = 5 * time.Second
)

// Options shape one run of the peer.
type Options struct {
	PKIDir       string        // server PKI root; default t.TempDir(), kept across Restart
	NewCert      bool          // generate a fresh server certificate before starting
	OnlySecure   bool          // no None endpoint
	NoAnonymous  bool          // only the username token is accepted
	Bulk         int           // number of Bulk.Gnnn.Vnn Double variables
	BulkInterval time.Duration // how often every bulk value changes; default 100 ms
	Omit         []string      // variables not to create, e.g. "Plant.Pump2.PressureBar"
}

// Peer is one running (or stopped) node-opcua server process. Its methods are meant to be
// called from the test goroutine only.
type Peer struct {
	dir  string // testpeer/opcua
	port int
	opts Options

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited and its output is drained

	logMu   sync.Mutex
	logT    testing.TB
	logDead bool // set at cleanup: t.Log after the test has ended panics
}

// Start runs the peer on a free loopback port and stops it when the test ends.
func Start(t testing.TB, opts Options) *Peer {
	t.Helper()
	return StartOnPort(t, 0, opts)
}

// StartOnPort is Start on a given port; 0 picks a free one.
func StartOnPort(t testing.TB, port int, opts Options) *Peer {
	t.Helper()
	dir := peerDir(t)
	if opts.PKIDir == "" {
		opts.PKIDir = t.TempDir()
	}
	if port == 0 {
		port = freePort(t)
	}
	p := &Peer{dir: dir, port: port, logT: t}
	t.Cleanup(func() {
		p.Stop(syscall.SIGTERM)
		p.logMu.Lock()
		p.logDead = true
		p.logMu.Unlock()
	})
	if err := p.launch(opts); err != nil {
		t.Fatalf("opcuapeer: %v", err)
	}
	return p
}

// Endpoint is the peer's endpoint URL, e.g. opc.tcp://127.0.0.1:40123.
func (p *Peer) Endpoint() string { return fmt.Sprintf("opc.tcp://127.0.0.1:%d", p.port) }

// Port is the TCP port the peer listens on; it stays the same across Restart.
func (p *Peer) Port() int { return p.port }

// PID is the node process ID of the running peer (0 when stopped), e.g. to measure its CPU.
func (p *Peer) PID() int {
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Options are the options of the current (or last) run; PKIDir is filled in.
func (p *Peer) Options() Options { return p.opts }

// Stop sends sig (SIGTERM for a clean shutdown, SIGKILL for a crash) and waits for the
// process to exit; after killAfter it kills it. Stopping a stopped peer does nothing.
func (p *Peer) Stop(sig os.Signal) {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(killAfter):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd = nil
}

// Restart stops the peer (if running) with SIGTERM and starts it again on the same
// port with opts. An empty opts.PKIDir keeps the previous PKI, so the certificate stays
// the same unless opts.NewCert is set. To simulate a crash, call Stop(syscall.SIGKILL)
// first.
func (p *Peer) Restart(t testing.TB, opts Options) {
	t.Helper()
	p.Stop(syscall.SIGTERM)
	if opts.PKIDir == "" {
		opts.PKIDir = p.opts.PKIDir
	}
	// The port can briefly stay unavailable after a kill (the socket has not been
	// released yet); node sets SO_REUSEADDR, so a few retries are enough.
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		if err = p.launch(opts); err == nil {
			return
		}
		if !errors.Is(err, errAddrInUse) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("opcuapeer: restart: %v", err)
}

// CertificateDER reads the server's own certificate from its PKI directory.
func (p *Peer) CertificateDER() ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(p.opts.PKIDir, "own", "certs", "certificate.pem"))
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("opcuapeer: no PEM certificate in the server PKI")
	}
	return blk.Bytes, nil
}

var errAddrInUse = errors.New("address in use")

func (p *Peer) launch(opts Options) error {
	args := []string{"server.mjs", "--port", strconv.Itoa(p.port), "--pki", opts.PKIDir}
	if opts.NewCert {
		args = append(args, "--new-cert")
	}
	if opts.OnlySecure {
		args = append(args, "--only-secure")
	}
	if opts.NoAnonymous {
		args = append(args, "--no-anonymous")
	}
	if opts.Bulk > 0 {
		args = append(args, "--bulk", strconv.Itoa(opts.Bulk))
		if opts.BulkInterval > 0 {
			args = append(args, "--bulk-interval", strconv.FormatInt(opts.BulkInterval.Milliseconds(), 10))
		}
	}
	for _, n := range opts.Omit {
		args = append(args, "--omit", n)
	}

	cmd := exec.Command("node", args...)
	cmd.Dir = p.dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start node: %w", err)
	}

	ready := make(chan struct{})
	var once sync.Once
	var tail tailBuf // recent output, to explain a failed start
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		p.forward("stdout", stdout, &tail, func(line string) {
			if strings.HasPrefix(line, "READY ") {
				once.Do(func() { close(ready) })
			}
		})
	}()
	go func() {
		defer wg.Done()
		p.forward("stderr", stderr, &tail, nil)
	}()
	done := make(chan struct{})
	go func() {
		wg.Wait() // the pipes must be drained before Wait closes them
		_ = cmd.Wait()
		close(done)
	}()

	select {
	case <-ready:
		p.cmd, p.done, p.opts = cmd, done, opts
		return nil
	case <-done:
		out := tail.String()
		if strings.Contains(out, "EADDRINUSE") {
			return fmt.Errorf("port %d: %w\n%s", p.port, errAddrInUse, out)
		}
		return fmt.Errorf("peer exited before READY (%v):\n%s", cmd.ProcessState, out)
	case <-time.After(readyTimeout):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("no READY line within %v:\n%s", readyTimeout, tail.String())
	}
}

func (p *Peer) forward(name string, r io.Reader, tail *tailBuf, onLine func(string)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		tail.add(line)
		if onLine != nil {
			onLine(line)
		}
		p.logMu.Lock()
		if !p.logDead {
			p.logT.Logf("testpeer %s: %s", name, line)
		}
		p.logMu.Unlock()
	}
	_, _ = io.Copy(io.Discard, r)
}

// tailBuf keeps the last lines of the peer's output.
type tailBuf struct {
	mu    sync.Mutex
	lines []string
}

func (b *tailBuf) add(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, s)
	if len(b.lines) > 40 {
		b.lines = b.lines[len(b.lines)-40:]
	}
}

func (b *tailBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

// peerDir finds testpeer/opcua next to go.mod and checks that its packages are installed.
func peerDir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("opcuapeer: %v", err)
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			t.Fatalf("opcuapeer: no go.mod above %s", wd)
		}
		root = parent
	}
	dir := filepath.Join(root, "testpeer", "opcua")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "node-opcua")); err != nil {
		t.Fatalf("opcuapeer: node-opcua is not installed in %s: run `make testpeer-deps` (or `npm ci --prefix testpeer/opcua`)", dir)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("opcuapeer: node is not on PATH: %v", err)
	}
	return dir
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("opcuapeer: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
