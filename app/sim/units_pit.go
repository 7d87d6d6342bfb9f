package sim

import "math"

// Shovel duty-cycle phases.
const (
	shovelWait      = iota // at the face, waiting for a truck (or a truck exchange)
	shovelDig              // filling the dipper
	shovelSwingOut         // swinging loaded to the truck or hopper
	shovelWaitDump         // loaded, waiting for room to dump (ore pocket full)
	shovelDump             // opening the dipper door
	shovelSwingBack        // swinging back empty
)

// phaseSeconds is how long each timed phase of the shovel cycle lasts.
var phaseSeconds = map[int]float64{shovelDig: 11, shovelSwingOut: 9, shovelDump: 3, shovelSwingBack: 8}

// shovel is an electric rope shovel. Ore shovels load trucks that are not
// modelled one by one and tip into the primary crusher's dump pocket; waste
// shovels load the waste dumpers (Haulage.WDxx). The dig-swing-dump-return
// cycle drives the motor currents, so they look like a real shovel's.
type shovel struct {
	*equipment
	ore    bool
	bucket float64 // nominal dipper payload, t

	phase      int
	phaseT     float64
	waitT      float64 // remaining truck-exchange time (ore shovels)
	passInLoad int
	dipper     float64 // payload in the dipper now, t
	truck      *dumper // waste shovels: the truck under the shovel

	hoistA, crowdA, swingA, swingDeg float64
	payloadT, digTPH, powerKW        float64
	passes                           uint32
	passStream                       uint64
}

func (m *Mine) newShovel(name string, ore bool, supply energiser) *shovel {
	u := m.newUnit("Pit", name, "ElectricShovel", "Electric shovel "+name)
	s := &shovel{equipment: m.newEquipment(u, true, supply), ore: ore, bucket: 30, phase: shovelWait}
	s.typicalLoad = 0.5
	s.passStream = streamID(u.id + ".payload")
	s.passes = uint32(m.noise.between(streamID(u.id+".passes"), 0, 20000, 400000))
	s.digTPH = 2200
	if !ore {
		s.bucket = 40
		s.digTPH = 1100
	}
	material := "ore to the primary crusher"
	if !ore {
		material = "waste into the waste dumpers"
	}
	u.analog("HoistCurrentA", "Hoist motor armature current", "A", 0, 2500, &s.hoistA).noise(4)
	u.analog("CrowdCurrentA", "Crowd motor armature current", "A", 0, 1500, &s.crowdA).noise(3)
	u.analog("SwingCurrentA", "Swing motors armature current", "A", 0, 1500, &s.swingA).noise(3)
	u.analog("SwingAngleDeg", "Swing angle from the dig position", "°", 0, 180, &s.swingDeg).noise(0.1).dec(1)
	u.analog("PayloadT", "Payload of the last pass (dipper weighing)", "t", 0, 60, &s.payloadT).noise(0).dec(1)
	u.analog("DigRateTPH", "Dig rate, 10-minute average; loads "+material, "t/h", 0, 5000, &s.digTPH).noise(0).dec(0)
	u.uint32("PassCount", "Number of passes (dipper loads) dumped", &s.passes)
	u.analog("PowerKW", "Electrical power drawn from the trailing cable", "kW", 0, 3000, &s.powerKW).noise(3).dec(1)
	s.addCondition(condAll)
	return s
}

// canDig reports whether there is somewhere for the next dipper to go.
func (s *shovel) canDig() bool {
	if s.ore {
		return s.waitT <= 0
	}
	return s.truck != nil && s.truck.stage == haulLoading
}

// canDump reports whether the loaded dipper can be emptied now.
func (s *shovel) canDump() bool {
	if s.ore {
		return s.m.p.pocket.free() >= s.dipper
	}
	return s.truck != nil
}

func (s *shovel) step(dt float64) {
	s.checkSupply()
	m := s.m
	wi := m.env.workIndex
	delivered := 0.0
	var hoist, crowd, swing float64

	if !s.running() {
		s.phase, s.phaseT, s.dipper = shovelWait, 0, 0
	} else {
		s.phaseT += dt
		f := 0.0
		if d := phaseSeconds[s.phase]; d > 0 {
			f = math.Min(1, s.phaseT/d)
		}
		switch s.phase {
		case shovelWait:
			s.waitT -= dt
			hoist, crowd, swing = 220, 60, 20
			s.swingDeg = 0
			if s.canDig() {
				s.setPhase(shovelDig)
			}
		case shovelDig:
			hoist = 1350 + 80*(wi-13) + 350*math.Sin(math.Pi*f)
			crowd = 600 + 50*(wi-13) + 200*math.Sin(math.Pi*f)
			swing = 30
			s.swingDeg = 0
			if f >= 1 {
				s.dipper = s.drawPayload(wi)
				s.setPhase(shovelSwingOut)
			}
		case shovelSwingOut:
			hoist, crowd, swing = 600+9*s.dipper, 180, swingProfile(f, 1050, 200, 650)
			s.swingDeg = 90 * (1 - math.Cos(math.Pi*f)) / 2
			if f >= 1 {
				s.setPhase(shovelWaitDump)
			}
		case shovelWaitDump:
			hoist, crowd, swing = 600+9*s.dipper, 150, 40
			s.swingDeg = 90
			if s.canDump() {
				s.setPhase(shovelDump)
			}
		case shovelDump:
			hoist, crowd, swing = 420, 140, 40
			s.swingDeg = 90
			if f >= 1 {
				delivered = s.dipper
				s.deliver(s.dipper)
				s.payloadT, s.dipper = delivered, 0
				s.passes++
				s.setPhase(shovelSwingBack)
			}
		case shovelSwingBack:
			hoist, crowd, swing = 330, 120, swingProfile(f, 800, 150, 500)
			s.swingDeg = 90 * (1 + math.Cos(math.Pi*f)) / 2
			if f >= 1 {
				s.passInLoad++
				if s.ore && s.passInLoad >= 3 {
					// A truck is full: the next one backs in.
					s.passInLoad, s.waitT = 0, 40
				}
				s.setPhase(shovelWait)
				if s.canDig() {
					s.setPhase(shovelDig)
				}
			}
		}
	}
	m.lag(&s.hoistA, hoist, 0.6, dt)
	m.lag(&s.crowdA, crowd, 0.6, dt)
	m.lag(&s.swingA, swing, 0.6, dt)
	if s.running() {
		s.powerKW = 0.6*(s.hoistA+s.crowdA+s.swingA) + 55
	} else {
		s.powerKW = 0
	}
	// Exponential moving average of delivered tonnes, as the shovel's
	// production computer shows it.
	const tau = 600.0
	s.digTPH += delivered*3600/tau - s.digTPH*dt/tau
	s.load = (s.hoistA + s.crowdA) / 2600
	s.stepCondition(dt)
}

func (s *shovel) setPhase(p int) { s.phase, s.phaseT = p, 0 }

// swingProfile is the swing current over a swing: accelerate, coast, brake.
func swingProfile(f, accel, coast, brake float64) float64 {
	switch {
	case f < 0.4:
		return accel
	case f < 0.6:
		return coast
	default:
		return brake
	}
}

// drawPayload is the dipper fill of the next pass: harder ore fills worse.
func (s *shovel) drawPayload(wi float64) float64 {
	fill := 0.93 - 0.035*(wi-13) + 0.05*s.m.noise.gauss(s.passStream, uint64(s.passes))
	return s.bucket * clamp(fill, 0.6, 1.08)
}

func (s *shovel) deliver(t float64) {
	if s.ore {
		s.m.p.pocket.add(t)
		return
	}
	if s.truck != nil {
		s.truck.payload += t
	}
}

// Drill phases.
const (
	drillDrilling = iota
	drillPulling  // pulling the rods out of a finished hole
	drillTramming // moving to the next collar
)

// drill is an electric rotary blast-hole drill working through a pattern of
// 16.5 m holes (a 15 m bench plus sub-drill). Penetration rate rises with
// pull-down force and falls with rock hardness, which varies along the hole.
type drill struct {
	*equipment
	phase        int
	phaseT       float64
	depth        float64
	target       float64
	penMH, pdKN  float64
	pdSP         float64
	torque, rpm  float64
	airBar       float64
	powerKW      float64
	holes        uint32
	strataStream uint64
}

func (m *Mine) newDrill(name string, supply energiser) *drill {
	u := m.newUnit("Pit", name, "DrillRig", "Drill rig "+name)
	d := &drill{equipment: m.newEquipment(u, true, supply), target: 16.5, pdSP: 300}
	d.typicalLoad = 0.55
	d.strataStream = streamID(u.id + ".strata")
	d.holes = uint32(m.noise.between(streamID(u.id+".holes"), 0, 500, 6000))
	// Stagger the rigs through their holes so they do not move in step.
	d.depth = m.noise.between(streamID(u.id+".depth"), 0, 0, 15)
	u.analog("PenetrationRateMH", "Penetration rate", "m/h", 0, 80, &d.penMH).noise(0.15)
	u.analog("PullDownForceKN", "Pull-down (feed) force on the bit", "kN", 0, 500, &d.pdKN).noise(1)
	u.setpoint("PullDownSP", "Pull-down force setpoint", "kN", 50, 450, &d.pdSP)
	u.analog("RotationTorqueKNm", "Rotary head torque", "kN·m", 0, 40, &d.torque).noise(0.08)
	u.analog("RotationSpeedRPM", "Rotary head speed", "rpm", 0, 150, &d.rpm).noise(0.3)
	u.analog("HoleDepthM", "Depth of the hole being drilled", "m", 0, 25, &d.depth).noise(0).dec(2)
	u.uint32("HolesDrilled", "Number of holes completed", &d.holes)
	u.analog("BitAirPressureBar", "Flushing air pressure at the bit", "bar", 0, 10, &d.airBar).noise(0.03)
	u.analog("PowerKW", "Electrical power drawn from the trailing cable", "kW", 0, 800, &d.powerKW).noise(1).dec(1)
	d.addCondition(condAll)
	return d
}

func (d *drill) step(dt float64) {
	d.checkSupply()
	m := d.m
	var pd, rpm, torque, pen, air float64
	if d.running() {
		d.phaseT += dt
		switch d.phase {
		case drillDrilling:
			// Strata: hardness changes every few metres down the hole and from
			// hole to hole.
			layer := 1 + 0.25*m.noise.smooth(d.strataStream, float64(d.holes)*20+d.depth, 2.5)
			hard := m.env.workIndex / 13 * layer
			pd, rpm, air = d.pdSP, 90, 6.2
			torque = 3 + 0.035*d.pdKN*hard
			pen = 0.13 * d.pdKN * (d.rpm / 90) / math.Pow(hard, 1.3)
			d.depth += d.penMH * dt / 3600
			if d.depth >= d.target {
				d.depth = d.target
				d.phase, d.phaseT = drillPulling, 0
			}
		case drillPulling:
			rpm, torque, air = 30, 2, 3
			d.depth = d.target * math.Max(0, 1-d.phaseT/120)
			if d.phaseT >= 120 {
				d.holes++
				d.depth = 0
				d.phase, d.phaseT = drillTramming, 0
			}
		case drillTramming:
			if d.phaseT >= 90 {
				d.phase, d.phaseT = drillDrilling, 0
			}
		}
	}
	m.lag(&d.pdKN, pd, 4, dt)
	m.lag(&d.rpm, rpm, 3, dt)
	m.lag(&d.torque, torque, 2, dt)
	m.lag(&d.penMH, pen, 2, dt)
	m.lag(&d.airBar, air, 5, dt)
	switch {
	case !d.running():
		d.powerKW = 0
	case d.phase == drillTramming:
		d.powerKW = 170 + 90 // compressor unloaded, propel motors
	default:
		// Rotary power is torque times angular speed (kN·m × rad/s = kW).
		d.powerKW = 170 + d.torque*d.rpm*2*math.Pi/60 + 0.12*d.pdKN
	}
	d.load = d.powerKW / 650
	d.stepCondition(dt)
}
