package minebrain

import (
	"fmt"
	"math"
	"strconv"
	"structs"
	"time"
	"unsafe"
)

// ABIVersion is the version of sdk/ABI.md this SDK implements; the SDK's
// mb_abi_version export returns it, and the manifest's abi must equal it.
const ABIVersion = 1

// Plugin is what a plugin implements. Both methods run on the host's call
// (mb_init, mb_tick) and must return within the manifest's budget.
type Plugin interface {
	// Init runs once after the module is loaded (and after every reload),
	// before the first Tick. Look up tags and setpoints and read the
	// configuration here. A non-nil error refuses to start: the error is
	// logged at LevelError and the plugin is FAULTED with code 1.
	Init(h *Host) error
	// Tick runs every tick period; now is the host's clock. A non-nil error
	// is logged at LevelError and faults the plugin with code 1.
	Tick(h *Host, now time.Time) error
}

// Result codes the SDK's mb_init and mb_tick return to the host.
const (
	CodeFailed       = 1 // Init or Tick returned an error (it is logged first)
	CodeNoPlugin     = 2 // no Plugin was registered
	codeOK           = 0
	tagRecordSize    = 24
	maxScratch       = 1 << 20 // the largest name or config value the SDK will fetch
	initialScratch   = 256
	flagStale        = 1 << 0
	flagNeverUpdated = 1 << 1
)

var registered Plugin

// Register makes p the module's plugin. Call it exactly once, from the main
// package's init function (or a package-level variable initializer): the
// host calls mb_init right after the module's initialization, and the SDK
// dispatches mb_init and mb_tick to p. It panics if p is nil or if a plugin
// is already registered.
func Register(p Plugin) {
	if p == nil {
		panic("minebrain: Register(nil)")
	}
	if registered != nil {
		panic("minebrain: Register called twice")
	}
	registered = p
}

// host is the single Host of the module; the host calls the guest from one
// thread, one call at a time.
var host Host

func runInit() int32 {
	if registered == nil {
		hostLog(int32(LevelError), "minebrain: no plugin registered: call minebrain.Register from the main package's init()")
		return CodeNoPlugin
	}
	host.reset()
	if err := registered.Init(&host); err != nil {
		host.Log(LevelError, "init: "+err.Error())
		return CodeFailed
	}
	return codeOK
}

func runTick(now time.Time) int32 {
	if registered == nil {
		return CodeNoPlugin
	}
	host.fresh = false
	if err := registered.Tick(&host, now); err != nil {
		host.Log(LevelError, "tick: "+err.Error())
		return CodeFailed
	}
	return codeOK
}

// tagRecord is the ABI's TagValue, 24 bytes, 8-aligned, little-endian (as
// wasm memory is).
type tagRecord struct {
	_      structs.HostLayout
	value  float64
	status uint32
	flags  uint32
	time   int64
}

// Compile-time check that tagRecord is exactly the ABI's 24 bytes.
var _ [tagRecordSize - unsafe.Sizeof(tagRecord{})]struct{}
var _ [unsafe.Sizeof(tagRecord{}) - tagRecordSize]struct{}

type configValue struct {
	s  string
	ok bool
}

// Host is the plugin's view of Minebrain: its tags, setpoints, alarms, log,
// key-value store and configuration. The SDK passes the one Host to Init and
// Tick; it is not safe to use from other goroutines (the host calls the
// plugin from one thread, and a plugin should not start goroutines that
// outlive a call).
type Host struct {
	nTags   int         // tag_count, read at init
	snap    []tagRecord // the reused read_tags buffer, len nTags
	snapN   int         // records read_tags wrote
	fresh   bool        // snap holds this tick's values
	names   []string    // tag names, fetched on first Tags()
	config  map[string]configValue
	scratch []byte // reused buffer for names, config and key-value reads
}

// reset forgets everything cached from the previous load and reads the
// tag count: the tags and configuration may change on a reload.
func (h *Host) reset() {
	n := int(tagCount())
	if n < 0 {
		n = 0
	}
	h.nTags = n
	if cap(h.snap) < n {
		h.snap = make([]tagRecord, n)
	}
	h.snap = h.snap[:n]
	h.snapN = 0
	h.fresh = false
	h.names = nil
	h.config = make(map[string]configValue)
}

// --- tags ---

// TagRef is a readable tag: its index in the ABI, 0 … TagCount()-1, in the
// order of Tags() (sorted by name). A TagRef that is out of range reads as
// Missing.
type TagRef int32

// TagCount returns how many tags the plugin may read (the manifest's reads
// patterns matched against the site's tags when the plugin loaded).
func (h *Host) TagCount() int { return h.nTags }

// Tags returns the names of the tags the plugin may read, sorted by name:
// Tags()[i] is the name of TagRef(i). The slice is the caller's.
func (h *Host) Tags() []string {
	if h.names == nil {
		names := make([]string, h.nTags)
		for i := range names {
			b, err := h.fetch(func(buf []byte) int32 {
				return tagName(int32(i), unsafe.Pointer(unsafe.SliceData(buf)), int32(len(buf)))
			})
			if err == nil {
				names[i] = string(b)
			}
		}
		h.names = names
	}
	return append([]string(nil), h.names...)
}

// Tag looks a readable tag up by name. It returns ErrNotGranted when the
// manifest does not grant reading it (or the site has no such tag).
func (h *Host) Tag(name string) (TagRef, error) {
	c := tagIndex(name)
	if c < 0 {
		return -1, codeErr(c)
	}
	return TagRef(c), nil
}

// Value is a tag's latest value as of this tick.
type Value struct {
	V       float64   // the value (booleans 0/1; NaN when there is no number)
	Status  uint32    // the OPC UA status code (0 = good)
	Stale   bool      // its connection is down or it stopped updating
	Missing bool      // never received (or an unknown TagRef): V is NaN
	Time    time.Time // the source timestamp (UTC); zero when never received
}

// Good reports whether the value can be used: an OPC UA status of class
// good (top two bits 00), not stale and not missing.
func (v Value) Good() bool { return v.Status>>30 == 0 && !v.Stale && !v.Missing }

// Uncertain reports whether the OPC UA status is of class uncertain (top two
// bits 01).
func (v Value) Uncertain() bool { return v.Status>>30 == 1 }

// Bad reports whether the OPC UA status is of class bad (top two bits 1x).
func (v Value) Bad() bool { return v.Status>>30 >= 2 }

// Value returns the tag's latest value. The first Value call of a call to
// Init or Tick reads every readable tag with one read_tags call into a
// buffer the SDK reuses (no allocation); later calls in the same tick read
// that snapshot, so all the values a tick sees are consistent. An unknown
// ref gives Missing with V NaN.
func (h *Host) Value(ref TagRef) Value {
	if !h.fresh {
		h.refresh()
	}
	if ref < 0 || int(ref) >= h.snapN {
		return Value{V: math.NaN(), Missing: true}
	}
	r := &h.snap[ref]
	v := Value{
		V:       r.value,
		Status:  r.status,
		Stale:   r.flags&flagStale != 0,
		Missing: r.flags&flagNeverUpdated != 0,
	}
	if r.time != 0 {
		v.Time = time.Unix(0, r.time).UTC()
	}
	return v
}

func (h *Host) refresh() {
	h.fresh = true
	h.snapN = 0
	if len(h.snap) == 0 {
		return
	}
	n := readTags(unsafe.Pointer(&h.snap[0]), int32(len(h.snap)*tagRecordSize))
	if n > 0 {
		h.snapN = min(int(n), len(h.snap))
	}
}

// --- setpoints ---

// SetpointRef is a writable setpoint: its index in the ABI, the position of
// its entry in the manifest's writes (0, 1, …).
type SetpointRef int32

// Setpoint looks a writable setpoint up by its tag name; ErrNotGranted when
// it is not in the manifest's writes.
func (h *Host) Setpoint(name string) (SetpointRef, error) {
	c := setpointIndex(name)
	if c < 0 {
		return -1, codeErr(c)
	}
	return SetpointRef(c), nil
}

// Write asks to write v to the setpoint. nil means the request is accepted
// for this tick; ErrLimit (outside the manifest's min/max) and ErrRate
// (faster than its maxRate) refuse it at once. The request goes through the
// control path after the tick returns (or is only recorded in mode SHADOW);
// see WriteResult. One request per setpoint per tick: a second replaces the
// first.
//
// The index is not checked here: writing a SetpointRef that is not in the
// manifest faults the plugin (the host treats it as a defect).
func (h *Host) Write(sp SetpointRef, v float64) error {
	return codeErr(writeSetpoint(int32(sp), v))
}

// WriteOutcome is the outcome of the last write request to a setpoint.
// Its values are the ABI's write_result codes.
type WriteOutcome int32

// The outcomes write_result reports.
const (
	WriteDone     WriteOutcome = 0  // written and confirmed
	WritePending  WriteOutcome = 1  // on its way
	WriteShadowed WriteOutcome = 2  // mode SHADOW: recorded, not sent
	WriteNone     WriteOutcome = 3  // no request yet
	WriteRefused  WriteOutcome = -7 // the control path refused it (interlock, local mode, site limits…)
	WriteRejected WriteOutcome = -8 // the equipment refused it
	WriteTimeout  WriteOutcome = -9 // no read-back in time
)

// WriteResult returns the outcome of the last request to the setpoint.
// For a SetpointRef outside the manifest it returns WriteOutcome(ErrNotGranted).
func (h *Host) WriteResult(sp SetpointRef) WriteOutcome {
	return WriteOutcome(writeResult(int32(sp)))
}

// Err returns nil for the non-failure outcomes (done, pending, shadowed,
// none) and the matching Error (ErrRefused, ErrRejected, ErrTimeout, …)
// otherwise.
func (o WriteOutcome) Err() error { return codeErr(int32(o)) }

// String returns the outcome's name.
func (o WriteOutcome) String() string {
	switch o {
	case WriteDone:
		return "done"
	case WritePending:
		return "pending"
	case WriteShadowed:
		return "shadowed"
	case WriteNone:
		return "none"
	case WriteRefused:
		return "refused"
	case WriteRejected:
		return "rejected"
	case WriteTimeout:
		return "timeout"
	}
	if o < 0 {
		return Error(o).Error()
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// --- alarms ---

// Priority is an alarm's priority.
type Priority int32

// Alarm priorities.
const (
	PriorityCritical Priority = 0
	PriorityHigh     Priority = 1
	PriorityMedium   Priority = 2
	PriorityLow      Priority = 3
)

// RaiseAlarm raises the system-class alarm plugin.<plugin id>.<name>, or
// updates its message if it is already raised. name is 1–64 characters of
// [A-Za-z0-9_.-]; ErrInvalid for a bad name or priority.
func (h *Host) RaiseAlarm(name string, p Priority, msg string) error {
	return codeErr(alarmRaise(name, int32(p), msg))
}

// ClearAlarm tells the alarm engine the alarm's condition is gone (the
// operator still acknowledges it).
func (h *Host) ClearAlarm(name string) error {
	return codeErr(alarmClear(name))
}

// --- log ---

// Level is a log entry's level.
type Level int32

// Log levels.
const (
	LevelDebug   Level = 0
	LevelInfo    Level = 1
	LevelWarning Level = 2
	LevelError   Level = 3
)

// Log writes an entry to the plugin's log. The host keeps at most 100
// entries per second and 64 KiB per tick; it counts and drops the rest.
func (h *Host) Log(level Level, msg string) {
	hostLog(int32(level), msg)
}

// Logf formats with fmt.Sprintf and logs. It allocates; prefer Log on a hot
// path.
func (h *Host) Logf(level Level, format string, args ...any) {
	hostLog(int32(level), fmt.Sprintf(format, args...))
}

// --- key-value store ---

// KV is the plugin's key-value store, kept in Minebrain's database across
// restarts and reloads. Keys are 1–256 bytes, values up to 64 KiB, at most
// 1,000 keys and 1 MiB per plugin (ErrLimit beyond). Changes are stored when
// the tick returns.
type KV struct{ h *Host }

// KV returns the plugin's key-value store.
func (h *Host) KV() KV { return KV{h: h} }

// Get returns a copy of the stored value; ok is false (and err nil) when the
// key is absent.
func (kv KV) Get(key string) (val []byte, ok bool, err error) {
	h := kv.h
	for range 4 {
		buf := h.buf(0)
		c := kvGet(key, unsafe.Pointer(&buf[0]), int32(len(buf)))
		switch {
		case c >= 0:
			if int(c) > len(buf) {
				return nil, false, ErrRange
			}
			return append([]byte{}, buf[:c]...), true, nil
		case c == int32(ErrNotFound):
			return nil, false, nil
		case c == int32(ErrBuffer):
			n := kvLen(key)
			if n == int32(ErrNotFound) {
				return nil, false, nil
			}
			if n < 0 {
				return nil, false, codeErr(n)
			}
			h.buf(max(int(n), 2*len(buf)))
		default:
			return nil, false, codeErr(c)
		}
	}
	return nil, false, ErrBuffer
}

// Set stores val under key.
func (kv KV) Set(key string, val []byte) error {
	return codeErr(kvSet(key, unsafe.Pointer(unsafe.SliceData(val)), int32(len(val))))
}

// Delete removes the key; deleting an absent key is not an error.
func (kv KV) Delete(key string) error {
	return codeErr(kvDelete(key))
}

// --- configuration ---

// Config returns the manifest's config value for key as text (numbers in
// shortest form, booleans true/false); ok is false when the key is absent.
// Values are cached until the next reload, so calling Config on every tick
// does not allocate.
func (h *Host) Config(key string) (string, bool) {
	if v, ok := h.config[key]; ok {
		return v.s, v.ok
	}
	b, err := h.fetch(func(buf []byte) int32 {
		return configGet(key, unsafe.Pointer(&buf[0]), int32(len(buf)))
	})
	v := configValue{s: string(b), ok: err == nil}
	if h.config == nil {
		h.config = make(map[string]configValue)
	}
	h.config[key] = v
	return v.s, v.ok
}

// ConfigFloat returns the config value for key as a number, or def when it
// is absent or not a number.
func (h *Host) ConfigFloat(key string, def float64) float64 {
	s, ok := h.Config(key)
	if !ok {
		return def
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return def
	}
	return f
}

// ConfigBool returns the config value for key as a boolean (true/false, and
// the other forms strconv.ParseBool accepts), or def when it is absent or
// not a boolean.
func (h *Host) ConfigBool(key string, def bool) bool {
	s, ok := h.Config(key)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return def
	}
	return b
}

// --- buffers ---

// buf returns the scratch buffer, grown to at least n bytes.
func (h *Host) buf(n int) []byte {
	n = max(n, initialScratch)
	if len(h.scratch) < n {
		h.scratch = make([]byte, n)
	}
	return h.scratch
}

// fetch calls get with the scratch buffer, doubling it while get answers
// E_BUFFER (the calls that give no length), and returns the bytes written
// (valid until the next use of the scratch buffer) or the error.
func (h *Host) fetch(get func(buf []byte) int32) ([]byte, error) {
	buf := h.buf(0)
	for {
		c := get(buf)
		switch {
		case c >= 0 && int(c) <= len(buf):
			return buf[:c], nil
		case c >= 0:
			return nil, ErrRange
		case c != int32(ErrBuffer):
			return nil, codeErr(c)
		case len(buf) >= maxScratch:
			return nil, ErrBuffer
		}
		buf = h.buf(2 * len(buf))
	}
}
