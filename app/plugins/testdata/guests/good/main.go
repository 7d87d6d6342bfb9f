// Command good is a well-behaved test plugin. Every tick it reads all its
// tags, writes config "target" to setpoint 0 (when "target" is set: the
// manifest must then have at least one writes entry), raises alarm "high"
// (priority high) while tag 0 is above config "limit" and clears it
// otherwise, counts ticks in key-value key "ticks" (decimal text, carried
// across restarts) and logs once every 10 ticks.
package main

import (
	"math"
	"strconv"
	"time"

	"minebrain.dev/sdk/minebrain"
)

type plugin struct {
	target, limit float64
	ticks         uint64
	buf           []byte
}

func (p *plugin) Init(h *minebrain.Host) error {
	p.target = h.ConfigFloat("target", math.NaN())
	p.limit = h.ConfigFloat("limit", math.Inf(1))
	b, ok, err := h.KV().Get("ticks")
	if err != nil {
		return err
	}
	if ok {
		if p.ticks, err = strconv.ParseUint(string(b), 10, 64); err != nil {
			return err
		}
	}
	h.Logf(minebrain.LevelInfo, "good: init with %d tags, target %g, limit %g, ticks %d",
		h.TagCount(), p.target, p.limit, p.ticks)
	return nil
}

func (p *plugin) Tick(h *minebrain.Host, now time.Time) error {
	good := 0
	for i := range h.TagCount() {
		if h.Value(minebrain.TagRef(i)).Good() {
			good++
		}
	}
	if !math.IsNaN(p.target) {
		if err := h.Write(0, p.target); err != nil {
			h.Log(minebrain.LevelWarning, "good: write: "+err.Error())
		}
	}
	if v := h.Value(0); !v.Missing && v.V > p.limit {
		if err := h.RaiseAlarm("high", minebrain.PriorityHigh, "tag 0 above limit"); err != nil {
			return err
		}
	} else if err := h.ClearAlarm("high"); err != nil {
		return err
	}
	p.ticks++
	p.buf = strconv.AppendUint(p.buf[:0], p.ticks, 10)
	if err := h.KV().Set("ticks", p.buf); err != nil {
		return err
	}
	if p.ticks%10 == 0 {
		h.Logf(minebrain.LevelInfo, "good: tick %d, %d of %d tags good, tag 0 = %g",
			p.ticks, good, h.TagCount(), h.Value(0).V)
	}
	return nil
}

func init() { minebrain.Register(&plugin{}) }

func main() {}
