package sim

import (
	"fmt"
	"math"
)

// DataType is the OPC UA built-in type a signal is published as.
type DataType int

// The data types used by the simulated mine (Contract 1).
const (
	Double DataType = iota + 1
	Int32
	UInt32
	Boolean
	String
)

// String returns the OPC UA name of the type ("Double", "Int32", ...).
func (d DataType) String() string {
	switch d {
	case Double:
		return "Double"
	case Int32:
		return "Int32"
	case UInt32:
		return "UInt32"
	case Boolean:
		return "Boolean"
	case String:
		return "String"
	}
	return fmt.Sprintf("DataType(%d)", int(d))
}

// SignalInfo describes one signal (an OPC UA variable under a unit). It is
// what a client learns by browsing; the model exposes it so tools and tests
// can enumerate tags without a server.
type SignalInfo struct {
	Tag         string // "Pit.SH01.HoistCurrentA": the NodeId string and Minebrain's tag name
	Unit        string // owning unit id, "Pit.SH01"
	Name        string // "HoistCurrentA"
	Description string // human description, also the OPC UA Description attribute
	DataType    DataType
	EU          string  // engineering unit text ("A", "t/h"); empty when not analog
	Low, High   float64 // EURange; meaningful only when Analog
	Analog      bool    // has EngineeringUnits and EURange properties
	Writable    bool    // a command or setpoint (AccessLevel CurrentWrite)
}

// signal binds a SignalInfo to the model state that produces its value.
type signal struct {
	SignalInfo
	unit   *unit
	stream uint64
	read   func() any // true (noise-free) value, of the Go type matching DataType

	// Measurement model for Double signals: Gaussian noise with standard
	// deviation sigma in engineering units, clamped to the EURange (as a
	// transmitter saturates) and rounded to decimals.
	sigma    float64
	decimals int

	// write applies a validated value; nil for read-only signals. Mine.Write
	// lets it run only while the unit is in remote mode.
	write func(v any) error
}

// noise sets the measurement noise (standard deviation, engineering units).
func (s *signal) noise(sigma float64) *signal { s.sigma = sigma; return s }

// dec sets how many decimals the published value keeps.
func (s *signal) dec(n int) *signal { s.decimals = n; return s }

// measure returns the value a transmitter would report at the given step.
// A true value of exactly zero stays zero: it means "off" (no flow, motor
// stopped) and real instruments have a low cut-off, so a stopped machine does
// not flicker.
func (s *signal) measure(n noiseSource, step int64) any {
	v := s.read()
	f, ok := v.(float64)
	if !ok {
		return v
	}
	if s.sigma > 0 && f != 0 {
		f += s.sigma * n.gauss(s.stream, uint64(step))
	}
	if s.Analog {
		f = math.Max(s.Low, math.Min(s.High, f))
	}
	p := math.Pow(10, float64(s.decimals))
	f = math.Round(f*p) / p
	if f == 0 {
		f = 0 // no negative zero on the wire
	}
	return f
}

// addSignal registers a signal on the unit and in the mine.
func (u *unit) addSignal(s *signal) *signal {
	s.unit = u
	s.Unit = u.id
	s.Tag = u.id + "." + s.Name
	s.stream = streamID(s.Tag)
	if s.decimals == 0 && s.DataType == Double {
		s.decimals = 2
	}
	u.signals = append(u.signals, s)
	u.mine.register(s)
	return s
}

// analog adds a read-only Double with engineering unit and range.
func (u *unit) analog(name, desc, eu string, lo, hi float64, p *float64) *signal {
	return u.addSignal(&signal{
		SignalInfo: SignalInfo{Name: name, Description: desc, DataType: Double, EU: eu, Low: lo, High: hi, Analog: true},
		read:       func() any { return *p },
		sigma:      (hi - lo) * 0.001,
	})
}

// setpoint adds a writable Double that must stay within [lo, hi] (its
// EURange). The unit's physics reads the stored value at its next step.
func (u *unit) setpoint(name, desc, eu string, lo, hi float64, p *float64) *signal {
	return u.addSignal(&signal{
		SignalInfo: SignalInfo{Name: name, Description: desc, DataType: Double, EU: eu, Low: lo, High: hi, Analog: true, Writable: true},
		read:       func() any { return *p },
		write: func(v any) error {
			f := v.(float64)
			if math.IsNaN(f) || f < lo || f > hi {
				return fmt.Errorf("%w: %g not in [%g, %g]", ErrOutOfRange, f, lo, hi)
			}
			*p = f
			return nil
		},
	})
}

// int32 adds a read-only Int32 (states and enumerations).
func (u *unit) int32(name, desc string, p *int32) *signal {
	return u.addSignal(&signal{
		SignalInfo: SignalInfo{Name: name, Description: desc, DataType: Int32},
		read:       func() any { return *p },
	})
}

// uint32 adds a read-only UInt32 (counters).
func (u *unit) uint32(name, desc string, p *uint32) *signal {
	return u.addSignal(&signal{
		SignalInfo: SignalInfo{Name: name, Description: desc, DataType: UInt32},
		read:       func() any { return *p },
	})
}

// boolean adds a read-only Boolean.
func (u *unit) boolean(name, desc string, p *bool) *signal {
	return u.addSignal(&signal{
		SignalInfo: SignalInfo{Name: name, Description: desc, DataType: Boolean},
		read:       func() any { return *p },
	})
}

// text adds a read-only String.
func (u *unit) text(name, desc string, p *string) *signal {
	return u.addSignal(&signal{
		SignalInfo: SignalInfo{Name: name, Description: desc, DataType: String},
		read:       func() any { return *p },
	})
}

// command adds a writable Boolean whose writes go through set, which may
// refuse them (for example a start request for a faulted unit).
func (u *unit) command(name, desc string, get func() bool, set func(bool) error) *signal {
	return u.addSignal(&signal{
		SignalInfo: SignalInfo{Name: name, Description: desc, DataType: Boolean, Writable: true},
		read:       func() any { return get() },
		write:      func(v any) error { return set(v.(bool)) },
	})
}

// checkType reports whether v has the Go type that carries d.
func checkType(d DataType, v any) bool {
	switch v.(type) {
	case float64:
		return d == Double
	case int32:
		return d == Int32
	case uint32:
		return d == UInt32
	case bool:
		return d == Boolean
	case string:
		return d == String
	}
	return false
}
