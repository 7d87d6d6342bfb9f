// Package plugins runs integrators' site-specific logic as sandboxed WebAssembly plugins
// (sdk/ABI.md): one wazero runtime per plugin with the manifest's memory limit, a goroutine
// ticking it at the manifest's period within its budget, host functions serving a snapshot
// of the granted tags, setpoint requests checked against the manifest and either recorded
// (SHADOW) or handed to the control path (AUTO), and faults that stop only the faulty plugin
// and restart it after a back-off. See README.md.
package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"

	"minebrain/app/alarms"
	"minebrain/app/audit"
	"minebrain/app/control"
)

// Host is Minebrain as a plugin sees it; app/engine implements it. Every method must be safe
// for concurrent use and must not call the Runtime back.
type Host interface {
	// Tags is every tag name of the site.
	Tags() []string
	// Value is the latest value of a tag; false when there is no such tag.
	Value(tag string) (Value, bool)
	// Write asks the control path to write a setpoint for a plugin in AUTO mode; the engine
	// routes it through app/control with the plugin as the actor.
	Write(ctx context.Context, pluginID, tag string, v float64) control.Result
	// RaiseAlarm raises (or updates the message of) a system-class alarm.
	RaiseAlarm(id string, p alarms.Priority, msg string) error
	// ClearAlarm says the alarm's condition is gone.
	ClearAlarm(id string) error
	// Audit records an audit entry.
	Audit(e audit.Entry)
}

// BatchHost is a Host that can read many tags faster than one Value call each (a Host need
// not be one). When the Host is a BatchHost, a plugin's granted tags are resolved once when it
// loads and read with one call per tick.
type BatchHost interface {
	Host
	// ValueReader is called once per plugin load with its granted tags (sorted; the slice is
	// the callee's). It returns a function filling dst[i] (len(dst) == len(tags)) with the
	// latest value of tags[i], Missing when there is no such tag. The function is called from
	// the plugin's goroutine (or Step's caller), one call at a time, until the plugin is
	// unloaded or reloaded; it must be safe against the host's own updates.
	ValueReader(tags []string) func(dst []Value)
}

// Value is a tag's latest value as the host knows it.
type Value struct {
	V       float64
	Status  uint32 // OPC UA status code
	Stale   bool
	Missing bool // never received
	Time    time.Time
}

// Mode is what a plugin's setpoint requests do.
type Mode string

// The modes. New plugins start in Shadow.
const (
	Off    Mode = "off"    // not ticking
	Shadow Mode = "shadow" // ticking; writes recorded, not sent
	Auto   Mode = "auto"   // ticking; writes sent through the control path
)

// ParseMode reads a mode by name (off, shadow, auto; any case).
func ParseMode(s string) (Mode, error) {
	switch m := Mode(lower(s)); m {
	case Off, Shadow, Auto:
		return m, nil
	}
	return "", fmt.Errorf("plugin mode %q: use off, shadow or auto", s)
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// State is where a plugin is in its life.
type State string

// The states.
const (
	Loading State = "loading"
	Running State = "running"
	Faulted State = "faulted" // waiting for its restart
	Stopped State = "off"     // mode OFF
)

// WriteGrant is a setpoint the manifest lets the plugin write.
type WriteGrant struct {
	Tag     string  `json:"tag"`
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
	MaxRate float64 `json:"maxRate"` // units per second, 0 = none
}

// WriteRecord is one setpoint request of the plugin and what became of it.
type WriteRecord struct {
	Time    time.Time `json:"time"`
	Tag     string    `json:"tag"`
	Value   float64   `json:"value"`
	Current *float64  `json:"current,omitempty"` // the tag's value when asked; nil when it has none
	Mode    Mode      `json:"mode"`
	Outcome string    `json:"outcome"` // "suppressed" (SHADOW), "pending", "done", "refused: …", "rejected: …", "timed out: …"
	seq     uint64
}

// RecentWritesMax is how many write records a Status keeps.
const RecentWritesMax = 20

// Status is a plugin as the UI shows it.
type Status struct {
	ID           string        `json:"id"`
	Version      string        `json:"version"`
	Manifest     string        `json:"manifest"`
	SHA256       string        `json:"sha256"`
	State        State         `json:"state"`
	Mode         Mode          `json:"mode"`
	LastError    string        `json:"lastError,omitempty"`
	NextRestart  time.Time     `json:"nextRestart,omitzero"`
	Ticks        uint64        `json:"ticks"`
	TickLast     time.Duration `json:"tickLast"`
	TickAvg      time.Duration `json:"tickAvg"`
	TickMax      time.Duration `json:"tickMax"`
	Restarts     int           `json:"restarts"`
	Reads        []string      `json:"reads"`
	Writes       []WriteGrant  `json:"writes"`
	RecentWrites []WriteRecord `json:"recentWrites"`
	LogDropped   uint64        `json:"logDropped"`
	MemoryBytes  uint64        `json:"memoryBytes"`
}

// Options configure a Runtime; zero fields take the defaults given.
type Options struct {
	Host     Host
	DB       DB               // nil: key-value state kept in memory only
	CacheDir string           // compilation cache directory; "" = in memory
	Logger   *slog.Logger     // slog.Default()
	Now      func() time.Time // time.Now: the clock given to plugins (now_ns, clock_time_get)

	// Manual: no goroutine ticks the plugins; Step does, one tick at a time, in simulated
	// time (offline tests against a simulation). Set Now to the simulation's clock too: it
	// is the clock before the first Step.
	Manual bool

	Watch         bool          // reload a plugin when its manifest or .wasm changes
	WatchInterval time.Duration // 2 s

	MinBackoff   time.Duration // 1 s, the first restart delay after a fault, doubled each fault
	MaxBackoff   time.Duration // 5 min
	HealthyReset time.Duration // 10 min running without a fault resets the back-off
	InitTimeout  time.Duration // 10 s for _initialize (a language runtime's start-up)
	WriteTimeout time.Duration // 30 s for one Host.Write
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.WatchInterval <= 0 {
		o.WatchInterval = 2 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.HealthyReset <= 0 {
		o.HealthyReset = 10 * time.Minute
	}
	if o.InitTimeout <= 0 {
		o.InitTimeout = 10 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 30 * time.Second
	}
}

// Errors.
var (
	ErrUnknown = errors.New("no such plugin")
	ErrExists  = errors.New("plugin already loaded")
	ErrClosed  = errors.New("plugin runtime closed")
	ErrAuto    = errors.New("plugin runtime not in Manual mode: its plugins tick by themselves")
)

// Runtime runs the plugins.
type Runtime struct {
	opts    Options
	realNow bool // Options.Now is time.Now
	cache   wazero.CompilationCache
	ctx     context.Context
	cancel  context.CancelFunc

	op sync.Mutex // serializes Load, Unload, Reload, Close

	mu      sync.Mutex
	plugins map[string]*plugin
	closed  bool

	watchDone chan struct{}
}

// New returns a Runtime; with a DB it migrates the plugin_kv table.
func New(opts Options) (*Runtime, error) {
	if opts.Host == nil {
		return nil, errors.New("plugins: no Host")
	}
	realNow := opts.Now == nil
	opts.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	if opts.DB != nil {
		if err := opts.DB.Migrate(ctx, Part, migrations...); err != nil {
			cancel()
			return nil, err
		}
	}
	r := &Runtime{opts: opts, realNow: realNow, ctx: ctx, cancel: cancel, plugins: map[string]*plugin{}}
	if opts.CacheDir != "" {
		if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
			cancel()
			return nil, fmt.Errorf("plugins: compilation cache: %w", err)
		}
		c, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("plugins: compilation cache: %w", err)
		}
		r.cache = c
	} else {
		r.cache = wazero.NewCompilationCache()
	}
	if opts.Watch {
		r.watchDone = make(chan struct{})
		go r.watch()
	}
	return r, nil
}

// Load loads the plugin whose manifest is at manifestPath and starts it in SHADOW mode.
//
// A manifest, module or ABI problem refuses it: Load returns the error and the plugin is not
// loaded. A fault while starting (mb_init trapping, over budget or returning non-zero) leaves
// it loaded in state FAULTED, to be restarted after a back-off: Load returns its Status
// with the reason in LastError and a nil error.
func (r *Runtime) Load(manifestPath string) (Status, error) {
	r.op.Lock()
	defer r.op.Unlock()
	if r.isClosed() {
		return Status{}, ErrClosed
	}
	abs, err := filepath.Abs(manifestPath)
	if err != nil {
		return Status{}, err
	}
	p, err := r.prepare(abs, nil)
	if err != nil {
		return Status{}, err
	}
	r.mu.Lock()
	if _, ok := r.plugins[p.id]; ok {
		r.mu.Unlock()
		p.closeRuntime()
		return Status{}, fmt.Errorf("plugin %s: %w", p.id, ErrExists)
	}
	r.plugins[p.id] = p
	r.mu.Unlock()
	if err := p.begin(nil); err != nil {
		r.mu.Lock()
		delete(r.plugins, p.id)
		r.mu.Unlock()
		p.closeRuntime()
		return Status{}, err
	}
	return p.status(), nil
}

// prepare reads, verifies, compiles and checks a plugin, without running anything of it.
// old is the plugin it replaces on Reload (its key-value state is kept).
func (r *Runtime) prepare(path string, old *plugin) (*plugin, error) {
	m, err := loadManifest(path)
	if err != nil {
		return nil, err
	}
	var kv *kvStore
	if old != nil {
		if old.id != m.ID {
			return nil, fmt.Errorf("plugin %s: the manifest now says id %q; unload it and load the new one", old.id, m.ID)
		}
		kv = old.kv
	} else {
		kv, err = loadKV(r.ctx, r.opts.DB, m.ID)
		if err != nil {
			return nil, err
		}
	}
	return newPlugin(r, path, m, kv)
}

func (r *Runtime) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

func (r *Runtime) get(id string) (*plugin, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	p := r.plugins[id]
	if p == nil {
		return nil, fmt.Errorf("plugin %s: %w", id, ErrUnknown)
	}
	return p, nil
}

// Unload stops a plugin and frees it. Its stored key-value state stays in the database.
func (r *Runtime) Unload(id string) error {
	r.op.Lock()
	defer r.op.Unlock()
	p, err := r.get(id)
	if err != nil {
		return err
	}
	p.stop()
	p.closeRuntime()
	r.mu.Lock()
	delete(r.plugins, id)
	r.mu.Unlock()
	return nil
}

// Reload reads the plugin's manifest and module again and restarts it, keeping its
// key-value state. When the new one is refused, the old one keeps running and the error is
// returned. The mode is kept when the module and the manifest's writes are unchanged;
// otherwise the plugin goes back to SHADOW (audited).
func (r *Runtime) Reload(id string) error {
	r.op.Lock()
	defer r.op.Unlock()
	old, err := r.get(id)
	if err != nil {
		return err
	}
	np, err := r.prepare(old.path, old)
	if err != nil {
		old.setError("reload refused: " + err.Error())
		return err
	}
	old.stop()
	old.closeRuntime()
	mode := old.getMode()
	if mode != Off && (np.sha != old.sha || !sameWrites(np.grants, old.grants)) && mode != Shadow {
		r.opts.Host.Audit(audit.Entry{Who: "system", Face: audit.FacePlugin, Action: "plugin.mode",
			Target: id, Old: string(mode), New: string(Shadow),
			Reason: "module or writes changed on reload", Result: "done"})
		mode = Shadow
	}
	np.mode = mode
	np.carry(old)
	r.mu.Lock()
	r.plugins[id] = np
	r.mu.Unlock()
	if err := np.begin(old); err != nil {
		// Refused by the ABI version: nothing runs under this id any more.
		r.mu.Lock()
		delete(r.plugins, id)
		r.mu.Unlock()
		np.closeRuntime()
		return err
	}
	return nil
}

func sameWrites(a, b []WriteGrant) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// SetMode switches a plugin between OFF, SHADOW and AUTO and audits it as done by who.
// The caller (app/engine) checks who may do it.
func (r *Runtime) SetMode(id string, m Mode, who string) error {
	if _, err := ParseMode(string(m)); err != nil {
		return err
	}
	p, err := r.get(id)
	if err != nil {
		return err
	}
	old := p.setMode(m)
	if old != m {
		r.opts.Host.Audit(audit.Entry{Who: who, Face: audit.FacePlugin, Action: "plugin.mode",
			Target: id, Old: string(old), New: string(m), Result: "done"})
		r.opts.Logger.Info(MsgMode, PluginKey, id, "old", old, "new", m, "who", who)
	}
	return nil
}

// Step runs one tick of a plugin at simulated time now, on the caller's goroutine; the
// Runtime must be Manual (ErrAuto otherwise). It reads the granted tags, calls mb_tick(now)
// within the budget (measured in real time) and records the tick's writes; in AUTO it calls
// Host.Write for them before it returns, so the simulation sees them before its next Step.
// The plugin's clock (now_ns, clock_time_get) is now.
//
// Faults are as when ticking by itself (Status, alarm, audit), but the back-off is measured
// in the now of the Steps: a Step of a FAULTED plugin whose restart time has come restarts it
// and, if it starts, ticks it; before that, a Step does nothing. A Step in mode OFF does
// nothing. The error is only for a wrong id, a closed or non-Manual Runtime, or a plugin
// being unloaded (ErrUnknown); a fault shows in Get(id). Steps of one plugin are serialized;
// different plugins may be stepped concurrently.
func (r *Runtime) Step(id string, now time.Time) error {
	if !r.opts.Manual {
		return ErrAuto
	}
	p, err := r.get(id)
	if err != nil {
		return err
	}
	p.stepMu.Lock()
	defer p.stepMu.Unlock()
	if p.ctx == nil || p.ctx.Err() != nil {
		return fmt.Errorf("plugin %s: %w", id, ErrUnknown) // not started, unloaded or replaced
	}
	p.simNow = now
	if p.getMode() == Off {
		return nil
	}
	if p.mod == nil {
		p.mu.Lock()
		next := p.next
		p.mu.Unlock()
		if now.Before(next) || !p.restartNow() || p.mod == nil {
			return nil
		}
	}
	if reason := p.tick(); reason != "" && reason != "stopped" {
		p.fault(reason)
	}
	return nil
}

// List is the status of every plugin, by id.
func (r *Runtime) List() []Status {
	r.mu.Lock()
	ps := make([]*plugin, 0, len(r.plugins))
	for _, p := range r.plugins {
		ps = append(ps, p)
	}
	r.mu.Unlock()
	out := make([]Status, len(ps))
	for i, p := range ps {
		out[i] = p.status()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Get is the status of one plugin.
func (r *Runtime) Get(id string) (Status, bool) {
	p, err := r.get(id)
	if err != nil {
		return Status{}, false
	}
	return p.status(), true
}

// Close stops every plugin and frees the runtime.
func (r *Runtime) Close() error {
	r.op.Lock()
	defer r.op.Unlock()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	ps := make([]*plugin, 0, len(r.plugins))
	for _, p := range r.plugins {
		ps = append(ps, p)
	}
	r.plugins = map[string]*plugin{}
	r.mu.Unlock()
	r.cancel()
	if r.watchDone != nil {
		<-r.watchDone
	}
	for _, p := range ps {
		p.stop()
		p.closeRuntime()
	}
	return r.cache.Close(context.Background())
}
