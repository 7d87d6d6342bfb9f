// Command trap is a hostile test plugin whose Tick fails hard, chosen by
// config "mode":
//
//   - "panic" (the default): a Go panic. The Go runtime prints it (and the
//     goroutine's stack) to stderr, then executes unreachable: a trap.
//   - "unreachable": executes the wasm instruction unreachable (a real trap).
//   - "memory": loads from an address beyond linear memory (a real trap:
//     out-of-bounds memory access).
package main

import (
	"time"
	"unsafe"

	"minebrain.dev/sdk/minebrain"
)

// unreachable executes the wasm unreachable instruction (trap_wasm.s).
func unreachable()

type plugin struct{ mode string }

func (p *plugin) Init(h *minebrain.Host) error {
	p.mode, _ = h.Config("mode")
	return nil
}

// sink keeps the out-of-bounds load from being optimised away.
var sink byte

func (p *plugin) Tick(*minebrain.Host, time.Time) error {
	switch p.mode {
	case "unreachable":
		unreachable()
	case "memory":
		// 2 GiB past a global: beyond any memory a manifest allows (1 GiB).
		sink = *(*byte)(unsafe.Add(unsafe.Pointer(&sink), 2<<30))
	}
	panic("trap: deliberate panic in Tick")
}

func init() { minebrain.Register(&plugin{}) }

func main() {}
