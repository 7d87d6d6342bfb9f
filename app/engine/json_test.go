package engine

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"minebrain/app/opcua"
	"minebrain/app/tags"
)

func TestTagValueJSON(t *testing.T) {
	at := time.UnixMilli(1700000000123)
	for _, c := range []struct {
		v    any
		want string
	}{
		{1.5, `{"t":"Pit.SH01.PayloadT","v":1.5,"q":0,"ts":1700000000123,"st":1700000000123}`},
		{math.NaN(), `{"t":"Pit.SH01.PayloadT","v":null,"q":0,"ts":1700000000123,"st":1700000000123}`},
		{math.Inf(1), `{"t":"Pit.SH01.PayloadT","v":null,"q":0,"ts":1700000000123,"st":1700000000123}`},
		{true, `{"t":"Pit.SH01.PayloadT","v":true,"q":0,"ts":1700000000123,"st":1700000000123}`},
		{int64(-3), `{"t":"Pit.SH01.PayloadT","v":-3,"q":0,"ts":1700000000123,"st":1700000000123}`},
		{"peak", `{"t":"Pit.SH01.PayloadT","v":"peak","q":0,"ts":1700000000123,"st":1700000000123}`},
		{nil, `{"t":"Pit.SH01.PayloadT","v":null,"q":0,"ts":1700000000123,"st":1700000000123}`},
	} {
		tv := tagValueOf(tags.Value{Name: "Pit.SH01.PayloadT", Sample: tags.Sample{Value: c.v, SourceTime: at, ServerTime: at}})
		b, err := json.Marshal(tv)
		if err != nil {
			t.Fatalf("marshal %v: %v", c.v, err)
		}
		if string(b) != c.want {
			t.Errorf("value %v:\n got %s\nwant %s", c.v, b, c.want)
		}
	}
	bad := tagValueOf(tags.Value{Name: "x", Sample: tags.Sample{Status: 0x80050000}})
	if b, _ := json.Marshal(bad); string(b) != `{"t":"x","v":null,"q":2147811328,"ts":0,"st":0}` {
		t.Errorf("bad value without times: %s", b)
	}
}

func TestModelJSON(t *testing.T) {
	eq := opcua.Equipment{Areas: []opcua.Area{{Name: "Pit", Units: []opcua.Unit{{
		ID: "Pit.SH01", Area: "Pit", Name: "SH01", DisplayName: "Electric shovel SH01", Kind: "ElectricShovel",
		Signals: []opcua.Signal{
			{Tag: "Pit.SH01.HoistCurrentA", Name: "HoistCurrentA", Description: "Hoist current", EngineeringUnits: "A",
				Range: &opcua.Range{Low: 0, High: 2500}, DataType: "Double"},
			{Tag: "Pit.SH01.RunCmd", Name: "RunCmd", DataType: "Boolean", Writable: true},
		},
	}}}}}
	m := buildModel("Simulated mine", eq)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"site":"Simulated mine","areas":[{"name":"Pit","units":[{"id":"Pit.SH01","area":"Pit","name":"SH01",` +
		`"displayName":"Electric shovel SH01","kind":"ElectricShovel","connection":"","key":["Pit.SH01.HoistCurrentA"],"signals":[` +
		`{"tag":"Pit.SH01.HoistCurrentA","name":"HoistCurrentA","description":"Hoist current","unit":"A","low":0,"high":2500,"dataType":"Double","writable":false},` +
		`{"tag":"Pit.SH01.RunCmd","name":"RunCmd","description":"","unit":"","dataType":"Boolean","writable":true}]}]}]}`
	if string(b) != want {
		t.Fatalf("model JSON\n got %s\nwant %s", b, want)
	}
	if empty, _ := json.Marshal(buildModel("x", opcua.Equipment{})); !strings.Contains(string(empty), `"areas":[]`) {
		t.Fatalf("empty model: %s", empty)
	}
}

func TestStatusJSON(t *testing.T) {
	st := statusOf(time.UnixMilli(5000), opcua.Status{Name: "sim", Endpoint: "opc.tcp://127.0.0.1:4840",
		State: opcua.StateConnected, LastDataAt: time.UnixMilli(4000), Items: 612, Rate: 123.456,
		Security: "None · None · anonymous"})
	b, _ := json.Marshal(st)
	want := `{"now":5000,"connections":[{"name":"sim","endpoint":"opc.tcp://127.0.0.1:4840","state":"connected","lastError":"","lastDataAt":4000,"items":612,"rate":123.5,` +
		`"security":"None · None · anonymous","problems":[]}]}`
	if string(b) != want {
		t.Fatalf("status JSON\n got %s\nwant %s", b, want)
	}
	ev, _ := json.Marshal(Event{Name: EventStatus, Data: st})
	if !strings.HasPrefix(string(ev), `{"event":"status","data":{"now":5000`) {
		t.Fatalf("event JSON %s", ev)
	}
}
