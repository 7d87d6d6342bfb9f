package opcua

import (
	"context"
	"fmt"
	"strings"

	"github.com/gopcua/opcua/ua"
)

// CallResult is the outcome of a method call the server answered.
type CallResult struct {
	ObjectID    string   `json:"objectId"`
	MethodID    string   `json:"methodId"`
	Status      string   `json:"status"`
	InputStatus []string `json:"inputStatus,omitempty"` // per argument, when the server says
	Outputs     []any    `json:"outputs"`
}

// Call calls method on object with args converted, one by one, to the DataTypes of the
// method's InputArguments property. A count or conversion mismatch wraps ErrBadValue; a Bad
// status is a *StatusError. (gopcua's server has no methods: this awaits a test against
// node-opcua.)
func (t *Tool) Call(ctx context.Context, object, method *ua.NodeID, args []string) (CallResult, error) {
	want, err := t.inputArguments(ctx, method)
	if err != nil {
		return CallResult{}, err
	}
	op := fmt.Sprintf("call %s on %s", method, object)
	if len(args) != len(want) {
		names := make([]string, len(want))
		for i, a := range want {
			names[i] = fmt.Sprintf("%s (%s)", a.Name, argType(a))
		}
		if len(want) == 0 {
			return CallResult{}, fmt.Errorf("%s: %w: %d arguments given, the method takes none", op, ErrBadValue, len(args))
		}
		return CallResult{}, fmt.Errorf("%s: %w: %d arguments given, the method takes %d: %s", op, ErrBadValue, len(args), len(want), strings.Join(names, ", "))
	}
	in := make([]*ua.Variant, len(args))
	for i, a := range want {
		if a.ValueRank > 0 {
			return CallResult{}, fmt.Errorf("%s: %w: argument %s is an array, which is not supported yet", op, ErrBadValue, a.Name)
		}
		v, err := ValueFromText(args[i], dataTypeName(a.DataType))
		if err != nil {
			return CallResult{}, fmt.Errorf("%s: argument %s: %w", op, a.Name, err)
		}
		if in[i], err = ua.NewVariant(v); err != nil {
			return CallResult{}, fmt.Errorf("%s: argument %s: %w", op, a.Name, err)
		}
	}
	res, err := t.cl.Call(ctx, &ua.CallMethodRequest{ObjectID: object, MethodID: method, InputArguments: in})
	if err != nil {
		return CallResult{}, statusErr(op, err)
	}
	out := CallResult{ObjectID: object.String(), MethodID: method.String(), Status: StatusName(res.StatusCode), Outputs: []any{}}
	for _, s := range res.InputArgumentResults {
		out.InputStatus = append(out.InputStatus, StatusName(s))
	}
	for _, v := range res.OutputArguments {
		if v != nil {
			out.Outputs = append(out.Outputs, JSONValue(v.Value()))
		} else {
			out.Outputs = append(out.Outputs, nil)
		}
	}
	if bad(res.StatusCode) {
		return out, &StatusError{Op: op, Code: res.StatusCode}
	}
	return out, nil
}

// inputArguments reads the method's InputArguments property (none when it has no such
// property).
func (t *Tool) inputArguments(ctx context.Context, method *ua.NodeID) ([]*ua.Argument, error) {
	refs, err := browseChildren(ctx, t.cl, []*ua.NodeID{method})
	if err != nil {
		return nil, statusErr("browse method "+method.String(), err)
	}
	var prop *ua.NodeID
	for _, r := range refs[0] {
		if r.BrowseName != nil && r.BrowseName.Name == "InputArguments" && r.NodeID != nil {
			prop = r.NodeID.NodeID
		}
	}
	if prop == nil {
		return nil, nil
	}
	dvs, err := readAttributes(ctx, t.cl, []*ua.ReadValueID{{NodeID: prop, AttributeID: ua.AttributeIDValue}})
	if err != nil {
		return nil, statusErr("read the InputArguments of "+method.String(), err)
	}
	if dvs[0] != nil && bad(dvs[0].Status) {
		return nil, &StatusError{Op: "read the InputArguments of " + method.String(), Code: dvs[0].Status}
	}
	var out []*ua.Argument
	switch v := goodValue(dvs[0]).(type) {
	case []*ua.ExtensionObject:
		for _, eo := range v {
			a, ok := eo.Value.(*ua.Argument)
			if !ok {
				return nil, fmt.Errorf("InputArguments of %s: unexpected %T", method, eo.Value)
			}
			out = append(out, a)
		}
	case *ua.ExtensionObject:
		a, ok := v.Value.(*ua.Argument)
		if !ok {
			return nil, fmt.Errorf("InputArguments of %s: unexpected %T", method, v.Value)
		}
		out = append(out, a)
	case nil:
	default:
		return nil, fmt.Errorf("InputArguments of %s: unexpected %T", method, v)
	}
	return out, nil
}

func argType(a *ua.Argument) string {
	if name := dataTypeName(a.DataType); name != "" {
		return name
	}
	return a.DataType.String()
}
