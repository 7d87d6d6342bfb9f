package sim

import "math"

// Waste dumper haul stages (Haulage.WDxx.HaulStage).
const (
	haulQueued     int32 = iota // waiting at the shovel for its turn
	haulLoading                 // under the shovel
	haulHauling                 // loaded, climbing out of the pit
	haulDumping                 // tipping at the waste dump
	haulReturning               // empty, back down to the shovel
	haulRefuelling              // at the fuel bay
)

const (
	haulRoadM      = 3200.0 // one-way haul distance
	haulGrade      = 0.08   // ramp grade out of the pit
	haulRolling    = 0.025  // rolling resistance
	truckEmptyT    = 110.0
	truckTargetT   = 100.0 // loading stops at this payload (three 40 t passes)
	truckMaxT      = 136.0 // rated payload: no pass that would overload it
	truckTankL     = 4200.0
	truckEngineKW  = 1700.0
	truckDCVolts   = 1400.0
	dumpSeconds    = 50.0
	refuelSeconds  = 480.0
	refuelBelowPct = 12.0
)

// dumper is a remote-controlled (autonomous) diesel-electric haul truck
// carrying waste from a waste shovel up the ramp to the waste dump. Loading
// couples it to the shovel: the shovel only digs with a truck under it, and a
// truck waits when both its shovels are busy or stopped.
type dumper struct {
	*equipment
	stage      int32
	stageT     float64
	dist       float64 // along the current leg, m
	dumpFrom   float64
	speedKMH   float64
	payload    float64
	tractionA  float64
	engineLoad float64
	fuelPct    float64
	speedSP    float64
	cycles     uint32
	home, alt  *shovel
	at         *shovel // the shovel loading this truck
}

func (m *Mine) newDumper(name string, home, alt *shovel) *dumper {
	u := m.newUnit("Haulage", name, "WasteDumper", "Waste dumper "+name)
	d := &dumper{equipment: m.newEquipment(u, true, nil), home: home, alt: alt, speedSP: 40}
	d.typicalLoad = 0.45
	d.cycles = uint32(m.noise.between(streamID(u.id+".cycles"), 0, 3000, 30000))
	d.fuelPct = math.Round(m.noise.between(streamID(u.id+".fuel"), 0, 35, 95))
	u.int32("HaulStage", "Haul cycle stage: 0 queued at shovel, 1 loading, 2 hauling loaded, 3 dumping, 4 returning empty, 5 refuelling", &d.stage)
	u.analog("SpeedKMH", "Ground speed", "km/h", 0, 70, &d.speedKMH).noise(0.1).dec(1)
	u.analog("PayloadT", "Payload (on-board weighing)", "t", 0, 150, &d.payload).noise(0.2).dec(1)
	u.analog("RouteDistanceM", "Distance travelled on the current leg of the haul road", "m", 0, haulRoadM, &d.dist).noise(0).dec(0)
	u.analog("TractionCurrentA", "Wheel motor current, motoring or retarding", "A", 0, 2000, &d.tractionA).noise(3)
	u.analog("EngineLoadPct", "Diesel engine load", "%", 0, 100, &d.engineLoad).noise(0.3).dec(1)
	u.analog("FuelLevelPct", "Fuel tank level", "%", 0, 100, &d.fuelPct).noise(0).dec(1)
	u.uint32("CycleCount", "Completed haul cycles", &d.cycles)
	u.setpoint("SpeedLimitSP", "Speed limit for the autonomous haulage system", "km/h", 10, 60, &d.speedSP)
	d.addCondition(condAll)
	return d
}

// release leaves the shovel free for the next truck.
func (d *dumper) release() {
	if d.at != nil && d.at.truck == d {
		d.at.truck = nil
	}
	d.at = nil
}

// pickShovel returns a running shovel with nobody under it, home first.
func (d *dumper) pickShovel() *shovel {
	for _, s := range []*shovel{d.home, d.alt} {
		if s != nil && s.running() && s.truck == nil {
			return s
		}
	}
	return nil
}

func (d *dumper) setStage(s int32) { d.stage, d.stageT = s, 0 }

func (d *dumper) step(dt float64) {
	m := d.m
	target, grade := 0.0, 0.0
	engine := 0.0
	if !d.running() {
		if d.stage == haulLoading {
			d.release()
			d.setStage(haulQueued)
		}
	} else {
		d.stageT += dt
		engine = 12 // idle
		switch d.stage {
		case haulQueued:
			if s := d.pickShovel(); s != nil {
				s.truck, d.at = d, s
				d.setStage(haulLoading)
			}
		case haulLoading:
			switch {
			case d.payload >= truckTargetT || (d.at != nil && d.payload+d.at.bucket > truckMaxT):
				d.release()
				d.dist = 0
				d.setStage(haulHauling)
			case d.at == nil || !d.at.running():
				d.release()
				d.setStage(haulQueued)
			}
		case haulHauling:
			target, grade = math.Min(d.speedSP, 22), haulGrade
			if d.dist >= haulRoadM {
				d.dist, d.dumpFrom = haulRoadM, d.payload
				d.setStage(haulDumping)
			}
		case haulDumping:
			engine = 35 // body hoist pump
			d.payload = d.dumpFrom * math.Max(0, 1-d.stageT/dumpSeconds)
			if d.stageT >= dumpSeconds {
				d.payload = 0
				d.cycles++
				d.dist = 0
				if d.fuelPct < refuelBelowPct {
					d.setStage(haulRefuelling)
				} else {
					d.setStage(haulReturning)
				}
			}
		case haulReturning:
			target, grade = math.Min(d.speedSP, 42), -haulGrade
			if d.dist >= haulRoadM {
				d.dist = 0
				d.setStage(haulQueued)
			}
		case haulRefuelling:
			d.fuelPct = math.Min(100, d.fuelPct+100*dt/refuelSeconds)
			if d.stageT >= refuelSeconds {
				d.fuelPct = 100
				d.setStage(haulReturning)
			}
		}
	}
	// Accelerate at about 0.5 m/s², brake at 1 m/s².
	rate := 1.8
	if target < d.speedKMH {
		rate = 3.6
	}
	m.ramp(&d.speedKMH, target, rate, dt)
	v := d.speedKMH / 3.6
	if d.stage == haulHauling || d.stage == haulReturning {
		d.dist = math.Min(haulRoadM, d.dist+v*dt)
	}
	// Traction power to move the truck up or down the grade.
	massKg := (truckEmptyT + d.payload) * 1000
	pKW := massKg * 9.81 * v * (grade + haulRolling) / 1000
	d.tractionA = math.Abs(pKW) * 1000 / truckDCVolts
	if pKW > 0 {
		engine = math.Max(engine, (pKW+90)/truckEngineKW*100)
	}
	if !d.running() {
		engine, d.tractionA = 0, 0
	}
	d.engineLoad = clamp(engine, 0, 100)
	// About 0.23 litres of diesel per kWh at the flywheel.
	litresPerHour := d.engineLoad / 100 * truckEngineKW * 0.23
	d.fuelPct = math.Max(0, d.fuelPct-litresPerHour*dt/3600/truckTankL*100)
	if d.fuelPct <= 0 && d.running() {
		d.stop() // ran dry: it stays where it is until someone starts it again
	}
	d.load = d.tractionA / 1500
	d.stepCondition(dt)
}
