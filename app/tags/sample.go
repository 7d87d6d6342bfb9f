package tags

import "time"

// Sample is one observation of a tag: the value with its OPC UA status code and both
// timestamps, carried unchanged from the server to every consumer.
type Sample struct {
	// Value is float64, int64, uint64, bool, string or nil (never received, or unknown type).
	Value any
	// Status is the OPC UA status code; 0 is Good. See QualityOf.
	Status uint32
	// SourceTime is when the value was measured at its source.
	SourceTime time.Time
	// ServerTime is when the server last saw or produced the value.
	ServerTime time.Time
}

// Quality is the coarse class of a status code: the top two bits of the code.
type Quality uint8

// The quality classes of OPC UA Part 4 (7.39): the top two bits 00 good, 01 uncertain,
// 10 bad. 11 is reserved and treated as bad.
const (
	Good Quality = iota
	Uncertain
	Bad
)

// String returns "good", "uncertain" or "bad".
func (q Quality) String() string {
	switch q {
	case Good:
		return "good"
	case Uncertain:
		return "uncertain"
	default:
		return "bad"
	}
}

// QualityOf classifies an OPC UA status code.
func QualityOf(status uint32) Quality {
	switch status >> 30 {
	case 0:
		return Good
	case 1:
		return Uncertain
	default:
		return Bad
	}
}

// Quality classifies the sample's status code.
func (s Sample) Quality() Quality { return QualityOf(s.Status) }

// Number is a sample's value as a number: any of Go's numeric types (a value written or
// simulated may be narrower than the table's float64, int64, uint64), bool as 0 or 1; false
// for strings, nil and anything else.
func Number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}
