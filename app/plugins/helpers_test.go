package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"minebrain/app/alarms"
	"minebrain/app/audit"
	"minebrain/app/control"
	"minebrain/app/historian"
)

// Guests are built once per test binary into guestDir.
var (
	guestDir   string
	guestMu    sync.Mutex
	guestBuilt = map[string]error{}
)

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "minebrain-guests-")
	if err != nil {
		panic(err)
	}
	guestDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// guest builds testdata/guests/<name> (once) and returns its .wasm path.
func guest(tb testing.TB, name string) string {
	tb.Helper()
	guestMu.Lock()
	defer guestMu.Unlock()
	out := filepath.Join(guestDir, name+".wasm")
	err, done := guestBuilt[name]
	if !done {
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "./"+name)
		cmd.Dir = filepath.Join("testdata", "guests")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if b, e := cmd.CombinedOutput(); e != nil {
			err = fmt.Errorf("building guest %s: %v\n%s", name, e, b)
		}
		guestBuilt[name] = err
	}
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// plug writes a plugin directory with the module and a manifest naming it with its sha256;
// the manifest's path. body is the manifest after the sha256 line's abi (tick, memory, …);
// empty takes a default.
func plug(tb testing.TB, dir, id string, wasm []byte, body string) string {
	tb.Helper()
	pd := filepath.Join(dir, id)
	if err := os.MkdirAll(pd, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pd, id+".wasm"), wasm, 0o644); err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(wasm)
	if body == "" {
		body = "tick: 20ms\nmemory: 64MiB\nbudget: 10ms\n"
	}
	man := fmt.Sprintf("id: %s\nversion: 0.1.0\nwasm: %s.wasm\nsha256: %s\nabi: 1\n%s", id, id, hex.EncodeToString(sum[:]), body)
	path := filepath.Join(pd, "plugin.yaml")
	if err := os.WriteFile(path, []byte(man), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

type hostWrite struct {
	Plugin, Tag string
	V           float64
}

// fakeHost is the engine as the tests see it.
type fakeHost struct {
	mu      sync.Mutex
	vals    map[string]Value
	names   []string
	writes  []hostWrite
	result  control.Result
	active  map[string]string // raised alarms: id → message
	raised  []string
	cleared []string
	audits  []audit.Entry
}

func newFakeHost(tags map[string]float64) *fakeHost {
	h := &fakeHost{vals: map[string]Value{}, active: map[string]string{}, result: control.Result{Outcome: control.Done}}
	for t, v := range tags {
		h.vals[t] = Value{V: v, Time: time.Now()}
		h.names = append(h.names, t)
	}
	sort.Strings(h.names)
	return h
}

func (h *fakeHost) Tags() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.names...)
}

func (h *fakeHost) Value(tag string) (Value, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.vals[tag]
	return v, ok
}

func (h *fakeHost) set(tag string, v float64) {
	h.mu.Lock()
	h.vals[tag] = Value{V: v, Time: time.Now()}
	h.mu.Unlock()
}

func (h *fakeHost) Write(ctx context.Context, id, tag string, v float64) control.Result {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writes = append(h.writes, hostWrite{id, tag, v})
	return h.result
}

func (h *fakeHost) RaiseAlarm(id string, p alarms.Priority, msg string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.active[id] = p.String() + ": " + msg
	h.raised = append(h.raised, id)
	return nil
}

func (h *fakeHost) ClearAlarm(id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.active, id)
	h.cleared = append(h.cleared, id)
	return nil
}

func (h *fakeHost) Audit(e audit.Entry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.audits = append(h.audits, e)
}

func (h *fakeHost) hostWrites() []hostWrite {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hostWrite(nil), h.writes...)
}

func (h *fakeHost) alarm(id string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, ok := h.active[id]
	return m, ok
}

func (h *fakeHost) auditsOf(action string) []audit.Entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []audit.Entry
	for _, e := range h.audits {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newRuntime is a Runtime over h with fast restarts; db may be nil.
func newRuntime(tb testing.TB, h Host, db DB) *Runtime {
	tb.Helper()
	// One compilation cache for the whole test binary: compiling a Go guest takes seconds
	// (tens of seconds under -race).
	r, err := New(Options{Host: h, DB: db, Logger: quietLogger(), MinBackoff: 200 * time.Millisecond,
		CacheDir: filepath.Join(guestDir, "cache")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

func openStore(tb testing.TB, path string) *historian.Store {
	tb.Helper()
	s, err := historian.Open(context.Background(), path, historian.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// eventually waits up to d for cond.
func eventually(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }
