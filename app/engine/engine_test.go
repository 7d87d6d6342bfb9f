package engine

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"minebrain/app/sim"
	"minebrain/app/tags"
	"minebrain/app/users"
)

// quiet keeps test output to warnings; a failing test prints what it needs.
var quiet = slog.New(slog.NewTextHandler(testWriter{}, &slog.HandlerOptions{Level: slog.LevelWarn}))

type testWriter struct{}

func (testWriter) Write(p []byte) (int, error) { return len(p), nil }

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cheapPasswords keep argon2 from dominating the tests (64 MiB per hash, slower still with -race).
var cheapPasswords = users.Params{Time: 1, Memory: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

func startEngine(t *testing.T, cfg Config) *Engine {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	if cfg.PasswordParams == (users.Params{}) {
		cfg.PasswordParams = cheapPasswords
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

func allGood(vals []TagValue, want int) bool {
	if len(vals) != want {
		return false
	}
	for _, v := range vals {
		if tags.QualityOf(v.Quality) != tags.Good || v.SourceTime == 0 || v.ServerTime == 0 {
			return false
		}
	}
	return true
}

func allBad(vals []TagValue) bool {
	for _, v := range vals {
		if tags.QualityOf(v.Quality) != tags.Bad {
			return false
		}
	}
	return len(vals) > 0
}

func signalCount(m Model) int {
	n := 0
	for _, a := range m.Areas {
		for _, u := range a.Units {
			n += len(u.Signals)
		}
	}
	return n
}

func TestEmbeddedSimulatedMine(t *testing.T) {
	e := startEngine(t, Config{Sim: sim.Options{Seed: 1, TimeScale: 60}, PublishInterval: 100 * time.Millisecond})

	m := e.Model()
	if m.Site != "Simulated mine" {
		t.Fatalf("site %q", m.Site)
	}
	areas := map[string]Area{}
	for _, a := range m.Areas {
		areas[a.Name] = a
	}
	remote := 0
	for _, name := range []string{"Pit", "Crushing", "Haulage"} {
		remote += len(areas[name].Units)
	}
	if remote < 28 {
		t.Fatalf("%d units in Pit, Crushing and Haulage, want at least 28", remote)
	}
	for _, name := range []string{"Water", "Power", "Heating"} {
		if len(areas[name].Units) == 0 {
			t.Fatalf("no units in area %s; areas: %v", name, keys(areas))
		}
	}
	for _, a := range m.Areas {
		for _, u := range a.Units {
			if u.Kind == "" || u.DisplayName == "" || len(u.Signals) == 0 {
				t.Fatalf("unit %+v lacks kind, name or signals", u)
			}
			if len(u.Key) == 0 || len(u.Key) > 3 {
				t.Errorf("unit %s (%s) has key %v", u.ID, u.Kind, u.Key)
			}
			for _, s := range u.Signals {
				if s.DataType == "" || !strings.HasPrefix(s.Tag, u.ID+".") {
					t.Fatalf("signal %+v of %s", s, u.ID)
				}
			}
		}
	}
	hoist := findSignal(m, "Pit.SH01.HoistCurrentA")
	if hoist == nil || hoist.Unit != "A" || hoist.High == nil || hoist.DataType != "Double" || hoist.Writable {
		t.Fatalf("Pit.SH01.HoistCurrentA = %+v", hoist)
	}
	if run := findSignal(m, "Pit.SH01.RunCmd"); run == nil || !run.Writable || run.DataType != "Boolean" {
		t.Fatalf("Pit.SH01.RunCmd = %+v", run)
	}

	n := signalCount(m)
	waitFor(t, 10*time.Second, "every value good with timestamps", func() bool { return allGood(e.Snapshot(), n) })
	st := e.Status()
	if len(st.Connections) != 1 || st.Connections[0].State != "connected" || st.Connections[0].Items != n {
		t.Fatalf("status %+v, want one connected connection with %d items", st, n)
	}

	before := valuesByTag(e.Snapshot())
	time.Sleep(1500 * time.Millisecond)
	changed := 0
	for tag, v := range valuesByTag(e.Snapshot()) {
		if v != before[tag] {
			changed++
		}
	}
	if changed < n/10 {
		t.Fatalf("only %d of %d values changed in 1.5 s at 60× time", changed, n)
	}
	if r := e.Status().Connections[0].Rate; r <= 0 {
		t.Fatalf("rate %v", r)
	}

	// The event stream: a status first, then coalesced tags batches.
	events, cancel := e.Subscribe()
	defer cancel()
	var tagTimes []time.Time
	statuses := 0
	timeout := time.After(2200 * time.Millisecond)
collect:
	for {
		select {
		case ev := <-events:
			switch ev.Name {
			case EventStatus:
				statuses++
			case EventTags:
				tagTimes = append(tagTimes, time.Now())
				checkCoalesced(t, ev.Data.([]TagValue))
			}
		case <-timeout:
			break collect
		}
	}
	if len(tagTimes) < 3 || len(tagTimes) > 12 {
		t.Fatalf("%d tags events in 2.2 s, want a few, at most one per %v", len(tagTimes), TagsInterval)
	}
	for i := 1; i < len(tagTimes); i++ {
		if gap := tagTimes[i].Sub(tagTimes[i-1]); gap < TagsInterval-30*time.Millisecond {
			t.Fatalf("tags events only %v apart", gap)
		}
	}
	if statuses < 2 {
		t.Fatalf("%d status events in 2.2 s", statuses)
	}
	e.Ready(ReadyInfo{Units: m.UnitCount(), Values: n})
}

func TestSimulatorLossAndRecovery(t *testing.T) {
	srv, err := sim.Start(context.Background(), sim.Options{Listen: "127.0.0.1:0", Seed: 1, TimeScale: 60, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	endpoint := srv.EndpointURL()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.Close()
		}
	}()

	e := startEngine(t, Config{Endpoint: endpoint, PublishInterval: 100 * time.Millisecond,
		StaleAfter: time.Second, ReconnectMin: 100 * time.Millisecond, ReconnectMax: 500 * time.Millisecond})
	waitFor(t, 10*time.Second, "the model", func() bool { return e.Model().UnitCount() > 0 })
	n := signalCount(e.Model())
	events, cancel := e.Subscribe()
	defer cancel()
	models := make(chan Event, 1)
	go func() {
		for ev := range events {
			if ev.Name == EventModel {
				models <- ev
			}
		}
	}()
	waitFor(t, 10*time.Second, "good values", func() bool { return allGood(e.Snapshot(), n) })

	lost := time.Now()
	if err := srv.Close(); err != nil {
		t.Fatalf("close simulator: %v", err)
	}
	stopped = true
	t.Logf("simulator closed in %v", time.Since(lost).Round(time.Millisecond))
	waitFor(t, 15*time.Second, "disconnected", func() bool { return e.Status().Connections[0].State == "disconnected" })
	t.Logf("disconnected after %v: %s", time.Since(lost), e.Status().Connections[0].LastError)
	waitFor(t, 2*time.Second, "every value bad", func() bool { return allBad(e.Snapshot()) })
	for _, v := range e.Snapshot() {
		if v.Quality != 0x80050000 || v.SourceTime < lost.UnixMilli()-1 {
			t.Fatalf("%s after loss: q=%#x ts=%d, want BadCommunicationError at or after %d", v.Tag, v.Quality, v.SourceTime, lost.UnixMilli())
		}
	}

	srv2, err := startSimOn(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()
	restarted := time.Now()
	waitFor(t, 15*time.Second, "connected again", func() bool { return e.Status().Connections[0].State == "connected" })
	t.Logf("connected after %v", time.Since(restarted))
	waitFor(t, 10*time.Second, "good values again", func() bool { return allGood(e.Snapshot(), n) })
	if items := e.Status().Connections[0].Items; items != n {
		t.Fatalf("%d items after recovery, want %d", items, n)
	}
	select {
	case <-models:
		t.Fatal("a model event after a restart with the same address space")
	default:
	}
}

// startSimOn starts the simulator on a fixed address, retrying while the old one lets go.
func startSimOn(hostPort string) (*sim.Server, error) {
	var err error
	for i := 0; i < 50; i++ {
		var srv *sim.Server
		srv, err = sim.Start(context.Background(), sim.Options{Listen: hostPort, Seed: 1, TimeScale: 60, Logger: quiet})
		if err == nil {
			return srv, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("restart simulator on %s: %w", hostPort, err)
}

func TestStartsWithoutServerAndFollowsItsModel(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens here now
	endpoint := "opc.tcp://" + addr
	e, err := New(Config{Endpoint: endpoint, PublishInterval: 100 * time.Millisecond,
		ReconnectMin: 100 * time.Millisecond, ReconnectMax: 300 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	events, cancel := e.Subscribe()
	defer cancel()

	began := time.Now()
	if err := e.Start(context.Background()); err != nil {
		t.Fatalf("Start with nothing listening = %v, want nil", err)
	}
	if took := time.Since(began); took > time.Second {
		t.Fatalf("Start took %v with nothing listening; it must not wait for the server", took)
	}
	if m := e.Model(); m.UnitCount() != 0 || m.Site != endpoint {
		t.Fatalf("model before discovery %+v, want site %s and no units", m, endpoint)
	}
	waitFor(t, 5*time.Second, "connecting with an error naming the address", func() bool {
		c := e.Status().Connections
		return len(c) == 1 && c[0].State == "connecting" && strings.Contains(c[0].LastError, addr)
	})
	t.Logf("while waiting: %s", e.Status().Connections[0].LastError)

	srv, err := sim.Start(context.Background(), sim.Options{Listen: addr, TimeScale: 60, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close() // after the engine's Close (deferred earlier runs later): see Engine.Close
	defer e.Close()
	model := nextEvent(t, events, EventModel, 20*time.Second).Data.(Model)
	if n := remoteUnits(model); n < 28 {
		t.Fatalf("model event with %d remote-controlled units, want at least 28", n)
	}
	if got := e.Model(); !reflect.DeepEqual(got, model) {
		t.Fatalf("Model() differs from the model event")
	}
	for {
		batch := nextEvent(t, events, EventTags, 10*time.Second).Data.([]TagValue)
		if slices.ContainsFunc(batch, func(v TagValue) bool { return tags.QualityOf(v.Quality) == tags.Good }) {
			break
		}
	}
	n := signalCount(model)
	waitFor(t, 10*time.Second, "every value good", func() bool { return allGood(e.Snapshot(), n) })
	if c := e.Status().Connections[0]; c.State != "connected" || c.LastError != "" || c.Items != n {
		t.Fatalf("status %+v, want connected with %d items and no error", c, n)
	}
}

// nextEvent returns the next event named name, skipping others.
func nextEvent(t *testing.T, events <-chan Event, name string, timeout time.Duration) Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("event stream closed while waiting for %s", name)
			}
			if ev.Name == name {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event within %v", name, timeout)
		}
	}
}

// remoteUnits counts the units of the remote-controlled areas.
func remoteUnits(m Model) int {
	n := 0
	for _, a := range m.Areas {
		if a.Name == "Pit" || a.Name == "Crushing" || a.Name == "Haulage" {
			n += len(a.Units)
		}
	}
	return n
}

func findSignal(m Model, tag string) *Signal {
	for _, a := range m.Areas {
		for _, u := range a.Units {
			for i := range u.Signals {
				if u.Signals[i].Tag == tag {
					return &u.Signals[i]
				}
			}
		}
	}
	return nil
}

func valuesByTag(vs []TagValue) map[string]any {
	m := make(map[string]any, len(vs))
	for _, v := range vs {
		m[v.Tag] = v.Value
	}
	return m
}

func keys(m map[string]Area) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestNewRejectsBadEndpoint(t *testing.T) {
	if _, err := New(Config{Endpoint: "http://127.0.0.1:4840"}); err == nil || !strings.Contains(err.Error(), "--endpoint: \"http://127.0.0.1:4840\": scheme http is not supported") {
		t.Fatalf("New with an http endpoint = %v", err)
	}
}
