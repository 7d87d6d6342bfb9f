package sim

import "math"

const (
	busKVNominal    = 6.3   // 6 kV distribution bus
	incomerKV       = 110.0 // grid side of the main transformer
	transformerKVA  = 40000.0
	feederLossShare = 0.015 // cable and transformer losses on a feeder
)

// substation is the 110/6 kV main substation. RunState is its incomer
// breaker: opening it blacks out every feeder. It also carries the
// electricity tariff period, which tariff-aware plugins schedule against.
type substation struct {
	*equipment
	feeders    []*feeder
	totalKW    float64
	kvar       float64
	pf         float64
	energyKWh  float64
	loadPct    float64
	inKV       float64
	busKV      float64
	tariff     int32
	tariffName string
	gridStream uint64
}

func (s *substation) energised() bool { return s.state == RunRunning }

func (m *Mine) newSubstation(name string) *substation {
	u := m.newUnit("Power", name, "Substation", "Main substation "+name+" 110/6 kV")
	s := &substation{equipment: m.newEquipment(u, true, nil), gridStream: streamID(u.id + ".grid")}
	s.energyKWh = math.Round(m.noise.between(streamID(u.id+".energy"), 0, 2e8, 6e8))
	u.analog("TotalPowerKW", "Active power drawn by the mine", "kW", 0, 40000, &s.totalKW).noise(5).dec(0)
	u.analog("ReactivePowerKVAr", "Reactive power", "kvar", 0, 40000, &s.kvar).noise(5).dec(0)
	u.analog("PowerFactor", "Power factor at the 6 kV bus", "", 0, 1, &s.pf).noise(0.001).dec(3)
	u.analog("EnergyKWh", "Active energy meter", "kWh", 0, 1e12, &s.energyKWh).noise(0).dec(1)
	u.analog("TransformerLoadPct", "Main transformer load (apparent power share of 40 MVA)", "%", 0, 150, &s.loadPct).noise(0.05).dec(1)
	u.analog("IncomingVoltageKV", "Grid voltage at the incomer", "kV", 0, 130, &s.inKV).noise(0.05).dec(2)
	u.analog("BusVoltageKV", "6 kV bus voltage", "kV", 0, 7.5, &s.busKV).noise(0.005).dec(3)
	u.int32("TariffPeriod", "Electricity tariff period: 0 night (cheapest), 1 shoulder, 2 peak (dearest)", &s.tariff)
	u.text("TariffName", "Electricity tariff period name", &s.tariffName)
	s.addCondition(condWinding | condHours | condStarts)
	return s
}

func (s *substation) step(dt float64) {
	m := s.m
	p, q := 0.0, 0.0
	for _, f := range s.feeders {
		p += f.powerKW
		q += f.kvar
	}
	sVA := math.Hypot(p, q)
	s.totalKW, s.kvar = p, q
	s.pf = 0
	if sVA > 0 {
		s.pf = p / sVA
	}
	s.energyKWh += p * dt / 3600
	s.loadPct = 100 * sVA / transformerKVA
	s.tariff, s.tariffName = m.env.tariff, m.env.tariffName
	grid := incomerKV + 1.2*m.noise.smooth(s.gridStream, m.seconds(), 600)
	if s.energised() {
		s.inKV = grid * (1 - 0.01*s.loadPct/100)
		s.busKV = busKVNominal * (1 - 0.04*s.loadPct/100) * s.inKV / incomerKV
	} else {
		s.inKV, s.busKV = grid, 0
	}
	// The transformer heats with its load like a motor winding; it has no
	// bearings.
	s.load = sVA / transformerKVA
	s.stepCondition(dt)
}

// feeder is a 6 kV outgoing feeder. RunState is its breaker; opening it stops
// every unit it supplies, and they must be restarted. PowerKW sums its loads.
type feeder struct {
	*equipment
	ss        *substation
	loads     []func() float64
	base      func() float64 // services not modelled unit by unit
	pfBase    float64
	ratedKW   float64
	powerKW   float64
	currA     float64
	pf        float64
	kvar      float64
	energyKWh float64
}

func (f *feeder) energised() bool { return f.state == RunRunning && f.ss.energised() }

func (m *Mine) newFeeder(ss *substation, name, what string, pfBase, ratedKW float64) *feeder {
	u := m.newUnit("Power", name, "Feeder", "Feeder "+name+" ("+what+")")
	f := &feeder{equipment: m.newEquipment(u, false, nil), ss: ss, pfBase: pfBase, ratedKW: ratedKW}
	f.energyKWh = math.Round(m.noise.between(streamID(u.id+".energy"), 0, 2e7, 1e8))
	ss.feeders = append(ss.feeders, f)
	u.analog("PowerKW", "Active power: the sum of the loads on this feeder", "kW", 0, 15000, &f.powerKW).noise(2).dec(1)
	u.analog("CurrentA", "Feeder current", "A", 0, 1500, &f.currA).noise(0.3).dec(1)
	u.analog("PowerFactor", "Power factor", "", 0, 1, &f.pf).noise(0.001).dec(3)
	u.analog("ReactivePowerKVAr", "Reactive power", "kvar", 0, 15000, &f.kvar).noise(2).dec(1)
	u.analog("EnergyKWh", "Active energy meter", "kWh", 0, 1e12, &f.energyKWh).noise(0).dec(1)
	f.addCondition(condHours | condStarts)
	return f
}

func (f *feeder) step(dt float64) {
	p := 0.0
	if f.energised() {
		for _, l := range f.loads {
			p += l()
		}
		if f.base != nil {
			p += f.base()
		}
		p *= 1 + feederLossShare
	}
	f.powerKW = p
	// Drives and motors run at a better power factor near full load.
	f.pf = 0
	if p > 0 {
		f.pf = math.Min(0.99, f.pfBase+0.06*math.Min(1, p/f.ratedKW))
	}
	f.kvar = 0
	if f.pf > 0 {
		f.kvar = p * math.Tan(math.Acos(f.pf))
	}
	f.currA = 0
	if f.pf > 0 {
		f.currA = p / (math.Sqrt(3) * busKVNominal * f.pf)
	}
	f.energyKWh += p * dt / 3600
	if f.state == RunRunning && f.ss.energised() {
		f.hours += dt / 3600 // hours energised
	}
}
