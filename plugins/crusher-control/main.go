// Command crusher-control is a Minebrain plugin for choke feeding the primary gyratory
// crusher CR1: a PI loop on apron feeder AF1's speed setpoint holds CR1's cavity level at its
// setpoint, low-select overrides back the feed off as CR1's power and hydraulic pressure
// approach their limits, and alarm "css-worn" is raised when CR1's closed-side setting has
// drifted open from its setpoint. The decision is Decide (control.go), tested by `go test`.
//
// Build with `minebrain plugin build .` (see README.md).
package main

import (
	"errors"
	"fmt"
	"time"

	"minebrain.dev/sdk/minebrain"
)

// The tags it reads; plugin.yaml grants them.
const (
	tagCavity   = "Crushing.CR1.CavityLevelPct"
	tagPower    = "Crushing.CR1.PowerKW"
	tagHyd      = "Crushing.CR1.HydraulicPressureBar"
	tagCss      = "Crushing.CR1.CssMM"
	tagCssSP    = "Crushing.CR1.CssSP"
	tagCR1Run   = "Crushing.CR1.RunState"
	tagAF1Run   = "Crushing.AF1.RunState"
	tagAF1Mode  = "Crushing.AF1.Mode"
	tagAF1Intlk = "Crushing.AF1.Interlock"
	tagFeedSP   = "Crushing.AF1.FeederSpeedSP"
)

type plugin struct {
	cfg                                    Config
	cavity, power, hyd, css, cssSP, feedSP minebrain.TagRef
	cr1Run, af1Run, af1Mode, af1Intlk      minebrain.TagRef
	feed                                   minebrain.SetpointRef
	st                                     State
	limiter                                string
}

func (p *plugin) Init(h *minebrain.Host) error {
	var errs []error
	tag := func(name string) minebrain.TagRef {
		r, err := h.Tag(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("tag %s: %w", name, err))
		}
		return r
	}
	p.cavity, p.power, p.hyd = tag(tagCavity), tag(tagPower), tag(tagHyd)
	p.css, p.cssSP, p.feedSP = tag(tagCss), tag(tagCssSP), tag(tagFeedSP)
	p.cr1Run, p.af1Run, p.af1Mode, p.af1Intlk = tag(tagCR1Run), tag(tagAF1Run), tag(tagAF1Mode), tag(tagAF1Intlk)
	var err error
	if p.feed, err = h.Setpoint(tagFeedSP); err != nil {
		errs = append(errs, fmt.Errorf("setpoint %s: %w", tagFeedSP, err))
	}
	dur := func(key string, def time.Duration) time.Duration {
		s, ok := h.Config(key)
		if !ok || s == "" {
			return def
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("config %s: %v", key, err))
		}
		return d
	}
	f := h.ConfigFloat
	p.cfg = Config{
		CavitySP: f("cavitySP", 70), Kp: f("kp", 3), Ki: f("ki", 0.05),
		PowerLimit: f("powerLimit", 1000), PowerMargin: f("powerMargin", 40), KPower: f("kPower", 0.02),
		HydLimit: f("hydLimit", 0), HydMargin: f("hydMargin", 3), KHyd: f("kHyd", 0.2),
		FeedMin: f("feedMin", 30), FeedMax: f("feedMax", 90), FeedMaxRate: f("feedMaxRate", 30) / 60,
		Deadband: f("deadband", 0.05), Refresh: dur("refresh", 10*time.Second),
		CssWearMM: f("cssWearMM", 5), CssWearDelay: dur("cssWearDelay", time.Minute),
	}
	if p.cfg.FeedMax <= p.cfg.FeedMin || p.cfg.FeedMaxRate <= 0 || p.cfg.PowerLimit <= 0 {
		errs = append(errs, errors.New("config: feedMin < feedMax, feedMaxRate > 0 and powerLimit > 0 are needed"))
	}
	// Stay a little inside the manifest's maxRate: the host refuses a request above it.
	p.cfg.FeedMaxRate *= 0.98
	if err := errors.Join(errs...); err != nil {
		return err
	}
	h.Logf(minebrain.LevelInfo, "crusher-control: cavity SP %.1f %%, kp %g, ki %g, power limit %.0f kW, hydraulic limit %.0f bar",
		p.cfg.CavitySP, p.cfg.Kp, p.cfg.Ki, p.cfg.PowerLimit, p.cfg.HydLimit)
	return nil
}

func (p *plugin) Tick(h *minebrain.Host, now time.Time) error {
	v := func(r minebrain.TagRef) (float64, bool) {
		x := h.Value(r)
		return x.V, x.Good()
	}
	var in Inputs
	in.Cavity, in.CavityOK = v(p.cavity)
	in.Power, in.PowerOK = v(p.power)
	in.Hyd, in.HydOK = v(p.hyd)
	var ok1, ok2 bool
	in.Css, ok1 = v(p.css)
	in.CssSP, ok2 = v(p.cssSP)
	in.CssOK = ok1 && ok2
	in.FeedSP, in.FeedSPOK = v(p.feedSP)
	cr1, ok1 := v(p.cr1Run)
	af1, ok2 := v(p.af1Run)
	mode, ok3 := v(p.af1Mode)
	intlk, ok4 := v(p.af1Intlk)
	in.Feeding = ok1 && ok2 && ok3 && ok4 && cr1 == 1 && af1 == 1 && mode == 1 && intlk == 0

	d := Decide(p.cfg, &p.st, in, now)
	if d.Write {
		if err := h.Write(p.feed, d.Value); err != nil {
			h.Logf(minebrain.LevelWarning, "crusher-control: write %s = %.2f: %v", tagFeedSP, d.Value, err)
		}
	}
	if k := kind(d.Limiter); k != p.limiter {
		h.Logf(minebrain.LevelInfo, "crusher-control: feed now set by %s (cavity %.1f %%, power %.0f kW, feed %.1f %%)",
			d.Limiter, in.Cavity, in.Power, p.st.Out)
		p.limiter = k
	}
	if d.RaiseCss {
		if err := h.RaiseAlarm("css-worn", minebrain.PriorityMedium, d.CssMessage); err != nil {
			return err
		}
	}
	if d.ClearCss {
		if err := h.ClearAlarm("css-worn"); err != nil {
			return err
		}
	}
	return nil
}

// kind groups the limiters for the log: the level loop within its limits is one.
func kind(limiter string) string {
	switch limiter {
	case "level", "rate", "min", "max":
		return "level"
	}
	return limiter
}

func init() { minebrain.Register(&plugin{}) }

// main is required by the go command; Minebrain never calls it (a plugin is a reactor).
func main() {}
