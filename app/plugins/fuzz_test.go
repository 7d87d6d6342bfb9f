package plugins

import (
	"fmt"
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
