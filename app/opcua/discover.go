package opcua

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
)

// item is one signal to monitor. The namespace is kept as a URI because a restarted server
// may hand out different namespace indexes; node IDs are rebound on every session.
type item struct {
	tag      string
	nsURI    string
	node     *ua.NodeID
	deadband Deadband
}

// node is a browsed node on its way into the equipment tree.
type node struct {
	id        *ua.NodeID
	name      string // browse name
	class     ua.NodeClass
	refType   uint32 // the reference that led here, when numeric in namespace 0
	parentIdx int    // index of the parent in the previous level
}

// candidate is a variable chosen by a selection rule, before its attributes are read.
type candidate struct {
	id       *ua.NodeID
	tag      string
	name     string     // the signal name, the last part of the tag
	area     string     // the UI area
	unit     string     // the unit's name within the area
	unitNode *ua.NodeID // the unit's object, for its display name and kind; nil if none
	deadband Deadband
}

// discover finds the signals of every rule of the selection. A rule that finds nothing (a
// folder or namespace missing) is reported in problems and does not stop the others; only
// when nothing at all is found is that an error. A tag chosen by two rules is monitored once,
// as the first rule named it.
func discover(ctx context.Context, cl *uaClient, sel Selection) (eq Equipment, items []item, problems []string, err error) {
	nsArray := cl.Namespaces()
	var cands []candidate
	for _, r := range sel.Equipment {
		c, err := equipmentCandidates(ctx, cl, nsArray, r)
		if err != nil {
			problems = append(problems, fmt.Sprintf("equipment %s in %s: %v", r.Root, r.NamespaceURI, err))
		}
		cands = append(cands, c...)
	}
	for _, r := range sel.Browse {
		c, err := browseCandidates(ctx, cl, r)
		if err != nil {
			problems = append(problems, fmt.Sprintf("browse %s %s: %v", r.Under, r.Match, err))
		} else if len(c) == 0 {
			problems = append(problems, fmt.Sprintf("browse %s %s: no variable matches", r.Under, r.Match))
		}
		cands = append(cands, c...)
	}
	for _, r := range sel.Nodes {
		c, err := nodeCandidate(nsArray, r)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		cands = append(cands, c)
	}
	if len(cands) == 0 {
		if len(problems) == 0 {
			problems = append(problems, "the selection names no nodes")
		}
		return Equipment{}, nil, problems, errors.New(strings.Join(problems, "; "))
	}
	eq, items, missing, err := describe(ctx, cl, nsArray, dedupe(cands))
	return eq, items, append(problems, missing...), err
}

// dedupe keeps the first candidate of each tag.
func dedupe(cands []candidate) []candidate {
	seen := make(map[string]bool, len(cands))
	out := cands[:0]
	for _, c := range cands {
		if !seen[c.tag] {
			seen[c.tag] = true
			out = append(out, c)
		}
	}
	return out
}

// equipmentCandidates browses Objects/<Root>/<Area>/<Unit>/<Signal>.
func equipmentCandidates(ctx context.Context, cl *uaClient, nsArray []string, r EquipmentRoot) ([]candidate, error) {
	idx := slices.Index(nsArray, r.NamespaceURI)
	if idx < 0 {
		return nil, fmt.Errorf("namespace %q is not in the server's NamespaceArray %q", r.NamespaceURI, nsArray)
	}
	root, err := findRoot(ctx, cl, uint16(idx), r.Root)
	if err != nil {
		return nil, err
	}
	areas, err := children(ctx, cl, []node{root}, isObject)
	if err != nil {
		return nil, fmt.Errorf("browse areas: %w", err)
	}
	units, err := children(ctx, cl, areas, isObject)
	if err != nil {
		return nil, fmt.Errorf("browse units: %w", err)
	}
	signals, err := children(ctx, cl, units, isSignal)
	if err != nil {
		return nil, fmt.Errorf("browse signals: %w", err)
	}
	out := make([]candidate, 0, len(signals))
	for _, s := range signals {
		u := units[s.parentIdx]
		area := areas[u.parentIdx].name
		unitID := prefixedName(u.id, area, u.name)
		out = append(out, candidate{
			id:       s.id,
			tag:      prefixedName(s.id, unitID, s.name),
			name:     s.name,
			area:     area,
			unit:     u.name,
			unitNode: u.id,
		})
	}
	return out, nil
}

// findRoot returns the equipment root folder: the child of Objects with that browse name in
// our namespace, or the node ns=<idx>;s=<name> for servers that do not link it under Objects.
func findRoot(ctx context.Context, cl *uaClient, ns uint16, name string) (node, error) {
	refs, err := browseChildren(ctx, cl, []*ua.NodeID{ua.NewNumericNodeID(0, id.ObjectsFolder)})
	if err != nil {
		return node{}, fmt.Errorf("browse Objects: %w", err)
	}
	for _, r := range refs[0] {
		if r.BrowseName != nil && r.BrowseName.Name == name && r.NodeID != nil && r.NodeID.NodeID.Namespace() == ns {
			return node{id: r.NodeID.NodeID, name: name}, nil
		}
	}
	return node{id: ua.NewStringNodeID(ns, name), name: name}, nil
}

// maxBrowseDepth bounds a "**" pattern, which could otherwise walk a cyclic address space
// for ever.
const maxBrowseDepth = 12

// browseCandidates walks the rule's pattern below its folder, one level per Browse request.
func browseCandidates(ctx context.Context, cl *uaClient, r BrowseRule) ([]candidate, error) {
	start, err := resolvePath(ctx, cl, underPath(r.Under))
	if err != nil {
		return nil, err
	}
	segs := patternSegments(r.Match)
	type state struct {
		n   node
		seg int // the pattern segment the node's children must match
	}
	expand := func(states []state) []state {
		// "**" also matches no level at all: the same node tries the next segment too.
		for i := 0; i < len(states); i++ {
			if s := states[i]; s.seg < len(segs)-1 && segs[s.seg] == "**" {
				states = append(states, state{s.n, s.seg + 1})
			}
		}
		return states
	}
	frontier := expand([]state{{start, 0}})
	seen := map[string]bool{}
	var out []candidate
	for depth := 0; len(frontier) > 0 && depth < maxBrowseDepth; depth++ {
		parents := make([]node, len(frontier))
		for i, s := range frontier {
			parents[i] = s.n
		}
		kids, err := children(ctx, cl, parents, func(n node) bool { return n.refType != id.HasProperty })
		if err != nil {
			return nil, err
		}
		var next []state
		for _, k := range kids {
			from := frontier[k.parentIdx]
			seg := segs[from.seg]
			if seg == "**" {
				if k.class == ua.NodeClassObject {
					next = append(next, state{k, from.seg}) // "**" goes on deeper
				}
				continue
			}
			if ok, _ := path.Match(seg, k.name); !ok {
				continue
			}
			last := from.seg == len(segs)-1
			switch {
			case last && k.class == ua.NodeClassVariable:
				key := k.id.String()
				if seen[key] {
					continue
				}
				seen[key] = true
				out = append(out, candidate{
					id:       k.id,
					tag:      r.Area + "." + from.n.name + "." + k.name,
					name:     k.name,
					area:     r.Area,
					unit:     from.n.name,
					unitNode: from.n.id,
					deadband: r.Deadband,
				})
			case !last && k.class == ua.NodeClassObject:
				next = append(next, state{k, from.seg + 1})
			}
		}
		frontier = expand(next)
	}
	return out, nil
}

// resolvePath follows browse names from the Objects folder.
func resolvePath(ctx context.Context, cl *uaClient, segs []string) (node, error) {
	cur := node{id: ua.NewNumericNodeID(0, id.ObjectsFolder), name: "Objects"}
	for i, seg := range segs {
		kids, err := children(ctx, cl, []node{cur}, func(n node) bool { return n.name == seg })
		if err != nil {
			return node{}, err
		}
		if len(kids) == 0 {
			return node{}, fmt.Errorf("no node %q under Objects/%s", seg, strings.Join(segs[:i], "/"))
		}
		cur = kids[0]
	}
	return cur, nil
}

// nodeCandidate turns an explicit node into a candidate. A namespace index is turned into its
// URI now, so later sessions rebind it by URI like every other item.
func nodeCandidate(nsArray []string, r NodeRule) (candidate, error) {
	uri, n, err := parseNodeRef(r.Node)
	if err != nil {
		return candidate{}, err
	}
	if uri != "" {
		idx := slices.Index(nsArray, uri)
		if idx < 0 {
			return candidate{}, fmt.Errorf("node %s: namespace %q is not on the server", r.Node, uri)
		}
		cp := *n
		if err := cp.SetNamespace(uint16(idx)); err != nil {
			return candidate{}, fmt.Errorf("node %s: %w", r.Node, err)
		}
		n = &cp
	} else if int(n.Namespace()) >= len(nsArray) {
		return candidate{}, fmt.Errorf("node %s: namespace index %d is not on the server (it has %d)", r.Node, n.Namespace(), len(nsArray))
	}
	parts := strings.SplitN(r.Tag, ".", 3)
	return candidate{id: n, tag: r.Tag, area: parts[0], unit: parts[1], name: parts[2], deadband: r.Deadband}, nil
}

// parseNodeRef parses a NodeId that may name its namespace by URI (nsu=…;) instead of index.
// With a URI the returned node is in namespace 0 until bound.
func parseNodeRef(s string) (nsURI string, n *ua.NodeID, err error) {
	if rest, ok := strings.CutPrefix(s, "nsu="); ok {
		i := strings.IndexByte(rest, ';')
		if i <= 0 {
			return "", nil, fmt.Errorf("invalid NodeId %q: want nsu=<namespace URI>;s=<id>", s)
		}
		n, err := ParseNodeID(rest[i+1:])
		if err != nil {
			return "", nil, err
		}
		return rest[:i], n, nil
	}
	n, err = ParseNodeID(s)
	return "", n, err
}

// describe reads what the model needs about the candidates and their units: names, kinds,
// data types, access, descriptions and EngineeringUnits/EURange. A candidate whose node is
// unknown stays in the tree (it will show Bad with that status) and is reported in missing.
func describe(ctx context.Context, cl *uaClient, nsArray []string, cands []candidate) (Equipment, []item, []string, error) {
	unitIdx := map[string]int{} // unit node → index in unitNodes
	var unitNodes []*ua.NodeID
	for _, c := range cands {
		if c.unitNode == nil {
			continue
		}
		if _, ok := unitIdx[c.unitNode.String()]; !ok {
			unitIdx[c.unitNode.String()] = len(unitNodes)
			unitNodes = append(unitNodes, c.unitNode)
		}
	}
	vars := make([]node, len(cands))
	for i, c := range cands {
		vars[i] = node{id: c.id, name: c.name, parentIdx: i}
	}
	props, err := children(ctx, cl, vars, isRangeProperty)
	if err != nil {
		return Equipment{}, nil, nil, fmt.Errorf("browse signal properties: %w", err)
	}

	// One read for everything: unit names and kinds, signal attributes, property values.
	var rv []*ua.ReadValueID
	attr := func(n *ua.NodeID, a ua.AttributeID) {
		rv = append(rv, &ua.ReadValueID{NodeID: n, AttributeID: a})
	}
	for _, u := range unitNodes {
		attr(u, ua.AttributeIDDisplayName)
		attr(u, ua.AttributeIDDescription)
	}
	for _, c := range cands {
		attr(c.id, ua.AttributeIDDataType)
		attr(c.id, ua.AttributeIDAccessLevel)
		attr(c.id, ua.AttributeIDDescription)
		attr(c.id, ua.AttributeIDValue) // only to infer a type the DataType does not name
	}
	for _, p := range props {
		attr(p.id, ua.AttributeIDValue)
	}
	dvs, err := readAttributes(ctx, cl, rv)
	if err != nil {
		return Equipment{}, nil, nil, fmt.Errorf("read signal attributes: %w", err)
	}
	unitDV, dvs := dvs[:2*len(unitNodes)], dvs[2*len(unitNodes):]
	sigDV, propDV := dvs[:4*len(cands)], dvs[4*len(cands):]
	propsOf := make([][]int, len(cands))
	for j, p := range props {
		propsOf[p.parentIdx] = append(propsOf[p.parentIdx], j)
	}

	var eq Equipment
	items := make([]item, 0, len(cands))
	var missing []string
	for i, c := range cands {
		unit := eq.unit(c.area, c.unit)
		if unit.DisplayName == "" {
			unit.DisplayName = c.unit
			if k, ok := unitIdx[nodeKey(c.unitNode)]; ok {
				if dn := text(goodValue(unitDV[2*k])); dn != "" {
					unit.DisplayName = dn
				}
				unit.Kind = text(goodValue(unitDV[2*k+1]))
			}
		}
		d := sigDV[4*i : 4*i+4]
		if d[0] != nil && d[0].Status == ua.StatusBadNodeIDUnknown {
			missing = append(missing, fmt.Sprintf("%s (%s): no such node on the server", c.tag, c.id))
		}
		sig := Signal{
			Tag:         c.tag,
			Name:        c.name,
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
		items = append(items, item{tag: c.tag, nsURI: namespaceURI(nsArray, c.id), node: c.id, deadband: c.deadband})
	}
	return eq, items, missing, nil
}

func nodeKey(n *ua.NodeID) string {
	if n == nil {
		return ""
	}
	return n.String()
}

// children browses every parent and keeps the children accepted by keep, in order. Node
// classes missing from the references are read, since some servers leave them unspecified.
func children(ctx context.Context, cl *uaClient, parents []node, keep func(node) bool) ([]node, error) {
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

func fillNodeClasses(ctx context.Context, cl *uaClient, nodes []node) error {
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
