package loopguard

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// buildProg builds testdata/prog, a Go program for wasip1, once per test binary.
func buildProg(t testing.TB) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "prog.wasm")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = filepath.Join("testdata", "prog")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building testdata/prog: %v\n%s", err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// runCommand runs a WASI command module and returns what it printed.
func runCommand(t *testing.T, wasm []byte) string {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	var out bytes.Buffer
	if _, err := r.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStdout(&out).WithStderr(&out)); err != nil {
		t.Fatalf("running: %v\n%s", err, out.String())
	}
	return out.String()
}

// TestSameBehaviour: a real Go program (loops, maps, floats, goroutines, bulk memory) prints
// the same instrumented as not, every loop got its check, and no DWARF section is left.
func TestSameBehaviour(t *testing.T) {
	wasm := buildProg(t)
	guarded, err := Instrument(wasm)
	if err != nil {
		t.Fatal(err)
	}
	want := runCommand(t, wasm)
	if !strings.Contains(want, "primes 669 4999") {
		t.Fatalf("the program printed %q", want)
	}
	if got := runCommand(t, guarded); got != want {
		t.Errorf("instrumented, it printed\n%s\nwant\n%s", got, want)
	}

	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	m, err := r.InstantiateWithConfig(ctx, guarded, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := m.ExportedGlobal(Export).(api.MutableGlobal); !ok || g.Type() != api.ValueTypeI32 || g.Get() != 0 {
		t.Errorf("exported %s: %v; want a mutable i32 of 0", Export, m.ExportedGlobal(Export))
	}
	orig, err := sections(wasm)
	if err != nil {
		t.Fatal(err)
	}
	loops, err := countLoops(orig[find(orig, secCode)].body)
	if err != nil {
		t.Fatal(err)
	}
	if loops < 100 {
		t.Errorf("the Go program has %d loops; expected hundreds", loops)
	}
	// Each function and loop gained the guard, the functions' size prefixes at most 2 bytes.
	got, _ := sections(guarded)
	grown := len(got[find(got, secCode)].body) - len(orig[find(orig, secCode)].body)
	fns := codeCount(orig)
	guard := len(guardCode(0, 1, true)) // a Go module has fewer than 127 globals: 1-byte indexes
	if want := guard * (loops + fns); grown < want || grown > want+2*fns+4 {
		t.Errorf("the code section grew by %d bytes for %d functions and %d loops of a %d-byte guard", grown, fns, loops, guard)
	}
	for _, s := range got {
		if s.id == secCustom && isDebug(s.body) {
			t.Error("a .debug_ section is left")
		}
	}
}

// TestInterrupt: while an endless loop runs in a real wazero call, the garbage collector
// still stops the world (the guard leaves native code for Go), and setting the interrupt
// global from another goroutine stops the loop; while it is 0 the module runs normally.
// Without a memory there is no exit to Go, but the interrupt works all the same.
// (Should the exit to Go stop working, the world cannot stop, nor this test's timers run: it
// then fails by the test binary's -timeout.)
func TestInterrupt(t *testing.T) {
	for _, withMemory := range []bool{true, false} {
		t.Run(fmt.Sprintf("memory=%v", withMemory), func(t *testing.T) {
			// (func (export "spin") (param i32) (result i32): loop while the param is
			// non-zero; the param 0 returns 7 at once.
			secs := [][]byte{
				sec(1, vec(fn([]byte{0x7f}, []byte{0x7f}))),
				sec(3, vec([]byte{0})),
			}
			if withMemory {
				secs = append(secs, sec(5, vec([]byte{0x00, 0x01})))
			}
			secs = append(secs,
				sec(7, vec(append(name("spin"), 0x00, 0x00))),
				sec(10, vec(body(nil,
					[]byte{0x03, 0x40, 0x20, 0x00, 0x0d, 0x00, 0x0b}, // loop; local.get 0; br_if 0; end
					[]byte{0x41, 0x07}, // i32.const 7
				))))
			guarded, err := Instrument(module(secs...))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			r := wazero.NewRuntime(ctx)
			defer r.Close(ctx)
			m, err := r.Instantiate(ctx, guarded)
			if err != nil {
				t.Fatal(err)
			}
			spin := m.ExportedFunction("spin")
			for range 3 * Period { // many times round the countdown
				if res, err := spin.Call(ctx, 0); err != nil || res[0] != 7 {
					t.Fatalf("spin(0) = %v, %v; want 7", res, err)
				}
			}
			g := m.ExportedGlobal(Export).(api.MutableGlobal)
			done := make(chan error, 1)
			go func() {
				_, err := spin.Call(ctx, 1)
				done <- err
			}()
			time.Sleep(20 * time.Millisecond)
			if withMemory {
				gc := make(chan struct{})
				go func() {
					runtime.GC()
					close(gc)
				}()
				select {
				case <-gc:
				case <-time.After(10 * time.Second):
					g.Set(1) // may not run: the world is stopping
					t.Fatal("the garbage collector could not stop the world while the guest looped")
				}
			}
			select {
			case err := <-done:
				t.Fatalf("spin(1) returned before the interrupt: %v", err)
			default:
			}
			g.Set(1)
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "unreachable") {
					t.Errorf("interrupted spin returned %v; want the unreachable trap", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("setting the interrupt global did not stop the loop")
			}
		})
	}
}

// TestRunawayRecursion: a recursion without loops (fib-like, exponential) is interrupted
// too: the guard is at every function's start.
func TestRunawayRecursion(t *testing.T) {
	// (func $f (param i32) (result i32)
	//   (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then local.get 0)
	//     (else (i32.add (call $f (i32.sub (local.get 0) (i32.const 1)))
	//                    (call $f (i32.sub (local.get 0) (i32.const 2)))))))
	mod := module(
		sec(1, vec(fn([]byte{0x7f}, []byte{0x7f}))),
		sec(3, vec([]byte{0})),
		sec(5, vec([]byte{0x00, 0x01})),
		sec(7, vec(append(name("fib"), 0x00, 0x00))),
		sec(10, vec(body(nil, []byte{
			0x20, 0x00, 0x41, 0x02, 0x49, 0x04, 0x7f, 0x20, 0x00,
			0x05, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x10, 0x00, 0x20, 0x00, 0x41, 0x02, 0x6b, 0x10, 0x00, 0x6a,
			0x0b}))),
	)
	guarded, err := Instrument(mod)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	m, err := r.Instantiate(ctx, guarded)
	if err != nil {
		t.Fatal(err)
	}
	fib := m.ExportedFunction("fib")
	if res, err := fib.Call(ctx, 20); err != nil || res[0] != 6765 {
		t.Fatalf("fib(20) = %v, %v; want 6765", res, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := fib.Call(ctx, 90) // years
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	m.ExportedGlobal(Export).(api.MutableGlobal).Set(1)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Errorf("interrupted fib returned %v; want the unreachable trap", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("setting the interrupt global did not stop the recursion")
	}
}

// TestModuleShapes: modules without global or export sections get them in the right
// order; the new global follows imported and own globals.
func TestModuleShapes(t *testing.T) {
	loopFn := sec(10, vec(body(nil, []byte{0x03, 0x40, 0x0b}))) // loop end
	typ := sec(1, vec(fn(nil, nil)))
	fns := sec(3, vec([]byte{0}))
	for _, c := range []struct {
		name      string
		mod       []byte
		countdown uint32
		memory    bool
	}{
		{"bare", module(typ, fns, loopFn), 0, false},
		{"imported and own globals", module(typ,
			sec(2, vec(append(append(name("env"), name("g")...), 0x03, 0x7f, 0x00))),
			fns,
			sec(6, vec([]byte{0x7e, 0x01, 0x42, 0x05, 0x0b}, []byte{0x7f, 0x00, 0x41, 0x01, 0x0b})),
			sec(7, vec(append(name("f"), 0x00, 0x00))),
			loopFn), 3, false},
		{"data and custom sections", module(typ, fns,
			sec(0, append(name("note"), 1, 2, 3)),
			sec(5, vec([]byte{0x00, 0x01})),
			loopFn,
			sec(11, vec([]byte{0x00, 0x41, 0x00, 0x0b, 0x01, 0xaa})),
			sec(0, append(name(".debug_info"), 9, 9))), 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := Instrument(c.mod)
			if err != nil {
				t.Fatal(err)
			}
			secs, err := sections(out)
			if err != nil {
				t.Fatal(err)
			}
			last := byte(0)
			for _, s := range secs {
				if s.id == secCustom {
					continue
				}
				if order(s.id) < order(last) {
					t.Errorf("section %d after %d", s.id, last)
				}
				last = s.id
			}
			guard := guardCode(c.countdown, c.countdown+1, c.memory)
			// (func: locals 0, guard, loop, guard, end, end)
			want := append(append(append([]byte{0x00}, guard...), 0x03, 0x40), guard...)
			want = append(want, 0x0b, 0x0b)
			if code := secs[find(secs, secCode)].body; !bytes.HasSuffix(code, want) {
				t.Errorf("code % x\nwant    % x", code, want)
			}
			ctx := context.Background()
			cfg := wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2)
			r := wazero.NewRuntimeWithConfig(ctx, cfg)
			defer r.Close(ctx)
			if c.countdown == 3 {
				return // imports env.g, which this runtime does not have: compiled only
			}
			if _, err := r.CompileModule(ctx, out); err != nil {
				t.Errorf("wazero refuses the instrumented module: %v", err)
			}
		})
	}
}

// TestRefusals: what Instrument cannot parse or must not accept, each with its reason.
func TestRefusals(t *testing.T) {
	typ := sec(1, vec(fn(nil, nil)))
	fns := sec(3, vec([]byte{0}))
	for _, c := range []struct {
		name, want string
		mod        []byte
	}{
		{"empty", "no \\0asm header", nil},
		{"text", "no \\0asm header", []byte("(module)")},
		{"version 2", "version 2", []byte{0, 'a', 's', 'm', 2, 0, 0, 0}},
		{"truncated section", "section 1: unexpected end", module(typ)[:12]},
		{"reserved export", "reserved for the host", module(typ, fns,
			sec(7, vec(append(name(Export), 0x00, 0x00))),
			sec(10, vec(body(nil))))},
		{"exception handling", "instruction 0x06 at offset", module(typ, fns, sec(10, vec(body(nil, []byte{0x06, 0x40, 0x0b}))))},
		{"unknown prefixed", "instruction 0xfc 99", module(typ, fns, sec(10, vec(body(nil, []byte{0xfc, 99}))))},
		{"function past its end", "function 0", module(typ, fns, sec(10, []byte{1, 5, 0x00}))},
		{"overlong leb", "longer than 5 bytes", module(typ, fns, sec(10, vec(body(nil, []byte{0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}))))},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Instrument(c.mod)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Instrument: %v; want an error containing %q", err, c.want)
			}
		})
	}
}

// FuzzInstrument: no input panics, and whatever wazero compiles, it compiles instrumented.
// (The Go program of TestSameBehaviour is too big a seed: each mutation would compile 2 MB.)
func FuzzInstrument(f *testing.F) {
	f.Add(loopsAndBranches)
	f.Add(module(sec(1, vec(fn(nil, nil))), sec(3, vec([]byte{0})), sec(10, vec(body(nil, []byte{0x03, 0x40, 0x0b})))))
	f.Add([]byte{0, 'a', 's', 'm', 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out, err := Instrument(wasm)
		if err != nil {
			return
		}
		if compiles(wasm) != nil {
			return // invalid to begin with (or wazero's validator panics on it: app/plugins' compile)
		}
		if err := compiles(out); err != nil {
			t.Fatalf("valid module refused after instrumenting: %v", err)
		}
	})
}

// loopsAndBranches is a small valid module with nested loops, blocks, br_table, calls,
// memory and constants: a seed for the fuzzer.
var loopsAndBranches = module(
	sec(1, vec(fn([]byte{0x7f}, []byte{0x7f}))),
	sec(3, vec([]byte{0}, []byte{0})),
	sec(5, vec([]byte{0x00, 0x01})),
	sec(7, vec(append(name("f"), 0x00, 0x00))),
	sec(10, vec(
		body([]byte{1, 1, 0x7e}, // one i64 local
			[]byte{0x02, 0x40, 0x03, 0x40, // block, loop
				0x20, 0x00, 0x45, 0x0d, 0x01, // local.get 0; i32.eqz; br_if 1
				0x20, 0x00, 0x41, 0x01, 0x6b, 0x21, 0x00, // local.get 0; i32.const 1; i32.sub; local.set 0
				0x41, 0x00, 0x28, 0x02, 0x00, 0x1a, // i32.load; drop
				0x42, 0xff, 0x00, 0x21, 0x01, // i64.const 127; local.set 1
				0x20, 0x00, 0x0e, 0x01, 0x00, 0x00, // br_table 0 0
				0x0b, 0x0b}, // end loop, end block
			[]byte{0x20, 0x00, 0x10, 0x01}), // local.get 0; call 1
		body(nil, []byte{0x20, 0x00, 0x04, 0x7f, 0x41, 0x01, 0x05, 0x41, 0x02, 0x0b}), // if (result i32) 1 else 2
	)),
)

// compiles: whether wazero compiles wasm; a panic of its validator is an error.
func compiles(wasm []byte) (err error) {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	_, err = r.CompileModule(ctx, wasm)
	return err
}

// --- helpers -------------------------------------------------------------------------------

func sections(wasm []byte) ([]section, error) {
	var secs []section
	r := reader{b: wasm, off: len(header)}
	for !r.done() {
		id := r.byte()
		b := r.bytes(int(r.u32()))
		secs = append(secs, section{id, b})
	}
	if r.err != nil {
		return nil, r.err
	}
	return secs, nil
}

// countLoops counts the loop instructions of a code section, by instrumenting it with an
// empty check.
func countLoops(code []byte) (int, error) {
	r := reader{b: code}
	n := 0
	for fns := r.u32(); fns > 0 && r.err == nil; fns-- {
		fn := r.bytes(int(r.u32()))
		marked, err := instrumentFunc(nil, fn, []byte{0xff})
		if err != nil {
			return 0, err
		}
		n += len(marked) - len(fn) - 1 // one at the start of the function
	}
	return n, r.err
}

func codeCount(secs []section) int {
	r := reader{b: secs[find(secs, secCode)].body}
	return int(r.u32())
}

// order is a section id's place in a module.
func order(id byte) int {
	return map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}[id]
}

func module(secs ...[]byte) []byte {
	return append(append([]byte(nil), header...), bytes.Join(secs, nil)...)
}

func sec(id byte, payload []byte) []byte {
	return append(appendU32([]byte{id}, uint32(len(payload))), payload...)
}

func vec(items ...[]byte) []byte {
	return append(appendU32(nil, uint32(len(items))), bytes.Join(items, nil)...)
}

func name(s string) []byte { return appendName(nil, s) }

func fn(params, results []byte) []byte {
	b := appendU32([]byte{0x60}, uint32(len(params)))
	b = append(b, params...)
	b = appendU32(b, uint32(len(results)))
	return append(b, results...)
}

// body is a function body: locals (already encoded as a vector, nil for none) and code,
// with its size prefix and the final end.
func body(locals []byte, code ...[]byte) []byte {
	if locals == nil {
		locals = []byte{0}
	}
	b := append(append(append([]byte(nil), locals...), bytes.Join(code, nil)...), 0x0b)
	return append(appendU32(nil, uint32(len(b))), b...)
}

// BenchmarkInstrument: instrumenting a Go program (≈ 2 MB), the part of a plugin's load
// that the compilation cache does not save.
func BenchmarkInstrument(b *testing.B) {
	wasm := buildProg(b)
	b.SetBytes(int64(len(wasm)))
	b.ResetTimer()
	for range b.N {
		if _, err := Instrument(wasm); err != nil {
			b.Fatal(err)
		}
	}
}
