// Command logflood is a hostile test plugin: it logs 10,000 lines per tick
// (the host keeps 100 a second and 64 KiB a tick and drops the rest).
package main

import (
	"time"

	"minebrain.dev/sdk/minebrain"
)

type plugin struct{}

func (plugin) Init(*minebrain.Host) error { return nil }

func (plugin) Tick(h *minebrain.Host, _ time.Time) error {
	for range 10000 {
		h.Log(minebrain.LevelInfo, "logflood: one more line in a flood of ten thousand")
	}
	return nil
}

func init() { minebrain.Register(plugin{}) }

func main() {}
