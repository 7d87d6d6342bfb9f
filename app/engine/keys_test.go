package engine

import (
	"slices"
	"testing"

	"minebrain/app/opcua"
)

func sig(name, dataType string, writable bool) opcua.Signal {
	return opcua.Signal{Tag: "A.U." + name, Name: name, DataType: dataType, Writable: writable}
}

func TestKeySignals(t *testing.T) {
	common := []opcua.Signal{
		sig("RunState", "Int32", false), sig("Mode", "Int32", false), sig("RunCmd", "Boolean", true),
		sig("BearingTempC", "Double", false), sig("VibrationMmS", "Double", false),
	}
	for _, c := range []struct {
		name string
		unit opcua.Unit
		want []string
	}{
		{"known kind, table order, missing ones skipped",
			opcua.Unit{Kind: "ElectricShovel", Signals: append(slices.Clone(common),
				sig("PayloadT", "Double", false), sig("SwingAngleDeg", "Double", false), sig("HoistCurrentA", "Double", false))},
			[]string{"A.U.HoistCurrentA", "A.U.PayloadT"}},
		{"crusher",
			opcua.Unit{Kind: "GyratoryCrusher", Signals: append(slices.Clone(common),
				sig("FeedRateTPH", "Double", false), sig("CavityLevelPct", "Double", false), sig("PowerKW", "Double", false))},
			[]string{"A.U.PowerKW", "A.U.CavityLevelPct", "A.U.FeedRateTPH"}},
		{"unknown kind falls back to the first analog process signals",
			opcua.Unit{Kind: "Mystery", Signals: append(slices.Clone(common),
				sig("LevelSP", "Double", true), sig("Count", "UInt32", false), sig("A1", "Double", false),
				sig("A2", "Float", false), sig("A3", "Double", false), sig("A4", "Double", false))},
			[]string{"A.U.A1", "A.U.A2", "A.U.A3"}},
		{"nothing analog", opcua.Unit{Kind: "Mystery", Signals: common}, []string{}},
	} {
		if got := keySignals(c.unit); !slices.Equal(got, c.want) {
			t.Errorf("%s: keySignals = %v, want %v", c.name, got, c.want)
		}
	}
}
