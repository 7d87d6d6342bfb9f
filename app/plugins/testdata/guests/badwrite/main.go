// Command badwrite is a hostile test plugin: every Tick calls write_setpoint
// with index 99, which is outside any test manifest (the host must fault it).
// The SDK passes the index through unchecked.
package main

import (
	"time"

	"minebrain.dev/sdk/minebrain"
)

type plugin struct{}

func (plugin) Init(*minebrain.Host) error { return nil }

func (plugin) Tick(h *minebrain.Host, _ time.Time) error {
	return h.Write(99, 1)
}

func init() { minebrain.Register(plugin{}) }

func main() {}
