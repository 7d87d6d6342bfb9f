package opcua

import (
	"context"
	"fmt"

	"github.com/gopcua/opcua/ua"
)

// WriteResult is the outcome of a write the server answered.
type WriteResult struct {
	NodeID   string `json:"nodeId"`
	DataType string `json:"dataType"`
	Value    any    `json:"value"` // the converted value that was sent
	Status   string `json:"status"`
}

// Write converts text to the node's DataType (read first) and writes it to the Value
// attribute. A conversion failure wraps ErrBadValue; a Bad status from the server is a
// *StatusError (BadNotWritable, BadTypeMismatch, BadOutOfRange, …).
func (t *Tool) Write(ctx context.Context, node *ua.NodeID, text string) (WriteResult, error) {
	dvs, err := readAttributes(ctx, t.cl, []*ua.ReadValueID{{NodeID: node, AttributeID: ua.AttributeIDDataType}})
	if err != nil {
		return WriteResult{}, statusErr("read the DataType of "+node.String(), err)
	}
	if dvs[0] != nil && bad(dvs[0].Status) {
		return WriteResult{}, &StatusError{Op: "read the DataType of " + node.String(), Code: dvs[0].Status}
	}
	dataType := DataTypeOf(dvs[0])
	name := dataTypeName(goodValue(dvs[0]))
	if name == "" {
		return WriteResult{}, fmt.Errorf("%w: %s has DataType %q, which is not a built-in type that can be written yet", ErrBadValue, node, dataType)
	}
	v, err := ValueFromText(text, name)
	if err != nil {
		return WriteResult{}, fmt.Errorf("write %s: %w", node, err)
	}
	variant, err := ua.NewVariant(v)
	if err != nil {
		return WriteResult{}, fmt.Errorf("write %s: encode %v: %w", node, v, err)
	}
	res, err := t.cl.Write(ctx, &ua.WriteRequest{NodesToWrite: []*ua.WriteValue{{
		NodeID:      node,
		AttributeID: ua.AttributeIDValue,
		Value:       &ua.DataValue{EncodingMask: ua.DataValueValue, Value: variant},
	}}})
	if err != nil {
		return WriteResult{}, statusErr("write "+node.String(), err)
	}
	if len(res.Results) != 1 {
		return WriteResult{}, fmt.Errorf("write %s: %d results for 1 node", node, len(res.Results))
	}
	out := WriteResult{NodeID: node.String(), DataType: name, Value: JSONValue(v), Status: StatusName(res.Results[0])}
	if bad(res.Results[0]) {
		return out, &StatusError{Op: "write " + node.String(), Code: res.Results[0]}
	}
	return out, nil
}
