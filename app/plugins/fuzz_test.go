package plugins

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
)

// FuzzLoadModule loads arbitrary bytes (and mutations of a good module) as a plugin's .wasm
// with a manifest whose sha256 matches: Load never panics; it refuses or loads.
func FuzzLoadModule(f *testing.F) {
	good := readFile(f, guest(f, "good"))
	f.Add(good)
	f.Add(good[:len(good)/3])
	f.Add(good[:8])
	f.Add([]byte{})
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x01\x05\x01\x60\x00\x01\x7f"))
	f.Add([]byte("not wasm at all"))
	h := newFakeHost(siteTags)
	r := newRuntime(f, h, nil)
	dir := f.TempDir()
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, wasm []byte) {
		id := fmt.Sprintf("f%d", n.Add(1))
		st, err := r.Load(plug(t, dir, id, wasm, hostileBody))
		if err != nil {
			if st.ID != "" {
				t.Fatalf("refused, yet a status: %+v", st)
			}
			return
		}
		if err := r.Unload(id); err != nil {
			t.Fatal(err)
		}
	})
}

// TestMalformedCallTarget: a module whose function calls a function with an out-of-range type
// index (found by loopguard's fuzzer) made wazero's validator panic; it is refused instead.
func TestMalformedCallTarget(t *testing.T) {
	wasm := []byte("\x00asm\x01\x00\x00\x00\x01\x06\x01`\x01\x7f\x01\x7f\x03\x03\x02\x000\x05\x03\x01\x000\a\x05\x01\x010\x00\x00\n:\x02+\x01\x01~\x02@\x03@ \x00E\r\x01 \x00A0x!\x00A0A0\x00C0000A0A0A0C0000\x10\x01\v\f\x00000000000A\v")
	r := newRuntime(t, newFakeHost(siteTags), nil)
	_, err := r.Load(plug(t, t.TempDir(), "malformed", wasm, hostileBody))
	if err == nil || !strings.Contains(err.Error(), "is not a valid WebAssembly module: the module is malformed") {
		t.Errorf("Load: %v; want the module refused as malformed", err)
	}
}
