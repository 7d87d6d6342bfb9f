package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"minebrain/app/audit"
	"minebrain/app/engine"
	"minebrain/app/plugins"
	"minebrain/app/plugins/manifest"
	"minebrain/app/site"
	"minebrain/app/users"
)

// `minebrain plugin run DIR`: the integrator's live loop. The plugin in DIR runs in real time
// in a real engine, connected to the embedded simulated mine (served over OPC UA on
// 127.0.0.1, as `serve` does) or to the mine the engine flags name, and what it does is
// printed as it happens. The engine's plugins directory is an empty temporary one; the plugin
// is named to the engine by Config.PluginManifests, so it is loaded from DIR itself and the
// runtime's watch reloads it when DIR's module or manifest changes.

// runPollInterval is how often the plugin's status is read for new decisions and reloads.
const runPollInterval = 100 * time.Millisecond

// runActor is who switches the plugin to AUTO on the embedded simulated mine (audited in the
// run's data directory).
var runActor = engine.Actor{Name: "minebrain plugin run", Role: users.Engineer, Face: audit.FaceCLI}

// runFlags are the flags of `plugin run`.
type runFlags struct {
	ef     *engineFlags
	mode   string
	dur    time.Duration
	status time.Duration
}

// addRunFlags declares the flags of `plugin run` on fs, the engine's among them.
func addRunFlags(fs *flag.FlagSet) *runFlags {
	f := &runFlags{ef: addEngineFlags(fs)}
	// Nothing of the user's installation unless asked for: no data directory by default.
	data := fs.Lookup("data")
	data.Value.Set("")
	data.DefValue = ""
	data.Usage = "keep Minebrain's files (history, audit log, the plugin's key-value state) in this directory " +
		"(the plugins installed in its plugins/ are not run); default a temporary directory, removed at the end"
	fs.Lookup("site").Usage = "site file declaring the OPC UA connections (docs/site-file.md); default the embedded simulated mine " +
		"(with --data, DATA/" + siteFileName + " if it exists)"
	fs.StringVar(&f.mode, "mode", "shadow", "shadow (writes recorded, nothing sent) or auto (writes applied through the control path; "+
		"only on the embedded simulated mine)")
	fs.DurationVar(&f.dur, "for", 0, "stop this long after the plugin is loaded (0: run until Ctrl-C)")
	fs.DurationVar(&f.status, "status", 10*time.Second, "print a status line this often (0: none)")
	return f
}

// runLive is `plugin run`.
func (p *pluginRun) runLive() int { return p.rf.run(p) }

// embeddedOnly reports whether every connection the engine would make is to the embedded
// simulated mine, and otherwise names what it connects to.
func (f *runFlags) embeddedOnly() (bool, string) {
	if f.ef.endpoint != "" {
		return false, f.ef.endpoint
	}
	if f.ef.site == nil {
		return true, ""
	}
	for _, c := range f.ef.site.Connections {
		if !c.Embedded {
			return false, fmt.Sprintf("%s (%s)", c.Endpoint, f.ef.site.Where(c))
		}
	}
	return true, ""
}

func (f *runFlags) run(p *pluginRun) int {
	mode, err := plugins.ParseMode(f.mode)
	if err != nil || mode == plugins.Off {
		return usageError(p.fs, p.stderr, p.name, fmt.Sprintf("--mode %q: use shadow or auto", f.mode))
	}
	if f.dur < 0 || f.status < 0 {
		return usageError(p.fs, p.stderr, p.name, "--for and --status cannot be negative")
	}
	if err := f.ef.validate(); err != nil {
		var siteErr *site.Error
		if errors.As(err, &siteErr) {
			fmt.Fprintf(p.stderr, "minebrain %s: the site file has %d problem(s):\n%v\n", p.name, len(siteErr.Problems), err)
			return exitUsage
		}
		return usageError(p.fs, p.stderr, p.name, err.Error())
	}
	embedded, other := f.embeddedOnly()
	if mode == plugins.Auto && !embedded {
		return usageError(p.fs, p.stderr, p.name, fmt.Sprintf("--mode auto writes only to the embedded simulated mine, not to %s: "+
			"writing real equipment needs a running Minebrain and an engineer's confirmation on the Plugins page "+
			"(run it here in shadow, the default, to see what it would write)", other))
	}
	m, code := p.builtPlugin()
	if code >= 0 {
		return code
	}
	path, err := filepath.Abs(m.File)
	if err != nil {
		return failed(p.stderr, p.name, err)
	}

	tmp, err := os.MkdirTemp("", "minebrain-plugin-run-")
	if err != nil {
		return failed(p.stderr, p.name, err)
	}
	defer os.RemoveAll(tmp)
	ownData := f.ef.data == ""
	if ownData {
		f.ef.data = filepath.Join(tmp, "data")
	}
	out := &runOutput{w: p.stdout, errw: p.stderr}
	defer out.close()
	r := &liveRun{out: out, id: m.ID, manifest: path, want: mode, loadErr: make(chan string, 1)}
	logger := slog.New(&runHandler{r: r, base: slog.NewTextHandler(out.stderrWriter(), &slog.HandlerOptions{Level: slog.LevelDebug}),
		debug: os.Getenv("MINEBRAIN_DEBUG") != ""})
	// gopcua's narration through the standard log package is debug detail, as in serve.
	log.SetFlags(0)
	log.SetOutput(debugWriter{logger.With("component", "gopcua")})

	cfg := f.ef.config(logger)
	cfg.PluginDir = filepath.Join(tmp, "plugins") // empty: only DIR's plugin runs
	cfg.PluginManifests = []string{path}
	if ownData {
		// The compiled module is kept where `plugin test` keeps it: the next run starts at once.
		cfg.PluginCacheDir = moduleCacheDir()
	}
	eng, err := engine.New(cfg)
	if err != nil {
		return failed(p.stderr, p.name, err)
	}
	if err := eng.Start(p.ctx); err != nil {
		if p.ctx.Err() != nil {
			fmt.Fprintln(p.stdout, "stopped before the plugin was loaded")
			return exitOK
		}
		return failed(p.stderr, p.name, err)
	}
	defer eng.Close()

	where := "the embedded simulated mine at " + eng.Endpoint() + fmt.Sprintf(" (seed %d, time scale %g)", f.ef.seed, f.ef.timeScale)
	switch {
	case f.ef.endpoint != "":
		where = f.ef.endpoint
	case !embedded:
		where = fmt.Sprintf("the site %s (%s)", f.ef.site.Name, other)
	}
	dataNote := "a temporary data directory"
	if !ownData {
		dataNote = "data directory " + f.ef.data
	}
	out.printf("plugin %s %s from %s (sha256 %s…), tick %v, on %s, %s\n", m.ID, m.Version, path, short(m.SHA256), m.Tick, where, dataNote)
	out.printf("loading (the first run of a module compiles it)… Ctrl-C stops\n")

	if code := r.awaitLoad(p.ctx, eng); code >= 0 {
		return code
	}
	if mode == plugins.Auto {
		if err := eng.SetPluginMode(runActor, m.ID, string(plugins.Auto)); err != nil {
			return failed(p.stderr, p.name, err)
		}
		out.event(time.Now(), "mode", "AUTO: writes go to the simulated mine through the control path as plugin:"+m.ID)
	} else {
		out.event(time.Now(), "mode", "SHADOW: writes are recorded, nothing is sent")
	}
	started := time.Now()
	r.loop(p.ctx, eng, f.dur, f.status)
	r.poll(eng) // the last decisions
	elapsed := time.Since(started)
	stopped := "stopped"
	if p.ctx.Err() != nil {
		stopped = "interrupted"
	}
	eng.Close() // no more of the plugin's lines after this
	r.mu.Lock()
	summary := r.summary(stopped, elapsed)
	faults := r.faults
	r.mu.Unlock()
	out.printf("%s\n", summary)
	if faults > 0 {
		return exitError
	}
	return exitOK
}

// builtPlugin is builtManifest for a plugin's directory, saying what is wrong with one that
// is not.
func (p *pluginRun) builtPlugin() (*manifest.Manifest, int) {
	dir := p.dirArg()
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, failed(p.stderr, p.name, fmt.Errorf("%s: no such directory: give the plugin's directory (with its %s)", dir, manifestFile))
	case err != nil:
		return nil, failed(p.stderr, p.name, err)
	case !fi.IsDir():
		return nil, failed(p.stderr, p.name, fmt.Errorf("%s is not a directory: give the plugin's directory (with its %s)", dir, manifestFile))
	}
	file := filepath.Join(dir, manifestFile)
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		return nil, failed(p.stderr, p.name, fmt.Errorf("%s has no %s: it is not a plugin's directory (`minebrain plugin new NAME` creates one)", dir, manifestFile))
	}
	return p.builtManifest()
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

// runOutput serializes the run's lines: the main loop and the plugin's goroutines (through
// the logger) print. After close nothing more is written.
type runOutput struct {
	mu     sync.Mutex
	w      io.Writer
	errw   io.Writer
	closed bool
}

func (o *runOutput) printf(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.closed {
		fmt.Fprintf(o.w, format, args...)
	}
}

// event prints one timestamped line: time, kind, what.
func (o *runOutput) event(t time.Time, kind, what string) {
	o.printf("%s  %-8s  %s\n", t.Local().Format("15:04:05.000"), kind, what)
}

func (o *runOutput) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
}

// stderrWriter writes to stderr under the output's lock (the engine's own warnings).
func (o *runOutput) stderrWriter() io.Writer { return lockedWriter{o} }

type lockedWriter struct{ o *runOutput }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.o.mu.Lock()
	defer w.o.mu.Unlock()
	if w.o.closed {
		return len(b), nil
	}
	return w.o.errw.Write(b)
}

// decisionKey identifies a write record: one per setpoint per tick.
type decisionKey struct {
	t   time.Time
	tag string
}

// liveRun is what one run has seen of its plugin.
type liveRun struct {
	out      *runOutput
	id       string
	manifest string
	want     plugins.Mode
	loadErr  chan string

	mu      sync.Mutex // the counts, shared with the logger's goroutines
	faults  int
	logs    int
	alarmEv int

	// The main loop's alone.
	printed             map[decisionKey]bool
	decisions           int
	applied, suppressed int
	notApplied          int
	sha                 string
	lastTicks           uint64
	doneTicks           uint64        // ticks of the modules replaced by reloads
	doneSum             time.Duration // their total tick time
	tickMax             time.Duration
	alarms              map[string]engine.AlarmView // the plugin's active alarms
	lastState           plugins.State
	lastStatus          plugins.Status
	haveStatus          bool
}

// awaitLoad waits until the engine has loaded the plugin: -1, or the exit status when it was
// refused or the run was stopped first.
func (r *liveRun) awaitLoad(ctx context.Context, eng *engine.Engine) int {
	t := time.NewTicker(runPollInterval)
	defer t.Stop()
	for {
		if st, ok := r.status(eng); ok {
			r.sha, r.lastState = st.SHA256, st.State
			r.out.event(time.Now(), "loaded", fmt.Sprintf("%d tag(s) granted to read, %d setpoint(s) to write%s", len(st.Reads), len(st.Writes), faultedNote(st)))
			return -1
		}
		select {
		case <-ctx.Done():
			r.out.printf("stopped before the plugin was loaded\n")
			return exitOK
		case msg := <-r.loadErr:
			fmt.Fprintf(r.out.stderrWriter(), "minebrain plugin run: %s: not loaded: %s\n", r.manifest, msg)
			return exitError
		case <-t.C:
		}
	}
}

func (r *liveRun) status(eng *engine.Engine) (plugins.Status, bool) {
	list, err := eng.Plugins(runActor)
	if err != nil {
		return plugins.Status{}, false
	}
	for _, s := range list {
		if s.ID == r.id {
			return s, true
		}
	}
	return plugins.Status{}, false
}

// loop prints what happens until ctx ends or d (when above 0) has passed.
func (r *liveRun) loop(ctx context.Context, eng *engine.Engine, d, every time.Duration) {
	events, cancel := eng.Subscribe()
	defer cancel()
	poll := time.NewTicker(runPollInterval)
	defer poll.Stop()
	var statusC, deadline <-chan time.Time
	if every > 0 {
		st := time.NewTicker(every)
		defer st.Stop()
		statusC = st.C
	}
	if d > 0 {
		dl := time.NewTimer(d)
		defer dl.Stop()
		deadline = dl.C
	}
	if sum, err := eng.Alarms(runActor); err == nil {
		r.alarmsChanged(sum)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-deadline:
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if sum, isAlarms := ev.Data.(engine.AlarmSummary); isAlarms && ev.Name == engine.EventAlarms {
				r.alarmsChanged(sum)
			}
		case <-poll.C:
			r.poll(eng)
		case <-statusC:
			r.statusLine()
		}
	}
}

// poll reads the plugin's status: new decisions (a pending AUTO write once it has its
// outcome), reloads and state changes.
func (r *liveRun) poll(eng *engine.Engine) {
	st, ok := r.status(eng)
	if !ok {
		if r.haveStatus {
			r.out.event(time.Now(), "unloaded", "the plugin is no longer loaded")
			r.haveStatus = false
		}
		return
	}
	if r.haveStatus && (st.SHA256 != r.sha || st.Ticks < r.lastTicks) {
		// Reloaded: the runtime starts counting again.
		r.doneTicks += r.lastStatus.Ticks
		r.doneSum += r.lastStatus.TickAvg * time.Duration(r.lastStatus.Ticks)
		what := "same module"
		if st.SHA256 != r.sha {
			what = "new module, sha256 " + short(st.SHA256) + "…"
		}
		r.out.event(time.Now(), "reloaded", fmt.Sprintf("%s, mode %s%s", what, st.Mode, faultedNote(st)))
		r.sha = st.SHA256
		if r.want == plugins.Auto && st.Mode != plugins.Auto {
			if err := eng.SetPluginMode(runActor, r.id, string(plugins.Auto)); err != nil {
				r.out.event(time.Now(), "mode", "not switched back to AUTO: "+err.Error())
			} else {
				r.out.event(time.Now(), "mode", "AUTO again (a changed module goes back to SHADOW; on the simulated mine plugin run switches it back)")
				st.Mode = plugins.Auto
			}
		}
	}
	r.haveStatus = true
	r.lastTicks = st.Ticks
	r.lastStatus = st
	r.tickMax = max(r.tickMax, st.TickMax)
	if st.State != r.lastState {
		if st.State != plugins.Faulted && st.State != plugins.Loading { // a fault is printed with its reason
			r.out.event(time.Now(), "state", string(st.State))
		}
		r.lastState = st.State
	}
	seen := make(map[decisionKey]bool, len(st.RecentWrites))
	for _, w := range st.RecentWrites {
		k := decisionKey{w.Time, w.Tag}
		if r.printed[k] {
			seen[k] = true
			continue
		}
		if w.Outcome == "pending" {
			continue // printed with its outcome
		}
		seen[k] = true
		r.decisions++
		switch {
		case w.Outcome == "suppressed":
			r.suppressed++
		case w.Outcome == "done":
			r.applied++
		default:
			r.notApplied++
		}
		cur := "unknown"
		if w.Current != nil {
			cur = fmt.Sprintf("%.6g", *w.Current)
		}
		r.out.event(w.Time, "decision", fmt.Sprintf("%s  want %.6g  now %s  %s", w.Tag, w.Value, cur, w.Outcome))
	}
	r.printed = seen
}

// faultedNote is ", faulted: why" for a plugin that faulted as it started, else "".
func faultedNote(st plugins.Status) string {
	if st.State != plugins.Faulted {
		return ""
	}
	return ", faulted: " + st.LastError
}

// totals are the ticks and tick times over every module the run loaded.
func (r *liveRun) totals() (ticks uint64, mean time.Duration) {
	ticks = r.doneTicks + r.lastStatus.Ticks
	if ticks > 0 {
		mean = (r.doneSum + r.lastStatus.TickAvg*time.Duration(r.lastStatus.Ticks)) / time.Duration(ticks)
	}
	return ticks, mean
}

func (r *liveRun) statusLine() {
	ticks, mean := r.totals()
	r.mu.Lock()
	faults, logs := r.faults, r.logs
	r.mu.Unlock()
	st := r.lastStatus
	r.out.event(time.Now(), "status", fmt.Sprintf("%s, mode %s: %d ticks, tick mean %v max %v, %d decisions, %d faults, %d log lines, memory %.1f MiB",
		st.State, st.Mode, ticks, mean.Round(time.Microsecond), r.tickMax.Round(time.Microsecond), r.decisions, faults, logs,
		float64(st.MemoryBytes)/(1<<20)))
}

// summary is the last line. r.mu held.
func (r *liveRun) summary(stopped string, elapsed time.Duration) string {
	ticks, mean := r.totals()
	s := fmt.Sprintf("%s after %v: %d ticks (mean %v, max %v), %d decisions, %d writes applied",
		stopped, elapsed.Round(100*time.Millisecond), ticks, mean.Round(time.Microsecond), r.tickMax.Round(time.Microsecond), r.decisions, r.applied)
	if r.suppressed > 0 {
		s += fmt.Sprintf(", %d suppressed (SHADOW)", r.suppressed)
	}
	if r.notApplied > 0 {
		s += fmt.Sprintf(", %d refused or not confirmed", r.notApplied)
	}
	s += fmt.Sprintf(", %d faults, %d alarm events, %d log lines", r.faults, r.alarmEv, r.logs)
	if d := r.lastStatus.LogDropped; d > 0 {
		s += fmt.Sprintf(" (%d more dropped by the rate limit)", d)
	}
	return s
}

// alarmsChanged prints the plugin's alarms that were raised, changed or cleared.
func (r *liveRun) alarmsChanged(sum engine.AlarmSummary) {
	own := "plugin." + r.id
	now := map[string]engine.AlarmView{}
	for _, a := range sum.Active {
		if a.Active && (a.ID == own || strings.HasPrefix(a.ID, own+".")) {
			now[a.ID] = a
		}
	}
	for id, a := range now {
		if old, ok := r.alarms[id]; !ok || old.Message != a.Message || old.Priority != a.Priority {
			r.countAlarm()
			r.out.event(time.Now(), "alarm", fmt.Sprintf("%s raised (%s): %s", id, a.Priority, a.Message))
		}
	}
	for id := range r.alarms {
		if _, ok := now[id]; !ok {
			r.countAlarm()
			r.out.event(time.Now(), "alarm", id+" cleared")
		}
	}
	r.alarms = now
}

func (r *liveRun) countAlarm() {
	r.mu.Lock()
	r.alarmEv++
	r.mu.Unlock()
}

// runHandler takes the engine's log: the plugin's lines and the runtime's news of it are
// printed as events, a refused load is handed to awaitLoad, and the rest of the engine's
// warnings go to stderr (everything with MINEBRAIN_DEBUG).
type runHandler struct {
	r     *liveRun
	base  slog.Handler
	debug bool
}

func (h *runHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *runHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &runHandler{r: h.r, base: h.base.WithAttrs(as), debug: h.debug}
}

func (h *runHandler) WithGroup(name string) slog.Handler {
	return &runHandler{r: h.r, base: h.base.WithGroup(name), debug: h.debug}
}

func (h *runHandler) Handle(ctx context.Context, rec slog.Record) error {
	r := h.r
	if id, ok := plugins.PluginLine(rec); ok {
		if id == r.id {
			r.mu.Lock()
			r.logs++
			r.mu.Unlock()
			r.out.event(rec.Time, "log", fmt.Sprintf("%-5s %s", levelName(rec.Level), rec.Message))
		}
		return nil
	}
	attrs := map[string]string{}
	rec.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.String()
		return true
	})
	switch {
	case attrs[plugins.PluginKey] == r.id:
		r.runtimeEvent(rec, attrs)
		return nil
	case rec.Message == "engine: plugin not loaded" && attrs["manifest"] == r.manifest:
		select {
		case r.loadErr <- attrs["err"]:
		default:
		}
		return nil
	case rec.Level >= slog.LevelWarn || h.debug:
		return h.base.Handle(ctx, rec)
	}
	return nil
}

// runtimeEvent prints what the runtime says of the plugin.
func (r *liveRun) runtimeEvent(rec slog.Record, attrs map[string]string) {
	switch rec.Message {
	case plugins.MsgFault:
		r.mu.Lock()
		r.faults++
		r.mu.Unlock()
		r.out.event(rec.Time, "FAULT", fmt.Sprintf("%s (restart in %s)", attrs["reason"], attrs["restart_in"]))
	case plugins.MsgReloading:
		r.out.event(rec.Time, "reload", "the module or manifest changed on disk: reloading")
	case plugins.MsgReloadRefused:
		r.out.event(rec.Time, "reload", "refused, the loaded module keeps running: "+attrs["err"])
	case plugins.MsgMode:
		r.out.event(rec.Time, "mode", fmt.Sprintf("%s → %s by %s", attrs["old"], attrs["new"], attrs["who"]))
	default:
		r.out.event(rec.Time, "warning", rec.Message+": "+attrs["err"])
	}
}

func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARN"
	case l >= slog.LevelInfo:
		return "INFO"
	}
	return "DEBUG"
}
