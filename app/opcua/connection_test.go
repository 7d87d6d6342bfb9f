package opcua

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua/ua"

	"minebrain/app/tags"
)

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is a log sink safe for the connection's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type harness struct {
	conn  *Connection
	table *tags.Table
	logs  *syncBuffer
	stop  func()
}

func startConn(t *testing.T, opts Options) *harness {
	t.Helper()
	logs := &syncBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	table := tags.NewTable()
	conn, err := New(opts, table)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- conn.Run(ctx) }()
	h := &harness{conn: conn, table: table, logs: logs}
	h.stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	}
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			t.Logf("connection log:\n%s", logs.String())
		}
	})
	return h
}

// allGood reports whether every tag of the table has a Good sample with timestamps.
func allGood(tb *tags.Table, want int) bool {
	snap := tb.Snapshot()
	if len(snap) != want {
		return false
	}
	for _, v := range snap {
		if v.Quality() != tags.Good || v.SourceTime.IsZero() || v.ServerTime.IsZero() {
			return false
		}
	}
	return true
}

// bulkUnits are more units than fit one browse request and more signals than fit one
// CreateMonitoredItems request, so that chunking is exercised.
func bulkUnits() []testUnit {
	var units []testUnit
	for i := 0; i < 110; i++ {
		units = append(units, testUnit{"Bulk", fmt.Sprintf("U%03d", i), "Conveyor", []string{"A", "B", "C"}})
	}
	return units
}

func TestDiscoverSubscribeAndDeliver(t *testing.T) {
	// One server for discovery details and for chunking: each gopcua server costs seconds
	// to build under the race detector.
	const total = 6 + 330
	ts := startTestServer(t, freePort(t), append(slices.Clone(defaultUnits), bulkUnits()...), 50*time.Millisecond)
	defer ts.close()
	h := startConn(t, Options{Name: "test", Endpoint: ts.url(), PublishInterval: 50 * time.Millisecond})

	select {
	case <-h.conn.EquipmentChanged():
	case <-time.After(10 * time.Second):
		t.Fatal("equipment not discovered")
	}
	eq := h.conn.Equipment()
	if len(eq.Areas) != 3 || eq.Areas[0].Name != "Pit" || eq.Areas[1].Name != "Water" || eq.Areas[2].Name != "Bulk" {
		t.Fatalf("areas = %+v", eq.Areas)
	}
	if n := len(eq.Areas[2].Units); n != 110 {
		t.Fatalf("Bulk has %d units, want 110", n)
	}
	sh := eq.Areas[0].Units[0]
	if sh.ID != "Pit.SH01" || sh.Name != "SH01" || sh.Kind != "ElectricShovel" || sh.DisplayName != "ElectricShovel SH01" || sh.Area != "Pit" {
		t.Fatalf("unit = %+v", sh)
	}
	if len(sh.Signals) != 3 {
		t.Fatalf("SH01 has %d signals, want 3", len(sh.Signals))
	}
	hoist := sh.Signals[0]
	want := Signal{Tag: "Pit.SH01.HoistCurrentA", Name: "HoistCurrentA", Description: "the HoistCurrentA",
		EngineeringUnits: "A", Range: &Range{0, 2000}, DataType: "Double"}
	if hoist.Range == nil || *hoist.Range != *want.Range {
		t.Fatalf("HoistCurrentA range = %+v", hoist.Range)
	}
	hoist.Range, want.Range = nil, nil
	if hoist != want {
		t.Fatalf("HoistCurrentA = %+v\nwant %+v", hoist, want)
	}
	run := sh.Signals[2]
	if run.Name != "RunCmd" || run.DataType != "Boolean" || !run.Writable || run.Range != nil {
		t.Fatalf("RunCmd = %+v", run)
	}
	if n := eq.SignalCount(); n != total {
		t.Fatalf("SignalCount = %d, want %d", n, total)
	}

	waitFor(t, 10*time.Second, "connected with every item", func() bool {
		s := h.conn.Status()
		return s.State == StateConnected && s.Items == total
	})
	waitFor(t, 10*time.Second, "every value good", func() bool { return allGood(h.table, total) })

	id, _ := h.table.Lookup("Pit.SH01.HoistCurrentA")
	first, _ := h.table.Get(id)
	if _, ok := first.Value.(float64); !ok {
		t.Fatalf("HoistCurrentA value %T, want float64", first.Value)
	}
	waitFor(t, 5*time.Second, "HoistCurrentA to change", func() bool {
		s, _ := h.table.Get(id)
		return s.Value != first.Value
	})
	runID, _ := h.table.Lookup("Pit.SH01.RunCmd")
	if s, _ := h.table.Get(runID); fmt.Sprintf("%T", s.Value) != "bool" {
		t.Fatalf("RunCmd value %T, want bool", s.Value)
	}
	waitFor(t, 3*time.Second, "a notification rate", func() bool { return h.conn.Status().Rate > 0 })
	st := h.conn.Status()
	if st.Name != "test" || st.Endpoint != ts.url() || st.LastDataAt.IsZero() || st.LastError != "" {
		t.Fatalf("status = %+v", st)
	}
	if got := ts.monitoredItems(); got != total+1 {
		t.Fatalf("server holds %d monitored items, want %d (the signals and the heartbeat)", got, total+1)
	}
	if err := h.conn.Run(context.Background()); err != ErrRunning {
		t.Fatalf("second Run = %v, want ErrRunning", err)
	}
}

func TestReconnectAfterServerRestart(t *testing.T) {
	port := freePort(t)
	ts := startTestServer(t, port, defaultUnits, 50*time.Millisecond)
	h := startConn(t, Options{Endpoint: ts.url(), PublishInterval: 50 * time.Millisecond,
		ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond})
	waitFor(t, 10*time.Second, "6 good values", func() bool { return allGood(h.table, 6) })

	before := time.Now()
	ts.close()
	waitFor(t, 5*time.Second, "disconnected", func() bool { return h.conn.Status().State == StateDisconnected })
	for _, v := range h.table.Snapshot() {
		if v.Status != uint32(ua.StatusBadCommunicationError) {
			t.Fatalf("%s status %#x after loss, want BadCommunicationError", v.Name, v.Status)
		}
		if v.SourceTime.Before(before) || v.ServerTime.Before(before) {
			t.Fatalf("%s timestamps %v/%v are before the loss at %v", v.Name, v.SourceTime, v.ServerTime, before)
		}
		if v.Value == nil {
			t.Fatalf("%s lost its last value", v.Name)
		}
	}
	if h.conn.Status().LastError == "" {
		t.Fatal("no lastError after the loss")
	}
	<-h.conn.EquipmentChanged() // the first discovery's signal, pending since

	// Let a few reconnect attempts fail, then bring the server back on the same port.
	time.Sleep(300 * time.Millisecond)
	ts2 := startTestServer(t, port, defaultUnits, 50*time.Millisecond)
	defer ts2.close()
	restarted := time.Now()
	waitFor(t, 10*time.Second, "connected again", func() bool {
		s := h.conn.Status()
		return s.State == StateConnected && s.Items == 6
	})
	waitFor(t, 5*time.Second, "fresh good values", func() bool {
		if !allGood(h.table, 6) {
			return false
		}
		for _, v := range h.table.Snapshot() {
			if v.ServerTime.Before(restarted) {
				return false
			}
		}
		return true
	})
	if got := ts2.monitoredItems(); got != 7 {
		t.Fatalf("restarted server holds %d monitored items, want 7: items must be restored exactly once", got)
	}
	if h.table.Len() != 6 {
		t.Fatalf("table has %d tags after reconnect, want 6", h.table.Len())
	}
	select {
	case <-h.conn.EquipmentChanged():
		t.Fatal("EquipmentChanged after a restart with the same address space")
	default:
	}
}

func TestRediscoverChangedAddressSpace(t *testing.T) {
	port := freePort(t)
	ts := startTestServer(t, port, defaultUnits, 50*time.Millisecond)
	h := startConn(t, Options{Endpoint: ts.url(), PublishInterval: 50 * time.Millisecond,
		ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond})
	waitFor(t, 10*time.Second, "6 good values", func() bool { return allGood(h.table, 6) })
	<-h.conn.EquipmentChanged() // the first discovery

	// The server comes back without the drill rig and with a new crusher.
	ts.close()
	changed := []testUnit{defaultUnits[0], defaultUnits[2], {"Crushing", "CR01", "GyratoryCrusher", []string{"PowerKW", "CssMM"}}}
	ts2 := startTestServer(t, port, changed, 50*time.Millisecond)
	defer ts2.close()
	select {
	case <-h.conn.EquipmentChanged():
	case <-time.After(10 * time.Second):
		t.Fatal("no EquipmentChanged after the server came back with another address space")
	}
	var units []string
	for _, a := range h.conn.Equipment().Areas {
		for _, u := range a.Units {
			units = append(units, u.ID)
		}
	}
	if want := []string{"Pit.SH01", "Water.PU01", "Crushing.CR01"}; !slices.Equal(units, want) {
		t.Fatalf("units after the change %v, want %v", units, want)
	}
	waitFor(t, 10*time.Second, "the new tree monitored", func() bool {
		s := h.conn.Status()
		return s.State == StateConnected && s.Items == 6
	})
	waitFor(t, 5*time.Second, "the new crusher's values", func() bool {
		id, ok := h.table.Lookup("Crushing.CR01.PowerKW")
		s, has := h.table.Get(id)
		return ok && has && s.Quality() == tags.Good
	})
	if got := ts2.monitoredItems(); got != 7 {
		t.Fatalf("server holds %d monitored items, want 7 (the new tree and the heartbeat)", got)
	}
}

func TestStaleThenRebuild(t *testing.T) {
	ts := startTestServer(t, freePort(t), defaultUnits, 50*time.Millisecond)
	defer ts.close()
	h := startConn(t, Options{Endpoint: ts.url(), PublishInterval: 50 * time.Millisecond,
		StaleAfter: 400 * time.Millisecond, RebuildAfter: 1200 * time.Millisecond,
		ReconnectMin: 50 * time.Millisecond})
	waitFor(t, 10*time.Second, "connected", func() bool { return h.conn.Status().State == StateConnected })
	waitFor(t, 5*time.Second, "6 good values", func() bool { return allGood(h.table, 6) })

	// A server that stops sending anything (gopcua's server sends no keep-alives we can see
	// and does not sample CurrentTime) must turn stale, not stay "connected".
	ts.freeze(true)
	frozen := time.Now()
	waitFor(t, 3*time.Second, "stale", func() bool { return h.conn.Status().State == StateStale })
	if el := time.Since(frozen); el < 300*time.Millisecond {
		t.Fatalf("stale after %v, before StaleAfter", el)
	}
	// Staying silent past RebuildAfter rebuilds the session and the subscription.
	waitFor(t, 5*time.Second, "a rebuild", func() bool {
		return strings.Contains(h.logs.String(), "rebuilding the session")
	})
	ts.freeze(false)
	waitFor(t, 10*time.Second, "connected after thaw", func() bool {
		s := h.conn.Status()
		return s.State == StateConnected && s.Items == 6 && allGood(h.table, 6)
	})
	// The old subscription was deleted, so the server holds our items once.
	waitFor(t, 3*time.Second, "7 monitored items on the server", func() bool { return ts.monitoredItems() == 7 })
}

func TestUnreachableEndpointKeepsTrying(t *testing.T) {
	port := freePort(t) // nothing listens here
	h := startConn(t, Options{Endpoint: fmt.Sprintf("opc.tcp://127.0.0.1:%d", port),
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 50 * time.Millisecond})
	waitFor(t, 5*time.Second, "an error", func() bool { return h.conn.Status().LastError != "" })
	s := h.conn.Status()
	if s.State != StateConnecting {
		t.Fatalf("state = %s before any session, want connecting", s.State)
	}
	if !strings.Contains(s.LastError, fmt.Sprint(port)) {
		t.Fatalf("lastError %q does not name the endpoint", s.LastError)
	}
	// That it connects once a server shows up is TestReconnectAfterServerRestart's job.
}
