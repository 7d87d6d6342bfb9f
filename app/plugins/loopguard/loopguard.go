// Package loopguard makes a WebAssembly module interruptible, and its long runs preemptible
// by the Go scheduler, at the cost of a few instructions per loop iteration and call.
//
// A plugin's tick must be stoppable when it overruns its budget, and guest code runs long
// only in a loop or a runaway recursion. wazero's own answer, close-on-context-done, calls
// out of native code into Go at every loop iteration (about 40 ns) and starts a goroutine per
// call (about 0.8 µs). Instrument instead adds two mutable i32 globals — a countdown and the
// interrupt flag, exported as Export — and at the start of every function and the head of
// every loop
//
//	countdown -= 1
//	if countdown == 0 {
//	    countdown = Period
//	    memory.grow(0)            ;; a no-op that leaves native code for Go
//	    if interrupt { unreachable }
//	}
//
// The host interrupts a call by setting the flag: the guest traps within Period iterations.
// The exit to Go matters as much: native code cannot be preempted, so a guest that never
// left it would hold up every stop-the-world of the garbage collector, and with it the
// whole application and the very timer that would interrupt it. memory.grow(0) is wazero's
// cheapest way out and back (the interpreter runs in Go anyway). A module without a memory
// gets the flag check alone (plugins must have one; such a module is refused later).
//
// Nothing else of the module changes but the DWARF sections (.debug_*), which are dropped
// because their code offsets would be wrong.
package loopguard

import (
	"bytes"
	"errors"
	"fmt"
)

// Export is the name under which Instrument exports the interrupt global.
const Export = "minebrain.interrupt"

// Period is how many loop iterations and calls pass between two exits to Go (and checks of
// the interrupt flag): an exit costs about 50 ns, so about 0.05 ns an iteration.
const Period = 1024

// Section ids of the binary format, in the order a module must have them.
const (
	secCustom   = 0
	secImport   = 2
	secMemory   = 5
	secGlobal   = 6
	secExport   = 7
	secStart    = 8
	secElement  = 9
	secCode     = 10
	secData     = 11
	secDataCnt  = 12
	importGlobl = 0x03
	exportGlobl = 0x03
)

var header = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// section is one section of a module: its id and contents (without id and size).
type section struct {
	id   byte
	body []byte
}

// Instrument returns a copy of the module wasm with the two globals and the guard at the
// start of every function and the head of every loop. It errors on a module it cannot
// parse, naming the problem and its offset; it leaves full validation to the compiler.
func Instrument(wasm []byte) ([]byte, error) {
	if len(wasm) < len(header) || !bytes.Equal(wasm[:4], header[:4]) {
		return nil, errors.New("not a WebAssembly binary (no \\0asm header)")
	}
	if !bytes.Equal(wasm[4:8], header[4:]) {
		return nil, fmt.Errorf("binary format version %d; only version 1 is supported", wasm[4])
	}
	var secs []section
	r := reader{b: wasm, off: len(header)}
	for !r.done() {
		id := r.byte()
		n := r.u32()
		body := r.bytes(int(n))
		if r.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, r.err)
		}
		if id == secCustom && isDebug(body) {
			continue
		}
		secs = append(secs, section{id: id, body: body})
	}

	imported, err := countImports(secs)
	if err != nil {
		return nil, err
	}
	// The new globals go after the module's own, so no index changes.
	countdown := imported.globals
	globals := appendU32([]byte{0x7f, 0x01, 0x41}, Period)        // mut i32 = Period
	globals = append(globals, 0x0b, 0x7f, 0x01, 0x41, 0x00, 0x0b) // mut i32 = 0
	gi := find(secs, secGlobal)
	if gi >= 0 {
		r := reader{b: secs[gi].body}
		n := r.u32()
		if r.err != nil {
			return nil, fmt.Errorf("global section: %w", r.err)
		}
		countdown += n
		secs[gi].body = appendVec(n+2, r.rest(), globals)
	} else {
		secs = insertBefore(secs, section{id: secGlobal, body: append([]byte{2}, globals...)},
			secExport, secStart, secElement, secDataCnt, secCode, secData)
	}
	interrupt := countdown + 1
	memory := imported.memories > 0
	if mi := find(secs, secMemory); mi >= 0 {
		r := reader{b: secs[mi].body}
		memory = memory || r.u32() > 0
	}

	export := appendName(nil, Export)
	export = append(export, exportGlobl)
	export = appendU32(export, interrupt)
	if ei := find(secs, secExport); ei >= 0 {
		n, rest, err := checkExports(secs[ei].body)
		if err != nil {
			return nil, err
		}
		secs[ei].body = appendVec(n+1, rest, export)
	} else {
		secs = insertBefore(secs, section{id: secExport, body: append([]byte{1}, export...)},
			secStart, secElement, secDataCnt, secCode, secData)
	}

	if ci := find(secs, secCode); ci >= 0 {
		body, err := instrumentCode(secs[ci].body, guardCode(countdown, interrupt, memory))
		if err != nil {
			return nil, err
		}
		secs[ci].body = body
	}

	out := make([]byte, 0, len(wasm)+len(wasm)/16)
	out = append(out, header...)
	for _, s := range secs {
		out = append(out, s.id)
		out = appendU32(out, uint32(len(s.body)))
		out = append(out, s.body...)
	}
	return out, nil
}

// isDebug: a custom section named .debug_*.
func isDebug(body []byte) bool {
	r := reader{b: body}
	name := r.name()
	return r.err == nil && len(name) > 7 && name[:7] == ".debug_"
}

func find(secs []section, id byte) int {
	for i, s := range secs {
		if s.id == id {
			return i
		}
	}
	return -1
}

// insertBefore inserts s before the first section whose id is one of later, else at the end.
func insertBefore(secs []section, s section, later ...byte) []section {
	for i, x := range secs {
		if bytes.IndexByte(later, x.id) >= 0 {
			return append(secs[:i], append([]section{s}, secs[i:]...)...)
		}
	}
	return append(secs, s)
}

// appendVec is a vector of n entries: the n-1 encoded in old, then one more.
func appendVec(n uint32, old, more []byte) []byte {
	b := appendU32(make([]byte, 0, 5+len(old)+len(more)), n)
	return append(append(b, old...), more...)
}

// imports counts the imported globals and memories.
type imports struct{ globals, memories uint32 }

func countImports(secs []section) (imports, error) {
	var n imports
	i := find(secs, secImport)
	if i < 0 {
		return n, nil
	}
	r := reader{b: secs[i].body}
	for count := r.u32(); count > 0 && r.err == nil; count-- {
		r.name()
		r.name()
		switch kind := r.byte(); kind {
		case 0x00: // function: type index
			r.u32()
		case 0x01: // table: reference type, limits
			r.byte()
			r.limits()
		case 0x02: // memory: limits
			r.limits()
			n.memories++
		case importGlobl: // global: value type, mutability
			r.byte()
			r.byte()
			n.globals++
		case 0x04: // tag: attribute, type index
			r.byte()
			r.u32()
		default:
			return n, fmt.Errorf("import section: unknown import kind 0x%02x at offset %d", kind, r.off-1)
		}
	}
	if r.err != nil {
		return n, fmt.Errorf("import section: %w", r.err)
	}
	return n, nil
}

// checkExports returns the export count and entries, refusing a module that already
// exports Export.
func checkExports(body []byte) (uint32, []byte, error) {
	r := reader{b: body}
	n := r.u32()
	start := r.off
	for i := uint32(0); i < n && r.err == nil; i++ {
		if name := r.name(); name == Export {
			return 0, nil, fmt.Errorf("the module exports %q itself; that name is reserved for the host", Export)
		}
		r.byte()
		r.u32()
	}
	if r.err != nil {
		return 0, nil, fmt.Errorf("export section: %w", r.err)
	}
	return n, body[start:], nil
}

// guardCode is the check put at the start of every function and the head of every loop.
func guardCode(countdown, interrupt uint32, memory bool) []byte {
	b := appendU32([]byte{0x23}, countdown)   // global.get countdown
	b = append(b, 0x41, 0x01, 0x6b, 0x24)     // i32.const 1; i32.sub; global.set
	b = appendU32(b, countdown)               //   countdown
	b = appendU32(append(b, 0x23), countdown) // global.get countdown
	b = append(b, 0x45, 0x04, 0x40, 0x41)     // i32.eqz; if; i32.const
	b = appendU32(b, Period)                  //   Period (< 2^13: the same as signed LEB)
	b = appendU32(append(b, 0x24), countdown) //   global.set countdown
	if memory {
		b = append(b, 0x41, 0x00, 0x40, 0x00, 0x1a) // i32.const 0; memory.grow 0; drop
	}
	b = appendU32(append(b, 0x23), interrupt)      //   global.get interrupt
	return append(b, 0x04, 0x40, 0x00, 0x0b, 0x0b) // if; unreachable; end; end
}

// instrumentCode rewrites the code section's function bodies, with guard at the start of
// each and at the head of each loop.
func instrumentCode(body, guard []byte) ([]byte, error) {
	r := reader{b: body}
	n := r.u32()
	out := appendU32(make([]byte, 0, len(body)+len(body)/16), n)
	var fn []byte
	for i := uint32(0); i < n; i++ {
		size := r.u32()
		code := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("code section: function %d: %w", i, r.err)
		}
		var err error
		if fn, err = instrumentFunc(fn[:0], code, guard); err != nil {
			return nil, fmt.Errorf("code section: function %d: %w", i, err)
		}
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	if !r.done() {
		return nil, fmt.Errorf("code section: %d bytes after the last function", len(body)-r.off)
	}
	return out, nil
}

// instrumentFunc appends to out the function body code with guard after its locals and
// after each loop's block type. Only the instructions' immediates need decoding: their
// lengths are what finds the next opcode.
func instrumentFunc(out, code, guard []byte) ([]byte, error) {
	r := reader{b: code}
	for groups := r.u32(); groups > 0 && r.err == nil; groups-- {
		r.u32()  // count
		r.byte() // value type
	}
	if r.err != nil {
		return nil, r.err
	}
	out = append(append(out, code[:r.off]...), guard...)
	copied := r.off
	for !r.done() && r.err == nil {
		at := r.off
		op := r.byte()
		switch {
		case op == 0x02 || op == 0x04: // block, if
			r.blockType()
		case op == 0x03: // loop
			r.blockType()
			out = append(append(out, code[copied:r.off]...), guard...)
			copied = r.off
		case op <= 0x01, op == 0x05, op == 0x0b, op == 0x0f, op == 0x1a, op == 0x1b, op == 0xd1:
			// unreachable, nop, else, end, return, drop, select, ref.is_null
		case op == 0x0c || op == 0x0d || op == 0x10 || op == 0x12 || op == 0xd2:
			r.u32() // br, br_if, call, return_call, ref.func
		case op == 0x0e: // br_table
			for n := r.u32(); n > 0 && r.err == nil; n-- {
				r.u32()
			}
			r.u32()
		case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect
			r.u32()
			r.u32()
		case op == 0x1c: // select with types
			for n := r.u32(); n > 0 && r.err == nil; n-- {
				r.byte()
			}
		case op >= 0x20 && op <= 0x26: // local.*, global.*, table.get/set
			r.u32()
		case op >= 0x28 && op <= 0x3e: // loads and stores
			r.memarg()
		case op == 0x3f || op == 0x40: // memory.size, memory.grow
			r.u32()
		case op == 0x41:
			r.sleb(32)
		case op == 0x42:
			r.sleb(64)
		case op == 0x43:
			r.bytes(4)
		case op == 0x44:
			r.bytes(8)
		case op >= 0x45 && op <= 0xc4: // numeric: no immediates
		case op == 0xd0: // ref.null
			r.byte()
		case op == 0xfc:
			r.miscImmediates(at)
		case op == 0xfd:
			r.vectorImmediates(at)
		case op == 0xfe:
			r.atomicImmediates(at)
		default:
			return nil, fmt.Errorf("instruction 0x%02x at offset %d is not one Minebrain can run", op, at)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return append(out, code[copied:]...), nil
}
