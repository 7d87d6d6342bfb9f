// Package minebrain is the Go SDK for Minebrain plugins: WebAssembly modules
// that Minebrain loads in a sandbox and calls on every tick. It implements
// the binary ABI of sdk/ABI.md (version 1) — the host imports of module
// "minebrain" and the exports mb_abi_version, mb_init and mb_tick — so that a
// plugin is ordinary Go: a type with Init and Tick methods, registered from
// the main package's init function.
//
// Build a plugin as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// A complete plugin that reads one tag and logs it (its plugin.yaml grants
// reading Crushing.CR1.PowerKW and sets config "limit"):
//
//	package main
//
//	import (
//		"time"
//
//		"minebrain.dev/sdk/minebrain"
//	)
//
//	type plugin struct {
//		power minebrain.TagRef
//		limit float64
//	}
//
//	func (p *plugin) Init(h *minebrain.Host) error {
//		var err error
//		if p.power, err = h.Tag("Crushing.CR1.PowerKW"); err != nil {
//			return err
//		}
//		p.limit = h.ConfigFloat("limit", 250)
//		return nil
//	}
//
//	func (p *plugin) Tick(h *minebrain.Host, now time.Time) error {
//		v := h.Value(p.power)
//		if !v.Good() {
//			return nil // no usable value this tick
//		}
//		if v.V > p.limit {
//			h.Logf(minebrain.LevelWarning, "power %.1f kW above %.1f", v.V, p.limit)
//		}
//		return nil
//	}
//
//	func init() { minebrain.Register(&plugin{}) }
//
//	func main() {} // required by the go command; never called in a reactor
//
// # How the SDK maps to the ABI
//
// Init and Tick run inside mb_init and mb_tick. An error from either is
// logged at LevelError and returned to the host as code 1 (CodeFailed),
// which faults the plugin. A panic is not recovered: the Go runtime prints
// it to stderr (which the host logs) and traps, which faults the plugin too.
//
// Host.Value reads every readable tag with one read_tags call per tick, into
// a buffer reused from tick to tick, the first time it is called in that
// tick; Write, WriteResult, RaiseAlarm, ClearAlarm and Log are one host call
// each and do not allocate. Errors are the ABI's E_ codes as Error values
// (ErrNotGranted, ErrLimit, ErrRate, …). Config values are cached until the
// next reload. The SDK has no dependencies and uses no JSON.
package minebrain
