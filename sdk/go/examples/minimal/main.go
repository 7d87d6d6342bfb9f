// Command minimal is the smallest useful Minebrain plugin: it reads one tag
// and logs its value every tick.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o minimal.wasm .
package main

import (
	"time"

	"minebrain.dev/sdk/minebrain"
)

// plugin logs the value of the tag named by config "tag".
type plugin struct {
	tag minebrain.TagRef
}

// Init looks the tag up once; an error here refuses to start the plugin.
func (p *plugin) Init(h *minebrain.Host) error {
	name, ok := h.Config("tag")
	if !ok {
		name = "Crushing.CR1.PowerKW"
	}
	ref, err := h.Tag(name)
	if err != nil {
		return err
	}
	p.tag = ref
	h.Log(minebrain.LevelInfo, "minimal: watching "+name)
	return nil
}

// Tick logs the tag's value from this tick's snapshot.
func (p *plugin) Tick(h *minebrain.Host, now time.Time) error {
	v := h.Value(p.tag)
	if !v.Good() {
		h.Log(minebrain.LevelWarning, "minimal: no good value")
		return nil
	}
	h.Logf(minebrain.LevelInfo, "minimal: %g at %s", v.V, v.Time.Format(time.RFC3339))
	return nil
}

func init() { minebrain.Register(&plugin{}) }

// main is required by the go command; a reactor never calls it.
func main() {}
