package engine

import "minebrain/app/opcua"

// Model is the site's equipment as the UI shows it (Contract 2: Model()).
type Model struct {
	Site  string `json:"site"`
	Areas []Area `json:"areas"`
}

// Area groups units, e.g. Pit.
type Area struct {
	Name  string `json:"name"`
	Units []Unit `json:"units"`
}

// Unit is one piece of equipment.
type Unit struct {
	ID          string `json:"id"`
	Area        string `json:"area"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	Kind        string `json:"kind"`
	// Connection is the site connection that delivers the unit's values (and will carry its
	// commands).
	Connection string `json:"connection"`
	// Key lists the 2–3 tags the overview shows for this unit; see keySignals.
	Key     []string `json:"key"`
	Signals []Signal `json:"signals"`
}

// Signal is one variable of a unit.
type Signal struct {
	Tag         string `json:"tag"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// Unit is the engineering unit text, e.g. "kW"; empty when the signal has none.
	Unit string `json:"unit"`
	// Low and High are the engineering range, omitted when unknown.
	Low      *float64 `json:"low,omitempty"`
	High     *float64 `json:"high,omitempty"`
	DataType string   `json:"dataType"`
	Writable bool     `json:"writable"`
}

// UnitCount returns the number of units in the model.
func (m Model) UnitCount() int {
	n := 0
	for _, a := range m.Areas {
		n += len(a.Units)
	}
	return n
}

// buildModel turns discovered equipment into the UI model. Slices are never nil, so the
// JSON has [] rather than null.
func buildModel(site string, eq opcua.Equipment) Model {
	m := Model{Site: site, Areas: make([]Area, 0, len(eq.Areas))}
	for _, a := range eq.Areas {
		area := Area{Name: a.Name, Units: make([]Unit, 0, len(a.Units))}
		for _, u := range a.Units {
			unit := Unit{
				ID:          u.ID,
				Area:        u.Area,
				Name:        u.Name,
				DisplayName: u.DisplayName,
				Kind:        u.Kind,
				Signals:     make([]Signal, 0, len(u.Signals)),
			}
			for _, s := range u.Signals {
				sig := Signal{
					Tag:         s.Tag,
					Name:        s.Name,
					Description: s.Description,
					Unit:        s.EngineeringUnits,
					DataType:    s.DataType,
					Writable:    s.Writable,
				}
				if s.Range != nil {
					lo, hi := s.Range.Low, s.Range.High
					sig.Low, sig.High = &lo, &hi
				}
				unit.Signals = append(unit.Signals, sig)
			}
			unit.Key = keySignals(u)
			area.Units = append(area.Units, unit)
		}
		m.Areas = append(m.Areas, area)
	}
	return m
}
