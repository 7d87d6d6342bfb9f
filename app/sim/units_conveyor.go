package sim

import (
	"fmt"
	"math"
)

// conveyor is a belt conveyor. Material put on the belt rides to the head
// pulley and is discharged downstream; the belt holds its load when it stops.
// A conveyor cannot start, and trips, when nothing downstream can take its
// material (the usual sequence interlock).
type conveyor struct {
	*equipment
	nominal   float64 // belt speed, m/s
	length    float64 // m
	designTPH float64
	ratedKW   float64
	kV        float64

	speed   float64
	massT   float64 // material on the belt
	inT     float64 // tonnes put on the belt during this step
	loadTPH float64 // belt-scale reading at the head
	powerKW float64
	currA   float64
	totalT  float64 // belt-scale totaliser

	// discharge takes what falls off the head pulley; downstreamOK says
	// whether anything downstream is running to take it.
	discharge    func(t float64)
	downstreamOK func() bool
}

type conveyorSpec struct {
	area, name, display string
	nominal, length     float64
	designTPH, ratedKW  float64
	kV                  float64
	initialTPH          float64 // steady flow at start, to preload the belt
}

func (m *Mine) newConveyor(sp conveyorSpec, supply energiser) *conveyor {
	u := m.newUnit(sp.area, sp.name, "Conveyor", sp.display)
	c := &conveyor{
		equipment: m.newEquipment(u, false, supply),
		nominal:   sp.nominal, length: sp.length, designTPH: sp.designTPH, ratedKW: sp.ratedKW, kV: sp.kV,
	}
	c.speed = sp.nominal
	c.massT = sp.initialTPH / 3600 * sp.length / sp.nominal
	c.totalT = math.Round(m.noise.between(streamID(u.id+".total"), 0, 5e6, 9e7))
	c.permit = func() error {
		if c.downstreamOK != nil && !c.downstreamOK() {
			return fmt.Errorf("%w: downstream conveyor is stopped", ErrInterlocked)
		}
		return nil
	}
	u.analog("BeltSpeedMS", "Belt speed", "m/s", 0, 6, &c.speed).noise(0.005).dec(3)
	u.analog("LoadTPH", "Belt load (belt scale at the head pulley)", "t/h", 0, 10000, &c.loadTPH).noise(8).dec(0)
	u.analog("PowerKW", "Drive power", "kW", 0, sp.ratedKW*1.3, &c.powerKW).noise(2).dec(1)
	u.analog("MotorCurrentA", "Drive motor current", "A", 0, 1000, &c.currA).noise(0.3).dec(1)
	u.analog("BeltTotalT", "Belt-scale totaliser", "t", 0, 1e10, &c.totalT).noise(0).dec(0)
	c.addCondition(condAll)
	return c
}

// running reports whether the belt can take material.
func (c *conveyor) accepting() bool { return c.running() }

func (c *conveyor) step(dt float64) {
	m := c.m
	c.checkSupply()
	if c.running() && c.downstreamOK != nil && !c.downstreamOK() {
		c.stop() // sequence interlock: the downstream belt stopped
	}
	target, rate := 0.0, 0.5
	if c.running() {
		target, rate = c.nominal, 0.15 // soft start
	}
	m.ramp(&c.speed, target, rate, dt)

	c.massT += c.inT
	c.inT = 0
	out := 0.0
	if c.speed > 0 {
		// The belt is treated as well mixed: the head sees the fraction of
		// the belt's load that passes it in dt.
		out = math.Min(c.massT, c.massT*c.speed/c.length*dt)
	}
	c.massT -= out
	if c.discharge != nil {
		c.discharge(out)
	}
	c.totalT += out
	c.loadTPH = out * 3600 / dt
	if c.running() {
		c.powerKW = c.ratedKW * (0.22*c.speed/c.nominal + 0.78*c.loadTPH/c.designTPH)
	} else {
		c.powerKW = 0
	}
	c.currA = motorCurrent(c.powerKW, c.kV, 0.87)
	c.load = c.powerKW / c.ratedKW
	c.stepCondition(dt)
}

// motorCurrent is the line current of a three-phase motor drawing p kW at
// kV line voltage and power factor pf.
func motorCurrent(p, kV, pf float64) float64 {
	if p <= 0 {
		return 0
	}
	return p / (math.Sqrt(3) * kV * pf)
}
