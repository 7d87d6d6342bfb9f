package opcua

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopcua/opcua/ua"
)

func TestValueFromText(t *testing.T) {
	cases := []struct {
		text, dataType string
		want           any
	}{
		{"true", "Boolean", true},
		{"FALSE", "Boolean", false},
		{"1", "Boolean", true},
		{"0", "Boolean", false},
		{"-128", "SByte", int8(-128)},
		{"255", "Byte", uint8(255)},
		{"-32768", "Int16", int16(-32768)},
		{"65535", "UInt16", uint16(65535)},
		{"2147483647", "Int32", int32(math.MaxInt32)},
		{"5.0", "Int32", int32(5)},
		{"1e3", "UInt32", uint32(1000)},
		{"+7", "Int32", int32(7)},
		{`"42"`, "Int32", int32(42)},
		{"-9223372036854775808", "Int64", int64(math.MinInt64)},
		{"18446744073709551615", "UInt64", uint64(math.MaxUint64)},
		{"1.5", "Double", 1.5},
		{" -2.25e2 ", "Double", -225.0},
		{"0.1", "Float", float32(0.1)},
		{"hello world", "String", "hello world"},
		{`"  quoted  "`, "String", "  quoted  "},
		{"2026-01-02T15:04:05Z", "DateTime", time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)},
	}
	for _, tc := range cases {
		got, err := ValueFromText(tc.text, tc.dataType)
		if err != nil || got != tc.want {
			if tg, ok := got.(time.Time); !ok || !tg.Equal(tc.want.(time.Time)) {
				t.Errorf("ValueFromText(%q, %s) = %#v, %v; want %#v", tc.text, tc.dataType, got, err, tc.want)
			}
		}
	}
	if v, err := ValueFromText("Hi", "LocalizedText"); err != nil || v.(*ua.LocalizedText).Text != "Hi" {
		t.Errorf("LocalizedText: %v, %v", v, err)
	}
}

func TestValueFromTextRefuses(t *testing.T) {
	cases := []struct{ text, dataType, want string }{
		{"yes", "Boolean", "want true, false, 1 or 0"},
		{"2", "Boolean", "want true, false, 1 or 0"},
		{"128", "SByte", "out of range -128..127"},
		{"-129", "SByte", "out of range -128..127"},
		{"256", "Byte", "out of range 0..255"},
		{"-1", "UInt32", "out of range 0..4294967295"},
		{"2147483648", "Int32", "out of range -2147483648..2147483647"},
		{"9223372036854775808", "Int64", "out of range"},
		{"18446744073709551616", "UInt64", "out of range"},
		{"1.5", "Int32", "not a whole number"},
		{"abc", "Int32", "not an integer"},
		{"NaN", "Int32", "not an integer"},
		{"abc", "Double", "not a number"},
		{"1e39", "Float", "out of range"},
		{"yesterday", "DateTime", "RFC 3339"},
		{"x", "ByteString", "not supported yet"},
		{"x", "", "not a built-in type"},
	}
	for _, tc := range cases {
		v, err := ValueFromText(tc.text, tc.dataType)
		if err == nil || !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"`+tc.text+`"`) {
			t.Errorf("ValueFromText(%q, %s) = %v, %v; want an ErrBadValue naming the input and %q", tc.text, tc.dataType, v, err, tc.want)
		}
	}
}

func TestParseNodeID(t *testing.T) {
	for _, s := range []string{"i=2258", "ns=2;s=Crushing.CR1.PowerKW", "ns=1;i=5", "ns=3;g=5EAC051C-C313-43D7-B790-24AA2C3CFD37", "ns=1;b=YWJj"} {
		n, err := ParseNodeID(s)
		if err != nil || n.String() != s {
			t.Errorf("ParseNodeID(%q) = %v, %v", s, n, err)
		}
	}
	for _, s := range []string{"", "Crushing.CR1.PowerKW", "ns=2", "ns=x;s=A", "ns=70000;i=1", "ns=2;x=A", "i=abc", "ns=2;s"} {
		if _, err := ParseNodeID(s); err == nil || !strings.Contains(err.Error(), `"`+s+`"`) {
			t.Errorf("ParseNodeID(%q): error %v, want one naming the input", s, err)
		}
	}
}

func TestStatusName(t *testing.T) {
	cases := map[ua.StatusCode]string{
		ua.StatusOK:                     "Good",
		ua.StatusBadNodeIDUnknown:       "BadNodeIdUnknown",
		ua.StatusBadNotWritable:         "BadNotWritable",
		ua.StatusBadTypeMismatch:        "BadTypeMismatch",
		ua.StatusBadNotWritable | 0x400: "BadNotWritable", // with info bits
		0x80FF1234:                      "0x80FF1234",
	}
	for c, want := range cases {
		if got := StatusName(c); got != want {
			t.Errorf("StatusName(0x%08X) = %q, want %q", uint32(c), got, want)
		}
	}
	err := statusErr("write x", ua.StatusBadNotWritable)
	if c, ok := IsStatus(err); !ok || c != ua.StatusBadNotWritable || !strings.Contains(err.Error(), "write x: BadNotWritable") {
		t.Errorf("statusErr: %v", err)
	}
}

func TestSecurityFlags(t *testing.T) {
	if s, err := (SecurityFlags{Policy: "None", Mode: "none"}).Security(); err != nil || s.NeedsPKI() {
		t.Errorf("None: %+v, %v", s, err)
	}
	if s, err := (SecurityFlags{Policy: "Basic256Sha256", Mode: "SignAndEncrypt"}).Security(); err != nil || !s.NeedsPKI() {
		t.Errorf("Basic256Sha256: %+v, %v", s, err)
	}
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := (SecurityFlags{User: "op", PasswordFile: pw}).Security(); err != nil || s.Identity.Password != "s3cret" || !s.NeedsPKI() {
		t.Errorf("username: %+v, %v", s, err)
	}
	for _, c := range []struct {
		f    SecurityFlags
		want string
	}{
		{SecurityFlags{Policy: "Basic128Rsa15"}, "not supported"},
		{SecurityFlags{Mode: "Encrypt"}, "not a mode"},
		{SecurityFlags{Policy: "None", Mode: "Sign"}, "policy None goes only with mode None"},
		{SecurityFlags{User: "op"}, "--password-file"},
		{SecurityFlags{PasswordFile: pw}, "needs --user"},
		{SecurityFlags{User: "op", PasswordFile: filepath.Join(t.TempDir(), "none")}, "password file"},
		{SecurityFlags{Cert: "c"}, "--cert and --key"},
	} {
		if _, err := c.f.Security(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.f, err, c.want)
		}
	}
}

func TestFormatAndJSONValue(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{nil, "-"}, {1.5, "1.5"}, {float32(2), "2"}, {int32(-3), "-3"}, {true, "true"},
		{"a b", `"a b"`}, {[]string{"x", "y"}, `["x","y"]`},
		{&ua.Range{Low: 0, High: 10}, `{"Low":0,"High":10}`},
		{ua.NewNumericNodeID(0, 85), `"i=85"`},
	}
	for _, tc := range cases {
		if got := FormatValue(tc.v); got != tc.want {
			t.Errorf("FormatValue(%#v) = %s, want %s", tc.v, got, tc.want)
		}
	}
	if got := JSONValue(math.NaN()); got != "NaN" {
		t.Errorf("JSONValue(NaN) = %v", got)
	}
}
