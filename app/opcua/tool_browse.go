package opcua

import (
	"context"
	"fmt"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
)

// BrowseNode is one node of a browsed tree, reported in depth-first order.
type BrowseNode struct {
	Depth      int    `json:"depth"` // 0 for the starting node
	Path       string `json:"path"`  // browse names from the starting node, joined with "/"
	BrowseName string `json:"browseName"`
	NodeClass  string `json:"nodeClass"`
	NodeID     string `json:"nodeId"`
	DataType   string `json:"dataType,omitempty"` // variables only
	Value      any    `json:"value,omitempty"`    // variables only
	Status     string `json:"status,omitempty"`   // of the value read, variables only
}

// ObjectsFolder is the usual starting point of a browse.
var ObjectsFolder = ua.NewNumericNodeID(0, id.ObjectsFolder)

// treeNode is a browsed node with its children, while the tree is built level by level.
type treeNode struct {
	BrowseNode
	id       *ua.NodeID
	class    ua.NodeClass
	children []*treeNode
}

// Browse walks the hierarchical references from root down to depth levels (0: the root
// only) and calls fn for every node in depth-first order; variables come with their DataType
// and value. Each level is one batch of Browse calls (split in chunks), and a node reached
// twice is listed but not expanded again, so cycles end.
func (t *Tool) Browse(ctx context.Context, root *ua.NodeID, depth int, fn func(BrowseNode)) error {
	dvs, err := readAttributes(ctx, t.cl, []*ua.ReadValueID{
		{NodeID: root, AttributeID: ua.AttributeIDBrowseName},
		{NodeID: root, AttributeID: ua.AttributeIDNodeClass},
	})
	if err != nil {
		return statusErr("read "+root.String(), err)
	}
	if dvs[1] != nil && bad(dvs[1].Status) {
		return &StatusError{Op: "browse " + root.String(), Code: dvs[1].Status}
	}
	top := &treeNode{id: root}
	top.NodeID = root.String()
	if qn, ok := goodValue(dvs[0]).(*ua.QualifiedName); ok && qn != nil {
		top.BrowseName = qn.Name
	}
	top.Path = top.BrowseName
	nodes := []node{{id: root}}
	if err := fillNodeClasses(ctx, t.cl, nodes); err != nil {
		return statusErr("read "+root.String(), err)
	}
	top.class = nodes[0].class

	seen := map[string]bool{top.NodeID: true}
	all := []*treeNode{top}
	level := []*treeNode{top}
	for d := 1; d <= depth && len(level) > 0; d++ {
		parents := make([]node, len(level))
		for i, p := range level {
			parents[i] = node{id: p.id}
		}
		kids, err := children(ctx, t.cl, parents, func(node) bool { return true })
		if err != nil {
			return statusErr(fmt.Sprintf("browse level %d", d), err)
		}
		var next []*treeNode
		for _, k := range kids {
			p := level[k.parentIdx]
			tn := &treeNode{id: k.id, class: k.class}
			tn.Depth, tn.BrowseName, tn.NodeID = d, k.name, k.id.String()
			tn.Path = p.Path + "/" + k.name
			p.children = append(p.children, tn)
			all = append(all, tn)
			if !seen[tn.NodeID] {
				seen[tn.NodeID] = true
				next = append(next, tn)
			}
		}
		level = next
	}

	// One read for the DataType and Value of every variable in the tree.
	var vars []*treeNode
	var rv []*ua.ReadValueID
	for _, n := range all {
		if n.class == ua.NodeClassVariable {
			vars = append(vars, n)
			rv = append(rv,
				&ua.ReadValueID{NodeID: n.id, AttributeID: ua.AttributeIDDataType},
				&ua.ReadValueID{NodeID: n.id, AttributeID: ua.AttributeIDValue})
		}
	}
	vals, err := readAttributes(ctx, t.cl, rv)
	if err != nil {
		return statusErr("read variables", err)
	}
	for i, n := range vars {
		v := nodeValue(n.id, DataTypeOf(vals[2*i]), vals[2*i+1])
		n.DataType, n.Value, n.Status = v.DataType, v.Value, v.Status
	}

	var walk func(n *treeNode)
	walk = func(n *treeNode) {
		n.NodeClass = nodeClassName(n.class)
		fn(n.BrowseNode)
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(top)
	return nil
}
