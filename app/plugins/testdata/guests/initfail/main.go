// Command initfail is a test plugin whose Init fails: the SDK logs the error
// at level error and mb_init returns 1 (the host must fault it without
// calling mb_tick).
package main

import (
	"errors"
	"time"

	"minebrain.dev/sdk/minebrain"
)

type plugin struct{}

func (plugin) Init(*minebrain.Host) error { return errors.New("initfail: refusing to start") }

func (plugin) Tick(*minebrain.Host, time.Time) error { return nil }

func init() { minebrain.Register(plugin{}) }

func main() {}
