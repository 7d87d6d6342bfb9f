// Command grow is a hostile test plugin: every Tick keeps another 1 MiB
// (touched, so it is really committed) until memory.grow fails at the
// manifest's memory limit and the Go runtime aborts.
package main

import (
	"time"

	"minebrain.dev/sdk/minebrain"
)

type plugin struct{}

var hoard [][]byte

func (plugin) Init(*minebrain.Host) error { return nil }

func (plugin) Tick(*minebrain.Host, time.Time) error {
	for range 8 {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		hoard = append(hoard, b)
	}
	return nil
}

func init() { minebrain.Register(plugin{}) }

func main() {}
