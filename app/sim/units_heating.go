package sim

import "math"

// newWeatherStation publishes the outdoor conditions every heating and
// outdoor unit responds to.
func (m *Mine) newWeatherStation(name string) {
	u := m.newUnit("Heating", name, "WeatherStation", "Weather station "+name)
	u.analog("OutdoorTempC", "Outdoor air temperature", "°C", -50, 50, &m.env.outdoorC).noise(0.05).dec(1)
	u.analog("WindSpeedMS", "Wind speed", "m/s", 0, 40, &m.env.windMS).noise(0.1).dec(1)
}

const (
	airDensity   = 1.3   // kg/m³, cold air
	airHeatKJ    = 1.005 // kJ/(kg·K)
	gasLHVkWhNm3 = 9.5   // natural gas, lower heating value
)

// airHeater is a direct gas-fired shaft air heater: it warms the ventilation
// air going down the mine's decline so the intake does not ice up. The outlet
// follows its setpoint with a lag, until the burner runs out of capacity in
// deep cold; near full fire combustion worsens and CO in the supply air rises.
type airHeater struct {
	*equipment
	sp, outletC  float64
	airflow      float64 // m³/s
	burner       float64 // 0..1
	burnerPct    float64
	gasNm3H      float64
	coPPM        float64
	fanKW        float64
	maxKW        float64
	nomFlow      float64
	coStream     uint64
	outletStream uint64
}

func (m *Mine) newAirHeater(name string, supply energiser) *airHeater {
	u := m.newUnit("Heating", name, "ShaftAirHeater", "Shaft air heater "+name)
	h := &airHeater{equipment: m.newEquipment(u, false, supply), sp: 5, maxKW: 2500, nomFlow: 60, coStream: streamID(u.id + ".co")}
	h.airflow = h.nomFlow
	u.analog("OutletTempC", "Heated air temperature at the outlet", "°C", -50, 60, &h.outletC).noise(0.05).dec(2)
	u.setpoint("OutletTempSP", "Outlet air temperature setpoint", "°C", -10, 30, &h.sp)
	u.analog("AirFlowM3S", "Supply air flow", "m³/s", 0, 100, &h.airflow).noise(0.1).dec(1)
	u.analog("BurnerLoadPct", "Burner firing rate", "%", 0, 100, &h.burnerPct).noise(0.1).dec(1)
	u.analog("GasFlowNM3H", "Natural gas flow", "Nm³/h", 0, 400, &h.gasNm3H).noise(0.5).dec(1)
	u.analog("CoPpm", "Carbon monoxide in the heated supply air", "ppm", 0, 200, &h.coPPM).noise(0.15).dec(1)
	u.analog("PowerKW", "Fan motor power", "kW", 0, 150, &h.fanKW).noise(0.2).dec(1)
	h.addCondition(condAll)
	return h
}

// maxRise is the largest temperature rise the burner can give the air.
func (h *airHeater) maxRise() float64 {
	return h.maxKW / (airDensity * airHeatKJ * math.Max(h.airflow, 1))
}

func (h *airHeater) step(dt float64) {
	m := h.m
	h.checkSupply()
	out := m.env.outdoorC
	if h.running() {
		m.lag(&h.airflow, h.nomFlow, 20, dt)
		rise := h.maxRise()
		need := clamp((h.sp-out)/rise, 0, 1)
		m.lag(&h.burner, need, 45, dt)
		m.lag(&h.outletC, out+h.burner*rise, 90, dt)
	} else {
		m.lag(&h.airflow, 0, 30, dt)
		m.lag(&h.burner, 0, 5, dt)
		m.lag(&h.outletC, out, 600, dt)
	}
	h.burnerPct = 100 * h.burner
	h.gasNm3H = h.burner * h.maxKW / gasLHVkWhNm3
	co := 0.0
	if h.running() && h.burner > 0.02 {
		co = 3 + 6*h.burner + 30*math.Max(0, h.burner-0.85)/0.15 + 1.5*m.noise.smooth(h.coStream, m.seconds(), 300)
	}
	m.lag(&h.coPPM, math.Max(0, co), 20, dt)
	h.fanKW = 0
	if h.running() {
		// Fan power goes with the cube of flow.
		h.fanKW = 3 + 110*math.Pow(h.airflow/h.nomFlow, 3)
	}
	h.load = h.fanKW / 115
	h.stepCondition(dt)
}

// boilerHouse is the hot-water boiler house that heats the mine's buildings.
// The buildings take heat in proportion to the indoor-outdoor difference and
// to how hot the supply water is; the boiler controller fires to hold the
// supply temperature at its setpoint, and the return temperature is what is
// left after the buildings took their share.
type boilerHouse struct {
	*equipment
	sp, supplyC, returnC float64
	heatKW, flowM3H      float64
	gasNm3H, auxKW       float64
	demandKW             float64
	maxKW, ua            float64
}

const (
	boilerNetworkFlow = 220.0        // m³/h when the circulation pumps run
	waterHeat         = 1.163        // kWh/(m³·K)
	networkCapacity   = 232.6 * 1200 // kJ/K: the water in the heating network
	designSupplyC     = 90.0         // radiators deliver their design heat at this supply temperature
	indoorC           = 18.0
	hotWaterBaseKW    = 600.0 // domestic hot water, independent of weather
	boilerGain        = 500.0 // kW per K of supply temperature error
	boilerEff         = 0.92
)

func (m *Mine) newBoilerHouse(name string, supply energiser) *boilerHouse {
	u := m.newUnit("Heating", name, "BoilerHouse", "Boiler house "+name)
	b := &boilerHouse{equipment: m.newEquipment(u, false, supply), sp: 85, supplyC: 85, maxKW: 10000, ua: 200}
	u.analog("SupplyTempC", "Heating network supply water temperature", "°C", 0, 150, &b.supplyC).noise(0.05).dec(2)
	u.setpoint("SupplyTempSP", "Supply water temperature setpoint", "°C", 60, 115, &b.sp)
	u.analog("ReturnTempC", "Heating network return water temperature", "°C", 0, 150, &b.returnC).noise(0.05).dec(2)
	u.analog("HeatOutputKW", "Boiler heat output", "kW", 0, 12000, &b.heatKW).noise(5).dec(0)
	u.analog("HeatDemandKW", "Heat taken by the buildings and hot water", "kW", 0, 12000, &b.demandKW).noise(5).dec(0)
	u.analog("NetworkFlowM3H", "Heating network circulation flow", "m³/h", 0, 400, &b.flowM3H).noise(0.5).dec(1)
	u.analog("GasFlowNM3H", "Natural gas flow to the boilers", "Nm³/h", 0, 1500, &b.gasNm3H).noise(1).dec(1)
	u.analog("PowerKW", "Electrical power: circulation pumps and burner fans", "kW", 0, 400, &b.auxKW).noise(0.5).dec(1)
	b.addCondition(condAll)
	return b
}

func (b *boilerHouse) step(dt float64) {
	m := b.m
	b.checkSupply()
	design := b.ua*math.Max(0, indoorC-m.env.outdoorC) + hotWaterBaseKW
	// Radiators give off heat in proportion to how far the supply water is
	// above room temperature.
	b.demandKW = design * clamp((b.supplyC-indoorC)/(designSupplyC-indoorC), 0, 1.5)
	if b.running() {
		m.lag(&b.flowM3H, boilerNetworkFlow, 30, dt)
		fire := clamp(design+boilerGain*(b.sp-b.supplyC), 0, b.maxKW)
		m.lag(&b.heatKW, fire, 120, dt)
	} else {
		m.lag(&b.flowM3H, 0, 30, dt)
		m.lag(&b.heatKW, 0, 60, dt)
	}
	if !m.settling {
		b.supplyC += (b.heatKW - b.demandKW) * dt / networkCapacity
	}
	b.supplyC = math.Max(b.supplyC, indoorC-10)
	if b.flowM3H > 1 {
		b.returnC = math.Max(indoorC, b.supplyC-b.demandKW/(b.flowM3H*waterHeat))
	} else {
		m.lag(&b.returnC, b.supplyC, 300, dt)
	}
	b.gasNm3H = b.heatKW / (gasLHVkWhNm3 * boilerEff)
	b.auxKW = 0
	if b.running() {
		b.auxKW = 90 + 0.01*b.heatKW
	}
	b.load = b.auxKW / 200
	b.stepCondition(dt)
}
