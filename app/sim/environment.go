package sim

import (
	"math"
	"time"
)

// Electricity tariff periods (Power.SS1.TariffPeriod): a three-zone day tariff
// of the kind Russian and Kazakh mines buy on, which is what makes
// tariff-aware dewatering worth a plugin.
const (
	TariffNight    int32 = 0 // 23:00-07:00, cheapest
	TariffShoulder int32 = 1 // 10:00-17:00 and 21:00-23:00
	TariffPeak     int32 = 2 // 07:00-10:00 and 17:00-21:00, dearest
)

// environment holds the plant-wide conditions every unit shares. It is
// recomputed from the simulated time at each step, so it is a pure function
// of (seed, Config.Start, time).
type environment struct {
	clock      time.Time
	hour       float64 // local hour of day, 0..24
	outdoorC   float64 // outdoor air temperature
	windMS     float64
	tariff     int32
	tariffName string
	workIndex  float64 // Bond work index of the ore being fed, kWh/t: "hardness"
	groundM3H  float64 // groundwater inflow to the pit-bottom sump
	rainM3H    float64 // extra inflow from rain or snowmelt events
	seepM3H    float64 // seepage into the transfer sump
}

var (
	streamWeather  = streamID("env.weather")
	streamWeather2 = streamID("env.weather.fast")
	streamWind     = streamID("env.wind")
	streamWind2    = streamID("env.wind.gust")
	streamOre      = streamID("env.ore")
	streamOre2     = streamID("env.ore.fast")
	streamGround   = streamID("env.groundwater")
	streamRain     = streamID("env.rain")
	streamSeep     = streamID("env.seepage")
)

func (e *environment) update(m *Mine, t float64) {
	n := m.noise
	e.clock = m.cfg.Start.Add(time.Duration(t * float64(time.Second)))
	e.hour = float64(e.clock.Hour()) + float64(e.clock.Minute())/60 + float64(e.clock.Second())/3600

	// Winter at an iron mine on the steppe: about -12 °C on average, coldest
	// around 04:00 and warmest around 16:00, with weather fronts over hours.
	diurnal := -math.Cos(2 * math.Pi * (e.hour - 4) / 24)
	e.outdoorC = -12 + 5*diurnal + 7*n.smooth(streamWeather, t, 6*3600) + 1.5*n.smooth(streamWeather2, t, 40*60)
	e.windMS = math.Max(0, 5+3.5*n.smooth(streamWind, t, 30*60)+1.2*n.smooth(streamWind2, t, 3*60))

	e.tariff = tariffAt(e.hour)
	e.tariffName = [...]string{"Night", "Shoulder", "Peak"}[e.tariff]

	// Ore hardness changes as the shovels move through the ore body.
	e.workIndex = 13 + 2.5*n.smooth(streamOre, t, 25*60) + 0.7*n.smooth(streamOre2, t, 4*60)

	e.groundM3H = 250 + 40*n.smooth(streamGround, t, 3*3600)
	// Rain (or a thaw) only when the slow weather process is high, so most of
	// the time there is none and sometimes there is a lot.
	r := n.smooth(streamRain, t, 2*3600)
	e.rainM3H = 0
	if r > 0.55 {
		e.rainM3H = (r - 0.55) / 0.45 * 600
	}
	e.seepM3H = 50 + 10*n.smooth(streamSeep, t, 2*3600)
}

// tariffAt returns the tariff period for a local hour of day.
func tariffAt(hour float64) int32 {
	switch {
	case hour >= 23 || hour < 7:
		return TariffNight
	case (hour >= 7 && hour < 10) || (hour >= 17 && hour < 21):
		return TariffPeak
	default:
		return TariffShoulder
	}
}
