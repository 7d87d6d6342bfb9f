package sim

// euNamespace is the namespace of UNECE unit codes in EUInformation.
const euNamespace = "http://www.opcfoundation.org/UA/units/un/cefact"

// euCodes maps the engineering-unit texts used by the model to their UNECE
// Recommendation 20 common codes and names. Units without a code we are sure
// of get UnitId -1, which the spec allows ("not available").
var euCodes = map[string]struct{ code, name string }{
	"A":     {"AMP", "ampere"},
	"kW":    {"KWT", "kilowatt"},
	"kWh":   {"KWH", "kilowatt hour"},
	"kvar":  {"KVR", "kilovar"},
	"kV":    {"KVT", "kilovolt"},
	"mm":    {"MMT", "millimetre"},
	"m":     {"MTR", "metre"},
	"%":     {"P1", "percent"},
	"°C":    {"CEL", "degree Celsius"},
	"°":     {"DD", "degree (angle)"},
	"bar":   {"BAR", "bar"},
	"mm/s":  {"C16", "millimetre per second"},
	"m/s":   {"MTS", "metre per second"},
	"km/h":  {"KMH", "kilometre per hour"},
	"h":     {"HUR", "hour"},
	"t":     {"TNE", "tonne"},
	"t/h":   {"E18", "tonne per hour"},
	"kN":    {"B47", "kilonewton"},
	"kN·m":  {"B48", "kilonewton metre"},
	"m³":    {"MTQ", "cubic metre"},
	"m³/h":  {"MQH", "cubic metre per hour"},
	"ppm":   {"59", "part per million"},
	"m³/s":  {"MQS", "cubic metre per second"},
	"rpm":   {"", "revolution per minute"},
	"m/h":   {"", "metre per hour"},
	"Nm³/h": {"", "normal cubic metre per hour"},
	"kWh/t": {"", "kilowatt hour per tonne"},
	"":      {"", "dimensionless"},
}

// euUnitID packs a common code into OPC UA's UnitId: the ASCII codes of up
// to three characters, most significant first (Part 8, EUInformation).
func euUnitID(eu string) int32 {
	c := euCodes[eu].code
	if c == "" || len(c) > 3 {
		return -1
	}
	var id int32
	for i := 0; i < len(c); i++ {
		id = id<<8 | int32(c[i])
	}
	return id
}

func euDescription(eu string) string {
	if e, ok := euCodes[eu]; ok {
		return e.name
	}
	return eu
}
