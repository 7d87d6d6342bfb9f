package opcua

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/server/attrs"
	"github.com/gopcua/opcua/ua"
)

// testServer is a tiny OPC UA server in the shape of Contract 1, built on gopcua's server
// package, so the client is tested against a real peer without the simulator. Values live in
// a locked map read by each node's value function: gopcua's Node.SetAttribute is not safe
// for concurrent use.
type testServer struct {
	t      *testing.T
	port   int // the public port, served by proxy
	proxy  *tcpProxy
	srv    *server.Server
	ns     *server.NodeNameSpace
	cancel context.CancelFunc

	mu     sync.Mutex
	values map[string]float64
	frozen bool
	stopTk chan struct{}
	done   chan struct{}
}

// testUnit describes one unit of the test address space.
type testUnit struct {
	area, name, kind string
	signals          []string // Double signals; "RunCmd" is a writable Boolean
}

var defaultUnits = []testUnit{
	{"Pit", "SH01", "ElectricShovel", []string{"HoistCurrentA", "PayloadT", "RunCmd"}},
	{"Pit", "DR01", "DrillRig", []string{"PenetrationRateMH", "BitDepthM"}},
	{"Water", "PU01", "DewateringPump", []string{"FlowM3H"}},
}

// freePort returns a port that was free a moment ago on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startTestServer starts a server reachable on port with the given units; values change
// every tick (never when tick is 0).
func startTestServer(t *testing.T, port int, units []testUnit, tick time.Duration) *testServer {
	t.Helper()
	ts := &testServer{t: t, port: port, values: map[string]float64{}, stopTk: make(chan struct{}), done: make(chan struct{})}
	backend := freePort(t)
	ts.srv = server.New(
		server.EndPoint("127.0.0.1", backend),
		server.EnableSecurity("None", ua.MessageSecurityModeNone),
		server.EnableAuthMode(ua.UserTokenTypeAnonymous),
	)
	// The address space is complete before the port opens: a client already knocking (the
	// reconnect tests) must never browse a half-built tree.
	ts.ns = server.NewNodeNameSpace(ts.srv, DefaultNamespaceURI)
	ts.build(units)
	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	var err error
	for i := 0; i < 50; i++ { // the previous server's port may take a moment to free
		if err = ts.srv.Start(ctx); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		cancel()
		t.Fatalf("start test server on %d: %v", backend, err)
	}
	ts.proxy = startProxy(t, port, fmt.Sprintf("127.0.0.1:%d", backend))
	go ts.run(tick)
	return ts
}

func (ts *testServer) url() string { return fmt.Sprintf("opc.tcp://127.0.0.1:%d", ts.port) }

func (ts *testServer) build(units []testUnit) {
	ns := ts.ns
	nsID := ns.ID()
	root, _ := ts.srv.Namespace(0)
	objects := root.Objects()

	obj := func(sid, name, display, desc string) *server.Node {
		n := server.NewNode(ua.NewStringNodeID(nsID, sid), map[ua.AttributeID]*ua.DataValue{
			ua.AttributeIDNodeClass:   server.DataValueFromValue(uint32(ua.NodeClassObject)),
			ua.AttributeIDBrowseName:  server.DataValueFromValue(attrs.BrowseName(name)),
			ua.AttributeIDDisplayName: server.DataValueFromValue(attrs.DisplayName(display, "")),
			ua.AttributeIDDescription: server.DataValueFromValue(attrs.DisplayName(desc, "")),
		}, nil, nil)
		return ns.AddNode(n)
	}
	mine := obj("Mine", "Mine", "Mine", "")
	objects.AddRef(mine, id.Organizes, true)
	areas := map[string]*server.Node{}
	for _, u := range units {
		area := areas[u.area]
		if area == nil {
			area = obj(u.area, u.area, u.area, "")
			mine.AddRef(area, id.Organizes, true)
			areas[u.area] = area
		}
		unitID := u.area + "." + u.name
		unit := obj(unitID, u.name, u.kind+" "+u.name, u.kind)
		area.AddRef(unit, id.Organizes, true)
		for _, s := range u.signals {
			unit.AddRef(ts.signal(unitID+"."+s, s), id.HasComponent, true)
		}
	}
}

// signal adds a variable with the standard EngineeringUnits and EURange properties.
func (ts *testServer) signal(tag, name string) *server.Node {
	ns := ts.ns
	nsID := ns.ID()
	dataType, access := uint32(id.Double), byte(ua.AccessLevelTypeCurrentRead)
	if name == "RunCmd" {
		dataType, access = id.Boolean, byte(ua.AccessLevelTypeCurrentRead|ua.AccessLevelTypeCurrentWrite)
	}
	ts.values[tag] = 1
	v := server.NewNode(ua.NewStringNodeID(nsID, tag), map[ua.AttributeID]*ua.DataValue{
		ua.AttributeIDNodeClass:   server.DataValueFromValue(uint32(ua.NodeClassVariable)),
		ua.AttributeIDBrowseName:  server.DataValueFromValue(attrs.BrowseName(name)),
		ua.AttributeIDDisplayName: server.DataValueFromValue(attrs.DisplayName(name, "")),
		ua.AttributeIDDescription: server.DataValueFromValue(attrs.DisplayName("the "+name, "")),
		// gopcua's server wants an ExpandedNodeID here (Node.DataType asserts it).
		ua.AttributeIDDataType:    server.DataValueFromValue(ua.NewNumericExpandedNodeID(0, dataType)),
		ua.AttributeIDAccessLevel: server.DataValueFromValue(access),
	}, nil, func() *ua.DataValue { return ts.dataValue(tag, name == "RunCmd") })
	ns.AddNode(v)
	if name == "RunCmd" {
		return v
	}
	prop := func(pname string, val any) {
		p := server.NewNode(ua.NewStringNodeID(nsID, tag+"."+pname), map[ua.AttributeID]*ua.DataValue{
			ua.AttributeIDNodeClass:  server.DataValueFromValue(uint32(ua.NodeClassVariable)),
			ua.AttributeIDBrowseName: server.DataValueFromValue(attrs.BrowseName(pname)),
		}, nil, func() *ua.DataValue { return server.DataValueFromValue(ua.NewExtensionObject(val)) })
		ns.AddNode(p)
		v.AddRef(p, id.HasProperty, true)
	}
	prop("EngineeringUnits", &ua.EUInformation{
		NamespaceURI: "http://www.opcfoundation.org/UA/units/un/cefact",
		DisplayName:  ua.NewLocalizedText("A"),
		Description:  ua.NewLocalizedText("ampere"),
	})
	prop("EURange", &ua.Range{Low: 0, High: 2000})
	return v
}

func (ts *testServer) dataValue(tag string, boolean bool) *ua.DataValue {
	ts.mu.Lock()
	f := ts.values[tag]
	ts.mu.Unlock()
	var v any = f
	if boolean {
		v = int(f)%2 == 0
	}
	now := time.Now()
	return &ua.DataValue{
		EncodingMask:    ua.DataValueValue | ua.DataValueSourceTimestamp | ua.DataValueServerTimestamp,
		Value:           ua.MustVariant(v),
		SourceTimestamp: now,
		ServerTimestamp: now,
	}
}

// run changes every value each tick, unless frozen.
func (ts *testServer) run(tick time.Duration) {
	defer close(ts.done)
	if tick <= 0 {
		return
	}
	tk := time.NewTicker(tick)
	defer tk.Stop()
	for {
		select {
		case <-ts.stopTk:
			return
		case <-tk.C:
			ts.mu.Lock()
			if ts.frozen {
				ts.mu.Unlock()
				continue
			}
			var changed []string
			for tag := range ts.values {
				ts.values[tag]++
				changed = append(changed, tag)
			}
			ts.mu.Unlock()
			for _, tag := range changed {
				ts.ns.ChangeNotification(ua.NewStringNodeID(ts.ns.ID(), tag))
			}
		}
	}
}

// freeze stops (or resumes) value changes, to make the server silent.
func (ts *testServer) freeze(f bool) {
	ts.mu.Lock()
	ts.frozen = f
	ts.mu.Unlock()
}

// monitoredItems counts the monitored items the server holds, over all sessions.
func (ts *testServer) monitoredItems() int {
	m := ts.srv.MonitoredItemService
	m.Mu.Lock()
	defer m.Mu.Unlock()
	return len(m.Items)
}

func (ts *testServer) close() {
	select {
	case <-ts.stopTk:
		return
	default:
	}
	close(ts.stopTk)
	<-ts.done
	ts.proxy.close()
	ts.srv.Close()
	ts.cancel()
}
