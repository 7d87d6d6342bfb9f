package sim

import (
	"fmt"
	"math"
)

// sump is a water sump. Its volume integrates inflow minus what the pumps
// draw; the totals make the mass balance checkable from outside:
// VolumeM3(t) - VolumeM3(0) = ΔInflowTotalM3 - ΔPumpedTotalM3.
type sump struct {
	m                 *Mine
	u                 *unit
	area, depth       float64 // m², m
	lowM, highM       float64 // pump low cut-out, flood-protection level
	ext               func() float64
	volM3             float64
	transferM3        float64 // delivered by upstream pumps this step
	drawnM3           float64 // drawn by pumps since the last sump step
	inflowM3H, outM3H float64
	inTotal, outTotal float64
	levelM, levelPct  float64
	flood             bool // high-level override: every in-service pump runs
}

type sumpSpec struct {
	name, display            string
	area, depth, lowM, highM float64
	levelM                   float64 // initial level
}

func (m *Mine) newSump(sp sumpSpec, ext func() float64) *sump {
	u := m.newUnit("Water", sp.name, "Sump", sp.display)
	s := &sump{m: m, u: u, area: sp.area, depth: sp.depth, lowM: sp.lowM, highM: sp.highM, ext: ext}
	s.volM3 = sp.levelM * sp.area
	s.levelM = sp.levelM
	s.levelPct = 100 * sp.levelM / sp.depth
	n := m.noise
	s.inTotal = math.Round(n.between(streamID(u.id+".intotal"), 0, 1e6, 5e6))
	s.outTotal = s.inTotal - s.volM3
	u.analog("LevelM", "Water level above the sump floor", "m", 0, sp.depth, &s.levelM).noise(0.004).dec(3)
	u.analog("LevelPct", "Water level as a share of the sump depth", "%", 0, 100, &s.levelPct).noise(0.07).dec(1)
	u.analog("VolumeM3", "Water volume in the sump", "m³", 0, sp.area*sp.depth*1.2, &s.volM3).noise(0).dec(1)
	u.analog("InflowM3H", "Inflow: groundwater, rain and water pumped in", "m³/h", 0, 2000, &s.inflowM3H).noise(1.5).dec(1)
	u.analog("OutflowM3H", "Water pumped out", "m³/h", 0, 2000, &s.outM3H).noise(1.5).dec(1)
	u.analog("InflowTotalM3", "Inflow totaliser", "m³", 0, 1e10, &s.inTotal).noise(0).dec(1)
	u.analog("PumpedTotalM3", "Pumped-out totaliser", "m³", 0, 1e10, &s.outTotal).noise(0).dec(1)
	return s
}

// draw takes up to v m³ for a pump and returns what it got.
func (s *sump) draw(v float64) float64 {
	v = math.Min(v, s.volM3)
	s.volM3 -= v
	s.outTotal += v
	s.drawnM3 += v
	return v
}

// step adds this step's inflow. Pumps draw after it; their draw shows in
// OutflowM3H one step later, which no one can see at 250 ms.
func (s *sump) step(dt float64) {
	in := s.ext()*dt/3600 + s.transferM3
	s.transferM3 = 0
	s.volM3 += in
	s.inTotal += in
	s.inflowM3H = in * 3600 / dt
	s.outM3H = s.drawnM3 * 3600 / dt
	s.drawnM3 = 0
	s.levelM = s.volM3 / s.area
	s.levelPct = 100 * s.levelM / s.depth
	if s.levelM >= s.highM {
		s.flood = true
	} else if s.levelM <= s.highM-1 {
		s.flood = false
	}
}

// pump is a dewatering pump. RunCmd puts it in service; an in-service pump
// runs while PumpOnCmd (the duty request, from an operator; DutySP is the
// same request as a 0/1 setpoint, for a tariff-aware plugin) is true or its sump is above the flood level, and
// stops at the low cut-out to protect itself from running dry.
type pump struct {
	*equipment
	from, to          *sump // to == nil: the surface settling pond
	qNom              float64
	staticM, frictM   float64
	eff, ratedKW      float64
	pumpOn            bool
	lowCut            bool
	flow, pressureBar float64
	powerKW, currA    float64
}

type pumpSpec struct {
	name            string
	qNom            float64
	staticM, frictM float64
	ratedKW         float64
	duty            bool // PumpOnCmd at start
}

func (m *Mine) newPump(sp pumpSpec, from, to *sump, supply energiser) *pump {
	u := m.newUnit("Water", sp.name, "DewateringPump", "Dewatering pump "+sp.name)
	p := &pump{equipment: m.newEquipment(u, false, supply), from: from, to: to, qNom: sp.qNom,
		staticM: sp.staticM, frictM: sp.frictM, eff: 0.72, ratedKW: sp.ratedKW, pumpOn: sp.duty}
	p.onRunCmd = p.setInService
	if !sp.duty {
		p.state = RunStopped // in service, standing by
	}
	u.command("PumpOnCmd", "Duty request: the pump runs while true (if in service and above the low cut-out)",
		func() bool { return p.pumpOn }, func(v bool) error { p.pumpOn = v; return nil })
	p.dutySetpoint(u)
	u.analog("FlowM3H", "Discharge flow", "m³/h", 0, 600, &p.flow).noise(1).dec(1)
	u.analog("DischargePressureBar", "Discharge pressure", "bar", 0, 16, &p.pressureBar).noise(0.02).dec(2)
	u.analog("MotorCurrentA", "Motor current (400 V)", "A", 0, 500, &p.currA).noise(0.5).dec(1)
	u.analog("PowerKW", "Motor power", "kW", 0, 300, &p.powerKW).noise(0.3).dec(1)
	p.addCondition(condAll)
	return p
}

// dutySetpoint adds DutySP, the duty request as a 0..1 setpoint for plugins, which may
// write only setpoints: it reads and writes the same flag as PumpOnCmd (>= 0.5 on), so the
// two always agree.
func (p *pump) dutySetpoint(u *unit) {
	u.addSignal(&signal{
		SignalInfo: SignalInfo{Name: "DutySP", DataType: Double, EU: "", Low: 0, High: 1, Analog: true, Writable: true,
			Description: "Duty request as a setpoint: 1 runs the pump (like PumpOnCmd true), 0 stops it; for tariff-aware plugins"},
		read: func() any {
			if p.pumpOn {
				return 1.0
			}
			return 0.0
		},
		write: func(v any) error {
			f := v.(float64)
			if math.IsNaN(f) || f < 0 || f > 1 {
				return fmt.Errorf("%w: %g not in [0, 1]", ErrOutOfRange, f)
			}
			p.pumpOn = f >= 0.5
			return nil
		},
	})
}

// setInService is the pump's RunCmd: in or out of service. It starts on the
// next step if there is demand.
func (p *pump) setInService(on bool) error {
	if !on {
		p.runCmd = false
		if p.state == RunRunning {
			p.state = RunStopped
		}
		return nil
	}
	if err := p.canStart(); err != nil {
		return err
	}
	p.runCmd = true
	return nil
}

func (p *pump) step(dt float64) {
	m := p.m
	lvl := p.from.levelM
	if lvl <= p.from.lowM {
		p.lowCut = true
	} else if lvl >= p.from.lowM+0.5 {
		p.lowCut = false
	}
	// A pump under level control restarts by itself when power returns, so
	// losing the supply stops the motor but leaves it in service.
	inService := p.runCmd && p.state != RunFaulted && p.powered()
	want := inService && (p.pumpOn || p.from.flood) && !p.lowCut
	switch {
	case want && p.state == RunStopped:
		p.start()
	case !want && p.state == RunRunning:
		p.state = RunStopped
	}

	target := 0.0
	if p.running() {
		// Suction starts to starve (vortexing) in the last half metre.
		target = p.qNom * clamp((lvl-0.3)/0.5, 0, 1)
	}
	m.lag(&p.flow, target, 4, dt)
	got := p.from.draw(p.flow * dt / 3600)
	if p.to != nil {
		p.to.transferM3 += got
	}
	head := p.staticM + p.frictM*math.Pow(p.flow/p.qNom, 2)
	press := 0.97 * p.staticM * 0.0981 // the check valve holds the column
	if p.running() {
		press = head * 0.0981
	}
	m.lag(&p.pressureBar, press, 2, dt)
	if p.running() {
		// Hydraulic power is Q·H/367 kW (Q in m³/h, H in m); a pump at
		// shut-off still draws about a third of its rating.
		p.powerKW = math.Max(0.35*p.ratedKW, p.flow*head/367/p.eff)
	} else {
		p.powerKW = 0
	}
	p.currA = motorCurrent(p.powerKW, 0.4, 0.86)
	p.load = p.powerKW / p.ratedKW
	p.stepCondition(dt)
}
