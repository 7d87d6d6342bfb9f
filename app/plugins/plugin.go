package plugins

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"minebrain/app/alarms"
	"minebrain/app/audit"
	"minebrain/app/control"
	"minebrain/app/plugins/loopguard"
	"minebrain/app/plugins/manifest"
)

type request struct {
	set bool
	v   float64
}

type accepted struct {
	v  float64
	t  time.Time
	ok bool
}

type raised struct {
	prio alarms.Priority
	msg  string
}

type autoReq struct {
	set bool
	v   float64
	seq uint64
}

// plugin is one loaded plugin: its wazero runtime (holding its memory limit), its compiled
// module and, while it runs, its instance. Fields below "loop state" belong to the goroutine
// running the instance (Load's caller until the loop starts).
type plugin struct {
	rt       *Runtime
	id       string
	path     string // the manifest's absolute path
	wasmPath string
	sha      string
	man      *manifest.Manifest
	stamp    fileStamp // of the manifest and module when loaded (Watch)

	wr       wazero.Runtime
	compiled wazero.CompiledModule

	reads    []string
	readIdx  map[string]int
	readFn   func(dst []Value) // BatchHost's reader of reads; nil: Host.Value each
	readVals []Value           // readFn's buffer
	curFn    func(dst []Value) // BatchHost's reader of the write grants' tags; nil: Host.Value each
	curVals  []Value           // curFn's buffer
	grants   []WriteGrant
	writeIdx map[string]int
	kv       *kvStore

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	dog    *watchdog
	stepMu sync.Mutex // Manual: held by Step, and by stop to close the instance

	// loop state
	mod       api.Module
	interrupt api.MutableGlobal // the instance's loopguard global: non-zero traps its loops
	fnTick    api.Function
	stack     [1]uint64
	snapBuf   []byte
	snapped   bool      // snapBuf holds this tick's values
	simNow    time.Time // Manual: the now of the Step in progress (or the last one)
	req       []request
	last      []accepted
	tickNow   time.Time
	badWrite  string
	oom       bool
	panicLine string
	alarms    map[string]raised
	stdout    lineWriter
	stderr    lineWriter
	logWindow time.Time
	logCount  int
	logBytes  int // this tick
	backoff   time.Duration
	started   time.Time // the instance's start
	faulted   bool      // the plugin alarm is raised

	results  []atomic.Int32 // write_result per setpoint, set by the loop and the writer
	memBytes atomic.Uint64
	dropped  atomic.Uint64

	// AUTO requests waiting for the writer
	wmu    sync.Mutex
	wpend  []autoReq
	wwake  chan struct{}
	wbatch []autoReq // the writer's (Manual: Step's) copy of wpend

	mu       sync.Mutex // guards the fields below
	mode     Mode
	state    State
	lastErr  string
	next     time.Time
	ticks    uint64
	tickLast time.Duration
	tickSum  time.Duration
	tickMax  time.Duration
	restarts int
	recent   [RecentWritesMax]recentWrite // a ring: the oldest at recentHead
	nRecent  int
	rHead    int
	seq      uint64
}

// recentWrite is a WriteRecord as kept in the ring: its Current as a value (Status makes
// the pointer), so that recording a write allocates nothing.
type recentWrite struct {
	WriteRecord
	cur    float64
	hasCur bool
}

// newPlugin verifies and compiles the plugin's module in a wazero runtime of its own and
// checks it against the ABI; nothing of the module runs yet.
func newPlugin(r *Runtime, path string, m *manifest.Manifest, kv *kvStore) (p *plugin, err error) {
	wasmPath := m.WasmPath()
	stamp, _ := stampOf(path, wasmPath)
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: reading its module: %w", m.ID, err)
	}
	if err := verifyModule(m, wasm); err != nil {
		return nil, fmt.Errorf("plugin %s: %w", m.ID, err)
	}
	sum := sha256.Sum256(wasm)
	if m.Memory < 1<<16 || m.Memory%(1<<16) != 0 {
		return nil, fmt.Errorf("plugin %s: memory %d is not a positive multiple of 64 KiB", m.ID, m.Memory)
	}
	p = &plugin{rt: r, id: m.ID, path: path, wasmPath: wasmPath, sha: hex.EncodeToString(sum[:]),
		man: m, stamp: stamp, kv: kv, mode: Shadow, state: Loading, alarms: map[string]raised{},
		backoff: r.opts.MinBackoff, wwake: make(chan struct{}, 1)}
	p.stdout = lineWriter{p: p}
	p.stderr = lineWriter{p: p, stderr: true}
	p.reads = readable(m, r.opts.Host.Tags())
	p.readIdx = make(map[string]int, len(p.reads))
	for i, t := range p.reads {
		p.readIdx[t] = i
	}
	p.snapBuf = make([]byte, len(p.reads)*tagValueSize)
	if bh, ok := r.opts.Host.(BatchHost); ok {
		p.readFn = bh.ValueReader(append([]string(nil), p.reads...))
		p.readVals = make([]Value, len(p.reads))
	}
	p.grants = make([]WriteGrant, len(m.Writes))
	p.writeIdx = make(map[string]int, len(m.Writes))
	for i, w := range m.Writes {
		p.grants[i] = WriteGrant{Tag: w.Tag, Min: w.Min, Max: w.Max, MaxRate: w.MaxRate}
		p.writeIdx[w.Tag] = i
	}
	if bh, ok := r.opts.Host.(BatchHost); ok && len(p.grants) > 0 {
		tags := make([]string, len(p.grants))
		for i, g := range p.grants {
			tags[i] = g.Tag
		}
		p.curFn = bh.ValueReader(tags)
		p.curVals = make([]Value, len(p.grants))
	}
	p.req = make([]request, len(p.grants))
	p.last = make([]accepted, len(p.grants))
	p.wpend = make([]autoReq, len(p.grants))
	p.wbatch = make([]autoReq, len(p.grants))
	p.results = make([]atomic.Int32, len(p.grants))
	for i := range p.results {
		p.results[i].Store(wrNone)
	}

	ctx := r.ctx
	cfg := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(m.Memory >> 16).
		WithCompilationCache(r.cache)
	wr := wazero.NewRuntimeWithConfig(ctx, cfg)
	p.wr = wr
	defer func() {
		if err != nil {
			wr.Close(context.Background())
		}
	}()
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, p.wr); err != nil {
		return nil, fmt.Errorf("plugin %s: WASI: %w", m.ID, err)
	}
	if err := p.instantiateHost(ctx, p.wr); err != nil {
		return nil, fmt.Errorf("plugin %s: host functions: %w", m.ID, err)
	}
	p.compiled, err = compile(ctx, p.wr, wasm)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %s is not a valid WebAssembly module: %s", m.ID, m.Wasm, firstLine(err.Error()))
	}
	if err := p.checkModule(); err != nil {
		return nil, fmt.Errorf("plugin %s: %s: %w", m.ID, m.Wasm, err)
	}
	return p, nil
}

// compile instruments wasm (loopguard) and compiles it. wazero's validator can panic on
// some malformed modules (v1.12: a call to a function whose type index is out of range,
// checked only after the caller is validated); a corrupted file must be refused, not take
// Minebrain down, so a panic is an error here.
func compile(ctx context.Context, wr wazero.Runtime, wasm []byte) (cm wazero.CompiledModule, err error) {
	guarded, err := loopguard.Instrument(wasm)
	if err != nil {
		return nil, err
	}
	defer func() {
		if v := recover(); v != nil {
			cm, err = nil, fmt.Errorf("the module is malformed (the WebAssembly compiler failed on it: %v)", v)
		}
	}()
	return wr.CompileModule(ctx, guarded)
}

// checkModule checks the compiled module's imports and exports against the ABI.
func (p *plugin) checkModule() error {
	c := p.compiled
	wasi := p.wr.Module(wasi_snapshot_preview1.ModuleName).ExportedFunctionDefinitions()
	for _, d := range c.ImportedFunctions() {
		mod, name, _ := d.Import()
		switch mod {
		case hostModule:
			h := hostFuncByName[name]
			if h == nil {
				return fmt.Errorf("imports %s.%s, which Minebrain does not provide (ABI version %d)", mod, name, manifest.ABIVersion)
			}
			if !sameTypes(d.ParamTypes(), h.params) || !sameTypes(d.ResultTypes(), h.results) {
				return fmt.Errorf("imports %s.%s with the wrong signature %s", mod, name, sig(d.ParamTypes(), d.ResultTypes()))
			}
		case wasi_snapshot_preview1.ModuleName:
			w, ok := wasi[name]
			if !ok {
				return fmt.Errorf("imports %s.%s, which Minebrain does not provide", mod, name)
			}
			if !sameTypes(d.ParamTypes(), w.ParamTypes()) || !sameTypes(d.ResultTypes(), w.ResultTypes()) {
				return fmt.Errorf("imports %s.%s with the wrong signature %s", mod, name, sig(d.ParamTypes(), d.ResultTypes()))
			}
		default:
			return fmt.Errorf("imports %s.%s, which Minebrain does not provide", mod, name)
		}
	}
	for _, d := range c.ImportedMemories() {
		mod, name, _ := d.Import()
		return fmt.Errorf("imports memory %s.%s, which Minebrain does not provide: a plugin exports its own memory", mod, name)
	}
	fns := c.ExportedFunctions()
	if _, ok := fns["_start"]; ok {
		return errors.New("exports _start: it is a command, and plugins are reactors (Go: -buildmode=c-shared; C: -mexec-model=reactor)")
	}
	want := []struct {
		name    string
		params  []api.ValueType
		results []api.ValueType
	}{
		{"mb_abi_version", nil, r32},
		{"mb_init", nil, r32},
		{"mb_tick", []api.ValueType{api.ValueTypeI64}, r32},
	}
	for _, w := range want {
		d, ok := fns[w.name]
		if !ok {
			return fmt.Errorf("does not export %s, which the ABI requires", w.name)
		}
		if !sameTypes(d.ParamTypes(), w.params) || !sameTypes(d.ResultTypes(), w.results) {
			return fmt.Errorf("exports %s as %s; the ABI wants %s", w.name, sig(d.ParamTypes(), d.ResultTypes()), sig(w.params, w.results))
		}
	}
	if d, ok := fns["_initialize"]; ok && (len(d.ParamTypes()) != 0 || len(d.ResultTypes()) != 0) {
		return fmt.Errorf("exports _initialize as %s; it must be () -> ()", sig(d.ParamTypes(), d.ResultTypes()))
	}
	mem, ok := c.ExportedMemories()["memory"]
	if !ok {
		return errors.New("does not export its memory as \"memory\"")
	}
	if need := uint64(mem.Min()) << 16; need > uint64(p.man.Memory) {
		return fmt.Errorf("needs at least %s of memory to start; the manifest allows %s", sizeText(need), sizeText(uint64(p.man.Memory)))
	}
	return nil
}

func sameTypes(a, b []api.ValueType) bool {
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

func sig(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, ", ")
	}
	return "(" + names(params) + ") -> (" + names(results) + ")"
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// carry takes over what a reloaded plugin keeps from the one it replaces.
func (p *plugin) carry(old *plugin) {
	old.mu.Lock()
	p.recent, p.nRecent, p.rHead = old.recent, old.nRecent, old.rHead
	p.seq = old.seq
	old.mu.Unlock()
	p.alarms = old.alarms
	p.faulted = old.faulted
}

// begin starts the instance, then the goroutines ticking it and sending its AUTO writes.
// An error is a refusal (wrong ABI version); a fault leaves the plugin FAULTED, restarting.
func (p *plugin) begin(old *plugin) error {
	p.stepMu.Lock() // Manual: no Step before it has started
	defer p.stepMu.Unlock()
	p.ctx, p.cancel = context.WithCancel(p.rt.ctx)
	p.dog = newWatchdog()
	if reason, err := p.start(); err != nil {
		p.cancel()
		return err
	} else if reason != "" {
		p.fault(reason)
	} else {
		p.running()
	}
	if p.rt.opts.Manual {
		return nil // Step ticks it and sends its writes
	}
	p.wg.Add(2)
	go p.loop()
	go p.writer()
	return nil
}

// stop ends the plugin's goroutines (interrupting a tick in progress) and closes its instance.
func (p *plugin) stop() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.dog.fire() // a call in progress returns "stopped"
	p.wg.Wait()
	p.stepMu.Lock() // a Step in progress returns "stopped"
	p.closeModule()
	p.stepMu.Unlock()
}

func (p *plugin) closeRuntime() {
	p.wr.Close(context.Background())
}

func (p *plugin) closeModule() {
	if p.mod != nil {
		p.mod.Close(context.Background())
		p.mod, p.fnTick, p.interrupt = nil, nil, nil
	}
}

// start instantiates the module and runs _initialize, mb_abi_version and mb_init. It returns
// a fault's reason, or an error when the module is refused.
func (p *plugin) start() (reason string, err error) {
	now := p.clock
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithStdout(&p.stdout).
		WithStderr(&p.stderr).
		WithWalltime(func() (int64, int32) {
			t := now()
			return t.Unix(), int32(t.Nanosecond())
		}, sys.ClockResolution(1)).
		WithSysNanotime().
		WithRandSource(rand.Reader)
	p.resetCall()
	p.logBytes = 0
	mod, err := p.wr.InstantiateModule(p.ctx, p.compiled, cfg)
	if err != nil {
		if p.ctx.Err() != nil {
			return "stopped", nil
		}
		return "instantiating: " + firstLine(err.Error()), nil
	}
	p.mod = mod
	p.interrupt, _ = mod.ExportedGlobal(loopguard.Export).(api.MutableGlobal)
	p.fnTick = mod.ExportedFunction("mb_tick")
	p.started = p.wall()
	fail := func(r string) (string, error) {
		p.closeModule()
		return r, nil
	}
	if f := mod.ExportedFunction("_initialize"); f != nil {
		if r := p.call(f, "_initialize", p.rt.opts.InitTimeout, nil); r != "" {
			return fail(r)
		}
	}
	var st [1]uint64
	if r := p.call(mod.ExportedFunction("mb_abi_version"), "mb_abi_version", p.man.Budget, st[:]); r != "" {
		return fail(r)
	}
	if v := int32(st[0]); v != manifest.ABIVersion {
		p.closeModule()
		return "", fmt.Errorf("plugin %s: mb_abi_version returned %d; this Minebrain implements ABI version %d", p.id, v, manifest.ABIVersion)
	}
	st[0] = 0
	if r := p.call(mod.ExportedFunction("mb_init"), "mb_init", p.man.Budget, st[:]); r != "" {
		return fail(r)
	}
	if rc := int32(st[0]); rc != 0 {
		return fail(fmt.Sprintf("mb_init returned %d: the plugin refused to start", rc))
	}
	p.flushKV()
	p.memBytes.Store(uint64(mod.Memory().Size()))
	return "", nil
}

// call runs fn of the instance within timeout; a fault's reason, or "". It allocates
// nothing of its own: the watchdog's timer is reused, and the interrupt is a global of the
// instance (loopguard), not a context wazero would watch with a goroutine per call.
func (p *plugin) call(fn api.Function, name string, timeout time.Duration, stack []uint64) string {
	p.resetCall()
	p.dog.arm(p.interrupt, timeout)
	err := fn.CallWithStack(p.ctx, stack)
	if p.dog.disarm() {
		// Interrupted, or the budget ran out as it returned: a budget fault either way.
		if p.ctx.Err() != nil {
			return "stopped"
		}
		return budgetReason(name, timeout)
	}
	if err == nil {
		return ""
	}
	return p.classify(err, name, timeout)
}

func budgetReason(name string, timeout time.Duration) string {
	if name == "mb_tick" {
		name = "tick"
	}
	return fmt.Sprintf("%s exceeded its %s budget and was interrupted", name, timeout)
}

// watchdog interrupts a guest call that outlives its budget. One per plugin: its timer is
// armed before each call and stopped after it; when it fires (or stop asks) it sets the
// instance's interrupt global, and the guest traps at its next loop iteration, so the call
// returns. The plugin then faults and restarts with a new instance, as for any fault.
// The global is only set between arm and disarm: never on an instance being closed.
type watchdog struct {
	t     *time.Timer
	mu    sync.Mutex
	armed api.MutableGlobal // the running call's interrupt; nil when disarmed
	fired bool
}

func newWatchdog() *watchdog {
	w := &watchdog{}
	w.t = time.AfterFunc(time.Hour, w.fire)
	w.t.Stop()
	return w
}

// fire interrupts the call in progress, if any.
func (w *watchdog) fire() {
	w.mu.Lock()
	if w.armed != nil {
		w.fired = true
		w.armed.Set(1)
		w.armed = nil
	}
	w.mu.Unlock()
}

func (w *watchdog) arm(interrupt api.MutableGlobal, d time.Duration) {
	w.mu.Lock()
	w.armed, w.fired = interrupt, false
	w.mu.Unlock()
	w.t.Reset(d)
}

// disarm stops the timer; whether it fired (the instance is then interrupted for good).
func (w *watchdog) disarm() bool {
	w.t.Stop()
	w.mu.Lock()
	fired := w.fired
	w.armed, w.fired = nil, false
	w.mu.Unlock()
	return fired
}

func (p *plugin) resetCall() {
	p.badWrite, p.oom, p.panicLine = "", false, ""
}

// classify words the error of a guest call as a fault reason.
func (p *plugin) classify(err error, name string, timeout time.Duration) string {
	if p.ctx.Err() != nil {
		return "stopped"
	}
	var fe *faultError
	if errors.As(err, &fe) {
		return fe.reason
	}
	limit := "memory limit " + sizeText(uint64(p.man.Memory)) + " reached"
	var ee *sys.ExitError
	if errors.As(err, &ee) {
		if p.oom {
			return limit
		}
		if p.panicLine != "" {
			return fmt.Sprintf("trap: %s (exit code %d)", p.panicLine, ee.ExitCode())
		}
		return fmt.Sprintf("%s: the module exited with code %d", name, ee.ExitCode())
	}
	if p.oom || p.nearLimit() {
		return limit
	}
	return "trap: " + firstLine(err.Error())
}

// nearLimit: the memory cannot grow by another page.
func (p *plugin) nearLimit() bool {
	if p.mod == nil {
		return false
	}
	return uint64(p.mod.Memory().Size())+1<<16 > uint64(p.man.Memory)
}

// loop ticks the instance, and restarts it after a fault.
func (p *plugin) loop() {
	defer p.wg.Done()
	ticker := time.NewTicker(p.man.Tick)
	defer ticker.Stop()
	for {
		if p.mod == nil {
			if !p.restart(ticker) {
				return
			}
			continue
		}
		select {
		case <-p.ctx.Done():
			return
		case <-ticker.C:
		}
		if p.getMode() == Off {
			continue
		}
		if reason := p.tick(); reason == "stopped" {
			return
		} else if reason != "" {
			p.fault(reason)
		}
	}
}

// restart waits for the back-off (and a mode other than OFF) and starts a new instance;
// false when the plugin is stopped.
func (p *plugin) restart(ticker *time.Ticker) bool {
	p.mu.Lock()
	wait := p.next.Sub(p.wall())
	p.mu.Unlock()
	t := time.NewTimer(max(wait, 0))
	select {
	case <-p.ctx.Done():
		t.Stop()
		return false
	case <-t.C:
	}
	for p.getMode() == Off {
		select {
		case <-p.ctx.Done():
			return false
		case <-ticker.C:
		}
	}
	return p.restartNow()
}

// restartNow starts a new instance after a fault; false when the plugin is stopped.
func (p *plugin) restartNow() bool {
	reason, err := p.start()
	if reason == "stopped" {
		return false
	}
	if err != nil {
		reason = err.Error()
	}
	p.mu.Lock()
	p.restarts++
	p.mu.Unlock()
	if reason != "" {
		p.fault(reason)
		return true
	}
	p.running()
	return true
}

// clock is the time given to the plugin (now_ns, clock_time_get): the Step's now when
// Manual, else Options.Now.
func (p *plugin) clock() time.Time {
	if p.rt.opts.Manual && !p.simNow.IsZero() {
		return p.simNow
	}
	return p.rt.opts.Now()
}

// wall is the time of faults and back-off: the Step's now when Manual (Options.Now before
// the first Step), else time.Now.
func (p *plugin) wall() time.Time {
	if p.rt.opts.Manual {
		return p.clock()
	}
	return time.Now()
}

// running marks a started instance; a fault's alarm is cleared.
func (p *plugin) running() {
	p.mu.Lock()
	p.state, p.next = Running, time.Time{}
	p.mu.Unlock()
	if p.faulted {
		p.faulted = false
		if err := p.rt.opts.Host.ClearAlarm("plugin." + p.id); err != nil {
			p.rt.opts.Logger.Warn(MsgAlarmClearFailed, PluginKey, p.id, "err", err)
		}
	}
}

// fault records a fault, closes the instance and schedules its restart.
func (p *plugin) fault(reason string) {
	p.closeModule()
	now := p.wall()
	if !p.started.IsZero() && now.Sub(p.started) >= p.rt.opts.HealthyReset {
		p.backoff = p.rt.opts.MinBackoff
	}
	wait := p.backoff
	p.backoff = min(2*p.backoff, p.rt.opts.MaxBackoff)
	p.mu.Lock()
	p.state, p.lastErr, p.next = Faulted, reason, now.Add(wait)
	p.mu.Unlock()
	h := p.rt.opts.Host
	p.rt.opts.Logger.Warn(MsgFault, PluginKey, p.id, "reason", reason, "restart_in", wait)
	p.faulted = true
	if err := h.RaiseAlarm("plugin."+p.id, alarms.High, "plugin "+p.id+" faulted: "+reason); err != nil {
		p.rt.opts.Logger.Warn(MsgAlarmFailed, PluginKey, p.id, "err", err)
	}
	h.Audit(audit.Entry{Who: "plugin:" + p.id, Face: audit.FacePlugin, Action: "plugin.fault",
		Target: p.id, Result: "faulted: " + reason})
}

// tick runs one mb_tick; a fault's reason, "stopped", or "".
//
// The granted tags are read (snapshot) at the tick's first read_tags, not before it: a tick
// that reads none costs nothing for them.
func (p *plugin) tick() string {
	p.tickNow = p.clock()
	p.snapped = false
	p.logBytes = 0
	for i := range p.req {
		p.req[i].set = false
	}
	p.stack[0] = uint64(p.tickNow.UnixNano())
	t0 := p.tickNow
	if p.rt.opts.Manual || !p.rt.realNow {
		t0 = time.Now()
	}
	if reason := p.call(p.fnTick, "mb_tick", p.man.Budget, p.stack[:]); reason != "" {
		return reason
	}
	d := time.Since(t0)
	if p.badWrite != "" {
		return p.badWrite
	}
	if rc := int32(p.stack[0]); rc != 0 {
		return fmt.Sprintf("mb_tick returned %d", rc)
	}
	p.memBytes.Store(uint64(p.mod.Memory().Size()))
	p.commitWrites()
	p.flushKV()
	p.mu.Lock()
	p.ticks++
	p.tickLast = d
	p.tickSum += d
	p.tickMax = max(p.tickMax, d)
	if p.state == Loading {
		p.state = Running
	}
	p.mu.Unlock()
	return ""
}

// commitWrites records or queues the tick's setpoint requests.
func (p *plugin) commitWrites() Mode {
	mode := p.getMode()
	any, curRead := false, false
	for i := range p.req {
		if !p.req[i].set {
			continue
		}
		any = true
		v := p.req[i].v
		p.last[i] = accepted{v: v, t: p.tickNow, ok: true}
		g := &p.grants[i]
		rec := recentWrite{WriteRecord: WriteRecord{Time: p.tickNow, Tag: g.Tag, Value: v, Mode: mode}}
		var cur Value
		ok := true
		if p.curFn != nil {
			if !curRead { // the current values of all the grants in one call
				p.curFn(p.curVals)
				curRead = true
			}
			cur = p.curVals[i]
		} else {
			cur, ok = p.rt.opts.Host.Value(g.Tag)
		}
		if ok && !cur.Missing && cur.V == cur.V {
			rec.cur, rec.hasCur = cur.V, true
		}
		if mode == Auto {
			rec.Outcome = "pending"
			p.results[i].Store(wrPending)
			seq := p.record(rec)
			p.wmu.Lock()
			p.wpend[i] = autoReq{set: true, v: v, seq: seq}
			p.wmu.Unlock()
		} else {
			rec.Outcome = "suppressed"
			p.results[i].Store(wrShadowed)
			p.record(rec)
		}
	}
	if any && mode == Auto {
		if p.rt.opts.Manual {
			p.sendPending() // Step: the simulation sees the writes before its next step
		} else {
			select {
			case p.wwake <- struct{}{}:
			default:
			}
		}
	}
	return mode
}

// record adds a write record; its sequence number.
func (p *plugin) record(rec recentWrite) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	rec.seq = p.seq
	if p.nRecent < RecentWritesMax {
		p.recent[(p.rHead+p.nRecent)%RecentWritesMax] = rec
		p.nRecent++
	} else {
		p.recent[p.rHead] = rec
		p.rHead = (p.rHead + 1) % RecentWritesMax
	}
	return rec.seq
}

func (p *plugin) setOutcome(seq uint64, outcome string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.recent[:p.nRecent] {
		if p.recent[i].seq == seq {
			p.recent[i].Outcome = outcome
		}
	}
}

// recentWrites is the ring as Status shows it, oldest first. p.mu held.
func (p *plugin) recentWrites() []WriteRecord {
	out := make([]WriteRecord, p.nRecent)
	for i := range out {
		r := p.recent[(p.rHead+i)%RecentWritesMax]
		out[i] = r.WriteRecord
		if r.hasCur {
			c := r.cur
			out[i].Current = &c
		}
	}
	return out
}

// writer sends AUTO requests through the host, one batch at a time, without holding up
// the ticks; a request replaced before it was sent is dropped for the newer one.
func (p *plugin) writer() {
	defer p.wg.Done()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.wwake:
		}
		p.sendPending()
	}
}

// sendPending sends the AUTO requests waiting in wpend through Host.Write, one by one.
func (p *plugin) sendPending() {
	batch := p.wbatch
	p.wmu.Lock()
	copy(batch, p.wpend)
	clear(p.wpend)
	p.wmu.Unlock()
	for i, r := range batch {
		if !r.set {
			continue
		}
		ctx, cancel := context.WithTimeout(p.ctx, p.rt.opts.WriteTimeout)
		res := p.rt.opts.Host.Write(ctx, p.id, p.grants[i].Tag, r.v)
		cancel()
		code, outcome := resultCode(res)
		p.results[i].CompareAndSwap(wrPending, code)
		p.setOutcome(r.seq, outcome)
	}
}

func resultCode(r control.Result) (int32, string) {
	text := string(r.Outcome)
	if r.Message != "" && r.Outcome != control.Done {
		text += ": " + r.Message
	}
	switch r.Outcome {
	case control.Done:
		return wrDone, text
	case control.Rejected:
		return eRejected, text
	case control.TimedOut:
		return eTimeout, text
	}
	if r.Outcome == "" {
		text = "refused: " + r.Message
	}
	return eRefused, text
}

func (p *plugin) flushKV() {
	if p.rt.opts.DB == nil {
		p.kv.forget() // nothing to write to: no copy of the changes
		return
	}
	ch := p.kv.take()
	if len(ch) == 0 {
		return
	}
	if err := writeKV(p.rt.ctx, p.rt.opts.DB, p.id, ch); err != nil {
		p.rt.opts.Logger.Error(MsgKVNotSaved, PluginKey, p.id, "err", err)
		p.setError("key-value state not saved: " + err.Error())
	}
}

func (p *plugin) setError(s string) {
	p.mu.Lock()
	p.lastErr = s
	p.mu.Unlock()
}

func (p *plugin) getMode() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// setMode switches the mode; the old one. Requests queued for AUTO are dropped on leaving it.
func (p *plugin) setMode(m Mode) Mode {
	p.mu.Lock()
	old := p.mode
	p.mode = m
	p.mu.Unlock()
	if old == Auto && m != Auto {
		p.wmu.Lock()
		for i, r := range p.wpend {
			if r.set {
				p.setOutcome(r.seq, "dropped: mode changed to "+string(m))
				p.results[i].CompareAndSwap(wrPending, wrNone)
			}
		}
		clear(p.wpend)
		p.wmu.Unlock()
	}
	return old
}

func (p *plugin) status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Status{ID: p.id, Version: p.man.Version, Manifest: p.path, SHA256: p.sha, State: p.state,
		Mode: p.mode, LastError: p.lastErr, NextRestart: p.next, Ticks: p.ticks, TickLast: p.tickLast,
		TickMax: p.tickMax, Restarts: p.restarts, Reads: append([]string{}, p.reads...),
		Writes: append([]WriteGrant{}, p.grants...), RecentWrites: p.recentWrites(),
		LogDropped: p.dropped.Load(), MemoryBytes: p.memBytes.Load()}
	if p.ticks > 0 {
		s.TickAvg = p.tickSum / time.Duration(p.ticks)
	}
	if p.mode == Off && s.State != Loading {
		s.State = Stopped
	}
	if s.State != Faulted {
		s.NextRestart = time.Time{}
	}
	return s
}

// Logging.

const (
	logPerSecond    = 100
	logBytesPerTick = 64 << 10
)

// logEntry logs a plugin's message within the rate limits; false when dropped.
func (p *plugin) logEntry(level int, msg []byte) bool {
	now := time.Now()
	if now.Sub(p.logWindow) >= time.Second {
		p.logWindow, p.logCount = now, 0
	}
	if p.logCount >= logPerSecond || p.logBytes+len(msg) > logBytesPerTick {
		p.dropped.Add(1)
		return false
	}
	p.logCount++
	p.logBytes += len(msg)
	l := p.rt.opts.Logger
	lv := [...]slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}[level]
	if l.Enabled(context.Background(), lv) {
		l.LogAttrs(context.Background(), lv, string(msg), slog.String(PluginKey, p.id))
	}
	return true
}

func (p *plugin) logf(level int, format string, args ...any) {
	p.logEntry(level, []byte(fmt.Sprintf(format, args...)))
}

// line takes a line of the guest's stdout or stderr.
func (p *plugin) line(stderr bool, b []byte) {
	if stderr {
		if bytes.Contains(b, []byte("out of memory")) {
			p.oom = true
		}
		if p.panicLine == "" && (bytes.HasPrefix(b, []byte("panic: ")) || bytes.HasPrefix(b, []byte("fatal error: "))) {
			p.panicLine = string(b)
		}
	}
	p.logEntry(1, b)
}

// lineWriter splits a guest's stdout or stderr into lines.
type lineWriter struct {
	p      *plugin
	stderr bool
	buf    []byte
}

const maxLine = 4 << 10

func (w *lineWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			w.buf = append(w.buf, b...)
			if len(w.buf) >= maxLine {
				w.p.line(w.stderr, w.buf)
				w.buf = w.buf[:0]
			}
			break
		}
		w.buf = append(w.buf, b[:i]...)
		w.p.line(w.stderr, bytes.TrimSuffix(w.buf, []byte("\r")))
		w.buf = w.buf[:0]
		b = b[i+1:]
	}
	return n, nil
}
