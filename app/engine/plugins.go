package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"minebrain/app/alarms"
	"minebrain/app/audit"
	"minebrain/app/control"
	"minebrain/app/opcua"
	"minebrain/app/plugins"
	"minebrain/app/plugins/manifest"
	"minebrain/app/tags"
	"minebrain/app/users"
)

// ManifestName is the file a plugin directory holds beside its module.
const ManifestName = "plugin.yaml"

// pluginLoadWait bounds how long the plugins of the plugins directory wait for the first
// equipment discovery before they load anyway (with the tags known by then).
const pluginLoadWait = 30 * time.Second

var _ plugins.BatchHost = pluginHost{}

// pluginHost is what the plugin runtime sees of Minebrain: the live tag table to read, the
// control path to write through (as the plugin, with an operator's rights: engineer-only
// setpoints stay with engineers), the alarm engine and the audit log.
type pluginHost struct{ e *Engine }

func (h pluginHost) Tags() []string {
	n := h.e.table.Len()
	out := make([]string, n)
	for i := range n {
		out[i] = h.e.table.Name(tags.ID(i))
	}
	return out
}

func (h pluginHost) Value(tag string) (plugins.Value, bool) {
	r, ok := equipment{h.e}.Value(tag)
	if !ok {
		return plugins.Value{}, false
	}
	v := plugins.Value{V: math.NaN(), Status: r.Status, Stale: r.Stale, Time: r.Time, Missing: r.Value == nil}
	if f, ok := historyValue(r.Value); ok {
		v.V = f
	}
	return v, true
}

// ValueReader resolves a plugin's tags once (their IDs in the table and the connection that
// reads each), so a tick reads them without a map lookup each and asks each connection its
// state once.
func (h pluginHost) ValueReader(names []string) func(dst []plugins.Value) {
	ids := make([]tags.ID, len(names))
	known := make([]bool, len(names))
	links := make([]*link, len(names))
	for i, n := range names {
		ids[i], known[i] = h.e.table.Lookup(n)
		links[i] = equipment{h.e}.linkOf(n)
	}
	up := map[*link]bool{}
	return func(dst []plugins.Value) {
		clear(up)
		for i := range dst {
			s, ok := h.e.table.Get(ids[i])
			if !known[i] || !ok {
				dst[i] = plugins.Value{V: math.NaN(), Missing: true}
				continue
			}
			l := links[i]
			connected, seen := up[l]
			if !seen {
				connected = l != nil && l.conn.Status().State == opcua.StateConnected
				up[l] = connected
			}
			v := plugins.Value{V: math.NaN(), Status: s.Status, Stale: !connected, Time: s.SourceTime, Missing: s.Value == nil}
			if f, ok := historyValue(s.Value); ok {
				v.V = f
			}
			dst[i] = v
		}
	}
}

func (h pluginHost) Write(ctx context.Context, pluginID, tag string, v float64) control.Result {
	c, err := h.e.controller()
	if err != nil {
		return control.Result{Outcome: control.Refused, Message: err.Error(), Err: err}
	}
	unit := tag
	if i := strings.LastIndexByte(tag, '.'); i > 0 {
		unit = tag[:i]
	}
	actor := control.Actor{Name: "plugin:" + pluginID, Role: users.Operator, Face: audit.FacePlugin}
	return c.Write(ctx, actor, control.Request{Unit: unit, Command: control.SetValue, Tag: tag, Value: v})
}

func (h pluginHost) RaiseAlarm(id string, p alarms.Priority, msg string) error {
	ae, err := h.e.alarmEngine()
	if err != nil {
		return err
	}
	err = ae.RaiseSystem(id, p, msg)
	h.e.notifySubscribers(func(s *subscriber) chan struct{} { return s.alarms })
	return err
}

func (h pluginHost) ClearAlarm(id string) error {
	ae, err := h.e.alarmEngine()
	if err != nil {
		return err
	}
	if v, ok := ae.Get(id); !ok || !v.Active {
		return nil // never raised, or already clear
	}
	err = ae.ClearSystem(id)
	h.e.notifySubscribers(func(s *subscriber) chan struct{} { return s.alarms })
	return err
}

func (h pluginHost) Audit(entry audit.Entry) {
	_, log := h.e.parts()
	if log == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := log.Append(ctx, entry); err != nil {
		h.e.log.Error("engine: plugin audit entry not written", "action", entry.Action, "err", err)
	}
}

// startPlugins starts the plugin runtime and loads, in the background, every plugin of the
// plugins directory and of Config.PluginManifests (in SHADOW: nothing reaches equipment until an engineer says so). A
// plugin that cannot load is logged and shown by AvailablePlugins.
func (e *Engine) startPlugins() error {
	dir := e.cfg.PluginDir
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("engine: plugins directory: %w", err)
	}
	var db plugins.DB
	if e.store != nil {
		db = e.store
	}
	rt, err := plugins.New(plugins.Options{Host: pluginHost{e}, DB: db, CacheDir: e.cfg.PluginCacheDir,
		Logger: e.log.With("part", "plugins"), Watch: true})
	if err != nil {
		return fmt.Errorf("engine: plugins: %w", err)
	}
	e.mu.Lock()
	e.plugins = rt
	e.mu.Unlock()
	go func() {
		// Grants are resolved against the site's tags at load: wait for the equipment.
		select {
		case <-e.modelKnown:
		case <-time.After(pluginLoadWait):
		}
		for _, m := range append(e.manifests(), e.cfg.PluginManifests...) {
			if _, err := rt.Load(m); err != nil {
				e.log.Warn("engine: plugin not loaded", "manifest", m, "err", err)
			}
		}
	}()
	return nil
}

// manifests lists the plugin manifests in the plugins directory: DIR/*/plugin.yaml.
func (e *Engine) manifests() []string {
	found, _ := filepath.Glob(filepath.Join(e.cfg.PluginDir, "*", ManifestName))
	sort.Strings(found)
	return found
}

func (e *Engine) pluginRuntime() (*plugins.Runtime, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.plugins == nil {
		return nil, errors.New("plugins are off: Minebrain runs without a data directory (plugins live in <data>/plugins)")
	}
	return e.plugins, nil
}

// Plugins lists the loaded plugins.
func (e *Engine) Plugins(a Actor) ([]plugins.Status, error) {
	if err := a.need(users.Viewer, "seeing plugins"); err != nil {
		return nil, err
	}
	rt, err := e.pluginRuntime()
	if err != nil {
		return []plugins.Status{}, nil
	}
	return rt.List(), nil
}

// AvailablePlugin is a manifest in the plugins directory.
type AvailablePlugin struct {
	Path   string `json:"path"`
	ID     string `json:"id"`
	Loaded bool   `json:"loaded"`
	Error  string `json:"error,omitempty"`
}

// AvailablePlugins lists the manifests of the plugins directory, loaded or not, with the
// problem of one that cannot be read.
func (e *Engine) AvailablePlugins(a Actor) ([]AvailablePlugin, error) {
	if err := a.need(users.Viewer, "seeing plugins"); err != nil {
		return nil, err
	}
	out := []AvailablePlugin{}
	rt, err := e.pluginRuntime()
	if err != nil {
		return out, nil
	}
	loaded := map[string]bool{}
	for _, s := range rt.List() {
		loaded[s.ID] = true
	}
	for _, path := range e.manifests() {
		ap := AvailablePlugin{Path: path}
		if m, err := manifest.Load(path); err != nil {
			ap.Error = err.Error()
		} else {
			ap.ID, ap.Loaded = m.ID, loaded[m.ID]
		}
		out = append(out, ap)
	}
	return out, nil
}

// pluginChange runs one engineer's change to the plugins and audits it, allowed or refused.
func (e *Engine) pluginChange(a Actor, action, target, what string, fn func(rt *plugins.Runtime) error) error {
	err := a.need(users.Engineer, what)
	if err == nil {
		var rt *plugins.Runtime
		if rt, err = e.pluginRuntime(); err == nil {
			err = fn(rt)
		}
	}
	e.record(a, action, target, outcome(err))
	return err
}

// LoadPlugin loads the plugin whose manifest is at path, which must lie in the plugins
// directory (a face must not make Minebrain run a file from anywhere). It starts in SHADOW.
func (e *Engine) LoadPlugin(a Actor, path string) (plugins.Status, error) {
	var st plugins.Status
	err := e.pluginChange(a, "plugin.load", "plugin "+path, "loading plugins", func(rt *plugins.Runtime) error {
		p, err := e.inPluginDir(path)
		if err != nil {
			return err
		}
		st, err = rt.Load(p)
		return err
	})
	return st, err
}

// inPluginDir resolves path (relative to the plugins directory, or absolute) and refuses one
// outside it.
func (e *Engine) inPluginDir(path string) (string, error) {
	dir, err := filepath.Abs(e.cfg.PluginDir)
	if err != nil {
		return "", err
	}
	p := path
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	p = filepath.Clean(p)
	if rel, err := filepath.Rel(dir, p); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is outside the plugins directory %s: copy the plugin there first", path, dir)
	}
	return p, nil
}

// ReloadPlugin loads a plugin's module and manifest again, keeping its stored state.
func (e *Engine) ReloadPlugin(a Actor, id string) error {
	return e.pluginChange(a, "plugin.reload", "plugin "+id, "reloading plugins", func(rt *plugins.Runtime) error {
		return rt.Reload(id)
	})
}

// RemovePlugin stops and unloads a plugin (its files and stored state stay).
func (e *Engine) RemovePlugin(a Actor, id string) error {
	return e.pluginChange(a, "plugin.remove", "plugin "+id, "removing plugins", func(rt *plugins.Runtime) error {
		return rt.Unload(id)
	})
}

// SetPluginMode switches a plugin between off, shadow and auto (auto: its writes go to
// equipment through the control path). The runtime audits the switch with who did it.
func (e *Engine) SetPluginMode(a Actor, id, mode string) error {
	if err := a.need(users.Engineer, "switching plugin modes"); err != nil {
		e.record(a, "plugin.mode", "plugin "+id, outcome(err), mode)
		return err
	}
	m, err := plugins.ParseMode(mode)
	if err != nil {
		return err
	}
	rt, err := e.pluginRuntime()
	if err != nil {
		return err
	}
	return rt.SetMode(id, m, a.Name+" ("+a.Face+")")
}
