package opcua

import (
	"context"
	"fmt"
	"time"

	"github.com/gopcua/opcua/ua"
)

// NodeValue is one value of one node as the tools report it.
type NodeValue struct {
	NodeID     string        `json:"nodeId"`
	DataType   string        `json:"dataType,omitempty"`
	Value      any           `json:"value"` // normalized (see normalize); nil when bad
	Status     string        `json:"status"`
	Code       ua.StatusCode `json:"-"`
	SourceTime time.Time     `json:"sourceTime,omitzero"`
	ServerTime time.Time     `json:"serverTime,omitzero"`
}

// Bad reports whether the value's status is not Good.
func (v NodeValue) Bad() bool { return bad(v.Code) }

func nodeValue(n *ua.NodeID, dataType string, dv *ua.DataValue) NodeValue {
	v := NodeValue{NodeID: n.String(), DataType: dataType}
	if dv == nil {
		v.Code = ua.StatusBadNoData
	} else {
		if dv.EncodingMask&ua.DataValueStatusCode != 0 {
			v.Code = dv.Status
		}
		if dv.Value != nil {
			v.Value = JSONValue(dv.Value.Value())
		}
		v.SourceTime, v.ServerTime = dv.SourceTimestamp, dv.ServerTimestamp
	}
	v.Status = StatusName(v.Code)
	return v
}

// DataTypeOf names a DataType attribute value: the built-in type name (Double, Int32, …) or
// the DataType's NodeId for other types.
func DataTypeOf(dv *ua.DataValue) string {
	v := goodValue(dv)
	if name := dataTypeName(v); name != "" {
		return name
	}
	switch x := v.(type) {
	case *ua.NodeID:
		return x.String()
	case *ua.ExpandedNodeID:
		if x != nil && x.NodeID != nil {
			return x.NodeID.String()
		}
	}
	return ""
}

// Read reads the Value and DataType of every node. A node the server refuses gets its status
// code in the result; the error is for failures of the whole request.
func (t *Tool) Read(ctx context.Context, nodes []*ua.NodeID) ([]NodeValue, error) {
	types, err := t.dataTypes(ctx, nodes)
	if err != nil {
		return nil, err
	}
	out := make([]NodeValue, 0, len(nodes))
	for _, part := range chunks(nodes, t.cl.lim.read) {
		req := &ua.ReadRequest{TimestampsToReturn: ua.TimestampsToReturnBoth}
		for _, n := range part {
			req.NodesToRead = append(req.NodesToRead, &ua.ReadValueID{NodeID: n, AttributeID: ua.AttributeIDValue})
		}
		res, err := t.cl.Read(ctx, req)
		if err != nil {
			return nil, statusErr(fmt.Sprintf("read %s", part[0]), err)
		}
		if len(res.Results) != len(part) {
			return nil, fmt.Errorf("read from %s: %d results for %d nodes", part[0], len(res.Results), len(part))
		}
		for i, dv := range res.Results {
			out = append(out, nodeValue(part[i], types[len(out)], dv))
		}
	}
	return out, nil
}

// dataTypes reads the DataType attribute of every node ("" where it cannot be read).
func (t *Tool) dataTypes(ctx context.Context, nodes []*ua.NodeID) ([]string, error) {
	rv := make([]*ua.ReadValueID, len(nodes))
	for i, n := range nodes {
		rv[i] = &ua.ReadValueID{NodeID: n, AttributeID: ua.AttributeIDDataType}
	}
	dvs, err := readAttributes(ctx, t.cl, rv)
	if err != nil {
		return nil, statusErr("read data types", err)
	}
	out := make([]string, len(nodes))
	for i, dv := range dvs {
		out[i] = DataTypeOf(dv)
	}
	return out, nil
}
