package alarms

import (
	"slices"
	"strings"
	"time"
)

// EEMUA 191: more than 10 alarms raised in 10 minutes in one operator's area is a flood;
// the operator can no longer respond to each one, and the banner must say so.
const (
	FloodWindow = 10 * time.Minute
	FloodLimit  = 10 // a flood is more than this many raises in FloodWindow
)

// Flood is an area in flood.
type Flood struct {
	Area  string
	Since time.Time
	Count int // raises in the last FloodWindow
}

// KPI is the alarm rate of one area since the engine started.
type KPI struct {
	Area         string
	Last10Min    int     // raises in the last 10 minutes
	Peak10Min    int     // the most raises seen in any 10-minute window
	Total        int     // raises since start
	AvgPer10Min  float64 // EEMUA 191 target: about 1 or less
	AvgPerHour   float64 // EEMUA 191 target: about 6 or less
	Floods       int     // floods started
	FloodPercent float64 // share of the time spent in flood (target below 1%)
	InFlood      bool
}

type floodTracker struct {
	start time.Time
	now   time.Time // the latest time seen, from raises or Tick
	areas map[string]*areaRate
}

type areaRate struct {
	recent     []time.Time // raise times within FloodWindow of now
	total      int
	peak       int
	flooding   bool
	floodSince time.Time
	floods     int
	floodTime  time.Duration // finished floods
}

func newFloodTracker(start time.Time) *floodTracker {
	return &floodTracker{start: start, now: start, areas: map[string]*areaRate{}}
}

func (f *floodTracker) area(name string) *areaRate {
	r := f.areas[name]
	if r == nil {
		r = &areaRate{}
		f.areas[name] = r
	}
	return r
}

// raise counts one alarm raised in area at t.
func (f *floodTracker) raise(area string, t time.Time) {
	if t.After(f.now) {
		f.now = t
	}
	r := f.area(area)
	r.total++
	r.recent = append(r.recent, t)
	r.update(f.now)
}

// expire forgets raises older than the window and ends floods that are over.
func (f *floodTracker) expire(now time.Time) {
	if now.After(f.now) {
		f.now = now
	}
	for _, r := range f.areas {
		r.update(f.now)
	}
}

func (r *areaRate) update(now time.Time) {
	cut := now.Add(-FloodWindow)
	drop := 0
	for drop < len(r.recent) && !r.recent[drop].After(cut) {
		drop++
	}
	r.recent = slices.Delete(r.recent, 0, drop)
	n := len(r.recent)
	r.peak = max(r.peak, n)
	switch {
	case n > FloodLimit && !r.flooding:
		r.flooding, r.floodSince = true, now
		r.floods++
	case n <= FloodLimit && r.flooding:
		r.flooding = false
		r.floodTime += now.Sub(r.floodSince)
	}
}

// Floods lists the areas in flood, by area name.
func (e *Engine) Floods() []Flood {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Flood
	for name, r := range e.flood.areas {
		if r.flooding {
			out = append(out, Flood{Area: name, Since: r.floodSince, Count: len(r.recent)})
		}
	}
	slices.SortFunc(out, func(a, b Flood) int { return strings.Compare(a.Area, b.Area) })
	return out
}

// KPIs returns the alarm-rate figures of every area that raised an alarm, by area name.
// The averages run from the engine's start to the latest time it has seen.
func (e *Engine) KPIs() []KPI {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.flood
	elapsed := f.now.Sub(f.start)
	var out []KPI
	for name, r := range f.areas {
		k := KPI{Area: name, Last10Min: len(r.recent), Peak10Min: r.peak, Total: r.total,
			Floods: r.floods, InFlood: r.flooding}
		if elapsed > 0 {
			k.AvgPerHour = float64(r.total) / elapsed.Hours()
			k.AvgPer10Min = k.AvgPerHour / 6
			ft := r.floodTime
			if r.flooding {
				ft += f.now.Sub(r.floodSince)
			}
			k.FloodPercent = 100 * float64(ft) / float64(elapsed)
		}
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b KPI) int { return strings.Compare(a.Area, b.Area) })
	return out
}
