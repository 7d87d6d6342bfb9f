package plugins

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"minebrain/app/alarms"
)

// The result codes of sdk/ABI.md.
const (
	eNotGranted = -1
	eBuffer     = -2
	eRange      = -3
	eLimit      = -4
	eRate       = -5
	eNotFound   = -6
	eRefused    = -7
	eRejected   = -8
	eTimeout    = -9
	eInvalid    = -10
)

// write_result codes.
const (
	wrDone     = 0
	wrPending  = 1
	wrShadowed = 2
	wrNone     = 3
)

// hostModule is the import module name of the Minebrain functions.
const hostModule = "minebrain"

// tagValueSize is the size of a TagValue record.
const tagValueSize = 24

// faultError is panicked by a host function to stop the guest and fault the plugin.
type faultError struct{ reason string }

func (e *faultError) Error() string { return e.reason }

type hostFunc struct {
	name    string
	params  []api.ValueType
	results []api.ValueType
	fn      func(p *plugin, mod api.Module, stack []uint64)
}

var (
	i32 = api.ValueTypeI32
	f64 = api.ValueTypeF64
	r32 = []api.ValueType{api.ValueTypeI32}
)

func i32s(n int) []api.ValueType {
	t := make([]api.ValueType, n)
	for i := range t {
		t[i] = i32
	}
	return t
}

// hostFuncs is the minebrain module of ABI version 1.
var hostFuncs = []hostFunc{
	{"tag_count", nil, r32, (*plugin).hTagCount},
	{"tag_index", i32s(2), r32, (*plugin).hTagIndex},
	{"tag_name", i32s(3), r32, (*plugin).hTagName},
	{"read_tags", i32s(2), r32, (*plugin).hReadTags},
	{"setpoint_index", i32s(2), r32, (*plugin).hSetpointIndex},
	{"write_setpoint", []api.ValueType{i32, f64}, r32, (*plugin).hWriteSetpoint},
	{"write_result", i32s(1), r32, (*plugin).hWriteResult},
	{"alarm_raise", i32s(5), r32, (*plugin).hAlarmRaise},
	{"alarm_clear", i32s(2), r32, (*plugin).hAlarmClear},
	{"log", i32s(3), r32, (*plugin).hLog},
	{"kv_get", i32s(4), r32, (*plugin).hKVGet},
	{"kv_len", i32s(2), r32, (*plugin).hKVLen},
	{"kv_set", i32s(4), r32, (*plugin).hKVSet},
	{"kv_delete", i32s(2), r32, (*plugin).hKVDelete},
	{"config_get", i32s(4), r32, (*plugin).hConfigGet},
}

var hostFuncByName = func() map[string]*hostFunc {
	m := map[string]*hostFunc{}
	for i := range hostFuncs {
		m[hostFuncs[i].name] = &hostFuncs[i]
	}
	return m
}()

// instantiateHost instantiates the minebrain module for p in its wazero runtime.
func (p *plugin) instantiateHost(ctx context.Context, wr wazero.Runtime) error {
	b := wr.NewHostModuleBuilder(hostModule)
	for i := range hostFuncs {
		h := &hostFuncs[i]
		fn := h.fn
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, mod api.Module, stack []uint64) {
			fn(p, mod, stack)
		}), h.params, h.results).WithName(h.name).Export(h.name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

func ret(stack []uint64, v int32) { stack[0] = api.EncodeI32(v) }

// mem is the guest's memory [ptr, ptr+n), a view (not a copy); a range outside memory
// faults the plugin.
func (p *plugin) mem(mod api.Module, fn string, ptr, n uint32) []byte {
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		panic(&faultError{fmt.Sprintf("%s: pointer out of range (%d bytes at %#x, memory is %d bytes)",
			fn, n, ptr, mod.Memory().Size())})
	}
	return b
}

func (p *plugin) hTagCount(_ api.Module, stack []uint64) { ret(stack, int32(len(p.reads))) }

func (p *plugin) hTagIndex(mod api.Module, stack []uint64) {
	name := p.mem(mod, "tag_index", uint32(stack[0]), uint32(stack[1]))
	if i, ok := p.readIdx[string(name)]; ok {
		ret(stack, int32(i))
		return
	}
	ret(stack, eNotGranted)
}

func (p *plugin) hTagName(mod api.Module, stack []uint64) {
	i, ptr, n := int32(stack[0]), uint32(stack[1]), uint32(stack[2])
	if i < 0 || int(i) >= len(p.reads) {
		ret(stack, eRange)
		return
	}
	name := p.reads[i]
	if uint32(len(name)) > n {
		ret(stack, eBuffer)
		return
	}
	copy(p.mem(mod, "tag_name", ptr, uint32(len(name))), name)
	ret(stack, int32(len(name)))
}

func (p *plugin) hReadTags(mod api.Module, stack []uint64) {
	ptr, n := uint32(stack[0]), uint32(stack[1])
	recs := min(int(n/tagValueSize), len(p.reads))
	if recs == 0 {
		ret(stack, 0)
		return
	}
	dst := p.mem(mod, "read_tags", ptr, uint32(recs*tagValueSize))
	if !p.snapped { // the tick's first read_tags reads the tags; later ones see the same values
		p.encodeSnapshot()
		p.snapped = true
	}
	copy(dst, p.snapBuf[:recs*tagValueSize])
	ret(stack, int32(recs))
}

// encodeSnapshot fills p.snapBuf with the granted tags' TagValue records, through the
// BatchHost's reader when the Host is one.
func (p *plugin) encodeSnapshot() {
	if p.readFn != nil {
		p.readFn(p.readVals)
		encodeTagValues(p.snapBuf, p.readVals)
		return
	}
	h := p.rt.opts.Host
	var one [1]Value
	for i, tag := range p.reads {
		v, ok := h.Value(tag)
		if !ok {
			v = Value{Missing: true}
		}
		one[0] = v
		encodeTagValues(p.snapBuf[i*tagValueSize:], one[:])
	}
}

// nanBits is the value of a missing tag's record.
var nanBits = math.Float64bits(math.NaN())

// encodeTagValues writes vals as TagValue records (24 bytes each) into b. It is the hot
// part of read_tags, a few ns a value: one pass, no call per value, bounds checked once.
func encodeTagValues(b []byte, vals []Value) {
	_ = b[len(vals)*tagValueSize-1]
	for i := range vals {
		v := &vals[i]
		r := b[i*tagValueSize : (i+1)*tagValueSize : (i+1)*tagValueSize]
		bits := math.Float64bits(v.V)
		var flags uint32
		var ts int64
		if v.Missing {
			flags, bits = 2, nanBits
		} else if !v.Time.IsZero() {
			ts = v.Time.UnixNano()
		}
		if v.Stale {
			flags |= 1
		}
		binary.LittleEndian.PutUint64(r[0:], bits)
		binary.LittleEndian.PutUint32(r[8:], v.Status)
		binary.LittleEndian.PutUint32(r[12:], flags)
		binary.LittleEndian.PutUint64(r[16:], uint64(ts))
	}
}

func (p *plugin) hSetpointIndex(mod api.Module, stack []uint64) {
	name := p.mem(mod, "setpoint_index", uint32(stack[0]), uint32(stack[1]))
	if i, ok := p.writeIdx[string(name)]; ok {
		ret(stack, int32(i))
		return
	}
	ret(stack, eNotGranted)
}

func (p *plugin) hWriteSetpoint(_ api.Module, stack []uint64) {
	i := int32(stack[0])
	v := api.DecodeF64(stack[1])
	if i < 0 || int(i) >= len(p.grants) {
		if p.badWrite == "" {
			p.badWrite = fmt.Sprintf("write_setpoint with index %d outside the manifest (%d writes)", i, len(p.grants))
		}
		ret(stack, eNotGranted)
		return
	}
	g := &p.grants[i]
	if !(v >= g.Min && v <= g.Max) {
		ret(stack, eLimit)
		return
	}
	if g.MaxRate > 0 {
		base, at, ok := p.last[i].v, p.last[i].t, p.last[i].ok
		if !ok {
			if cur, ok2 := p.rt.opts.Host.Value(g.Tag); ok2 && !cur.Missing && !math.IsNaN(cur.V) {
				base, at, ok = cur.V, p.tickNow.Add(-p.man.Tick), true
			}
		}
		if ok {
			allowed := g.MaxRate * p.tickNow.Sub(at).Seconds()
			if math.Abs(v-base) > allowed+1e-9*math.Max(1, math.Abs(base)) {
				ret(stack, eRate)
				return
			}
		}
	}
	p.req[i] = request{set: true, v: v}
	ret(stack, 0)
}

func (p *plugin) hWriteResult(_ api.Module, stack []uint64) {
	i := int32(stack[0])
	if i < 0 || int(i) >= len(p.grants) {
		ret(stack, eRange)
		return
	}
	ret(stack, p.results[i].Load())
}

// validAlarmName: 1-64 of [A-Za-z0-9_.-].
func validAlarmName(b []byte) bool {
	if len(b) < 1 || len(b) > 64 {
		return false
	}
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func (p *plugin) hAlarmRaise(mod api.Module, stack []uint64) {
	name := p.mem(mod, "alarm_raise", uint32(stack[0]), uint32(stack[1]))
	prio := int32(stack[2])
	msg := p.mem(mod, "alarm_raise", uint32(stack[3]), uint32(stack[4]))
	if !validAlarmName(name) || prio < 0 || prio > int32(alarms.Low) || !utf8.Valid(msg) {
		ret(stack, eInvalid)
		return
	}
	if a, ok := p.alarms[string(name)]; ok && a.prio == alarms.Priority(prio) && a.msg == string(msg) {
		ret(stack, 0) // already raised as is
		return
	}
	n, m := string(name), string(msg)
	if err := p.rt.opts.Host.RaiseAlarm(p.alarmID(n), alarms.Priority(prio), m); err != nil {
		p.logf(2, "alarm_raise %s: %v", n, err)
		ret(stack, eInvalid)
		return
	}
	p.alarms[n] = raised{prio: alarms.Priority(prio), msg: m}
	ret(stack, 0)
}

func (p *plugin) hAlarmClear(mod api.Module, stack []uint64) {
	name := p.mem(mod, "alarm_clear", uint32(stack[0]), uint32(stack[1]))
	if !validAlarmName(name) {
		ret(stack, eInvalid)
		return
	}
	if _, ok := p.alarms[string(name)]; !ok {
		ret(stack, 0) // not raised by this plugin since it was loaded
		return
	}
	n := string(name)
	if err := p.rt.opts.Host.ClearAlarm(p.alarmID(n)); err != nil {
		p.logf(2, "alarm_clear %s: %v", n, err)
		ret(stack, eInvalid)
		return
	}
	delete(p.alarms, n)
	ret(stack, 0)
}

func (p *plugin) alarmID(name string) string { return "plugin." + p.id + "." + name }

func (p *plugin) hLog(mod api.Module, stack []uint64) {
	level := int32(stack[0])
	msg := p.mem(mod, "log", uint32(stack[1]), uint32(stack[2]))
	if level < 0 || level > 3 {
		ret(stack, eInvalid)
		return
	}
	if !p.logEntry(int(level), msg) {
		ret(stack, eRate)
		return
	}
	ret(stack, 0)
}

func (p *plugin) hKVGet(mod api.Module, stack []uint64) {
	key := p.mem(mod, "kv_get", uint32(stack[0]), uint32(stack[1]))
	v, ok := p.kv.get(key)
	if !ok {
		ret(stack, eNotFound)
		return
	}
	if uint32(len(v)) > uint32(stack[3]) {
		ret(stack, eBuffer)
		return
	}
	copy(p.mem(mod, "kv_get", uint32(stack[2]), uint32(len(v))), v)
	ret(stack, int32(len(v)))
}

func (p *plugin) hKVLen(mod api.Module, stack []uint64) {
	key := p.mem(mod, "kv_len", uint32(stack[0]), uint32(stack[1]))
	v, ok := p.kv.get(key)
	if !ok {
		ret(stack, eNotFound)
		return
	}
	ret(stack, int32(len(v)))
}

func (p *plugin) hKVSet(mod api.Module, stack []uint64) {
	key := p.mem(mod, "kv_set", uint32(stack[0]), uint32(stack[1]))
	val := p.mem(mod, "kv_set", uint32(stack[2]), uint32(stack[3]))
	if !p.kv.set(key, val) {
		ret(stack, eLimit)
		return
	}
	ret(stack, 0)
}

func (p *plugin) hKVDelete(mod api.Module, stack []uint64) {
	key := p.mem(mod, "kv_delete", uint32(stack[0]), uint32(stack[1]))
	p.kv.delete(key)
	ret(stack, 0)
}

func (p *plugin) hConfigGet(mod api.Module, stack []uint64) {
	key := p.mem(mod, "config_get", uint32(stack[0]), uint32(stack[1]))
	v, ok := p.man.Config[string(key)]
	if !ok {
		ret(stack, eNotFound)
		return
	}
	if uint32(len(v)) > uint32(stack[3]) {
		ret(stack, eBuffer)
		return
	}
	copy(p.mem(mod, "config_get", uint32(stack[2]), uint32(len(v))), v)
	ret(stack, int32(len(v)))
}

// sizeText is a byte count as the manifest writes it: "16 MiB", "640 KiB".
func sizeText(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatUint(n>>30, 10) + " GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatUint(n>>20, 10) + " MiB"
	case n%(1<<10) == 0:
		return strconv.FormatUint(n>>10, 10) + " KiB"
	}
	return strconv.FormatUint(n, 10) + " bytes"
}
