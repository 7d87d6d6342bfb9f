package opcua

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gopcua/opcua/ua"
)

// ErrBadValue marks a value typed by a person that cannot become the node's DataType.
var ErrBadValue = errors.New("bad value")

// ValueFromText converts text (plain, or a JSON literal such as "\"text\"" or 1.5e3) to the Go
// type gopcua encodes as the built-in DataType named dataType (see builtinTypes). Integers are
// range checked; Boolean accepts true/false/1/0. The error wraps ErrBadValue and names the
// input and the type.
func ValueFromText(text, dataType string) (any, error) {
	s := strings.TrimSpace(text)
	if strings.HasPrefix(s, `"`) {
		var u string
		if err := json.Unmarshal([]byte(s), &u); err == nil {
			s = u
			if dataType == "String" || dataType == "LocalizedText" {
				return stringValue(u, dataType), nil // a JSON string keeps its spaces
			}
			s = strings.TrimSpace(u)
		}
	}
	bad := func(why string) error {
		return fmt.Errorf("%w: cannot convert %q to %s: %s", ErrBadValue, text, dataType, why)
	}
	switch dataType {
	case "Boolean":
		switch strings.ToLower(s) {
		case "true", "1":
			return true, nil
		case "false", "0":
			return false, nil
		}
		return nil, bad("want true, false, 1 or 0")
	case "SByte", "Int16", "Int32", "Int64":
		bits := intBits[dataType]
		n, err := parseInteger(s)
		if err != nil {
			return nil, bad(err.Error())
		}
		lo, hi := int64(-1)<<(bits-1), int64(1)<<(bits-1)-1
		if n.neg && n.mag > uint64(1)<<(bits-1) || !n.neg && n.mag > uint64(hi) {
			return nil, bad(fmt.Sprintf("out of range %d..%d", lo, hi))
		}
		v := int64(n.mag)
		if n.neg {
			v = -v
		}
		switch dataType {
		case "SByte":
			return int8(v), nil
		case "Int16":
			return int16(v), nil
		case "Int32":
			return int32(v), nil
		}
		return v, nil
	case "Byte", "UInt16", "UInt32", "UInt64":
		bits := intBits[dataType]
		n, err := parseInteger(s)
		if err != nil {
			return nil, bad(err.Error())
		}
		hi := uint64(math.MaxUint64) >> (64 - bits)
		if n.neg && n.mag != 0 || n.mag > hi {
			return nil, bad(fmt.Sprintf("out of range 0..%d", hi))
		}
		switch dataType {
		case "Byte":
			return uint8(n.mag), nil
		case "UInt16":
			return uint16(n.mag), nil
		case "UInt32":
			return uint32(n.mag), nil
		}
		return n.mag, nil
	case "Float":
		f, err := strconv.ParseFloat(s, 32)
		if err != nil {
			return nil, bad(floatError(err))
		}
		return float32(f), nil
	case "Double":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, bad(floatError(err))
		}
		return f, nil
	case "String", "LocalizedText":
		return stringValue(text, dataType), nil
	case "DateTime":
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, bad("want an RFC 3339 time such as 2026-01-02T15:04:05Z")
		}
		return t, nil
	case "":
		return nil, fmt.Errorf("%w: cannot convert %q: the node's DataType is not a built-in type", ErrBadValue, text)
	}
	return nil, fmt.Errorf("%w: cannot convert %q to %s: writing this DataType is not supported yet", ErrBadValue, text, dataType)
}

func stringValue(s, dataType string) any {
	if dataType == "LocalizedText" {
		return ua.NewLocalizedText(s)
	}
	return s
}

var intBits = map[string]uint{
	"SByte": 8, "Int16": 16, "Int32": 32, "Int64": 64,
	"Byte": 8, "UInt16": 16, "UInt32": 32, "UInt64": 64,
}

// integer is a parsed whole number as sign and magnitude, so every int64 and uint64 fits.
type integer struct {
	neg bool
	mag uint64
}

// parseInteger accepts decimal integers and numbers with an integral value written as
// floating point (5.0, 1e3), as JSON tools tend to produce.
func parseInteger(s string) (integer, error) {
	neg, t := false, strings.TrimPrefix(s, "+")
	if strings.HasPrefix(s, "-") {
		neg, t = true, s[1:]
	}
	if u, err := strconv.ParseUint(t, 10, 64); err == nil {
		return integer{neg: neg, mag: u}, nil
	} else if errors.Is(err, strconv.ErrRange) {
		return integer{}, errors.New("out of range")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return integer{}, errors.New("not an integer")
	}
	if f != math.Trunc(f) {
		return integer{}, errors.New("not a whole number")
	}
	if math.Abs(f) >= 1<<64 {
		return integer{}, errors.New("out of range")
	}
	return integer{neg: f < 0, mag: uint64(math.Abs(f))}, nil
}

func floatError(err error) string {
	if errors.Is(err, strconv.ErrRange) {
		return "out of range"
	}
	return "not a number"
}

// FormatValue renders a value for people: numbers in their shortest exact form, times in
// RFC 3339, strings quoted, arrays and structures as JSON, nil as "-".
func FormatValue(v any) string {
	switch x := JSONValue(v).(type) {
	case nil:
		return "-"
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case string:
		return strconv.Quote(x)
	case bool, int64, uint64:
		return fmt.Sprint(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}

// JSONValue returns v in a form encoding/json accepts and people can read: scalars
// normalized (NaN and infinities as strings, JSON has no such numbers), arrays element by
// element, structures (extension objects) as their decoded Go value.
func JSONValue(v any) any {
	switch x := v.(type) {
	case *ua.ExtensionObject:
		if x == nil {
			return nil
		}
		return x.Value
	case []byte:
		return x // base64 in JSON, as ByteString should be
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice {
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = JSONValue(rv.Index(i).Interface())
		}
		return out
	}
	switch x := v.(type) {
	case *ua.LocalizedText, *ua.QualifiedName, time.Time, fmt.Stringer:
	default:
		if rv := reflect.ValueOf(x); rv.Kind() == reflect.Struct || rv.Kind() == reflect.Pointer && rv.Elem().Kind() == reflect.Struct {
			return x // a decoded structure: encoding/json shows its fields
		}
	}
	n := normalize(v)
	if f, ok := n.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return n
}
