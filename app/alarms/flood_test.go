package alarms

import (
	"fmt"
	"math"
	"testing"
	"time"
)

func floodRig(t *testing.T) *rig {
	var defs []Definition
	for i := range 12 {
		defs = append(defs, Definition{ID: fmt.Sprintf("pit%d", i), Tag: fmt.Sprintf("pit.t%d", i),
			Area: "pit", Kind: HI, Limit: 1})
	}
	defs = append(defs, Definition{ID: "plant0", Tag: "plant.t0", Area: "plant", Kind: HI, Limit: 1})
	return newRig(t, defs...)
}

func TestFloodDetection(t *testing.T) {
	r := floodRig(t)
	start := r.clk.Now()
	for i := range 10 {
		r.after(30 * time.Second)
		r.feed(fmt.Sprintf("pit.t%d", i), 5)
	}
	r.feed("plant.t0", 5)
	if f := r.e.Floods(); len(f) != 0 {
		t.Fatalf("10 alarms in 10 minutes is no flood (EEMUA: more than 10): %+v", f)
	}
	r.after(30 * time.Second)
	floodAt := r.clk.Now()
	r.feed("pit.t10", 5)
	f := r.e.Floods()
	if len(f) != 1 || f[0].Area != "pit" || f[0].Count != 11 || !f[0].Since.Equal(floodAt) {
		t.Fatalf("floods %+v", f)
	}
	r.after(4 * time.Minute)
	if len(r.e.Floods()) != 1 {
		t.Fatal("flood ended early")
	}
	r.after(6 * time.Minute) // the first raises have left the window
	if f := r.e.Floods(); len(f) != 0 {
		t.Fatalf("flood did not end: %+v", f)
	}

	k := r.e.KPIs()
	if len(k) != 2 || k[0].Area != "pit" || k[1].Area != "plant" {
		t.Fatalf("KPIs %+v", k)
	}
	pit := k[0]
	elapsed := r.clk.Now().Sub(start)
	if pit.Total != 11 || pit.Peak10Min != 11 || pit.Floods != 1 || pit.InFlood || pit.Last10Min != 0 {
		t.Fatalf("pit KPI %+v", pit)
	}
	if want := 11 / elapsed.Hours(); math.Abs(pit.AvgPerHour-want) > 1e-9 ||
		math.Abs(pit.AvgPer10Min-want/6) > 1e-9 {
		t.Fatalf("pit rate %g/h %g/10min, want %g/h", pit.AvgPerHour, pit.AvgPer10Min, want)
	}
	if want := 100 * float64(10*time.Minute) / float64(elapsed); math.Abs(pit.FloodPercent-want) > 1e-9 {
		t.Fatalf("flood %g%%, want %g%%", pit.FloodPercent, want)
	}
	if k[1].Total != 1 || k[1].Floods != 0 {
		t.Fatalf("plant KPI %+v", k[1])
	}
}

// A chattering alarm floods its area on its own: every annunciation counts.
func TestFloodFromChatter(t *testing.T) {
	r := floodRig(t)
	for range 11 {
		r.after(10 * time.Second)
		r.feed("pit.t0", 5)
		r.feed("pit.t0", 0)
	}
	if f := r.e.Floods(); len(f) != 1 || f[0].Count != 11 {
		t.Fatalf("floods %+v", f)
	}
}

// Shelved and suppressed alarms do not reach the operator, so they do not flood.
func TestShelvedDoNotFlood(t *testing.T) {
	r := floodRig(t)
	for i := range 12 {
		if err := r.e.Shelve(fmt.Sprintf("pit%d", i), "op1", "instrument air down",
			r.clk.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 12 {
		r.feed(fmt.Sprintf("pit.t%d", i), 5)
	}
	if f := r.e.Floods(); len(f) != 0 {
		t.Fatalf("floods %+v", f)
	}
}
