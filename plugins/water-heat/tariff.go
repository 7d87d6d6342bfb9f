package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Tariff periods, as Power.SS1.TariffPeriod gives them.
const (
	periodNight    = 0
	periodShoulder = 1
	periodPeak     = 2
)

var periodNames = [...]string{"night", "shoulder", "peak"}

// window is a span of the day in hours, [From, To); To < From wraps past midnight.
type window struct{ From, To float64 }

func (w window) contains(h float64) bool {
	if w.From <= w.To {
		return h >= w.From && h < w.To
	}
	return h >= w.From || h < w.To
}

// tariffPlan is the day's tariff: the peak and night windows; the rest is shoulder. The
// plugin reads the current period from the substation; the plan is for looking ahead.
type tariffPlan struct{ Peak, Night []window }

// parseWindows reads "7-10,17-21" (hours, decimals allowed, "23-7" wraps midnight).
func parseWindows(s string) ([]window, error) {
	var ws []window
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		a, b, ok := strings.Cut(f, "-")
		x, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
		y, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
		if !ok || err1 != nil || err2 != nil || x < 0 || x > 24 || y < 0 || y > 24 || x == y {
			return nil, fmt.Errorf("hours %q: write FROM-TO in hours of the day, e.g. 7-10 or 23-7", f)
		}
		ws = append(ws, window{x, y})
	}
	return ws, nil
}

// at is the period of hour h (0 ≤ h < 24) by the plan.
func (p tariffPlan) at(h float64) int {
	for _, w := range p.Peak {
		if w.contains(h) {
			return periodPeak
		}
	}
	for _, w := range p.Night {
		if w.contains(h) {
			return periodNight
		}
	}
	return periodShoulder
}

// lookAhead is what comes after hour h: the period that follows the current one, the hours
// until the next peak starts and how long that peak lasts (both +Inf with no peak at all).
type lookAhead struct {
	Next           int
	ToPeak, PeakHr float64
}

const scanStep = 1.0 / 60 // one minute

func (p tariffPlan) ahead(h float64) lookAhead {
	la := lookAhead{Next: -1, ToPeak: math.Inf(1), PeakHr: math.Inf(1)}
	cur := p.at(h)
	skip := cur == periodPeak // the peak we are in is not "the next peak"
	started := false
	for i := 1; i <= 48*60; i++ {
		t := float64(i) * scanStep
		per := p.at(math.Mod(h+t, 24))
		if la.Next < 0 && per != cur {
			la.Next = per
		}
		if skip {
			skip = per == periodPeak
			if skip {
				continue
			}
		}
		if !started && per == periodPeak {
			la.ToPeak, started = t, true
		} else if started && per != periodPeak {
			la.PeakHr = t - la.ToPeak
			break
		}
	}
	if la.Next < 0 {
		la.Next = cur
	}
	return la
}
