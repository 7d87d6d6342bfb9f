package sim

import (
	"testing"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
)

func testSpace(t *testing.T) *addressSpace {
	t.Helper()
	a := newAddressSpace(NamespaceURI)
	a.SetID(2)
	a.build(NewMine(Config{Seed: 1}))
	return a
}

func TestBrowseFilters(t *testing.T) {
	a := testSpace(t)
	browse := func(tag string, dir ua.BrowseDirection, ref uint32, sub bool, mask ua.NodeClass) []string {
		t.Helper()
		res := a.Browse(&ua.BrowseDescription{NodeID: ua.NewStringNodeID(2, tag), BrowseDirection: dir,
			ReferenceTypeID: ua.NewNumericNodeID(0, ref), IncludeSubtypes: sub, NodeClassMask: uint32(mask)})
		if res.StatusCode != ua.StatusGood {
			t.Fatalf("browse %s: %v", tag, res.StatusCode)
		}
		var out []string
		for _, r := range res.References {
			out = append(out, r.BrowseName.Name)
		}
		return out
	}
	fwd, inv, both := ua.BrowseDirectionForward, ua.BrowseDirectionInverse, ua.BrowseDirectionBoth
	for _, tc := range []struct {
		what string
		got  []string
		want int
	}{
		{"all references of CR1.PowerKW", browse("Crushing.CR1.PowerKW", both, 0, false, 0), 4}, // unit, type, 2 properties
		{"forward HasChild with subtypes", browse("Crushing.CR1.PowerKW", fwd, id.HasChild, true, 0), 2},
		{"forward HasChild without subtypes", browse("Crushing.CR1.PowerKW", fwd, id.HasChild, false, 0), 0},
		{"forward HasProperty", browse("Crushing.CR1.PowerKW", fwd, id.HasProperty, false, 0), 2},
		{"type definition", browse("Crushing.CR1.PowerKW", fwd, id.HasTypeDefinition, false, 0), 1},
		{"inverse to the unit", browse("Crushing.CR1.PowerKW", inv, id.HierarchicalReferences, true, 0), 1},
		{"areas as objects", browse("Mine", fwd, id.Organizes, false, ua.NodeClassObject), 6},
		{"areas as variables", browse("Mine", fwd, id.Organizes, false, ua.NodeClassVariable), 0},
		{"Mine's parent", browse("Mine", inv, id.Organizes, false, 0), 1},
	} {
		if len(tc.got) != tc.want {
			t.Errorf("%s: %v, want %d references", tc.what, tc.got, tc.want)
		}
	}
	if res := a.Browse(&ua.BrowseDescription{NodeID: ua.NewStringNodeID(2, "Nope")}); res.StatusCode != ua.StatusBadNodeIDUnknown {
		t.Errorf("browse unknown node: %v", res.StatusCode)
	}
	if res := a.Browse(&ua.BrowseDescription{NodeID: ua.NewStringNodeID(3, "Mine")}); res.StatusCode != ua.StatusBadNodeIDUnknown {
		t.Errorf("browse another namespace: %v", res.StatusCode)
	}
}

func TestAttributes(t *testing.T) {
	a := testSpace(t)
	unit := ua.NewStringNodeID(2, "Crushing.CR1")
	sig := ua.NewStringNodeID(2, "Crushing.CR1.CssSP")
	if v := a.Attribute(unit, ua.AttributeIDDescription).Value.Value().(*ua.LocalizedText).Text; v != "GyratoryCrusher" {
		t.Errorf("unit Description %q", v)
	}
	if v := a.Attribute(unit, ua.AttributeIDDisplayName).Value.Value().(*ua.LocalizedText).Text; v != "Primary gyratory crusher CR1" {
		t.Errorf("unit DisplayName %q", v)
	}
	for attr, want := range map[ua.AttributeID]ua.StatusCode{
		ua.AttributeIDValue:       ua.StatusBadAttributeIDInvalid, // objects have no value
		ua.AttributeIDDataType:    ua.StatusBadAttributeIDInvalid,
		ua.AttributeIDInverseName: ua.StatusBadAttributeIDInvalid,
	} {
		if got := a.Attribute(unit, attr).Status; got != want {
			t.Errorf("unit attribute %v: %v, want %v", attr, got, want)
		}
	}
	if got := a.Attribute(sig, ua.AttributeIDEventNotifier).Status; got != ua.StatusBadAttributeIDInvalid {
		t.Errorf("variable EventNotifier: %v", got)
	}
	if v := a.Attribute(sig, ua.AttributeIDValueRank).Value.Value(); v != int32(-1) {
		t.Errorf("ValueRank %v", v)
	}
	if v := a.Attribute(sig, ua.AttributeIDAccessLevel).Value.Value(); v != byte(3) {
		t.Errorf("AccessLevel %v", v)
	}
	// No write handler yet: writes are refused, never stored blindly.
	if got := a.SetAttribute(sig, ua.AttributeIDValue, &ua.DataValue{Value: ua.MustVariant(150.0)}); got != ua.StatusBadTypeMismatch {
		t.Errorf("write without a model: %v", got)
	}
	if got := a.SetAttribute(sig, ua.AttributeIDDescription, &ua.DataValue{Value: ua.MustVariant(ua.NewLocalizedText("x"))}); got != ua.StatusBadNotWritable {
		t.Errorf("write Description: %v", got)
	}
	if n := len(a.nodes); n < 1+6+49+690 {
		t.Errorf("%d nodes", n)
	}
}
