package plugins

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"minebrain/app/control"
	"minebrain/app/plugins/manifest"
)

// siteTags is the fake site: the good guest's manifest grants Crushing.**.
var siteTags = map[string]float64{
	"Crushing.CR1.Power":         120,
	"Crushing.CR1.CavityLevel":   55,
	"Crushing.CR1.Running":       1,
	"Crushing.AF1.FeederSpeedSP": 140,
	"Crushing.CR1.CavitySP":      60,
	"Pit.CV01.Speed":             2,
}

const goodBody = `tick: 20ms
memory: 64MiB
budget: 15ms
reads:
  - Crushing.**
writes:
  - tag: Crushing.AF1.FeederSpeedSP
    min: 0
    max: 100
  - tag: Crushing.CR1.CavitySP
    min: 0
    max: 100
config:
  target: 55
  limit: 100
`

// hostileBody is the manifest of a hostile guest: small memory and budget.
const hostileBody = `tick: 20ms
memory: 32MiB
budget: 10ms
reads:
  - Crushing.**
writes:
  - tag: Crushing.AF1.FeederSpeedSP
    min: 0
    max: 100
`

func loadGood(t *testing.T, r *Runtime, dir string) string {
	t.Helper()
	path := plug(t, dir, "good", readFile(t, guest(t, "good")), goodBody)
	st, err := r.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != Running || st.Mode != Shadow {
		t.Fatalf("good plugin: state %s mode %s (%s), want running in shadow", st.State, st.Mode, st.LastError)
	}
	return path
}

func ticks(r *Runtime, id string) uint64 {
	st, _ := r.Get(id)
	return st.Ticks
}

// TestHostile loads each hostile guest beside a good one: each is faulted with its reason,
// alarmed and audited, and restarted, while the good one keeps ticking.
func TestHostile(t *testing.T) {
	h := newFakeHost(siteTags)
	r := newRuntime(t, h, nil)
	dir := t.TempDir()
	loadGood(t, r, dir)
	cases := []struct{ name, reason string }{
		{"loop", "tick exceeded its 10ms budget and was interrupted"},
		{"grow", "memory limit 32 MiB reached"},
		{"trap", "trap: "},
		{"badwrite", "outside the manifest"},
		{"initfail", "mb_init returned"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := hostileBody
			if c.name == "grow" { // touching 8 MiB a tick takes longer than 10 ms
				body = strings.Replace(body, "tick: 20ms\nmemory: 32MiB\nbudget: 10ms", "tick: 1s\nmemory: 32MiB\nbudget: 900ms", 1)
			}
			path := plug(t, dir, c.name, readFile(t, guest(t, c.name)), body)
			before := ticks(r, "good")
			if _, err := r.Load(path); err != nil {
				t.Fatal(err)
			}
			var st Status
			eventually(t, 10*time.Second, c.name+" faulted", func() bool {
				st, _ = r.Get(c.name)
				return st.State == Faulted
			})
			if !contains(st.LastError, c.reason) {
				t.Errorf("reason %q, want it to contain %q", st.LastError, c.reason)
			}
			if msg, ok := h.alarm("plugin." + c.name); !ok || !contains(msg, c.reason) {
				t.Errorf("alarm plugin.%s = %q, %v", c.name, msg, ok)
			}
			found := false
			for _, e := range h.auditsOf("plugin.fault") {
				if e.Who == "plugin:"+c.name && e.Face == "plugin" && contains(e.Result, c.reason) {
					found = true
				}
			}
			if !found {
				t.Errorf("no plugin.fault audit entry for %s", c.name)
			}
			// Restarted after the back-off, and faulted again.
			eventually(t, 10*time.Second, c.name+" restarted", func() bool {
				st, _ = r.Get(c.name)
				return st.Restarts >= 1
			})
			eventually(t, 5*time.Second, "good keeps ticking", func() bool { return ticks(r, "good") > before+5 })
			if st, _ := r.Get("good"); st.State != Running {
				t.Errorf("good: %s %s", st.State, st.LastError)
			}
			if err := r.Unload(c.name); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLogFlood(t *testing.T) {
	h := newFakeHost(siteTags)
	r := newRuntime(t, h, nil)
	dir := t.TempDir()
	loadGood(t, r, dir)
	if _, err := r.Load(plug(t, dir, "logflood", readFile(t, guest(t, "logflood")), hostileBody)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "log entries dropped", func() bool {
		st, _ := r.Get("logflood")
		return st.LogDropped > 100
	})
	if st, _ := r.Get("logflood"); st.State != Running {
		t.Errorf("logflood: %s %s", st.State, st.LastError)
	}
	before := ticks(r, "good")
	eventually(t, 5*time.Second, "good keeps ticking", func() bool { return ticks(r, "good") > before+5 })
}

func TestRefusedAtLoad(t *testing.T) {
	h := newFakeHost(siteTags)
	r := newRuntime(t, h, nil)
	dir := t.TempDir()
	good := readFile(t, guest(t, "good"))

	// A manifest whose sha256 is not the module's.
	path := plug(t, dir, "mismatch", good, goodBody)
	if err := writeFile(filepath.Join(dir, "mismatch", "mismatch.wasm"), append(append([]byte{}, good...), 0)); err != nil {
		t.Fatal(err)
	}
	_, err := r.Load(path)
	if !errors.Is(err, manifest.ErrHashMismatch) {
		t.Errorf("hash mismatch: %v", err)
	}

	// Truncated bytes, with a matching manifest.
	_, err = r.Load(plug(t, dir, "truncated", good[:len(good)/2], goodBody))
	if err == nil || !contains(err.Error(), "not a valid WebAssembly module") {
		t.Errorf("truncated: %v", err)
	}

	// An import the host does not provide, named.
	_, err = r.Load(plug(t, dir, "unknownimport", readFile(t, guest(t, "unknownimport")), goodBody))
	if err == nil || !contains(err.Error(), "which Minebrain does not provide") {
		t.Errorf("unknown import: %v", err)
	} else {
		t.Log(err)
	}
	if len(r.List()) != 0 {
		t.Errorf("refused plugins listed: %+v", r.List())
	}
}

func TestGood(t *testing.T) {
	h := newFakeHost(siteTags)
	dbPath := filepath.Join(t.TempDir(), "history.db")
	store := openStore(t, dbPath)
	r := newRuntime(t, h, store)
	dir := t.TempDir()
	path := loadGood(t, r, dir)

	st, _ := r.Get("good")
	want := []string{"Crushing.AF1.FeederSpeedSP", "Crushing.CR1.CavityLevel", "Crushing.CR1.CavitySP", "Crushing.CR1.Power", "Crushing.CR1.Running"}
	if len(st.Reads) != len(want) {
		t.Fatalf("reads %v, want %v", st.Reads, want)
	}
	for i := range want {
		if st.Reads[i] != want[i] {
			t.Fatalf("reads %v, want %v", st.Reads, want)
		}
	}

	// SHADOW: writes recorded, not sent.
	eventually(t, 5*time.Second, "shadowed writes", func() bool {
		st, _ := r.Get("good")
		return len(st.RecentWrites) > 0
	})
	st, _ = r.Get("good")
	w := st.RecentWrites[len(st.RecentWrites)-1]
	if w.Outcome != "suppressed" || w.Mode != Shadow || w.Current == nil {
		t.Errorf("shadow record %+v", w)
	}
	if n := len(h.hostWrites()); n != 0 {
		t.Errorf("%d host writes in SHADOW", n)
	}
	if _, err := json.Marshal(st); err != nil {
		t.Error(err)
	}

	// AUTO: writes sent through the host, audited mode switch.
	if err := r.SetMode("good", Auto, "ana"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "host writes in AUTO", func() bool { return len(h.hostWrites()) > 0 })
	eventually(t, 5*time.Second, "done outcome", func() bool {
		st, _ := r.Get("good")
		for _, w := range st.RecentWrites {
			if w.Mode == Auto && w.Outcome == "done" {
				return true
			}
		}
		return false
	})
	h.mu.Lock()
	h.result = control.Result{Outcome: control.Refused, Message: "interlock CV02 stopped"}
	h.mu.Unlock()
	eventually(t, 5*time.Second, "refused outcome", func() bool {
		st, _ := r.Get("good")
		w := st.RecentWrites[len(st.RecentWrites)-1]
		return w.Outcome == "refused: interlock CV02 stopped"
	})
	modes := h.auditsOf("plugin.mode")
	if len(modes) != 1 || modes[0].Who != "ana" || modes[0].Old != "shadow" || modes[0].New != "auto" || modes[0].Target != "good" {
		t.Errorf("mode audit %+v", modes)
	}
	if err := r.SetMode("good", Off, "ana"); err != nil {
		t.Fatal(err)
	}
	n := ticks(r, "good")
	time.Sleep(100 * time.Millisecond)
	if st, _ := r.Get("good"); st.State != Stopped || st.Ticks > n+1 {
		t.Errorf("OFF: %s, %d ticks after %d", st.State, st.Ticks, n)
	}
	if err := r.SetMode("good", Shadow, "ana"); err != nil {
		t.Fatal(err)
	}

	// Alarms raised (and cleared) under plugin.good.*.
	eventually(t, 5*time.Second, "plugin alarm raised", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, id := range h.raised {
			if id == "plugin.good.high" {
				return true
			}
		}
		return false
	})

	h.set("Crushing.AF1.FeederSpeedSP", 20) // tag 0, below the limit now
	eventually(t, 5*time.Second, "plugin alarm cleared", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, id := range h.cleared {
			if id == "plugin.good.high" {
				return true
			}
		}
		return false
	})

	// KV "ticks" survives Reload and a new Runtime on the same DB.
	var k1 uint64
	eventually(t, 5*time.Second, "ticks stored", func() bool { k1 = storedTicks(t, store, "good"); return k1 > 3 })
	if err := r.Reload("good"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "ticks counted on after reload", func() bool { return storedTicks(t, store, "good") > k1 })
	k2 := storedTicks(t, store, "good")
	r.Close()

	r2 := newRuntime(t, h, store)
	if _, err := r2.Load(path); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "ticks counted on in a new runtime", func() bool { return storedTicks(t, store, "good") > k2 })
	if got := storedTicks(t, store, "good"); got < k2 || got > k2+1000 {
		t.Errorf("ticks %d after %d: reset?", got, k2)
	}
	r2.Close()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
}

// storedTicks reads the good guest's "ticks" key from the database (8-byte little-endian or
// decimal text).
func storedTicks(t *testing.T, db DB, id string) uint64 {
	var v []byte
	err := db.ReadDB().QueryRowContext(context.Background(), "SELECT value FROM plugin_kv WHERE plugin = ? AND key = ?", id, []byte("ticks")).Scan(&v)
	if err != nil {
		return 0
	}
	if n, err := strconv.ParseUint(string(v), 10, 64); err == nil {
		return n
	}
	if len(v) == 8 {
		return binary.LittleEndian.Uint64(v)
	}
	if len(v) == 4 {
		return uint64(binary.LittleEndian.Uint32(v))
	}
	t.Fatalf("ticks value %q", v)
	return 0
}

func TestWatchReload(t *testing.T) {
	h := newFakeHost(siteTags)
	r, err := New(Options{Host: h, Logger: quietLogger(), Watch: true, WatchInterval: 50 * time.Millisecond,
		CacheDir: filepath.Join(guestDir, "cache")})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dir := t.TempDir()
	body := "tick: 20ms\nmemory: 64MiB\nbudget: 15ms\nreads: [\"Crushing.**\"]\n"
	path := plug(t, dir, "bench", readFile(t, guest(t, "bench")), body)
	if _, err := r.Load(path); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	// A new manifest (here: a config change) is picked up.
	plug(t, dir, "bench", readFile(t, guest(t, "bench")), body+"config:\n  empty: true\n")
	eventually(t, 5*time.Second, "reloaded", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		p := r.plugins["bench"]
		return p != nil && p.man.Config["empty"] == "true"
	})
}
