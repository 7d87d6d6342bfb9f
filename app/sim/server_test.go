package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
)

// The shared server: gopcua's server.New parses the whole standard nodeset
// (about 0.4 s, 4 s under -race), so the server tests share one.
var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

const sharedSeed = 7

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func sharedServer(t *testing.T) *Server {
	t.Helper()
	sharedOnce.Do(func() {
		shared, sharedErr = Start(context.Background(), Options{Listen: "127.0.0.1:0", Seed: sharedSeed, TimeScale: 60, Logger: testLogger()})
	})
	if sharedErr != nil {
		t.Fatalf("start shared server: %v", sharedErr)
	}
	return shared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		if err := shared.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "close shared server:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func dial(t *testing.T, endpoint string) *opcua.Client {
	t.Helper()
	c, err := opcua.NewClient(endpoint,
		opcua.SecurityMode(ua.MessageSecurityModeNone),
		opcua.AutoReconnect(false),
		opcua.RequestTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("connect %s: %v", endpoint, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func nodeID(tag string) *ua.NodeID { return ua.NewStringNodeID(2, tag) }

// browse returns the forward hierarchical references of a node.
func browse(t *testing.T, c *opcua.Client, nid *ua.NodeID) []*ua.ReferenceDescription {
	t.Helper()
	resp, err := c.Browse(ctxT(t), &ua.BrowseRequest{
		View: &ua.ViewDescription{ViewID: ua.NewTwoByteNodeID(0)},
		NodesToBrowse: []*ua.BrowseDescription{{
			NodeID:          nid,
			BrowseDirection: ua.BrowseDirectionForward,
			ReferenceTypeID: ua.NewNumericNodeID(0, id.HierarchicalReferences),
			IncludeSubtypes: true,
			ResultMask:      uint32(ua.BrowseResultMaskAll),
		}},
	})
	if err != nil {
		t.Fatalf("browse %s: %v", nid, err)
	}
	if len(resp.Results) != 1 || resp.Results[0].StatusCode != ua.StatusOK {
		t.Fatalf("browse %s: %+v", nid, resp.Results)
	}
	return resp.Results[0].References
}

func read(t *testing.T, c *opcua.Client, nid *ua.NodeID, attr ua.AttributeID) *ua.DataValue {
	t.Helper()
	resp, err := c.Read(ctxT(t), &ua.ReadRequest{
		NodesToRead:        []*ua.ReadValueID{{NodeID: nid, AttributeID: attr}},
		TimestampsToReturn: ua.TimestampsToReturnBoth,
	})
	if err != nil {
		t.Fatalf("read %s: %v", nid, err)
	}
	return resp.Results[0]
}

func writeValue(t *testing.T, c *opcua.Client, nid *ua.NodeID, attr ua.AttributeID, v any) ua.StatusCode {
	t.Helper()
	resp, err := c.Write(ctxT(t), &ua.WriteRequest{NodesToWrite: []*ua.WriteValue{{
		NodeID: nid, AttributeID: attr,
		Value: &ua.DataValue{EncodingMask: ua.DataValueValue, Value: ua.MustVariant(v)},
	}}})
	if err != nil {
		t.Fatalf("write %s: %v", nid, err)
	}
	return resp.Results[0]
}

func names(refs []*ua.ReferenceDescription) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.BrowseName.Name)
	}
	return out
}

func TestServerAddressSpace(t *testing.T) {
	t.Parallel()
	s := sharedServer(t)
	if !strings.HasPrefix(s.EndpointURL(), "opc.tcp://127.0.0.1:") || strings.HasSuffix(s.EndpointURL(), ":0") {
		t.Fatalf("endpoint %q", s.EndpointURL())
	}
	c := dial(t, s.EndpointURL())

	nsArray, err := c.NamespaceArray(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(nsArray) < 3 || nsArray[2] != NamespaceURI {
		t.Fatalf("NamespaceArray %v: want %s at index 2", nsArray, NamespaceURI)
	}

	var mine *ua.ReferenceDescription
	for _, r := range browse(t, c, ua.NewNumericNodeID(0, id.ObjectsFolder)) {
		if r.NodeID.NodeID.String() == "ns=2;s=Mine" {
			mine = r
		}
	}
	if mine == nil || mine.BrowseName.Name != "Mine" || mine.BrowseName.NamespaceIndex != 2 ||
		mine.ReferenceTypeID.IntID() != id.Organizes || mine.TypeDefinition.NodeID.IntID() != id.FolderType {
		t.Fatalf("Objects -> Mine: %+v", mine)
	}
	areas := browse(t, c, nodeID("Mine"))
	if got := strings.Join(names(areas), ","); got != "Pit,Crushing,Haulage,Water,Power,Heating" {
		t.Fatalf("areas under Mine: %s", got)
	}

	// Walk the whole tree and compare it with the model.
	want := NewMine(Config{Seed: sharedSeed})
	units, signals := 0, 0
	for _, area := range areas {
		if area.NodeClass != ua.NodeClassObject || area.ReferenceTypeID.IntID() != id.Organizes {
			t.Errorf("area %s: class %v, reference %v", area.BrowseName.Name, area.NodeClass, area.ReferenceTypeID)
		}
		for _, u := range browse(t, c, area.NodeID.NodeID) {
			units++
			uid := u.NodeID.NodeID.StringID()
			info := unitInfo(want, uid)
			if info == nil {
				t.Errorf("unexpected unit %s", uid)
				continue
			}
			if u.DisplayName.Text != info.DisplayName {
				t.Errorf("%s: DisplayName %q, want %q", uid, u.DisplayName.Text, info.DisplayName)
			}
			if d := read(t, c, u.NodeID.NodeID, ua.AttributeIDDescription); d.Value == nil || d.Value.Value().(*ua.LocalizedText).Text != info.Kind {
				t.Errorf("%s: Description %v, want %s", uid, d.Value, info.Kind)
			}
			sigRefs := browse(t, c, u.NodeID.NodeID)
			if len(sigRefs) != len(info.Signals) {
				t.Errorf("%s: %d signals browsed, model has %d", uid, len(sigRefs), len(info.Signals))
			}
			for i, r := range sigRefs {
				signals++
				if r.ReferenceTypeID.IntID() != id.HasComponent || r.NodeClass != ua.NodeClassVariable {
					t.Errorf("%s: reference %v class %v", r.NodeID, r.ReferenceTypeID, r.NodeClass)
				}
				if i < len(info.Signals) && r.NodeID.NodeID.StringID() != info.Signals[i].Tag {
					t.Errorf("signal %d of %s is %s, want %s", i, uid, r.NodeID.NodeID.StringID(), info.Signals[i].Tag)
				}
			}
		}
	}
	if units != len(want.Units()) || signals != len(want.Signals()) {
		t.Errorf("browsed %d units and %d signals, model has %d and %d", units, signals, len(want.Units()), len(want.Signals()))
	}

	// An analog signal has its two properties; a command has none.
	props := browse(t, c, nodeID("Crushing.CR1.PowerKW"))
	if got := strings.Join(names(props), ","); got != "EngineeringUnits,EURange" {
		t.Errorf("properties of CR1.PowerKW: %s", got)
	}
	for _, r := range props {
		if r.ReferenceTypeID.IntID() != id.HasProperty {
			t.Errorf("%s: reference type %v", r.NodeID, r.ReferenceTypeID)
		}
	}
	if props := browse(t, c, nodeID("Crushing.CR1.RunCmd")); len(props) != 0 {
		t.Errorf("RunCmd has children %v", names(props))
	}
}

func unitInfo(m *Mine, id string) *UnitInfo {
	for _, u := range m.Units() {
		if u.ID == id {
			return &u
		}
	}
	return nil
}

func TestServerReadsTypedValuesAndProperties(t *testing.T) {
	t.Parallel()
	s := sharedServer(t)
	c := dial(t, s.EndpointURL())
	before := time.Now().Add(-time.Minute)
	for _, tc := range []struct {
		tag      string
		goType   string
		dataType uint32
		access   ua.AccessLevelType
	}{
		{"Pit.SH01.HoistCurrentA", "float64", id.Double, ua.AccessLevelTypeCurrentRead},
		{"Pit.SH01.RunState", "int32", id.Int32, ua.AccessLevelTypeCurrentRead},
		{"Pit.SH01.Mode", "int32", id.Int32, ua.AccessLevelTypeCurrentRead},
		{"Pit.SH01.Starts", "uint32", id.UInt32, ua.AccessLevelTypeCurrentRead},
		{"Pit.SH01.RunCmd", "bool", id.Boolean, ua.AccessLevelTypeCurrentRead | ua.AccessLevelTypeCurrentWrite},
		{"Crushing.CR1.CssSP", "float64", id.Double, ua.AccessLevelTypeCurrentRead | ua.AccessLevelTypeCurrentWrite},
		{"Water.P101.PumpOnCmd", "bool", id.Boolean, ua.AccessLevelTypeCurrentRead | ua.AccessLevelTypeCurrentWrite},
		{"Power.SS1.TariffName", "string", id.String, ua.AccessLevelTypeCurrentRead},
	} {
		dv := read(t, c, nodeID(tc.tag), ua.AttributeIDValue)
		if dv.Status != ua.StatusOK || dv.Value == nil {
			t.Errorf("%s: status %v", tc.tag, dv.Status)
			continue
		}
		if got := fmt.Sprintf("%T", dv.Value.Value()); got != tc.goType {
			t.Errorf("%s: value %v is %s, want %s", tc.tag, dv.Value.Value(), got, tc.goType)
		}
		if dv.SourceTimestamp.Before(before) || dv.SourceTimestamp.After(time.Now()) {
			t.Errorf("%s: source timestamp %v", tc.tag, dv.SourceTimestamp)
		}
		if want, _ := s.Value(tc.tag); fmt.Sprintf("%T", want) != tc.goType {
			t.Errorf("Server.Value(%s) is %T", tc.tag, want)
		}
		if dt := read(t, c, nodeID(tc.tag), ua.AttributeIDDataType); dt.Value.Value().(*ua.NodeID).IntID() != tc.dataType {
			t.Errorf("%s: DataType %v, want i=%d", tc.tag, dt.Value.Value(), tc.dataType)
		}
		if al := read(t, c, nodeID(tc.tag), ua.AttributeIDAccessLevel); al.Value.Value() != byte(tc.access) {
			t.Errorf("%s: AccessLevel %v, want %d", tc.tag, al.Value.Value(), tc.access)
		}
	}
	if nc := read(t, c, nodeID("Pit.SH01"), ua.AttributeIDNodeClass); nc.Value.Value() != int32(ua.NodeClassObject) {
		t.Errorf("unit NodeClass %v", nc.Value.Value())
	}
	if dv := read(t, c, nodeID("Pit.SH99.RunState"), ua.AttributeIDValue); dv.Status != ua.StatusBadNodeIDUnknown {
		t.Errorf("unknown node: status %v", dv.Status)
	}

	eu := read(t, c, nodeID("Crushing.CR1.PowerKW.EngineeringUnits"), ua.AttributeIDValue)
	info, ok := eu.Value.Value().(*ua.ExtensionObject).Value.(*ua.EUInformation)
	if !ok || info.DisplayName.Text != "kW" || info.UnitID != 'K'<<16|'W'<<8|'T' {
		t.Errorf("EngineeringUnits of CR1.PowerKW: %+v", eu.Value.Value())
	}
	rng := read(t, c, nodeID("Crushing.CR1.PowerKW.EURange"), ua.AttributeIDValue)
	r, ok := rng.Value.Value().(*ua.ExtensionObject).Value.(*ua.Range)
	if !ok || r.Low != 0 || r.High != 1300 {
		t.Errorf("EURange of CR1.PowerKW: %+v", rng.Value.Value())
	}
	if dt := read(t, c, nodeID("Crushing.CR1.PowerKW.EURange"), ua.AttributeIDDataType); dt.Value.Value().(*ua.NodeID).IntID() != id.Range {
		t.Errorf("EURange DataType %v", dt.Value.Value())
	}
}

func TestServerWritesAreObeyedOrRefused(t *testing.T) {
	t.Parallel()
	s := sharedServer(t)
	c := dial(t, s.EndpointURL())

	if st := writeValue(t, c, nodeID("Crushing.CR1.CssSP"), ua.AttributeIDValue, 175.0); st != ua.StatusOK {
		t.Fatalf("write CssSP: %v", st)
	}
	if v := read(t, c, nodeID("Crushing.CR1.CssSP"), ua.AttributeIDValue).Value.Value(); v != 175.0 {
		t.Fatalf("CssSP reads %v after writing 175", v)
	}
	// At 60x the CSS moves 30 mm per wall second: it gets there quickly.
	waitFor(t, 5*time.Second, "CR1 CSS to follow its setpoint", func() bool {
		v := read(t, c, nodeID("Crushing.CR1.CssMM"), ua.AttributeIDValue).Value.Value().(float64)
		return v > 173 && v < 177
	})

	// Start the standby overland conveyor; its start is counted.
	starts := read(t, c, nodeID("Haulage.OC2.Starts"), ua.AttributeIDValue).Value.Value().(uint32)
	if st := writeValue(t, c, nodeID("Haulage.OC2.RunCmd"), ua.AttributeIDValue, true); st != ua.StatusOK {
		t.Fatalf("start OC2: %v", st)
	}
	if v := read(t, c, nodeID("Haulage.OC2.RunState"), ua.AttributeIDValue).Value.Value(); v != RunRunning {
		t.Errorf("OC2 RunState %v after its start", v)
	}
	if v := read(t, c, nodeID("Haulage.OC2.Starts"), ua.AttributeIDValue).Value.Value(); v != starts+1 {
		t.Errorf("OC2 Starts %v, was %d", v, starts)
	}
	waitFor(t, 5*time.Second, "OC2 belt to run up", func() bool {
		return read(t, c, nodeID("Haulage.OC2.BeltSpeedMS"), ua.AttributeIDValue).Value.Value().(float64) > 4
	})

	for _, tc := range []struct {
		what string
		nid  *ua.NodeID
		attr ua.AttributeID
		v    any
		want ua.StatusCode
	}{
		{"a measurement", nodeID("Pit.SH01.HoistCurrentA"), ua.AttributeIDValue, 5.0, ua.StatusBadNotWritable},
		{"a property", nodeID("Crushing.CR1.PowerKW.EURange"), ua.AttributeIDValue, 5.0, ua.StatusBadNotWritable},
		{"a unit's DisplayName", nodeID("Pit.SH01"), ua.AttributeIDDisplayName, ua.NewLocalizedText("x"), ua.StatusBadNotWritable},
		{"RunCmd of a unit in local mode", nodeID("Pit.DR05.RunCmd"), ua.AttributeIDValue, false, ua.StatusBadInvalidState},
		{"a setpoint out of range", nodeID("Crushing.CR1.CssSP"), ua.AttributeIDValue, 500.0, ua.StatusBadOutOfRange},
		{"a setpoint with the wrong type", nodeID("Crushing.CR1.CssSP"), ua.AttributeIDValue, int32(150), ua.StatusBadTypeMismatch},
		{"an unknown node", nodeID("Crushing.CR9.CssSP"), ua.AttributeIDValue, 150.0, ua.StatusBadNodeIDUnknown},
		{"namespace 0", ua.NewNumericNodeID(0, id.Server_NamespaceArray), ua.AttributeIDValue, []string{"x"}, ua.StatusBadNotWritable},
		{"a namespace that does not exist", ua.NewStringNodeID(9, "x"), ua.AttributeIDValue, 1.0, ua.StatusBadNotWritable},
	} {
		if st := writeValue(t, c, tc.nid, tc.attr, tc.v); st != tc.want {
			t.Errorf("write to %s: %v, want %v", tc.what, st, tc.want)
		}
	}
	if v := read(t, c, nodeID("Crushing.CR1.CssSP"), ua.AttributeIDValue).Value.Value(); v != 175.0 {
		t.Errorf("refused writes changed CssSP to %v", v)
	}
	if v, _ := s.Value("Pit.DR05.RunState"); v != RunRunning {
		t.Errorf("refused stop changed DR05 to %v", v)
	}
	// The server is still healthy after all that.
	if ns, err := c.NamespaceArray(ctxT(t)); err != nil || len(ns) != 3 {
		t.Fatalf("NamespaceArray after bad writes: %v %v", ns, err)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(d); ; time.Sleep(50 * time.Millisecond) {
		if ok() {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestServerSubscriptionDeliversChanges(t *testing.T) {
	t.Parallel()
	s := sharedServer(t)
	c := dial(t, s.EndpointURL())
	ctx := ctxT(t)
	ch := make(chan *opcua.PublishNotificationData, 1024)
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: 100 * time.Millisecond}, ch)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Cancel(context.Background())
	tags := []string{"Haulage.OC1.LoadTPH", "Crushing.CR1.PowerKW", "Heating.WS1.OutdoorTempC", "Pit.SH01.RunState", "Power.SS1.TariffName"}
	var items []*ua.MonitoredItemCreateRequest
	for i, tag := range tags {
		items = append(items, opcua.NewMonitoredItemCreateRequestWithDefaults(nodeID(tag), ua.AttributeIDValue, uint32(i)))
	}
	// Initial values also come for other attributes and for standard nodes
	// (the engine's heartbeat watches the server's CurrentTime).
	const currentTime, displayName = 100, 101
	items = append(items,
		opcua.NewMonitoredItemCreateRequestWithDefaults(ua.NewNumericNodeID(0, id.Server_ServerStatus_CurrentTime), ua.AttributeIDValue, currentTime),
		opcua.NewMonitoredItemCreateRequestWithDefaults(nodeID("Pit.SH01"), ua.AttributeIDDisplayName, displayName))
	res, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth, items...)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res.Results {
		if r.StatusCode != ua.StatusOK {
			t.Fatalf("monitor item %d: %v", i, r.StatusCode)
		}
	}
	initial := map[uint32]*ua.DataValue{}

	start := time.Now().Add(-time.Second)
	values := map[uint32]map[any]bool{}
	lastTS := map[uint32]time.Time{}
	deadline := time.After(3 * time.Second)
collect:
	for {
		select {
		case msg := <-ch:
			if msg.Error != nil {
				t.Fatal(msg.Error)
			}
			dcn, ok := msg.Value.(*ua.DataChangeNotification)
			if !ok {
				continue
			}
			for _, it := range dcn.MonitoredItems {
				h := it.ClientHandle
				if h == currentTime || h == displayName {
					initial[h] = it.Value
					continue
				}
				if values[h] == nil {
					values[h] = map[any]bool{}
				}
				values[h][it.Value.Value.Value()] = true
				// The source timestamp is when the value last changed: for the
				// measurements that is within the last update, for a state that
				// has not changed it may be as old as the server.
				ts := it.Value.SourceTimestamp
				if ts.IsZero() || ts.After(time.Now()) || ts.Before(lastTS[h]) || (h <= 1 && ts.Before(start)) {
					t.Errorf("%s: source timestamp %v out of order or range (previous %v)", tags[h], ts, lastTS[h])
				}
				lastTS[h] = ts
			}
		case <-deadline:
			break collect
		}
	}
	for i, tag := range tags {
		if len(values[uint32(i)]) == 0 {
			t.Errorf("no notification for %s", tag)
		}
	}
	for _, i := range []uint32{0, 1} {
		if len(values[i]) < 3 {
			t.Errorf("%s: only %d distinct values in 3 s at 60x", tags[i], len(values[i]))
		}
	}
	if dv := initial[currentTime]; dv == nil || dv.Value == nil {
		t.Errorf("no initial value of the server's CurrentTime: %+v", dv)
	} else if ct, ok := dv.Value.Value().(time.Time); !ok || time.Since(ct) > time.Minute {
		t.Errorf("server's CurrentTime %v", dv.Value.Value())
	}
	if dv := initial[displayName]; dv == nil || dv.Value == nil {
		t.Errorf("no initial DisplayName of Pit.SH01: %+v", dv)
	} else if lt, ok := dv.Value.Value().(*ua.LocalizedText); !ok || lt.Text != "Electric shovel SH01" {
		t.Errorf("DisplayName of Pit.SH01: %v", dv.Value.Value())
	}
	// Unmonitoring an item the server does not know made gopcua v0.8.0
	// panic; the guard turns it into an error and the server lives on.
	_, _ = sub.Unmonitor(ctx, 987654)
	if dv := read(t, c, nodeID("Pit.SH01.RunState"), ua.AttributeIDValue); dv.Status != ua.StatusOK {
		t.Fatalf("read after a bad unmonitor: %v", dv.Status)
	}
}

func TestServerRevisesZeroPublishingInterval(t *testing.T) {
	t.Parallel()
	s := sharedServer(t)
	c := dial(t, s.EndpointURL())
	// gopcua's client never asks for 0 ms, but other clients may; gopcua's
	// server would start a ticker of 0 and panic out of reach of any recover.
	var res *ua.CreateSubscriptionResponse
	err := c.Send(ctxT(t), &ua.CreateSubscriptionRequest{
		RequestedPublishingInterval: 0, RequestedLifetimeCount: 0, RequestedMaxKeepAliveCount: 0, PublishingEnabled: true,
	}, func(r ua.Response) error {
		var ok bool
		res, ok = r.(*ua.CreateSubscriptionResponse)
		if !ok {
			return fmt.Errorf("response %T", r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.RevisedPublishingInterval != minPublishingInterval || res.RevisedMaxKeepAliveCount == 0 || res.RevisedLifetimeCount < 3*res.RevisedMaxKeepAliveCount {
		t.Errorf("revised %v ms, keep-alive %d, lifetime %d", res.RevisedPublishingInterval, res.RevisedMaxKeepAliveCount, res.RevisedLifetimeCount)
	}
	time.Sleep(300 * time.Millisecond) // a few of its ticks
	if dv := read(t, c, nodeID("Pit.SH01.RunState"), ua.AttributeIDValue); dv.Status != ua.StatusOK {
		t.Fatalf("read: %v", dv.Status)
	}
	_ = c.Send(ctxT(t), &ua.DeleteSubscriptionsRequest{SubscriptionIDs: []uint32{res.SubscriptionID}}, func(ua.Response) error { return nil })
}

func TestListenAddressChecks(t *testing.T) {
	t.Parallel()
	for _, listen := range []string{"0.0.0.0:0", ":4840", "192.0.2.10:4840", "[::]:0", "plant-host:4840"} {
		_, err := Start(context.Background(), Options{Listen: listen, Logger: testLogger()})
		if err == nil || !strings.Contains(err.Error(), "not a loopback address") || !strings.Contains(err.Error(), "--allow-remote") {
			t.Errorf("Listen %q: %v", listen, err)
		}
	}
	for _, listen := range []string{"127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000"} {
		if _, err := Start(context.Background(), Options{Listen: listen, Logger: testLogger()}); err == nil {
			t.Errorf("Listen %q accepted", listen)
		}
	}
	if _, err := Start(context.Background(), Options{Listen: "127.0.0.1:0", TimeScale: -1, Logger: testLogger()}); err == nil {
		t.Error("negative time scale accepted")
	}
	a, err := parseListen("localhost:0", false)
	if err != nil || a.host != "127.0.0.1" {
		t.Errorf("localhost: %+v %v", a, err)
	}
	if a, err := parseListen("[::1]:4840", false); err != nil || a.urlHost() != "[::1]" {
		t.Errorf("[::1]: %+v %v", a, err)
	}
	if a, err := parseListen("0.0.0.0:4840", true); err != nil || !a.wildcard {
		t.Errorf("0.0.0.0 with AllowRemote: %+v %v", a, err)
	}
	if o := (Options{}).withDefaults(); o.Listen != DefaultListen || o.Seed != 1 || o.TimeScale != 1 || o.Logger == nil {
		t.Errorf("defaults %+v", o)
	}
}

func TestPortInUse(t *testing.T) {
	t.Parallel()
	s := sharedServer(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.EndpointURL(), "opc.tcp://"))
	_, err := Start(context.Background(), Options{Listen: "127.0.0.1:" + port, Logger: testLogger()})
	want := fmt.Sprintf("sim: listen 127.0.0.1:%s: port %s is already in use", port, port)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
}

// goroutines returns the stacks of all goroutines.
func goroutines() []string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Split(string(buf), "\n\n")
}

// fingerprints returns strings that appear only in the stacks of goroutines
// that belong to s: its own objects and gopcua's as receivers, the
// per-connection goroutines its accept loop started and whatever its request
// goroutine started (subscriptions, initial values, deletions). Other
// servers running in parallel tests do not match.
func fingerprints(s *Server) []string {
	marks := []string{
		fmt.Sprintf("(%p", s), fmt.Sprintf("(%p", s.relay), fmt.Sprintf("(%p", s.notifier),
		fmt.Sprintf("(%p", s.srv), fmt.Sprintf("(%p", s.srv.MonitoredItemService),
		fmt.Sprintf("(%p", s.srv.SubscriptionService),
	}
	s.srv.SubscriptionService.Mu.Lock()
	for _, sub := range s.srv.SubscriptionService.Subs {
		marks = append(marks, fmt.Sprintf("(%p", sub))
	}
	s.srv.SubscriptionService.Mu.Unlock()
	for _, g := range goroutines() {
		if strings.Contains(g, "server.(*Server).acceptAndRegister"+fmt.Sprintf("(%p", s.srv)) {
			var gid int
			fmt.Sscanf(g, "goroutine %d ", &gid)
			marks = append(marks, fmt.Sprintf("created by github.com/gopcua/opcua/server.(*Server).acceptAndRegister in goroutine %d\n", gid))
		}
		if strings.Contains(g, "server.(*Server).monitorConnections"+fmt.Sprintf("(%p", s.srv)) {
			var gid int
			fmt.Sscanf(g, "goroutine %d ", &gid)
			marks = append(marks, fmt.Sprintf(" in goroutine %d\n", gid)) // "created by ... in goroutine N"
		}
	}
	return marks
}

// leftovers returns the goroutines that match any fingerprint.
func leftovers(marks []string) []string {
	var out []string
	for _, g := range goroutines() {
		for _, m := range marks {
			if strings.Contains(g, m) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

func TestSecondServerAndCleanClose(t *testing.T) {
	t.Parallel()
	shared := sharedServer(t)
	c1 := dial(t, shared.EndpointURL())
	if dv := read(t, c1, nodeID("Pit.SH01.RunState"), ua.AttributeIDValue); dv.Status != ua.StatusOK {
		t.Fatalf("read: %v", dv.Status)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s2, err := Start(ctx, Options{Listen: "127.0.0.1:0", Seed: 99, TimeScale: 60, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if s2.EndpointURL() == shared.EndpointURL() {
		t.Fatalf("two servers on %s", s2.EndpointURL())
	}
	c2 := dial(t, s2.EndpointURL())
	if dv := read(t, c2, nodeID("Pit.DR01.PenetrationRateMH"), ua.AttributeIDValue); dv.Status != ua.StatusOK {
		t.Fatalf("read: %v", dv.Status)
	}
	// Different seeds, different mines.
	w1, _ := shared.Value("Power.SS1.EnergyKWh")
	w2, _ := s2.Value("Power.SS1.EnergyKWh")
	if w1 == w2 {
		t.Errorf("seeds %d and 99 give the same energy meter %v", sharedSeed, w1)
	}

	// Monitor every signal, then close the server under the subscription
	// by cancelling Start's context.
	ch := make(chan *opcua.PublishNotificationData, 1024)
	sub, err := c2.Subscribe(ctxT(t), &opcua.SubscriptionParameters{Interval: 100 * time.Millisecond}, ch)
	if err != nil {
		t.Fatal(err)
	}
	var items []*ua.MonitoredItemCreateRequest
	for i, sig := range NewMine(Config{Seed: 99}).Signals() {
		items = append(items, opcua.NewMonitoredItemCreateRequestWithDefaults(nodeID(sig.Tag), ua.AttributeIDValue, uint32(i)))
	}
	if _, err := sub.Monitor(ctxT(t), ua.TimestampsToReturnBoth, items...); err != nil {
		t.Fatal(err)
	}
	stopDrain := make(chan struct{})
	drained := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case msg := <-ch:
				if dcn, ok := msg.Value.(*ua.DataChangeNotification); ok {
					n += len(dcn.MonitoredItems)
				}
			case <-stopDrain:
				drained <- n
				return
			}
		}
	}()
	time.Sleep(1500 * time.Millisecond)
	marks := fingerprints(s2)
	if len(leftovers(marks)) < 5 {
		t.Fatalf("fingerprints %q match only %d goroutines of a running server", marks, len(leftovers(marks)))
	}

	begin := time.Now()
	cancel()
	waitFor(t, 15*time.Second, "the server to close after its context was cancelled", func() bool {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(s2.EndpointURL(), "opc.tcp://"), time.Second)
		if err != nil {
			return true
		}
		conn.Close()
		return false
	})
	if err := s2.Close(); err != nil { // again: must be harmless
		t.Errorf("second Close: %v", err)
	}
	t.Logf("closed in %v", time.Since(begin))
	close(stopDrain)
	if n := <-drained; n < len(items) {
		t.Errorf("the subscription delivered %d notifications for %d items before the close", n, len(items))
	}
	if _, err := c2.Read(ctxT(t), &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{{NodeID: nodeID("Pit.SH01.RunState"), AttributeID: ua.AttributeIDValue}}}); err == nil {
		t.Error("read from a closed server succeeded")
	}
	c2.Close(context.Background())
	// The shared server is unaffected.
	if dv := read(t, c1, nodeID("Pit.SH01.RunState"), ua.AttributeIDValue); dv.Status != ua.StatusOK {
		t.Fatalf("shared server after the other closed: %v", dv.Status)
	}
	// Nothing of the closed server keeps running.
	waitFor(t, 10*time.Second, "the closed server's goroutines to end", func() bool {
		return len(leftovers(marks)) == 0
	})
}

func TestWriteStatusMapping(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]ua.StatusCode{
		ErrUnknownTag: ua.StatusBadNodeIDUnknown, ErrNotWritable: ua.StatusBadNotWritable,
		ErrTypeMismatch: ua.StatusBadTypeMismatch, ErrOutOfRange: ua.StatusBadOutOfRange,
		ErrLocalMode: ua.StatusBadInvalidState, ErrFaulted: ua.StatusBadInvalidState,
		ErrInterlocked: ua.StatusBadInvalidState, errors.New("other"): ua.StatusBadInternalError,
	} {
		if got := writeStatus(fmt.Errorf("sim: write x: %w", err)); got != want {
			t.Errorf("%v -> %v, want %v", err, got, want)
		}
	}
}
