package opcua

import (
	"context"
	"fmt"
	"slices"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
)

// item is one signal to monitor. The namespace is kept as a URI because a restarted server
// may hand out different namespace indexes; node IDs are rebound on every session.
type item struct {
	tag   string
	nsURI string
	node  *ua.NodeID
}

// node is a browsed node on its way into the equipment tree.
type node struct {
	id        *ua.NodeID
	name      string // browse name
	class     ua.NodeClass
	refType   uint32 // the reference that led here, when numeric in namespace 0
	parentIdx int    // index of the parent in the previous level
}

// discover browses Objects/Mine/<Area>/<Unit>/<Signal> and reads what the model needs.
func discover(ctx context.Context, cl *opcua.Client, nsURI string) (Equipment, []item, error) {
	nsArray := cl.Namespaces()
	idx := slices.Index(nsArray, nsURI)
	if idx < 0 {
		return Equipment{}, nil, fmt.Errorf("namespace %q is not in the server's NamespaceArray %q", nsURI, nsArray)
	}
	mine, err := findMine(ctx, cl, uint16(idx))
	if err != nil {
		return Equipment{}, nil, err
	}

	areas, err := children(ctx, cl, []node{mine}, isObject)
	if err != nil {
		return Equipment{}, nil, fmt.Errorf("browse areas: %w", err)
	}
	units, err := children(ctx, cl, areas, isObject)
	if err != nil {
		return Equipment{}, nil, fmt.Errorf("browse units: %w", err)
	}
	signals, err := children(ctx, cl, units, isSignal)
	if err != nil {
		return Equipment{}, nil, fmt.Errorf("browse signals: %w", err)
	}
	props, err := children(ctx, cl, signals, isRangeProperty)
	if err != nil {
		return Equipment{}, nil, fmt.Errorf("browse signal properties: %w", err)
	}

	// One read for everything: unit names and kinds, signal attributes, property values.
	var rv []*ua.ReadValueID
	attr := func(n *ua.NodeID, a ua.AttributeID) {
		rv = append(rv, &ua.ReadValueID{NodeID: n, AttributeID: a})
	}
	for _, u := range units {
		attr(u.id, ua.AttributeIDDisplayName)
		attr(u.id, ua.AttributeIDDescription)
	}
	for _, s := range signals {
		attr(s.id, ua.AttributeIDDataType)
		attr(s.id, ua.AttributeIDAccessLevel)
		attr(s.id, ua.AttributeIDDescription)
		attr(s.id, ua.AttributeIDValue) // only to infer a type the DataType does not name
	}
	for _, p := range props {
		attr(p.id, ua.AttributeIDValue)
	}
	dvs, err := readAttributes(ctx, cl, rv)
	if err != nil {
		return Equipment{}, nil, fmt.Errorf("read equipment attributes: %w", err)
	}
	unitDV, dvs := dvs[:2*len(units)], dvs[2*len(units):]
	sigDV, propDV := dvs[:4*len(signals)], dvs[4*len(signals):]

	eq := Equipment{Areas: make([]Area, len(areas))}
	for i, a := range areas {
		eq.Areas[i].Name = a.name
	}
	pos := make([]int, len(units)) // each unit's index within its area
	for i, u := range units {
		area := &eq.Areas[u.parentIdx]
		unit := Unit{
			ID:          prefixedName(u.id, area.Name, u.name),
			Area:        area.Name,
			Name:        u.name,
			DisplayName: text(goodValue(unitDV[2*i])),
			Kind:        text(goodValue(unitDV[2*i+1])),
		}
		if unit.DisplayName == "" {
			unit.DisplayName = u.name
		}
		pos[i] = len(area.Units)
		area.Units = append(area.Units, unit)
	}
	propsOf := make([][]int, len(signals))
	for j, p := range props {
		propsOf[p.parentIdx] = append(propsOf[p.parentIdx], j)
	}

	items := make([]item, 0, len(signals))
	seen := make(map[string]bool, len(signals))
	for i, s := range signals {
		u := units[s.parentIdx]
		unit := &eq.Areas[u.parentIdx].Units[pos[s.parentIdx]]
		tag := prefixedName(s.id, unit.ID, s.name)
		if seen[tag] {
			continue // a node linked twice is still one tag, monitored once
		}
		seen[tag] = true
		d := sigDV[4*i : 4*i+4]
		sig := Signal{
			Tag:         tag,
			Name:        s.name,
			DataType:    dataTypeName(goodValue(d[0])),
			Writable:    accessWritable(goodValue(d[1])),
			Description: text(goodValue(d[2])),
		}
		if sig.DataType == "" {
			sig.DataType = dataTypeOfValue(goodValue(d[3]))
		}
		for _, j := range propsOf[i] {
			switch v := goodValue(propDV[j]).(type) {
			case *ua.ExtensionObject:
				applyProperty(&sig, v.Value)
			default:
				applyProperty(&sig, v)
			}
		}
		unit.Signals = append(unit.Signals, sig)
		items = append(items, item{tag: sig.Tag, nsURI: namespaceURI(nsArray, s.id), node: s.id})
	}
	return eq, items, nil
}

// findMine returns the Mine folder: the child of Objects named Mine in our namespace, or the
// node ns=<idx>;s=Mine for servers that do not link it under Objects.
func findMine(ctx context.Context, cl *opcua.Client, ns uint16) (node, error) {
	refs, err := browseChildren(ctx, cl, []*ua.NodeID{ua.NewNumericNodeID(0, id.ObjectsFolder)})
	if err != nil {
		return node{}, fmt.Errorf("browse Objects: %w", err)
	}
	for _, r := range refs[0] {
		if r.BrowseName != nil && r.BrowseName.Name == "Mine" && r.NodeID != nil && r.NodeID.NodeID.Namespace() == ns {
			return node{id: r.NodeID.NodeID, name: "Mine"}, nil
		}
	}
	return node{id: ua.NewStringNodeID(ns, "Mine"), name: "Mine"}, nil
}

// children browses every parent and keeps the children accepted by keep, in order. Node
// classes missing from the references are read, since some servers leave them unspecified.
func children(ctx context.Context, cl *opcua.Client, parents []node, keep func(node) bool) ([]node, error) {
	if len(parents) == 0 {
		return nil, nil
	}
	ids := make([]*ua.NodeID, len(parents))
	for i, p := range parents {
		ids[i] = p.id
	}
	refs, err := browseChildren(ctx, cl, ids)
	if err != nil {
		return nil, err
	}
	var all []node
	for pi, rs := range refs {
		for _, r := range rs {
			if r.NodeID == nil || r.NodeID.NodeID == nil || r.NodeID.ServerIndex != 0 {
				continue // a reference to another server is not part of this tree
			}
			n := node{id: r.NodeID.NodeID, class: r.NodeClass, parentIdx: pi}
			if r.BrowseName != nil {
				n.name = r.BrowseName.Name
			}
			if r.ReferenceTypeID != nil && r.ReferenceTypeID.Namespace() == 0 {
				n.refType = r.ReferenceTypeID.IntID()
			}
			all = append(all, n)
		}
	}
	if err := fillNodeClasses(ctx, cl, all); err != nil {
		return nil, err
	}
	kept := all[:0]
	for _, n := range all {
		if keep(n) {
			kept = append(kept, n)
		}
	}
	return kept, nil
}

func fillNodeClasses(ctx context.Context, cl *opcua.Client, nodes []node) error {
	var missing []int
	var rv []*ua.ReadValueID
	for i, n := range nodes {
		if n.class == ua.NodeClassUnspecified {
			missing = append(missing, i)
			rv = append(rv, &ua.ReadValueID{NodeID: n.id, AttributeID: ua.AttributeIDNodeClass})
		}
	}
	if len(rv) == 0 {
		return nil
	}
	dvs, err := readAttributes(ctx, cl, rv)
	if err != nil {
		return fmt.Errorf("read node classes: %w", err)
	}
	for k, i := range missing {
		switch v := goodValue(dvs[k]).(type) {
		case int32:
			nodes[i].class = ua.NodeClass(v)
		case uint32:
			nodes[i].class = ua.NodeClass(v)
		}
	}
	return nil
}

func isObject(n node) bool { return n.class == ua.NodeClassObject }

// isSignal accepts the variables of a unit, but not its properties.
func isSignal(n node) bool {
	return n.class == ua.NodeClassVariable && n.refType != id.HasProperty
}

func isRangeProperty(n node) bool {
	return n.class == ua.NodeClassVariable && (n.name == "EngineeringUnits" || n.name == "EURange")
}

// prefixedName names a node: the string part of a string NodeId (Contract 1 makes it the tag
// name), otherwise the parent's name and the browse name joined with a dot.
func prefixedName(n *ua.NodeID, parent, browseName string) string {
	if n.Type() == ua.NodeIDTypeString && n.StringID() != "" {
		return n.StringID()
	}
	return parent + "." + browseName
}

func namespaceURI(nsArray []string, n *ua.NodeID) string {
	if i := int(n.Namespace()); i < len(nsArray) {
		return nsArray[i]
	}
	return ""
}

// text returns the text of a LocalizedText or string attribute value; anything else (gopcua's
// server fills unset descriptions with a number) is treated as no text.
func text(v any) string {
	switch x := v.(type) {
	case *ua.LocalizedText:
		if x != nil {
			return x.Text
		}
	case ua.LocalizedText:
		return x.Text
	case string:
		return x
	}
	return ""
}

func accessWritable(v any) bool {
	switch x := v.(type) {
	case uint8:
		return x&uint8(ua.AccessLevelTypeCurrentWrite) != 0
	case uint32:
		return x&uint32(ua.AccessLevelTypeCurrentWrite) != 0
	}
	return false
}

// applyProperty copies an EngineeringUnits or EURange property value into the signal.
func applyProperty(s *Signal, v any) {
	switch x := v.(type) {
	case *ua.EUInformation:
		if x != nil && x.DisplayName != nil {
			s.EngineeringUnits = x.DisplayName.Text
		}
	case *ua.Range:
		if x != nil {
			s.Range = &Range{Low: x.Low, High: x.High}
		}
	}
}
