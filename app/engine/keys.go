package engine

import (
	"strings"

	"minebrain/app/opcua"
)

// keyByKind names the signals the overview shows for each kind of unit, best first: what an
// operator glances at to know whether the unit is doing its job. The names are the
// simulator's (app/sim); a unit shows those of them it has, at most maxKeys.
var keyByKind = map[string][]string{
	"ElectricShovel":  {"HoistCurrentA", "PayloadT", "DigRateTPH"},
	"DrillRig":        {"PenetrationRateMH", "PullDownForceKN", "HoleDepthM"},
	"WasteDumper":     {"PayloadT", "SpeedKMH", "FuelLevelPct"},
	"GyratoryCrusher": {"PowerKW", "CavityLevelPct", "FeedRateTPH"},
	"ConeCrusher":     {"PowerKW", "CavityLevelPct", "FeedRateTPH"},
	"JawCrusher":      {"PowerKW", "CavityLevelPct", "FeedRateTPH"},
	"ApronFeeder":     {"FeedRateTPH", "SpeedPct", "BinLevelPct"},
	"Conveyor":        {"LoadTPH", "BeltSpeedMS", "PowerKW"},
	"SurgeBin":        {"LevelPct", "InflowTPH", "OutflowTPH"},
	"DewateringPump":  {"FlowM3H", "DischargePressureBar", "PowerKW"},
	"Sump":            {"LevelPct", "InflowM3H", "OutflowM3H"},
	"Substation":      {"TotalPowerKW", "PowerFactor", "TransformerLoadPct"},
	"Feeder":          {"PowerKW", "CurrentA", "PowerFactor"},
	"BoilerHouse":     {"SupplyTempC", "ReturnTempC", "HeatOutputKW"},
	"ShaftAirHeater":  {"OutletTempC", "AirFlowM3S", "BurnerLoadPct"},
	"WeatherStation":  {"OutdoorTempC", "WindSpeedMS"},
}

const maxKeys = 3

// notKey are signals every unit has (state, mode, condition monitoring): they are shown
// elsewhere and say nothing about what the unit is doing.
var notKey = map[string]bool{
	"RunState": true, "Mode": true, "RunCmd": true,
	"BearingTempC": true, "VibrationMmS": true, "WindingTempC": true,
	"OperatingHours": true, "Starts": true,
}

// keySignals returns the unit's key tags: those of its kind that it has, or else (an unknown
// kind, a differently named server) its first analog process signals.
func keySignals(u opcua.Unit) []string {
	has := make(map[string]string, len(u.Signals))
	for _, s := range u.Signals {
		has[s.Name] = s.Tag
	}
	keys := make([]string, 0, maxKeys)
	for _, name := range keyByKind[u.Kind] {
		if tag, ok := has[name]; ok && len(keys) < maxKeys {
			keys = append(keys, tag)
		}
	}
	if len(keys) > 0 {
		return keys
	}
	for _, s := range u.Signals {
		if len(keys) == maxKeys {
			break
		}
		if isAnalog(s.DataType) && !s.Writable && !notKey[s.Name] && !strings.HasSuffix(s.Name, "SP") {
			keys = append(keys, s.Tag)
		}
	}
	return keys
}

func isAnalog(dataType string) bool {
	return dataType == "Double" || dataType == "Float"
}
