package sim

import (
	"math"
)

// bin is a store of broken rock: the dump pocket above the primary crusher's
// apron feeder, or the surge bin between primary and secondary crushing.
type bin struct {
	m        *Mine
	capT     float64
	massT    float64
	inT      float64 // tonnes received this step
	outT     float64 // tonnes drawn this step
	inTPH    float64 // smoothed rates for display
	outTPH   float64
	levelPct float64
}

func (b *bin) free() float64 { return b.capT - b.massT }

func (b *bin) add(t float64) {
	b.massT += t
	b.inT += t
}

func (b *bin) take(t float64) float64 {
	t = math.Min(t, b.massT)
	b.massT -= t
	b.outT += t
	return t
}

// step turns this step's tonnes into smoothed rates. It runs after everything
// that fills or empties the bin.
func (b *bin) step(dt float64) {
	// Shovels tip 30 t at a time; a 30 s average is what a level-based
	// inflow estimate on a real bin looks like.
	if !b.m.settling { // keep the design rates preset by the layout
		b.m.lag(&b.inTPH, b.inT*3600/dt, 30, dt)
		b.m.lag(&b.outTPH, b.outT*3600/dt, 30, dt)
	}
	b.inT, b.outT = 0, 0
	b.levelPct = 100 * b.massT / b.capT
}

// newSurgeBin publishes a bin as a unit of its own (it has no drive).
func (m *Mine) newSurgeBin(area, name, display string, b *bin) *bin {
	u := m.newUnit(area, name, "SurgeBin", display)
	b.levelPct = 100 * b.massT / b.capT
	u.analog("LevelPct", "Bin level (radar)", "%", 0, 100, &b.levelPct).noise(0.1).dec(1)
	u.analog("MassT", "Material in the bin (load cells)", "t", 0, b.capT*1.1, &b.massT).noise(2).dec(0)
	u.analog("InflowTPH", "Inflow, 30 s average", "t/h", 0, 10000, &b.inTPH).noise(5).dec(0)
	u.analog("OutflowTPH", "Outflow to the feeders, 30 s average", "t/h", 0, 10000, &b.outTPH).noise(5).dec(0)
	return b
}

// apronFeeder draws ore from a bin into a crusher at a rate set by its speed.
// Plant interlocks hold it (Interlock true, belt stopped) while its crusher is
// stopped or full, or, for the primary feeder, while the surge bin is full.
type apronFeeder struct {
	*equipment
	capacity float64 // t/h at 100 % speed
	ratedKW  float64
	src      *bin
	dst      *crusher
	downBin  *bin // primary feeder: stop when the surge bin downstream is full

	sp, speedPct  float64
	feedTPH       float64
	powerKW, curA float64
	interlock     bool
}

func (m *Mine) newApronFeeder(name string, capacity, sp, ratedKW float64, src *bin, pocket bool, supply energiser) *apronFeeder {
	u := m.newUnit("Crushing", name, "ApronFeeder", "Apron feeder "+name)
	f := &apronFeeder{equipment: m.newEquipment(u, false, supply), capacity: capacity, ratedKW: ratedKW, src: src, sp: sp, speedPct: sp}
	u.setpoint("FeederSpeedSP", "Feeder speed setpoint", "%", 0, 100, &f.sp)
	u.analog("SpeedPct", "Feeder speed", "%", 0, 100, &f.speedPct).noise(0.1).dec(1)
	u.analog("FeedRateTPH", "Feed rate into the crusher", "t/h", 0, capacity*1.1, &f.feedTPH).noise(capacity * 0.002).dec(0)
	u.analog("MotorCurrentA", "Drive motor current (690 V)", "A", 0, 600, &f.curA).noise(0.5).dec(1)
	u.analog("PowerKW", "Drive power", "kW", 0, ratedKW*1.3, &f.powerKW).noise(0.5).dec(1)
	u.boolean("Interlock", "True while a plant interlock holds the feeder: crusher stopped or full, or surge bin full", &f.interlock)
	if pocket {
		u.analog("BinLevelPct", "Dump pocket level above the feeder", "%", 0, 100, &src.levelPct).noise(0.15).dec(1)
	}
	f.addCondition(condAll)
	return f
}

func (f *apronFeeder) step(dt float64) {
	m := f.m
	f.checkSupply()
	d := f.dst
	// Hysteresis keeps the feeder from chattering on a level threshold.
	hold := !d.running() || !d.out.accepting() || d.cavityPct() >= 98 ||
		(f.downBin != nil && 100*f.downBin.massT/f.downBin.capT >= 95)
	clear := d.running() && d.out.accepting() && d.cavityPct() < 90 &&
		(f.downBin == nil || 100*f.downBin.massT/f.downBin.capT < 85)
	if hold {
		f.interlock = true
	} else if clear {
		f.interlock = false
	}

	target := 0.0
	if f.running() && !f.interlock {
		target = f.sp
	}
	m.lag(&f.speedPct, target, 3, dt)
	fed := 0.0
	if f.running() && !f.interlock {
		// Flow falls off when the bin above is nearly empty (rat-holing).
		avail := math.Min(1, f.src.massT/(0.04*f.src.capT))
		fed = f.src.take(f.capacity * f.speedPct / 100 * avail * dt / 3600)
		d.feedIn += fed
	}
	f.feedTPH = fed * 3600 / dt
	if f.running() && !f.interlock {
		f.powerKW = f.ratedKW * (0.15 + 0.25*f.speedPct/100 + 0.6*f.feedTPH/f.capacity)
	} else {
		f.powerKW = 0
	}
	f.curA = motorCurrent(f.powerKW, 0.69, 0.85)
	f.load = f.powerKW / f.ratedKW
	f.stepCondition(dt)
}

// crusherSpec holds the design figures of a crusher.
type crusherSpec struct {
	name, kind, display string
	qPerMM              float64 // capacity per mm of closed-side setting, t/h
	cavityCapT          float64 // crushing chamber contents at 100 % level
	idleKW, ratedKW     float64
	kV                  float64
	cssSP               float64
	cssLo, cssHi        float64
	showWorkIndex       bool // publish the ore work index (the primary crusher)
}

// crusher is a gyratory or cone crusher. Its capacity grows with the
// closed-side setting (CSS); the cavity level integrates feed minus
// throughput; power is idle power plus Bond's-law comminution energy, which
// rises with ore hardness and falls as the CSS opens (a coarser product).
type crusher struct {
	*equipment
	spec crusherSpec
	f80  func() float64 // feed size F80, mm
	out  *conveyor

	cssSP, css   float64
	cavityT      float64
	feedIn       float64 // tonnes fed this step, added by the feeder
	feedTPH      float64
	throughput   float64
	powerKW      float64
	currA        float64
	hydBar       float64
	cavityPctVal float64
}

// bondEfficiency scales Bond's-law energy to what a crusher draws from the
// motor for this ore (an empirical factor, fitted so the crushers run at
// 80 % of rating at design throughput).
const bondEfficiency = 0.57

// bondEnergy is the specific comminution energy in kWh/t from feed size
// F80 to product size P80 (both in mm) for work index wi (kWh/t).
func bondEnergy(wi, f80mm, p80mm float64) float64 {
	e := 10 * wi * (1/math.Sqrt(p80mm*1000) - 1/math.Sqrt(f80mm*1000))
	return math.Max(0, e)
}

func (m *Mine) newCrusher(sp crusherSpec, supply energiser) *crusher {
	u := m.newUnit("Crushing", sp.name, sp.kind, sp.display)
	c := &crusher{equipment: m.newEquipment(u, false, supply), spec: sp, cssSP: sp.cssSP, css: sp.cssSP}
	u.analog("PowerKW", "Main motor power", "kW", 0, sp.ratedKW*1.3, &c.powerKW).noise(sp.ratedKW * 0.003).dec(1)
	u.analog("MotorCurrentA", "Main motor current", "A", 0, 200, &c.currA).noise(0.1).dec(1)
	u.analog("CssMM", "Closed-side setting", "mm", 0, sp.cssHi+20, &c.css).noise(0.05).dec(1)
	u.setpoint("CssSP", "Closed-side setting setpoint", "mm", sp.cssLo, sp.cssHi, &c.cssSP)
	u.analog("CavityLevelPct", "Crushing cavity level", "%", 0, 100, &c.cavityPctVal).noise(0.2).dec(1)
	u.analog("HydraulicPressureBar", "Main-shaft support (tramp release) hydraulic pressure", "bar", 0, 120, &c.hydBar).noise(0.3).dec(1)
	u.analog("FeedRateTPH", "Feed rate into the crusher", "t/h", 0, sp.qPerMM*sp.cssHi, &c.feedTPH).noise(5).dec(0)
	u.analog("ThroughputTPH", "Crushed product rate", "t/h", 0, sp.qPerMM*sp.cssHi, &c.throughput).noise(5).dec(0)
	if sp.showWorkIndex {
		u.analog("OreWorkIndexKWhT", "Bond work index of the ore being crushed (its hardness)", "kWh/t", 5, 25, &m.env.workIndex).noise(0.02).dec(2)
	}
	c.addCondition(condAll)
	return c
}

func (c *crusher) cavityPct() float64 { return 100 * c.cavityT / c.spec.cavityCapT }

func (c *crusher) step(dt float64) {
	m := c.m
	sp := c.spec
	c.checkSupply()
	// The hydraulic adjustment moves the mantle about half a millimetre a
	// second.
	m.ramp(&c.css, c.cssSP, 0.5, dt)
	c.cavityT += c.feedIn
	c.feedTPH = c.feedIn * 3600 / dt
	c.feedIn = 0

	q := 0.0
	if c.running() && c.out.accepting() {
		// Choke-fed above 60 % cavity level; below it, capacity falls with
		// the level because the chamber is not full.
		qmax := sp.qPerMM * c.css
		q = qmax * math.Min(1, c.cavityPct()/60)
		t := math.Min(q*dt/3600, c.cavityT)
		c.cavityT -= t
		c.out.inT += t
		q = t * 3600 / dt
	}
	c.throughput = q
	c.cavityPctVal = c.cavityPct()

	target, hyd := 0.0, 6.0 // accumulator pre-charge when stopped
	if c.running() {
		e := bondEfficiency * bondEnergy(m.env.workIndex, c.f80(), 0.9*c.css)
		target = sp.idleKW + e*q
		hyd = 18 + 50*(target-sp.idleKW)/(sp.ratedKW-sp.idleKW)
	}
	m.lag(&c.powerKW, target, 2, dt)
	m.lag(&c.hydBar, hyd, 2, dt)
	c.currA = motorCurrent(c.powerKW, sp.kV, 0.86)
	c.load = c.powerKW / sp.ratedKW
	c.stepCondition(dt)
}
