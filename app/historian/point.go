package historian

import (
	"math"
	"time"
)

// Sample is one value of one tag as it arrives from the plant: the tag name, the source
// timestamp, the value and the OPC UA status code (0 = Good).
//
// Values are float64 in this increment: booleans and integers are stored as float64 (exact for
// integers up to 2^53); strings are not stored yet.
type Sample struct {
	Tag    string
	Time   time.Time
	Value  float64
	Status uint32
}

// Point is one stored sample of a tag: T in Unix nanoseconds, the value and the OPC UA status
// code. Queries return Points; the block codec encodes them.
type Point struct {
	T int64
	V float64
	S uint32
}

// Time returns the point's timestamp as a time.Time.
func (p Point) Time() time.Time { return time.Unix(0, p.T) }

// IsGood reports whether an OPC UA status code is Good (its top two bits are 00).
func IsGood(status uint32) bool { return status>>30 == 0 }

// usable is the aggregates' notion of a good sample: Good status and a number (not NaN).
func usable(v float64, s uint32) bool { return IsGood(s) && !math.IsNaN(v) }
