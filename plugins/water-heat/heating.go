package main

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// This file is the heating logic: pure functions, no host calls (tested by heating_test.go).

// curvePoint is one point of the heating curve: at outdoor temperature Outdoor (°C) the
// heaters' outlet setpoint is Outlet (°C).
type curvePoint struct{ Outdoor, Outlet float64 }

// curve is a heating curve: points sorted by outdoor temperature, linear between them and
// flat beyond the first and last.
type curve []curvePoint

// parseCurve reads a curve written as "OUTDOOR:OUTLET" pairs separated by commas, e.g.
// "-30:8, -20:6, -10:4, 0:2". At least one point; outdoor temperatures distinct.
func parseCurve(s string) (curve, error) {
	var c curve
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		a, b, ok := strings.Cut(f, ":")
		if !ok {
			return nil, fmt.Errorf("curve point %q: write OUTDOOR:OUTLET, e.g. -20:6", f)
		}
		x, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
		y, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
		if err1 != nil || err2 != nil || math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
			return nil, fmt.Errorf("curve point %q: two numbers OUTDOOR:OUTLET, e.g. -20:6", f)
		}
		c = append(c, curvePoint{x, y})
	}
	if len(c) == 0 {
		return nil, fmt.Errorf("curve %q has no points; write OUTDOOR:OUTLET pairs, e.g. -30:8, -20:6, 0:2", s)
	}
	sort.Slice(c, func(i, j int) bool { return c[i].Outdoor < c[j].Outdoor })
	for i := 1; i < len(c); i++ {
		if c[i].Outdoor == c[i-1].Outdoor {
			return nil, fmt.Errorf("curve: outdoor temperature %g given twice", c[i].Outdoor)
		}
	}
	return c, nil
}

// at is the curve's outlet setpoint for outdoor temperature t.
func (c curve) at(t float64) float64 {
	if t <= c[0].Outdoor {
		return c[0].Outlet
	}
	last := c[len(c)-1]
	if t >= last.Outdoor {
		return last.Outlet
	}
	i := sort.Search(len(c), func(i int) bool { return c[i].Outdoor >= t })
	a, b := c[i-1], c[i]
	return a.Outlet + (b.Outlet-a.Outlet)*(t-a.Outdoor)/(b.Outdoor-a.Outdoor)
}

// rampTo moves a setpoint from cur towards target by at most maxStep (≥ 0); the result is
// rounded to 0.01 °C so that small noise in the outdoor temperature does not make a new
// value every tick.
func rampTo(cur, target, maxStep float64) float64 {
	d := target - cur
	if math.Abs(d) > maxStep {
		d = math.Copysign(maxStep, d)
	}
	return math.Round((cur+d)*100) / 100
}

// heaterInput is one tick's view of an air heater.
type heaterInput struct {
	Name      string
	SP        float64 // its OutletTempSP now
	SPGood    bool
	Remote    bool // Mode = 1 (a write in local mode would be refused)
	CO        float64
	COGood    bool
	LastWrite float64 // the last setpoint this plugin asked for; NaN if none yet
	SinceS    float64 // seconds since that request (or since the plugin started)
	Ramping   bool    // that request was a step of a ramp, short of its target
}

// heatConfig is the heating part of the configuration.
type heatConfig struct {
	Curve    curve
	RateKMin float64 // the most the setpoint moves, K per minute
	Deadband float64 // write only when the setpoint would move by at least this, K
	MinSP    float64 // never ask for less or more than these (the manifest's min and max)
	MaxSP    float64
	COLimit  float64 // ppm: alarm co-high above this
	COHyst   float64 // ppm: the alarm clears below COLimit - COHyst
}

// heatDecision is what the heating logic decided for one tick.
type heatDecision struct {
	Target  float64   // the curve's setpoint for this outdoor temperature (NaN: no good outdoor temperature)
	Writes  []float64 // per heater: the setpoint to write, or NaN for no write
	COHigh  bool      // the co-high alarm should be active
	COMsg   string    // why (the worst heater), when COHigh
	COWorst string    // the worst heater, when COHigh
}

// decideHeat runs the heating curve and the CO check for one tick. outdoor is WS1's outdoor
// temperature (outdoorGood false when it is bad, stale or missing: then the setpoints are
// left where they are). coActive is whether co-high is active now (for the hysteresis).
func decideHeat(cfg heatConfig, outdoor float64, outdoorGood bool, hs []heaterInput, coActive bool) heatDecision {
	d := heatDecision{Target: math.NaN(), Writes: make([]float64, len(hs))}
	if outdoorGood {
		d.Target = clamp(cfg.Curve.at(outdoor), cfg.MinSP, cfg.MaxSP)
	}
	worst, worstCO := "", math.Inf(-1)
	for i, h := range hs {
		d.Writes[i] = math.NaN()
		if h.COGood && h.CO > worstCO {
			worst, worstCO = h.Name, h.CO
		}
		if math.IsNaN(d.Target) || !h.Remote {
			continue
		}
		base := h.LastWrite
		if math.IsNaN(base) {
			if !h.SPGood {
				continue
			}
			base = h.SP
		}
		if !h.Ramping && math.Abs(d.Target-base) < cfg.Deadband {
			continue // close enough to what was asked: no write for noise
		}
		step := cfg.RateKMin * math.Max(0, h.SinceS) / 60
		next := clamp(rampTo(base, d.Target, step), cfg.MinSP, cfg.MaxSP)
		if next == base || (h.SPGood && math.Abs(h.SP-next) < 0.005) {
			continue // no time for a step yet, or already there
		}
		d.Writes[i] = next
	}
	limit := cfg.COLimit
	if coActive {
		limit -= cfg.COHyst
	}
	if worstCO > limit {
		d.COHigh, d.COWorst = true, worst
		d.COMsg = fmt.Sprintf("%s CO %.1f ppm above the %.0f ppm limit", worst, worstCO, cfg.COLimit)
	}
	return d
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }
