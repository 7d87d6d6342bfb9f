// Command unknownimport is a hostile test plugin: it imports
// minebrain.no_such_function, which the host does not provide (the host must
// refuse it at load).
package main

import (
	"time"

	"minebrain.dev/sdk/minebrain"
)

//go:wasmimport minebrain no_such_function
func noSuchFunction() int32

type plugin struct{}

func (plugin) Init(*minebrain.Host) error { return nil }

func (plugin) Tick(*minebrain.Host, time.Time) error {
	noSuchFunction() // called so the linker keeps the import
	return nil
}

func init() { minebrain.Register(plugin{}) }

func main() {}
