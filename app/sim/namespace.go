package sim

import (
	"sync/atomic"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/server/attrs"
	"github.com/gopcua/opcua/ua"
)

// NamespaceURI is the URI of the simulated mine's namespace. Clients look its
// index up in the server's NamespaceArray (it is 2 on this server).
const NamespaceURI = "urn:minebrain:sim"

// serverNamespaceURI is namespace 1, the server's own (empty) namespace. It
// exists so that the mine lands on index 2, as OPC UA servers conventionally
// keep index 1 for themselves.
const serverNamespaceURI = "urn:minebrain:sim:server"

// uaNode is one node of the simulated mine's address space.
type uaNode struct {
	id       *ua.NodeID
	key      string // id.String(): the key of gopcua's monitored-item index
	class    ua.NodeClass
	browse   *ua.QualifiedName
	display  *ua.LocalizedText
	descr    *ua.LocalizedText
	typeDef  uint32 // numeric id of the type definition in namespace 0
	dataType uint32 // numeric id of the data type in namespace 0 (variables)
	access   byte   // AccessLevel (variables)
	refs     []*ua.ReferenceDescription

	tag   string                       // model tag, for signal variables
	value atomic.Pointer[ua.DataValue] // current value (variables); replaced, never mutated
	last  any                          // last published model value; guarded by Server.mu

	view *server.Node // the face gopcua's core sees (for browsing from namespace 0)
}

// addressSpace implements gopcua's server.NameSpace for the mine. We own it,
// rather than using gopcua's NodeNameSpace, because it gives us typed values
// with source timestamps, real status codes for refused writes, and write
// handling: NodeNameSpace stores whatever a client writes without checking
// type or meaning, and reports writes on an unbuffered channel with a
// non-blocking send, so a write nobody happens to be waiting for is lost.
//
// The node map is built before the server starts and never changes, so reads
// need no lock; values are swapped atomically.
type addressSpace struct {
	uri     string
	id      uint16
	nodes   map[string]*uaNode
	onWrite func(n *uaNode, v any) ua.StatusCode
}

func newAddressSpace(uri string) *addressSpace {
	return &addressSpace{uri: uri, nodes: map[string]*uaNode{}}
}

// Name returns the namespace URI.
func (a *addressSpace) Name() string { return a.uri }

// ID returns the namespace index assigned by the server.
func (a *addressSpace) ID() uint16 { return a.id }

// SetID is called by server.AddNamespace with the namespace index.
func (a *addressSpace) SetID(id uint16) { a.id = id }

// AddNode is part of server.NameSpace. The mine's address space is fixed, so
// nodes from outside are not taken in.
func (a *addressSpace) AddNode(n *server.Node) *server.Node { return n }

// Node returns gopcua's view of a node; the core uses it to find the type
// definition of references that point into this namespace.
func (a *addressSpace) Node(nid *ua.NodeID) *server.Node {
	if n := a.lookup(nid); n != nil {
		return n.view
	}
	return nil
}

// Objects returns the namespace's top node (Mine), or nil when empty.
func (a *addressSpace) Objects() *server.Node {
	if n := a.nodes["Mine"]; n != nil {
		return n.view
	}
	return nil
}

// Root returns the same top node: the namespace has no root of its own.
func (a *addressSpace) Root() *server.Node { return a.Objects() }

func (a *addressSpace) lookup(nid *ua.NodeID) *uaNode {
	if nid == nil || nid.Namespace() != a.id || nid.Type() != ua.NodeIDTypeString {
		return nil
	}
	return a.nodes[nid.StringID()]
}

// add registers a node and builds gopcua's view of it.
func (a *addressSpace) add(n *uaNode) *uaNode {
	n.key = n.id.String()
	a.nodes[n.id.StringID()] = n
	n.view = server.NewNode(n.id,
		server.Attributes{
			ua.AttributeIDNodeClass:   server.DataValueFromValue(uint32(n.class)),
			ua.AttributeIDBrowseName:  server.DataValueFromValue(n.browse),
			ua.AttributeIDDisplayName: server.DataValueFromValue(n.display),
		},
		server.References{{
			ReferenceTypeID: ua.NewNumericNodeID(0, id.HasTypeDefinition),
			IsForward:       true,
			NodeID:          ua.NewNumericExpandedNodeID(0, n.typeDef),
			BrowseName:      attrs.BrowseName(""),
			DisplayName:     attrs.DisplayName("", ""),
			TypeDefinition:  ua.NewTwoByteExpandedNodeID(0),
		}},
		nil)
	return n
}

// Attribute answers a Read (and gopcua's monitored-item sampling).
func (a *addressSpace) Attribute(nid *ua.NodeID, attr ua.AttributeID) *ua.DataValue {
	n := a.lookup(nid)
	if n == nil {
		return statusValue(ua.StatusBadNodeIDUnknown)
	}
	isVar := n.class == ua.NodeClassVariable
	switch attr {
	case ua.AttributeIDNodeID:
		return attrValue(n.id)
	case ua.AttributeIDNodeClass:
		return attrValue(int32(n.class))
	case ua.AttributeIDBrowseName:
		return attrValue(n.browse)
	case ua.AttributeIDDisplayName:
		return attrValue(n.display)
	case ua.AttributeIDDescription:
		return attrValue(n.descr)
	case ua.AttributeIDWriteMask, ua.AttributeIDUserWriteMask:
		return attrValue(uint32(0))
	case ua.AttributeIDEventNotifier:
		if !isVar {
			return attrValue(byte(0))
		}
	case ua.AttributeIDValue:
		if dv := n.value.Load(); isVar && dv != nil {
			out := *dv
			out.EncodingMask |= ua.DataValueServerTimestamp
			out.ServerTimestamp = time.Now()
			return &out
		}
	case ua.AttributeIDDataType:
		if isVar {
			return attrValue(ua.NewNumericNodeID(0, n.dataType))
		}
	case ua.AttributeIDValueRank:
		if isVar {
			return attrValue(int32(-1)) // scalar
		}
	case ua.AttributeIDArrayDimensions:
		if isVar {
			return attrValue([]uint32{})
		}
	case ua.AttributeIDAccessLevel, ua.AttributeIDUserAccessLevel:
		if isVar {
			return attrValue(n.access)
		}
	case ua.AttributeIDMinimumSamplingInterval:
		if isVar {
			return attrValue(float64(publishInterval.Milliseconds()))
		}
	case ua.AttributeIDHistorizing:
		if isVar {
			return attrValue(false)
		}
	}
	return statusValue(ua.StatusBadAttributeIDInvalid)
}

// SetAttribute answers a Write. Only the Value of a command or setpoint is
// writable; everything else is refused with BadNotWritable, as the spec asks.
func (a *addressSpace) SetAttribute(nid *ua.NodeID, attr ua.AttributeID, dv *ua.DataValue) ua.StatusCode {
	n := a.lookup(nid)
	switch {
	case n == nil:
		return ua.StatusBadNodeIDUnknown
	case attr != ua.AttributeIDValue:
		return ua.StatusBadNotWritable
	case n.class != ua.NodeClassVariable || n.access&byte(ua.AccessLevelTypeCurrentWrite) == 0:
		return ua.StatusBadNotWritable
	case dv == nil || dv.Value == nil || a.onWrite == nil:
		return ua.StatusBadTypeMismatch
	}
	return a.onWrite(n, dv.Value.Value())
}

// Browse lists a node's references that match the request's direction,
// reference type (with subtypes) and node-class mask. All references fit in
// one answer, so there is never a continuation point.
func (a *addressSpace) Browse(bd *ua.BrowseDescription) *ua.BrowseResult {
	n := a.lookup(bd.NodeID)
	if n == nil {
		return &ua.BrowseResult{StatusCode: ua.StatusBadNodeIDUnknown}
	}
	refs := make([]*ua.ReferenceDescription, 0, len(n.refs))
	for _, r := range n.refs {
		if !directionMatches(bd.BrowseDirection, r.IsForward) {
			continue
		}
		if !refTypeMatches(bd.ReferenceTypeID, r.ReferenceTypeID.IntID(), bd.IncludeSubtypes) {
			continue
		}
		if bd.NodeClassMask != 0 && bd.NodeClassMask&uint32(r.NodeClass) == 0 {
			continue
		}
		refs = append(refs, r)
	}
	return &ua.BrowseResult{StatusCode: ua.StatusGood, References: refs}
}

func directionMatches(d ua.BrowseDirection, forward bool) bool {
	switch d {
	case ua.BrowseDirectionForward:
		return forward
	case ua.BrowseDirectionInverse:
		return !forward
	default:
		return true
	}
}

// refSuper is the part of the standard reference-type hierarchy this address
// space uses: each type's supertype.
var refSuper = map[uint32]uint32{
	id.HierarchicalReferences:    id.References,
	id.NonHierarchicalReferences: id.References,
	id.HasChild:                  id.HierarchicalReferences,
	id.Organizes:                 id.HierarchicalReferences,
	id.Aggregates:                id.HasChild,
	id.HasComponent:              id.Aggregates,
	id.HasProperty:               id.Aggregates,
	id.HasTypeDefinition:         id.NonHierarchicalReferences,
}

// refTypeMatches reports whether a reference of type actual answers a browse
// for type want (a null or zero want matches everything).
func refTypeMatches(want *ua.NodeID, actual uint32, subtypes bool) bool {
	if want == nil || (want.Namespace() == 0 && want.IntID() == 0) {
		return true
	}
	if want.Namespace() != 0 {
		return false
	}
	w := want.IntID()
	if w == actual {
		return true
	}
	if !subtypes {
		return false
	}
	for t, ok := refSuper[actual]; ok; t, ok = refSuper[t] {
		if t == w {
			return true
		}
	}
	return false
}

func attrValue(v any) *ua.DataValue {
	return &ua.DataValue{EncodingMask: ua.DataValueValue, Value: ua.MustVariant(v)}
}

func statusValue(code ua.StatusCode) *ua.DataValue {
	return &ua.DataValue{
		EncodingMask:    ua.DataValueStatusCode | ua.DataValueServerTimestamp,
		Status:          code,
		ServerTimestamp: time.Now(),
	}
}
