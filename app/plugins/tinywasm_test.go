package plugins

import (
	"encoding/binary"
	"math"
)

// The mb_tick bodies of tinyGuest.
const (
	tinyEmpty = iota // returns 0: a tick of it is the host's overhead alone
	tinyWork         // reads every granted tag, sums the values in a loop, asks for 3 writes
	tinyLoop         // an empty loop of 100 iterations (wazero's termination check per iteration)
)

// tinyGuest hand-assembles a minimal ABI 1 module (no language runtime, no WASI): it exports
// a one-page memory, mb_abi_version (1), mb_init (0) and mb_tick, whose body is kind's.
// tinyWork imports minebrain.read_tags and minebrain.write_setpoint and, like the Go bench
// guest, reads every granted tag into memory at 0, sums their values (stored at 8192) and
// asks for writes 0, 1, 2 with 50, 51, 52.
func tinyGuest(kind int) []byte {
	work := kind == tinyWork
	const (
		tI32 = 0x7f
		tI64 = 0x7e
		tF64 = 0x7c
	)
	vec := func(items ...[]byte) []byte {
		b := uleb(nil, uint64(len(items)))
		for _, it := range items {
			b = append(b, it...)
		}
		return b
	}
	name := func(s string) []byte { return append(uleb(nil, uint64(len(s))), s...) }
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	section := func(id byte, payload []byte) []byte {
		return cat([]byte{id}, uleb(nil, uint64(len(payload))), payload)
	}
	fn := func(params, results []byte) []byte {
		return cat([]byte{0x60}, uleb(nil, uint64(len(params))), params, uleb(nil, uint64(len(results))), results)
	}
	i32c := func(v int32) []byte { return sleb([]byte{0x41}, int64(v)) }
	f64c := func(v float64) []byte {
		return binary.LittleEndian.AppendUint64([]byte{0x44}, math.Float64bits(v))
	}
	body := func(locals []byte, code ...[]byte) []byte {
		b := cat(locals, cat(code...), []byte{0x0b})
		return cat(uleb(nil, uint64(len(b))), b)
	}

	// types: 0 () -> i32, 1 (i64) -> i32, 2 (i32, i32) -> i32, 3 (i32, f64) -> i32
	types := vec(fn(nil, []byte{tI32}), fn([]byte{tI64}, []byte{tI32}),
		fn([]byte{tI32, tI32}, []byte{tI32}), fn([]byte{tI32, tF64}, []byte{tI32}))
	var imports []byte
	nImports := uint32(0)
	if work {
		imports = vec(cat(name(hostModule), name("read_tags"), []byte{0x00, 2}),
			cat(name(hostModule), name("write_setpoint"), []byte{0x00, 3}))
		nImports = 2
	}
	funcs := vec([]byte{0}, []byte{0}, []byte{1})
	mem := vec([]byte{0x00, 0x01}) // min 1 page, no max
	exports := vec(cat(name("memory"), []byte{0x02, 0x00}),
		cat(name("mb_abi_version"), []byte{0x00}, uleb(nil, uint64(nImports))),
		cat(name("mb_init"), []byte{0x00}, uleb(nil, uint64(nImports+1))),
		cat(name("mb_tick"), []byte{0x00}, uleb(nil, uint64(nImports+2))))
	noLocals := []byte{0x00}
	tick := body(noLocals, i32c(0))
	if work {
		// locals: 1 end (i32), 2 off (i32), 3 sum (f64); param 0 is now_ns.
		lget := func(i byte) []byte { return []byte{0x20, i} }
		lset := func(i byte) []byte { return []byte{0x21, i} }
		code := [][]byte{
			i32c(0), i32c(4096), {0x10, 0}, // call read_tags(0, 4096)
			i32c(tagValueSize), {0x6c}, lset(1), // end = n*24
			{0x02, 0x40, 0x03, 0x40},          // block, loop
			lget(2), lget(1), {0x4f, 0x0d, 1}, // off >= end: br_if 1
			lget(3), lget(2), {0x2b, 3, 0}, {0xa0}, lset(3), // sum += f64.load(off)
			lget(2), i32c(tagValueSize), {0x6a}, lset(2), // off += 24
			{0x0c, 0, 0x0b, 0x0b},             // br 0, end loop, end block
			i32c(8192), lget(3), {0x39, 3, 0}, // f64.store(8192, sum)
		}
		for k := range int32(3) {
			code = append(code, i32c(k), f64c(50+float64(k)), []byte{0x10, 1, 0x1a}) // write_setpoint; drop
		}
		code = append(code, i32c(0))
		tick = body([]byte{0x02, 0x02, tI32, 0x01, tF64}, code...)
	}
	if kind == tinyLoop {
		// local 1 (i32) counts down from 100
		tick = body([]byte{0x01, 0x01, tI32}, i32c(100), []byte{0x21, 1},
			[]byte{0x03, 0x40},                              // loop
			[]byte{0x20, 1}, i32c(1), []byte{0x6b, 0x22, 1}, // i = i-1 (local.tee)
			[]byte{0x0d, 0, 0x0b}, // br_if 0, end
			i32c(0))
	}
	codeSec := vec(body(noLocals, i32c(1)), body(noLocals, i32c(0)), tick)

	b := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	b = append(b, section(1, types)...)
	if work {
		b = append(b, section(2, imports)...)
	}
	b = append(b, section(3, funcs)...)
	b = append(b, section(5, mem)...)
	b = append(b, section(7, exports)...)
	b = append(b, section(10, codeSec)...)
	return b
}

func uleb(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func sleb(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
