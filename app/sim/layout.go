package sim

import (
	"fmt"
	"math"
	"sort"
)

// plant holds the typed references that wire the units together.
type plant struct {
	ss      *substation
	feeders []*feeder
	shovels []*shovel
	drills  []*drill
	dumpers []*dumper
	pocket  *bin
	surge   *bin
	af1     *apronFeeder
	cr1     *crusher
	cv1     *conveyor
	afs     []*apronFeeder // AF2..AF4
	ccs     []*crusher     // CC1..CC3
	cv2     *conveyor
	ocs     []*conveyor // OC1, OC2
	su1     *sump
	su2     *sump
	pumps   []*pump
	heaters []*airHeater
	boiler  *boilerHouse

	stockpileT float64 // crushed ore delivered to the stockpile
}

// areaOrder is the order of the areas under Objects/Mine (Contract 1).
var areaOrder = []string{"Pit", "Crushing", "Haulage", "Water", "Power", "Heating"}

// Design flows at the initial operating point, used to preload belts and
// cavities so the plant starts in a steady state rather than empty.
const (
	af1DesignSP   = 75.0
	af1Capacity   = 8000.0
	secondarySP   = 70.0
	secondaryCap  = 2600.0
	cr1QPerMM     = 40.0
	ccQPerMM      = 50.0
	primaryTPH    = af1Capacity * af1DesignSP / 100
	secondaryTPH  = 3 * secondaryCap * secondarySP / 100
	serviceBaseKW = 350.0
)

// build creates the units, wires the flows and fixes the stepping order.
func (m *Mine) build() {
	p := &m.p

	// Power first: every electric unit names its feeder.
	p.ss = m.newSubstation("SS1")
	f1 := m.newFeeder(p.ss, "F1", "pit shovels and drills", 0.78, 9000)
	f2 := m.newFeeder(p.ss, "F2", "crushing plant", 0.84, 6000)
	f3 := m.newFeeder(p.ss, "F3", "overland conveyors", 0.86, 7000)
	f4 := m.newFeeder(p.ss, "F4", "dewatering", 0.82, 1200)
	f5 := m.newFeeder(p.ss, "F5", "heating and services", 0.86, 1500)
	p.feeders = []*feeder{f1, f2, f3, f4, f5}

	// Pit: three ore shovels feed the crusher's dump pocket, three waste
	// shovels load the waste dumpers; six drills prepare the next blasts.
	for i := 1; i <= 6; i++ {
		p.shovels = append(p.shovels, m.newShovel(fmt.Sprintf("SH%02d", i), i <= 3, f1))
	}
	for i := 1; i <= 6; i++ {
		p.drills = append(p.drills, m.newDrill(fmt.Sprintf("DR%02d", i), f1))
	}

	// Crushing: dump pocket -> AF1 -> CR1 -> CV1 -> SB1 -> AF2..4 -> CC1..3 -> CV2.
	p.pocket = &bin{m: m, capT: 800, massT: 400, inTPH: primaryTPH, outTPH: primaryTPH}
	p.surge = &bin{m: m, capT: 6000, massT: 3000, inTPH: primaryTPH, outTPH: secondaryTPH}
	p.af1 = m.newApronFeeder("AF1", af1Capacity, af1DesignSP, 250, p.pocket, true, f2)
	p.af1.downBin = p.surge
	p.cr1 = m.newCrusher(crusherSpec{
		name: "CR1", kind: "GyratoryCrusher", display: "Primary gyratory crusher CR1",
		qPerMM: cr1QPerMM, cavityCapT: 300, idleKW: 180, ratedKW: 1000, kV: 6, cssSP: 160, cssLo: 120, cssHi: 220,
		showWorkIndex: true,
	}, f2)
	p.cr1.f80 = func() float64 { return 700 }
	p.cv1 = m.newConveyor(conveyorSpec{area: "Crushing", name: "CV1", display: "Crusher discharge conveyor CV1",
		nominal: 4.2, length: 450, designTPH: 8000, ratedKW: 900, kV: 6, initialTPH: primaryTPH}, f2)
	m.newSurgeBin("Crushing", "SB1", "Surge bin SB1", p.surge)
	for i := 1; i <= 3; i++ {
		af := m.newApronFeeder(fmt.Sprintf("AF%d", i+1), secondaryCap, secondarySP, 110, p.surge, false, f2)
		p.afs = append(p.afs, af)
	}
	for i, css := range []float64{38, 37, 40} {
		c := m.newCrusher(crusherSpec{
			name: fmt.Sprintf("CC%d", i+1), kind: "ConeCrusher", display: fmt.Sprintf("Secondary cone crusher CC%d", i+1),
			qPerMM: ccQPerMM, cavityCapT: 40, idleKW: 70, ratedKW: 600, kV: 6, cssSP: css, cssLo: 20, cssHi: 60,
		}, f2)
		// The cones are fed with the primary crusher's product.
		c.f80 = func() float64 { return 0.9 * p.cr1.css }
		p.ccs = append(p.ccs, c)
		p.afs[i].dst = c
	}
	p.cv2 = m.newConveyor(conveyorSpec{area: "Crushing", name: "CV2", display: "Secondary product conveyor CV2",
		nominal: 4.0, length: 300, designTPH: 7000, ratedKW: 600, kV: 6, initialTPH: secondaryTPH}, f2)

	// Haulage: two waste dumpers per waste shovel, and the overland
	// conveyors to the crushed-ore stockpile (OC2 is the standby line).
	waste := p.shovels[3:]
	for i := 0; i < 6; i++ {
		home, alt := waste[i/2], waste[(i/2+1)%3]
		p.dumpers = append(p.dumpers, m.newDumper(fmt.Sprintf("WD%02d", i+1), home, alt))
	}
	for i := 1; i <= 2; i++ {
		init := secondaryTPH
		if i == 2 {
			init = 0
		}
		oc := m.newConveyor(conveyorSpec{area: "Haulage", name: fmt.Sprintf("OC%d", i), display: fmt.Sprintf("Overland conveyor OC%d", i),
			nominal: 5.0, length: 3200, designTPH: 7000, ratedKW: 3000, kV: 6, initialTPH: init}, f3)
		oc.discharge = func(t float64) { p.stockpileT += t }
		p.ocs = append(p.ocs, oc)
	}

	// Water: the pit-bottom sump is pumped to the transfer sump on an upper
	// bench, which is pumped to the surface settling pond.
	p.su1 = m.newSump(sumpSpec{name: "SU1", display: "Pit-bottom sump SU1", area: 450, depth: 6, lowM: 0.8, highM: 5, levelM: 2.6},
		func() float64 { return m.env.groundM3H + m.env.rainM3H })
	for i, duty := range []bool{true, true, false} {
		p.pumps = append(p.pumps, m.newPump(pumpSpec{name: fmt.Sprintf("P10%d", i+1), qNom: 260, staticM: 62, frictM: 8, ratedKW: 90, duty: duty}, p.su1, nil, f4))
	}
	p.su2 = m.newSump(sumpSpec{name: "SU2", display: "Transfer sump SU2", area: 300, depth: 5, lowM: 0.8, highM: 4.2, levelM: 2.0},
		func() float64 { return m.env.seepM3H })
	for _, pp := range p.pumps {
		pp.to = p.su2
	}
	for i, duty := range []bool{true, false} {
		p.pumps = append(p.pumps, m.newPump(pumpSpec{name: fmt.Sprintf("P20%d", i+1), qNom: 420, staticM: 95, frictM: 10, ratedKW: 200, duty: duty}, p.su2, nil, f4))
	}

	// Heating.
	m.newWeatherStation("WS1")
	p.boiler = m.newBoilerHouse("BH1", f5)
	for i := 1; i <= 3; i++ {
		p.heaters = append(p.heaters, m.newAirHeater(fmt.Sprintf("AH%d", i), f5))
	}

	m.wire()
	m.initialStates()
	m.orderSteppers()
	sort.SliceStable(m.units, func(i, j int) bool { return areaIndex(m.units[i].area) < areaIndex(m.units[j].area) })
	m.areas = append([]string(nil), areaOrder...)
	m.signals = m.signals[:0]
	for _, u := range m.units {
		m.signals = append(m.signals, u.signals...)
	}
}

func areaIndex(a string) int {
	for i, x := range areaOrder {
		if x == a {
			return i
		}
	}
	return len(areaOrder)
}

// wire connects material flows and electrical loads.
func (m *Mine) wire() {
	p := &m.p
	p.af1.dst = p.cr1
	p.cr1.out = p.cv1
	p.cv1.discharge = func(t float64) { p.surge.add(t) }
	for _, c := range p.ccs {
		c.out = p.cv2
	}
	ocRunning := func() bool { return p.ocs[0].running() || p.ocs[1].running() }
	p.cv2.downstreamOK = ocRunning
	p.cv2.discharge = func(t float64) {
		a, b := p.ocs[0].running(), p.ocs[1].running()
		switch {
		case a && b:
			p.ocs[0].inT += t / 2
			p.ocs[1].inT += t / 2
		case b:
			p.ocs[1].inT += t
		default:
			p.ocs[0].inT += t
		}
	}

	f1, f2, f3, f4, f5 := p.feeders[0], p.feeders[1], p.feeders[2], p.feeders[3], p.feeders[4]
	for _, s := range p.shovels {
		f1.loads = append(f1.loads, func() float64 { return s.powerKW })
	}
	for _, d := range p.drills {
		f1.loads = append(f1.loads, func() float64 { return d.powerKW })
	}
	f2.loads = append(f2.loads, func() float64 { return p.af1.powerKW }, func() float64 { return p.cr1.powerKW },
		func() float64 { return p.cv1.powerKW }, func() float64 { return p.cv2.powerKW })
	for i := range p.afs {
		af, cc := p.afs[i], p.ccs[i]
		f2.loads = append(f2.loads, func() float64 { return af.powerKW }, func() float64 { return cc.powerKW })
	}
	for _, oc := range p.ocs {
		f3.loads = append(f3.loads, func() float64 { return oc.powerKW })
	}
	for _, pp := range p.pumps {
		f4.loads = append(f4.loads, func() float64 { return pp.powerKW })
	}
	f5.loads = append(f5.loads, func() float64 { return p.boiler.auxKW })
	for _, h := range p.heaters {
		f5.loads = append(f5.loads, func() float64 { return h.fanKW })
	}
	// Workshops, offices and lighting: more by day.
	f5.base = func() float64 {
		return serviceBaseKW + 150*math.Max(0, math.Sin(math.Pi*(m.env.hour-6)/14))
	}
}

// initialStates sets the few units that do not start running in remote, the
// trucks' positions in their cycles, and the preloaded cavities.
func (m *Mine) initialStates() {
	p := &m.p
	stopped := func(e *equipment) { e.state, e.runCmd = RunStopped, false }

	// OC2 is the standby overland line: stopped, in remote, ready to start.
	stopped(p.ocs[1].equipment)
	p.ocs[1].speed = 0
	// DR06 waits for its next blast pattern; AH3 is the standby heater.
	stopped(p.drills[5].equipment)
	stopped(p.heaters[2].equipment)
	p.heaters[2].airflow = 0
	// DR05 is being moved by its crew: running, in local mode.
	p.drills[4].mode = ModeLocal

	// Cavities at the level that matches the design feed (choke level 60 %).
	p.cr1.cavityT = p.cr1.spec.cavityCapT * 0.6 * primaryTPH / (cr1QPerMM * p.cr1.css)
	for _, c := range p.ccs {
		c.cavityT = c.spec.cavityCapT * 0.6 * (secondaryTPH / 3) / (ccQPerMM * c.css)
	}

	// Trucks spread over their cycles; one under each waste shovel.
	d := p.dumpers
	for i := 0; i < 6; i += 2 {
		d[i].stage, d[i].at = haulLoading, d[i].home
		d[i].home.truck = d[i]
	}
	d[1].stage, d[1].dist, d[1].payload, d[1].speedKMH = haulHauling, 1500, 116, 18
	d[3].stage, d[3].dist, d[3].speedKMH = haulReturning, 1200, 40
	d[5].stage, d[5].dist, d[5].payload, d[5].speedKMH = haulHauling, 2800, 118, 18
}

// orderSteppers fixes the stepping order: along the material flow, then
// water, heating, and the power system last so that feeders sum this step's
// loads.
func (m *Mine) orderSteppers() {
	p := &m.p
	add := func(s ...stepper) { m.steppers = append(m.steppers, s...) }
	for _, s := range p.shovels {
		add(s)
	}
	for _, d := range p.dumpers {
		add(d)
	}
	for _, d := range p.drills {
		add(d)
	}
	add(p.pocket, p.af1, p.cr1, p.cv1, p.surge)
	for i := range p.afs {
		add(p.afs[i], p.ccs[i])
	}
	add(p.cv2, p.ocs[0], p.ocs[1])
	add(p.su1, p.pumps[0], p.pumps[1], p.pumps[2], p.su2, p.pumps[3], p.pumps[4])
	add(p.boiler)
	for _, h := range p.heaters {
		add(h)
	}
	for _, f := range p.feeders {
		add(f)
	}
	add(p.ss)
}
