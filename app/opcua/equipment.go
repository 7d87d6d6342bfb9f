package opcua

import "slices"

// Equipment is the discovered equipment tree of a server: areas, their units and the units'
// signals, in browse order.
type Equipment struct {
	Areas []Area
}

// Area groups units, e.g. Pit, Crushing, Water.
type Area struct {
	Name  string
	Units []Unit
}

// Unit is one piece of equipment, e.g. an electric shovel.
type Unit struct {
	// ID is the unit's tag prefix, e.g. "Pit.SH01".
	ID string
	// Area is the name of the area the unit is in.
	Area string
	// Name is the unit's browse name, e.g. "SH01".
	Name string
	// DisplayName is the human name, e.g. "Electric shovel SH01".
	DisplayName string
	// Kind is the unit object's Description, e.g. "ElectricShovel".
	Kind    string
	Signals []Signal
}

// Signal is one variable of a unit.
type Signal struct {
	// Tag is the name used everywhere inside Minebrain, e.g. "Pit.SH01.HoistCurrentA".
	Tag string
	// Name is the browse name, e.g. "HoistCurrentA".
	Name        string
	Description string
	// EngineeringUnits is the unit text from the EngineeringUnits property, e.g. "kW".
	EngineeringUnits string
	// Range is the EURange property, nil when the signal has none.
	Range *Range
	// DataType is the built-in type name: Double, Int32, UInt32, Boolean, String, ...
	DataType string
	// Writable is true when the AccessLevel has the CurrentWrite bit.
	Writable bool
}

// Range is an engineering range.
type Range struct {
	Low, High float64
}

// SignalCount returns the number of signals in the tree.
func (e Equipment) SignalCount() int {
	n := 0
	for _, a := range e.Areas {
		for _, u := range a.Units {
			n += len(u.Signals)
		}
	}
	return n
}

// unit returns the unit of that area and name, adding the area and the unit (with ID
// area.name) when they are new. The pointer is valid until the next call.
func (e *Equipment) unit(area, name string) *Unit {
	ai := slices.IndexFunc(e.Areas, func(a Area) bool { return a.Name == area })
	if ai < 0 {
		e.Areas = append(e.Areas, Area{Name: area})
		ai = len(e.Areas) - 1
	}
	a := &e.Areas[ai]
	ui := slices.IndexFunc(a.Units, func(u Unit) bool { return u.Name == name })
	if ui < 0 {
		a.Units = append(a.Units, Unit{ID: area + "." + name, Area: area, Name: name})
		ui = len(a.Units) - 1
	}
	return &a.Units[ui]
}
