package opcua

import (
	"fmt"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"

	"minebrain/app/tags"
)

// sampleOf turns a notification's DataValue into a tag sample. A missing server timestamp is
// filled with the time of receipt and a missing source timestamp with the server timestamp:
// some servers (gopcua's among them) leave them out, and a sample without any time would look
// infinitely old or, worse, be compared as the zero time.
func sampleOf(dv *ua.DataValue, received time.Time) tags.Sample {
	if dv == nil {
		return tags.Sample{Status: uint32(ua.StatusBadNoData), SourceTime: received, ServerTime: received}
	}
	s := tags.Sample{
		Status:     uint32(dv.Status),
		SourceTime: dv.SourceTimestamp,
		ServerTime: dv.ServerTimestamp,
	}
	if dv.EncodingMask&ua.DataValueStatusCode == 0 {
		s.Status = uint32(ua.StatusOK)
	}
	if dv.EncodingMask&ua.DataValueServerTimestamp == 0 || s.ServerTime.IsZero() {
		s.ServerTime = received
	}
	if dv.EncodingMask&ua.DataValueSourceTimestamp == 0 || s.SourceTime.IsZero() {
		s.SourceTime = s.ServerTime
	}
	if dv.Value != nil {
		s.Value = normalize(dv.Value.Value())
	}
	return s
}

// normalize maps the many Go types a Variant can hold to the few the rest of Minebrain
// handles: float64, int64, uint64, bool, string, time.Time or nil.
func normalize(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case float64, bool, string, int64, uint64, time.Time:
		return x
	case float32:
		return float64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return uint64(x)
	case uint16:
		return uint64(x)
	case uint32:
		return uint64(x)
	case *ua.LocalizedText:
		if x == nil {
			return nil
		}
		return x.Text
	case *ua.QualifiedName:
		if x == nil {
			return nil
		}
		return x.Name
	case ua.StatusCode:
		return uint64(x)
	case fmt.Stringer:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

// builtinTypes names the data types of namespace 0 that signals use.
var builtinTypes = map[uint32]string{
	id.Boolean:       "Boolean",
	id.SByte:         "SByte",
	id.Byte:          "Byte",
	id.Int16:         "Int16",
	id.UInt16:        "UInt16",
	id.Int32:         "Int32",
	id.UInt32:        "UInt32",
	id.Int64:         "Int64",
	id.UInt64:        "UInt64",
	id.Float:         "Float",
	id.Double:        "Double",
	id.String:        "String",
	id.DateTime:      "DateTime",
	id.ByteString:    "ByteString",
	id.LocalizedText: "LocalizedText",
	id.StatusCode:    "StatusCode",
}

// dataTypeName returns the built-in type name for a DataType attribute value, or "" when it
// is not a built-in type.
func dataTypeName(v any) string {
	var n *ua.NodeID
	switch x := v.(type) {
	case *ua.NodeID:
		n = x
	case *ua.ExpandedNodeID:
		if x != nil {
			n = x.NodeID
		}
	}
	if n == nil || n.Namespace() != 0 || n.Type() == ua.NodeIDTypeString {
		return ""
	}
	return builtinTypes[n.IntID()]
}

// dataTypeOfValue infers a type name from a value, for servers whose DataType attribute is
// not a built-in type.
func dataTypeOfValue(v any) string {
	switch v.(type) {
	case bool:
		return "Boolean"
	case float64:
		return "Double"
	case float32:
		return "Float"
	case int32:
		return "Int32"
	case uint32:
		return "UInt32"
	case int64:
		return "Int64"
	case uint64:
		return "UInt64"
	case int16:
		return "Int16"
	case uint16:
		return "UInt16"
	case int8:
		return "SByte"
	case uint8:
		return "Byte"
	case string:
		return "String"
	case time.Time:
		return "DateTime"
	default:
		return ""
	}
}
