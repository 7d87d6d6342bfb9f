package main

import (
	"fmt"
	"math"
)

// This file is the dewatering schedule: pure functions, no host calls (dewater_test.go).
//
// Pumping a cubic metre costs about the same energy whenever it is done, so the schedule
// moves the pumping in time: pump the sumps down at night (cheapest), in the shoulder
// periods pump only as far as needed to ride out the next peak without pumping, and in a
// peak pump only to keep a sump from flooding. Every sump is kept between a floor above its
// pumps' low cut-out and a ceiling below its flood level; near the ceiling the pumps run
// whatever the tariff costs.

// sumpConfig is one sump's limits (m above the sump floor).
type sumpConfig struct {
	Name      string
	LowM      float64 // the pumps' low cut-out: the sump must never get here
	HighM     float64 // the flood level (the sim's override starts every pump): never reach
	MarginLow float64 // plan to stop pumping this far above LowM
	MarginHi  float64 // run every pump this far below HighM, whatever the tariff
	Band      float64 // hysteresis of start/stop levels, m
	AreaM2    float64 // the sump's surface, used when volume/level gives nothing better
}

// floor is the lowest level the schedule pumps to; ceiling the level at which every
// available pump runs whatever the tariff.
func (c sumpConfig) floor() float64   { return c.LowM + c.MarginLow }
func (c sumpConfig) ceiling() float64 { return c.HighM - c.MarginHi }

// sumpInput is one tick's view of a sump.
type sumpInput struct {
	LevelM    float64
	Good      bool
	InflowM3H float64 // what flows in from outside the plugin's control (groundwater, rain, seepage)
	AreaM2    float64 // volume / level when known, else 0
	Available int     // pumps in service, remote, not faulted: how many the schedule can use
	Pumping   bool    // the schedule's state: pumping down (for the hysteresis)
	// Downstream is true when the sump this one pumps into cannot take more now (near its
	// own ceiling): then pumping waits unless this sump is at its ceiling.
	DownstreamFull bool
}

// sumpDecision is how many pumps should run on a sump, and why.
type sumpDecision struct {
	Pumps   int
	Pumping bool    // the new hysteresis state
	Target  float64 // the level being pumped towards, m
	Reason  string
}

// decideSump schedules one sump for the tariff period now and the look-ahead.
func decideSump(c sumpConfig, in sumpInput, period int, la lookAhead) sumpDecision {
	if !in.Good || math.IsNaN(in.LevelM) {
		// No level: leave the pumps to their own low cut-out and flood protection, and
		// run them (a blind sump must not flood).
		return sumpDecision{Pumps: in.Available, Pumping: true, Target: math.NaN(), Reason: "no good level: all pumps"}
	}
	area := in.AreaM2
	if !(area > 1) {
		area = c.AreaM2
	}
	rise := math.Max(0, in.InflowM3H) / area // m/h with no pumping
	lvl := in.LevelM
	d := sumpDecision{Target: c.floor()}

	// The level to be at when the next peak starts, so that it can ride out the peak
	// without pumping: the ceiling less the peak's rise, with 25% to spare.
	ridePeak := c.ceiling() - c.Band - 1.25*rise*la.PeakHr
	var stopAt float64
	switch period {
	case periodNight:
		stopAt = c.floor()
		d.Reason = "night: pump down"
	case periodShoulder:
		stopAt = ridePeak
		d.Reason = fmt.Sprintf("shoulder: room for the next peak (%.1f h)", la.PeakHr)
		if la.Next == periodNight {
			// Night comes before the next peak: only keep clear of the ceiling for
			// a couple of hours' climb; the night pumps the rest.
			stopAt = c.ceiling() - c.Band - 1.25*rise*2
			d.Reason = "shoulder, night next: hold below the ceiling"
		}
	default:
		stopAt = c.ceiling() - 2*c.Band
		d.Reason = "peak: only to stay below the ceiling"
	}
	stopAt = clamp(stopAt, c.floor(), c.ceiling()-c.Band)
	d.Target = stopAt
	startAt := stopAt + c.Band

	switch {
	case lvl >= c.ceiling():
		d.Pumping, d.Pumps = true, in.Available
		d.Reason = "at the ceiling: every pump"
		return d
	case lvl <= c.floor():
		d.Pumping = false
	case lvl >= startAt:
		d.Pumping = true
	case lvl <= stopAt:
		d.Pumping = false
	default:
		d.Pumping = in.Pumping
	}
	if !d.Pumping {
		d.Reason += ": stopped"
		return d
	}
	if in.DownstreamFull {
		d.Reason += ": waits, the sump downstream is full"
		d.Pumping = false
		return d
	}
	d.Pumps = in.Available
	if period == periodPeak {
		d.Pumps = min(1, in.Available) // the fewest that hold it
	}
	return d
}

// pumpInput is one tick's view of a dewatering pump.
type pumpInput struct {
	Name      string
	InService bool // RunCmd
	Remote    bool // Mode = 1
	Faulted   bool // RunState = 2
	Duty      bool // PumpOnCmd now
}

func (p pumpInput) usable() bool { return p.InService && p.Remote && !p.Faulted }

// available counts the pumps the schedule can use.
func available(ps []pumpInput) int {
	n := 0
	for _, p := range ps {
		if p.usable() {
			n++
		}
	}
	return n
}

// assignDuty picks which n pumps should have duty: usable pumps that have it already first
// (fewer starts), then in order. The result is per pump.
func assignDuty(ps []pumpInput, n int) []bool {
	out := make([]bool, len(ps))
	for pass := 0; pass < 2 && n > 0; pass++ {
		for i, p := range ps {
			if n == 0 {
				break
			}
			if out[i] || !p.usable() || (pass == 0 && !p.Duty) {
				continue
			}
			out[i] = true
			n--
		}
	}
	return out
}
