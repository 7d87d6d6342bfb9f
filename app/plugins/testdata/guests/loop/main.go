// Command loop is a hostile test plugin: Tick never returns (the host must
// interrupt it at the manifest's budget).
package main

import (
	"time"

	"minebrain.dev/sdk/minebrain"
)

type plugin struct{}

// spins is global so the compiler cannot drop the loop.
var spins uint64

func (plugin) Init(*minebrain.Host) error { return nil }

func (plugin) Tick(*minebrain.Host, time.Time) error {
	for {
		spins++
	}
}

func init() { minebrain.Register(plugin{}) }

func main() {}
