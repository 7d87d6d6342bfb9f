package main

import (
	"fmt"
	"math"
	"time"
)

// The decision logic of choke feeding, apart from the SDK so that `go test` runs it on this
// machine. Tick (main.go) only carries values between it and the host.

// Config is the controller's tuning and limits (plugin.yaml's config; defaults in main.go).
type Config struct {
	CavitySP float64 // cavity level setpoint, %
	Kp       float64 // % feeder speed per % cavity error
	Ki       float64 // % feeder speed per (% cavity error × s)

	PowerLimit  float64 // kW: CR1's power must stay below it
	PowerMargin float64 // kW: the power override acts above PowerLimit − PowerMargin
	KPower      float64 // % feeder speed per (kW over × s)

	HydLimit  float64 // bar: CR1's hydraulic pressure limit (0 = no hydraulic override)
	HydMargin float64 // bar
	KHyd      float64 // % feeder speed per (bar over × s)

	FeedMin, FeedMax float64 // the manifest's min and max of AF1.FeederSpeedSP, %
	FeedMaxRate      float64 // the manifest's maxRate, % per second
	Deadband         float64 // a change smaller than this is not written (but for Refresh)
	Refresh          time.Duration

	CssWearMM    float64       // CSS open beyond its setpoint by more than this: worn
	CssWearDelay time.Duration // for at least this long
}

// Inputs is one tick's readings.
type Inputs struct {
	Cavity, Power, Hyd, Css, CssSP float64
	CavityOK, PowerOK, HydOK       bool // good readings
	CssOK                          bool // both CssMM and CssSP good
	FeedSP                         float64
	FeedSPOK                       bool
	// Feeding: CR1 running, AF1 running in remote mode and not held by an interlock.
	Feeding bool
}

// State is what the controller carries from tick to tick.
type State struct {
	started  bool
	Out      float64   // the last requested feeder speed, %
	ePrev    float64   // the last cavity error
	Wrote    float64   // the last written value
	WroteAt  time.Time // when
	last     time.Time // the last tick
	cssSince time.Time // CSS open beyond the threshold since (zero: not)
	CssAlarm bool
	Limiter  string // what set the output last tick
}

// Decision is what one tick does.
type Decision struct {
	Write   bool
	Value   float64
	Limiter string // "level", "power", "hydraulic", "min", "max", "rate", "hold", "bad input"

	RaiseCss, ClearCss bool
	CssMessage         string
}

// Decide is one tick of choke feeding at now.
//
// The level controller and the overrides are in velocity (incremental) form: each proposes a
// change of the last output, the lowest proposal wins (low select), and the result is clamped
// to the manifest's min and max and its rate. Because every controller starts from the output
// actually requested, none of them winds up while another one, a limit or the rate holds the
// output: the anti-windup is built in, and switching between them is bumpless.
func Decide(c Config, s *State, in Inputs, now time.Time) Decision {
	var d Decision
	d.RaiseCss, d.ClearCss, d.CssMessage = s.css(c, in, now)

	dt := 1.0
	if !s.last.IsZero() {
		dt = now.Sub(s.last).Seconds()
	}
	s.last = now
	if dt <= 0 || dt > 60 {
		dt = 1
	}
	if !s.started {
		if !in.FeedSPOK {
			d.Limiter = "bad input"
			s.Limiter = d.Limiter
			return d
		}
		s.started = true
		s.Out = clamp(in.FeedSP, c.FeedMin, c.FeedMax)
		s.Wrote, s.WroteAt = in.FeedSP, now.Add(-time.Second)
		s.ePrev = c.CavitySP - in.Cavity
	}
	if !in.Feeding || !in.CavityOK {
		// Nothing to control: hold, and follow the setpoint so that taking over again is
		// bumpless.
		d.Limiter = "hold"
		if !in.CavityOK {
			d.Limiter = "bad input"
		}
		if in.FeedSPOK {
			s.Out = clamp(in.FeedSP, c.FeedMin, c.FeedMax)
		}
		s.ePrev = c.CavitySP - in.Cavity
		s.Limiter = d.Limiter
		return d
	}

	e := c.CavitySP - in.Cavity
	u := s.Out + c.Kp*(e-s.ePrev) + c.Ki*e*dt
	s.ePrev = e
	lim := "level"
	if in.PowerOK && c.KPower > 0 {
		if p := s.Out - c.KPower*(in.Power-(c.PowerLimit-c.PowerMargin))*dt; p < u {
			u, lim = p, "power"
		}
		if in.Power >= c.PowerLimit { // at the limit: back off at full rate
			u, lim = s.Out-c.FeedMaxRate*dt, "power"
		}
	} else if !in.PowerOK {
		// Without a power reading the feed is not raised.
		u, lim = math.Min(u, s.Out), "bad input"
	}
	if c.HydLimit > 0 && in.HydOK && c.KHyd > 0 {
		if p := s.Out - c.KHyd*(in.Hyd-(c.HydLimit-c.HydMargin))*dt; p < u {
			u, lim = p, "hydraulic"
		}
		if in.Hyd >= c.HydLimit {
			u, lim = s.Out-c.FeedMaxRate*dt, "hydraulic"
		}
	}
	if step := c.FeedMaxRate * dt; u > s.Out+step {
		u, lim = s.Out+step, "rate"
	} else if u < s.Out-step {
		u, lim = s.Out-step, "rate"
	}
	if u > c.FeedMax {
		u, lim = c.FeedMax, "max"
	} else if u < c.FeedMin {
		u, lim = c.FeedMin, "min"
	}
	s.Out = u
	s.Limiter = lim
	d.Limiter = lim

	if math.Abs(u-s.Wrote) >= c.Deadband || now.Sub(s.WroteAt) >= c.Refresh {
		// The host checks the rate against the last accepted request: so does this.
		allowed := c.FeedMaxRate * now.Sub(s.WroteAt).Seconds()
		v := clamp(u, s.Wrote-allowed, s.Wrote+allowed)
		d.Write, d.Value = true, v
		s.Wrote, s.WroteAt = v, now
	}
	return d
}

// css watches CR1's closed-side setting for wear: open beyond its setpoint by more than
// CssWearMM for CssWearDelay raises "css-worn"; back within CssWearMM − 1 mm clears it.
func (s *State) css(c Config, in Inputs, now time.Time) (raise, clear bool, msg string) {
	if !in.CssOK || c.CssWearMM <= 0 {
		return false, false, ""
	}
	open := in.Css - in.CssSP
	switch {
	case open > c.CssWearMM:
		if s.cssSince.IsZero() {
			s.cssSince = now
		}
		if !s.CssAlarm && now.Sub(s.cssSince) >= c.CssWearDelay {
			s.CssAlarm = true
			return true, false, fmt.Sprintf("CR1 CSS %.1f mm is %.1f mm open from its setpoint %.1f mm: liners worn?", in.Css, open, in.CssSP)
		}
	case open < c.CssWearMM-1:
		s.cssSince = time.Time{}
		if s.CssAlarm {
			s.CssAlarm = false
			return false, true, ""
		}
	}
	return false, false, ""
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }
