package opcua

import (
	"strings"
	"testing"
	"time"

	"github.com/gopcua/opcua/ua"

	"minebrain/app/tags"
)

func TestOptionsValidation(t *testing.T) {
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{}, "no endpoint"},
		{Options{Endpoint: "http://x:1"}, "invalid endpoint"},
		{Options{Endpoint: "opc.tcp://"}, "invalid endpoint"},
		{Options{Endpoint: "opc.tcp://h:1", Security: Security{Mode: "Encrypt"}}, "not a mode"},
		{Options{Endpoint: "opc.tcp://h:1", Security: Security{Policy: "Basic256Sha256"}}, "application certificate"},
		{Options{Endpoint: "opc.tcp://h:1", Select: Selection{Browse: []BrowseRule{{Under: "Plant", Match: "[x"}}}}, "not a valid glob"},
		{Options{Endpoint: "opc.tcp://h:1", Select: Selection{Nodes: []NodeRule{{Node: "x", Tag: "A.B.C"}}}}, "invalid NodeId"},
		{Options{Endpoint: "opc.tcp://h:1", Select: Selection{Nodes: []NodeRule{{Node: "i=2258", Tag: "A.B"}}}}, "not Area.Unit.Signal"},
		{Options{Endpoint: "opc.tcp://h:1", StaleAfter: time.Second, RebuildAfter: time.Millisecond}, "RebuildAfter"},
	} {
		_, err := New(c.opts, tags.NewTable())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) error = %v, want one containing %q", c.opts, err, c.want)
		}
	}
	c, err := New(Options{Endpoint: "opc.tcp://127.0.0.1:4840"}, tags.NewTable())
	if err != nil {
		t.Fatal(err)
	}
	o := c.opts
	if o.Name != "opcua" || o.Select.Equipment[0].NamespaceURI != DefaultNamespaceURI || o.PublishInterval != DefaultPublishInterval ||
		o.StaleAfter != DefaultStaleAfter || o.RebuildAfter != 2*DefaultStaleAfter {
		t.Fatalf("defaults not applied: %+v", o)
	}
	if s := c.Status(); s.State != StateConnecting || s.Endpoint != "opc.tcp://127.0.0.1:4840" {
		t.Fatalf("initial status %+v", s)
	}
	if _, err := New(Options{Endpoint: "opc.tcp://h:1"}, nil); err == nil {
		t.Fatal("nil table accepted")
	}
}

func TestChunks(t *testing.T) {
	s := make([]int, 1001)
	parts := chunks(s, 500)
	if len(parts) != 3 || len(parts[0]) != 500 || len(parts[2]) != 1 {
		t.Fatalf("chunks of 1001 by 500: %d parts", len(parts))
	}
	parts[0] = append(parts[0], 7) // must not overwrite the next chunk's first element
	if parts[1][0] != 0 {
		t.Fatal("chunks share capacity with their neighbours")
	}
	if len(chunks([]int{}, 5)) != 0 {
		t.Fatal("empty input gave chunks")
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: 1 * time.Second}
	prev := time.Duration(0)
	for i := 0; i < 10; i++ {
		d := b.next()
		if d < 80*time.Millisecond || d > time.Second {
			t.Fatalf("attempt %d waits %v, outside [80ms, 1s]", i, d)
		}
		if i < 3 && d <= prev*3/2-prev/2 { // grows early on, jitter notwithstanding
			t.Fatalf("attempt %d waits %v after %v: not growing", i, d, prev)
		}
		prev = d
	}
	b.reset()
	if d := b.next(); d > 100*time.Millisecond {
		t.Fatalf("after reset waits %v", d)
	}
}

func TestSampleOf(t *testing.T) {
	recv := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	src := recv.Add(-time.Second)

	// No timestamps and no status: good, stamped with the time of receipt.
	s := sampleOf(&ua.DataValue{EncodingMask: ua.DataValueValue, Value: ua.MustVariant(int32(5))}, recv)
	if s.Value != int64(5) || s.Status != 0 || !s.ServerTime.Equal(recv) || !s.SourceTime.Equal(recv) {
		t.Fatalf("sample = %+v", s)
	}
	s = sampleOf(&ua.DataValue{
		EncodingMask:    ua.DataValueValue | ua.DataValueStatusCode | ua.DataValueSourceTimestamp,
		Value:           ua.MustVariant(float32(1.5)),
		Status:          ua.StatusUncertain,
		SourceTimestamp: src,
	}, recv)
	if s.Value != 1.5 || s.Status != uint32(ua.StatusUncertain) || !s.SourceTime.Equal(src) || !s.ServerTime.Equal(recv) {
		t.Fatalf("sample = %+v", s)
	}
	if s := sampleOf(nil, recv); s.Quality() != tags.Bad {
		t.Fatalf("nil DataValue gave %+v", s)
	}
}

func TestNormalize(t *testing.T) {
	for _, c := range []struct {
		in, want any
	}{
		{int8(-1), int64(-1)}, {int16(-2), int64(-2)}, {int32(-3), int64(-3)}, {int64(-4), int64(-4)},
		{uint8(1), uint64(1)}, {uint16(2), uint64(2)}, {uint32(3), uint64(3)}, {uint64(4), uint64(4)},
		{float32(0.5), 0.5}, {2.5, 2.5}, {true, true}, {"x", "x"}, {nil, nil},
		{ua.NewLocalizedText("hello"), "hello"},
	} {
		if got := normalize(c.in); got != c.want {
			t.Errorf("normalize(%#v) = %#v, want %#v", c.in, got, c.want)
		}
	}
}

func TestDataTypeName(t *testing.T) {
	if got := dataTypeName(ua.NewNumericNodeID(0, 11)); got != "Double" {
		t.Fatalf("i=11 -> %q", got)
	}
	if got := dataTypeName(ua.NewNumericNodeID(2, 11)); got != "" {
		t.Fatalf("ns=2;i=11 -> %q, want empty", got)
	}
	if got := dataTypeName("nonsense"); got != "" {
		t.Fatalf("string -> %q", got)
	}
}
