package sim

import (
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
)

// Standard type definitions and data types (namespace 0).
var dataTypeIDs = map[DataType]uint32{
	Double:  id.Double,
	Int32:   id.Int32,
	UInt32:  id.UInt32,
	Boolean: id.Boolean,
	String:  id.String,
}

// build creates Contract 1's address space for the mine:
// Objects/Mine/<Area>/<Unit>/<Signal>, folders linked by Organizes, signals
// by HasComponent, analog signals with EngineeringUnits and EURange
// properties by HasProperty. Every node also carries its inverse references
// and a HasTypeDefinition.
func (a *addressSpace) build(m *Mine) *uaNode {
	ns := a.id
	qn := func(name string) *ua.QualifiedName { return &ua.QualifiedName{NamespaceIndex: ns, Name: name} }

	objects := &uaNode{
		id:      ua.NewNumericNodeID(0, id.ObjectsFolder),
		class:   ua.NodeClassObject,
		browse:  &ua.QualifiedName{Name: "Objects"},
		display: ua.NewLocalizedText("Objects"),
		typeDef: id.FolderType,
	}
	mine := a.add(&uaNode{
		id:      ua.NewStringNodeID(ns, "Mine"),
		class:   ua.NodeClassObject,
		browse:  qn("Mine"),
		display: ua.NewLocalizedText("Mine"),
		descr:   ua.NewLocalizedText("Simulated open-pit iron mine"),
		typeDef: id.FolderType,
	})
	link(objects, mine, id.Organizes, false)
	typeRef(mine, "FolderType", ua.NodeClassObjectType)

	areas := map[string]*uaNode{}
	for _, area := range m.Areas() {
		n := a.add(&uaNode{
			id:      ua.NewStringNodeID(ns, area),
			class:   ua.NodeClassObject,
			browse:  qn(area),
			display: ua.NewLocalizedText(area),
			descr:   ua.NewLocalizedText("Area " + area),
			typeDef: id.FolderType,
		})
		link(mine, n, id.Organizes, true)
		typeRef(n, "FolderType", ua.NodeClassObjectType)
		areas[area] = n
	}

	for _, u := range m.Units() {
		un := a.add(&uaNode{
			id:      ua.NewStringNodeID(ns, u.ID),
			class:   ua.NodeClassObject,
			browse:  qn(u.Name),
			display: ua.NewLocalizedText(u.DisplayName),
			descr:   ua.NewLocalizedText(u.Kind),
			typeDef: id.BaseObjectType,
		})
		link(areas[u.Area], un, id.Organizes, true)
		typeRef(un, "BaseObjectType", ua.NodeClassObjectType)
		for _, s := range u.Signals {
			a.addSignal(un, s)
		}
	}
	return mine
}

// addSignal adds a signal variable and, when analog, its two properties.
func (a *addressSpace) addSignal(unit *uaNode, s SignalInfo) {
	access := byte(ua.AccessLevelTypeCurrentRead)
	if s.Writable {
		access |= byte(ua.AccessLevelTypeCurrentWrite)
	}
	typeDef, typeName := uint32(id.BaseDataVariableType), "BaseDataVariableType"
	if s.Analog {
		typeDef, typeName = id.AnalogItemType, "AnalogItemType"
	}
	n := a.add(&uaNode{
		id:       ua.NewStringNodeID(a.id, s.Tag),
		class:    ua.NodeClassVariable,
		browse:   &ua.QualifiedName{NamespaceIndex: a.id, Name: s.Name},
		display:  ua.NewLocalizedText(s.Name),
		descr:    ua.NewLocalizedText(s.Description),
		typeDef:  typeDef,
		dataType: dataTypeIDs[s.DataType],
		access:   access,
		tag:      s.Tag,
	})
	link(unit, n, id.HasComponent, true)
	typeRef(n, typeName, ua.NodeClassVariableType)
	if !s.Analog {
		return
	}
	eu := &ua.EUInformation{
		NamespaceURI: euNamespace,
		UnitID:       euUnitID(s.EU),
		DisplayName:  ua.NewLocalizedText(s.EU),
		Description:  ua.NewLocalizedText(euDescription(s.EU)),
	}
	a.addProperty(n, "EngineeringUnits", id.EUInformation, ua.NewExtensionObject(eu))
	a.addProperty(n, "EURange", id.Range, ua.NewExtensionObject(&ua.Range{Low: s.Low, High: s.High}))
}

// addProperty adds a standard property (BrowseName in namespace 0, as the
// spec defines it) with a constant value.
func (a *addressSpace) addProperty(parent *uaNode, name string, dataType uint32, v *ua.ExtensionObject) {
	p := a.add(&uaNode{
		id:       ua.NewStringNodeID(a.id, parent.tag+"."+name),
		class:    ua.NodeClassVariable,
		browse:   &ua.QualifiedName{Name: name},
		display:  ua.NewLocalizedText(name),
		descr:    ua.NewLocalizedText(name + " of " + parent.tag),
		typeDef:  id.PropertyType,
		dataType: dataType,
		access:   byte(ua.AccessLevelTypeCurrentRead),
	})
	p.value.Store(&ua.DataValue{EncodingMask: ua.DataValueValue, Value: ua.MustVariant(v)})
	link(parent, p, id.HasProperty, true)
	typeRef(p, "PropertyType", ua.NodeClassVariableType)
}

// link adds a reference of refType from parent to child, and its inverse on
// the child. When onParent is false only the inverse is added (the parent
// lives in namespace 0 and is linked by the server setup).
func link(parent, child *uaNode, refType uint32, onParent bool) {
	if onParent {
		parent.refs = append(parent.refs, refDesc(refType, true, child))
	}
	child.refs = append(child.refs, refDesc(refType, false, parent))
}

func refDesc(refType uint32, forward bool, target *uaNode) *ua.ReferenceDescription {
	return &ua.ReferenceDescription{
		ReferenceTypeID: ua.NewNumericNodeID(0, refType),
		IsForward:       forward,
		NodeID:          ua.NewExpandedNodeID(target.id, "", 0),
		BrowseName:      target.browse,
		DisplayName:     target.display,
		NodeClass:       target.class,
		TypeDefinition:  ua.NewNumericExpandedNodeID(0, target.typeDef),
	}
}

// typeRef adds the HasTypeDefinition reference to the node's type in
// namespace 0.
func typeRef(n *uaNode, typeName string, class ua.NodeClass) {
	n.refs = append(n.refs, &ua.ReferenceDescription{
		ReferenceTypeID: ua.NewNumericNodeID(0, id.HasTypeDefinition),
		IsForward:       true,
		NodeID:          ua.NewNumericExpandedNodeID(0, n.typeDef),
		BrowseName:      &ua.QualifiedName{Name: typeName},
		DisplayName:     ua.NewLocalizedText(typeName),
		NodeClass:       class,
		TypeDefinition:  ua.NewTwoByteExpandedNodeID(0),
	})
}
