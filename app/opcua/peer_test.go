package opcua

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gopcua/opcua/ua"

	"minebrain/app/pki"
	"minebrain/app/tags"
	"minebrain/internal/opcuapeer"
)

// These tests talk to node-opcua (testpeer/opcua), an implementation independent of the
// gopcua stack the client is built on.

// plantItems is the number of variables under the peer's Objects/Plant/<pump>/.
const plantItems = 12

var plantSelection = Selection{Browse: []BrowseRule{{Under: "Objects/Plant", Match: "*/*"}}}

// peerSecurity returns settings with a fresh PKI whose trust list holds the peer's
// certificate, so the tests that are not about trust can connect at once.
func peerSecurity(t *testing.T, peer *opcuapeer.Peer, policy, mode string) (Security, *pki.Store) {
	t.Helper()
	store, err := pki.Open(filepath.Join(t.TempDir(), "pki"))
	if err != nil {
		t.Fatal(err)
	}
	der, key, err := store.Own("urn:minebrain:test", "Minebrain test")
	if err != nil {
		t.Fatal(err)
	}
	if peer != nil {
		trustPeer(t, store, peer)
	}
	return Security{
		Policy:      policy,
		Mode:        mode,
		Certificate: &AppCertificate{DER: der, Key: key, ApplicationURI: "urn:minebrain:test"},
		Trust:       store,
		TrustName:   "peer",
	}, store
}

// trustPeer puts the peer's certificate into the store's trust list, as an operator would.
func trustPeer(t *testing.T, store *pki.Store, peer *opcuapeer.Peer) {
	t.Helper()
	der, err := peer.CertificateDER()
	if err != nil {
		t.Fatal(err)
	}
	in, err := pki.InfoOf(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store.Dir(), "trusted", "certs", in.Thumbprint+".der"), der, 0o600); err != nil {
		t.Fatal(err)
	}
}

func peerConn(t *testing.T, peer *opcuapeer.Peer, sec Security, sel Selection) *harness {
	t.Helper()
	return startConn(t, Options{
		Name:            "peer",
		Endpoint:        peer.Endpoint(),
		Security:        sec,
		Select:          sel,
		PublishInterval: 100 * time.Millisecond,
		StaleAfter:      2 * time.Second,
		ReconnectMin:    100 * time.Millisecond,
		ReconnectMax:    time.Second,
	})
}

func TestPeerSecurityMatrix(t *testing.T) {
	peer := opcuapeer.Start(t, opcuapeer.Options{})
	type combo struct{ policy, mode string }
	combos := []combo{{"None", "None"}}
	for _, p := range []string{"Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"} {
		for _, m := range []string{"Sign", "SignAndEncrypt"} {
			combos = append(combos, combo{p, m})
		}
	}
	for _, c := range combos {
		for _, user := range []bool{false, true} {
			login := "anonymous"
			if user {
				login = "username"
			}
			t.Run(c.policy+"/"+c.mode+"/"+login, func(t *testing.T) {
				sec, _ := peerSecurity(t, peer, c.policy, c.mode)
				if user {
					sec.Identity = Identity{Username: opcuapeer.User, Password: opcuapeer.Password}
				}
				h := peerConn(t, peer, sec, plantSelection)
				waitFor(t, 20*time.Second, "every plant item Good", func() bool { return allGood(h.table, plantItems) })
				want := c.policy + " · " + c.mode + " · " + login
				if st := h.conn.Status(); st.State != StateConnected || st.Items != plantItems || st.Security != want {
					t.Fatalf("status %+v, want connected with %d items over %q", st, plantItems, want)
				}
			})
		}
	}
	t.Run("best", func(t *testing.T) {
		sec, _ := peerSecurity(t, peer, "best", "best")
		h := peerConn(t, peer, sec, plantSelection)
		waitFor(t, 20*time.Second, "connected", func() bool { return h.conn.Status().State == StateConnected })
		if got := h.conn.Status().Security; got != "Aes256_Sha256_RsaPss · SignAndEncrypt · anonymous" {
			t.Errorf("best picked %q", got)
		}
	})
}

func TestPeerWrongPasswordIsAClearError(t *testing.T) {
	peer := opcuapeer.Start(t, opcuapeer.Options{NoAnonymous: true})
	sec, _ := peerSecurity(t, peer, "Basic256Sha256", "SignAndEncrypt")
	sec.Identity = Identity{Username: opcuapeer.User, Password: "wrong"}
	h := peerConn(t, peer, sec, plantSelection)
	waitFor(t, 20*time.Second, "the refusal", func() bool { return h.conn.Status().LastError != "" })
	st := h.conn.Status()
	if st.State == StateConnected || !strings.Contains(st.LastError, `the server refused user "operator"`) ||
		!strings.Contains(st.LastError, "password") {
		t.Fatalf("status %+v, want a refusal naming the user and the password", st)
	}

	// Anonymous where the server wants a user: the endpoint list says so before trying.
	sec.Identity = Identity{}
	h2 := peerConn(t, peer, sec, plantSelection)
	waitFor(t, 20*time.Second, "the refusal", func() bool { return h2.conn.Status().LastError != "" })
	if e := h2.conn.Status().LastError; !strings.Contains(e, "anonymous login") {
		t.Fatalf("anonymous on a user-only server: %q", e)
	}
}

// TestPeerCertificateTrust: an unknown server certificate is refused and kept in rejected/;
// trusted, it connects and is pinned; a server that comes back with another certificate is
// refused, loudly, until that one is trusted for the connection.
func TestPeerCertificateTrust(t *testing.T) {
	peer := opcuapeer.Start(t, opcuapeer.Options{})
	sec, store := peerSecurity(t, nil, "Basic256Sha256", "SignAndEncrypt")
	h := peerConn(t, peer, sec, plantSelection)

	waitFor(t, 20*time.Second, "the refusal", func() bool { return h.conn.Status().Err != nil })
	var untrusted *pki.UntrustedError
	if err := h.conn.Status().Err; !errors.As(err, &untrusted) {
		t.Fatalf("error %v, want an untrusted certificate", err)
	}
	der, _ := peer.CertificateDER()
	if untrusted.Info.Thumbprint != pki.Thumbprint(der) {
		t.Fatalf("refused %s, the peer's is %s", untrusted.Info.Thumbprint, pki.Thumbprint(der))
	}
	if _, err := os.Stat(untrusted.Info.File); err != nil || !strings.Contains(untrusted.Info.File, "rejected") {
		t.Fatalf("no copy in rejected/: %q %v", untrusted.Info.File, err)
	}
	if h.table.Len() != 0 {
		t.Fatalf("%d tags registered through an untrusted server", h.table.Len())
	}

	if _, err := store.Trust(untrusted.Info.Thumbprint, "peer"); err != nil {
		t.Fatal(err)
	}
	h.conn.RetryNow()
	waitFor(t, 20*time.Second, "connected once trusted", func() bool { return allGood(h.table, plantItems) })
	if pin := store.Pins()["peer"]; pin != untrusted.Info.Thumbprint {
		t.Fatalf("pin %q, want %q", pin, untrusted.Info.Thumbprint)
	}

	peer.Restart(t, opcuapeer.Options{NewCert: true})
	waitFor(t, 30*time.Second, "the changed certificate refused", func() bool {
		var changed *pki.PinMismatchError
		return errors.As(h.conn.Status().Err, &changed)
	})
	if st := h.conn.Status(); st.State == StateConnected || !strings.Contains(st.LastError, "changed") {
		t.Fatalf("status %+v after the certificate changed", st)
	}
}

// TestPeerRestartsTenTimes stops the server with SIGTERM and SIGKILL in turn, ten times:
// every time all items deliver again within twice the longest reconnect wait of the server
// being back, each monitored exactly once, with Bad values during the outage.
func TestPeerRestartsTenTimes(t *testing.T) {
	peer := opcuapeer.Start(t, opcuapeer.Options{})
	h := peerConn(t, peer, Security{}, plantSelection)
	waitFor(t, 20*time.Second, "every item Good", func() bool { return allGood(h.table, plantItems) })
	reconnectMax := time.Second

	for i := 1; i <= 10; i++ {
		sig := syscall.SIGTERM
		if i%2 == 0 {
			sig = syscall.SIGKILL
		}
		peer.Stop(sig)
		waitFor(t, 10*time.Second, fmt.Sprintf("restart %d (%v): every value Bad", i, sig), func() bool {
			return allQuality(h.table, tags.Bad)
		})
		peer.Restart(t, opcuapeer.Options{})
		back := time.Now()
		waitFor(t, 2*reconnectMax+5*time.Second, fmt.Sprintf("restart %d: every item Good again", i), func() bool {
			return allGood(h.table, plantItems)
		})
		took := time.Since(back)
		st := h.conn.Status()
		if st.Items != plantItems || h.table.Len() != plantItems {
			t.Fatalf("restart %d: %d items monitored, %d tags; want %d each", i, st.Items, h.table.Len(), plantItems)
		}
		// The server's own count: every signal and the heartbeat, once each.
		if n := serverMonitoredItems(t, peer); n != plantItems+1 {
			t.Fatalf("restart %d: the server holds %d monitored items, want %d", i, n, plantItems+1)
		}
		if took > 2*reconnectMax+st.SetupTime {
			t.Errorf("restart %d (%v): items back %v after the server, more than twice the reconnect interval (%v) plus setup (%v)",
				i, sig, took.Round(time.Millisecond), reconnectMax, st.SetupTime.Round(time.Millisecond))
		}
		t.Logf("restart %d (%v): all %d items back %v after the server was", i, sig, plantItems, took.Round(time.Millisecond))
	}
}

// TestPeerNodeRemovedAcrossRestart: a server that comes back without one node reports that
// node and keeps delivering the others.
func TestPeerNodeRemovedAcrossRestart(t *testing.T) {
	peer := opcuapeer.Start(t, opcuapeer.Options{})
	sel := Selection{Nodes: []NodeRule{
		{Node: "nsu=" + opcuapeer.NamespaceURI + ";s=Plant.Pump1.FlowM3h", Tag: "Plant.Pump1.FlowM3h"},
		{Node: "nsu=" + opcuapeer.NamespaceURI + ";s=Plant.Pump2.PressureBar", Tag: "Plant.Pump2.PressureBar"},
		{Node: "nsu=" + opcuapeer.NamespaceURI + ";s=Plant.Pump2.FlowM3h", Tag: "Plant.Pump2.FlowM3h"},
	}}
	h := peerConn(t, peer, Security{}, sel)
	waitFor(t, 20*time.Second, "three items Good", func() bool { return allGood(h.table, 3) })

	peer.Stop(syscall.SIGKILL)
	peer.Restart(t, opcuapeer.Options{Omit: []string{"Plant.Pump2.PressureBar"}})
	gone, _ := h.table.Lookup("Plant.Pump2.PressureBar")
	flow, _ := h.table.Lookup("Plant.Pump1.FlowM3h")
	var before time.Time
	waitFor(t, 20*time.Second, "the others live, the removed node Bad", func() bool {
		g, _ := h.table.Get(gone)
		f, _ := h.table.Get(flow)
		if before.IsZero() {
			before = f.SourceTime
		}
		return h.conn.Status().State == StateConnected && g.Status == 0x80340000 /* BadNodeIdUnknown */ &&
			f.Quality() == tags.Good && f.SourceTime.After(before)
	})
	st := h.conn.Status()
	if st.Items != 2 || len(st.Problems) != 1 || !strings.Contains(st.Problems[0], "Plant.Pump2.PressureBar") {
		t.Fatalf("status %+v, want 2 items and the removed node named", st)
	}
	// Still delivering some seconds later: the silent subscription of a restart with a
	// missing node is what this guards against.
	f0, _ := h.table.Get(flow)
	time.Sleep(3 * time.Second)
	if f1, _ := h.table.Get(flow); !f1.SourceTime.After(f0.SourceTime) || h.conn.Status().State != StateConnected {
		t.Fatalf("the other items went silent: %v then %v, state %s", f0.SourceTime, f1.SourceTime, h.conn.Status().State)
	}
}

// TestPeerTenThousandItems monitors 10,000 items on node-opcua, created in chunks that fit
// the server's advertised limits, and sees every one deliver.
func TestPeerTenThousandItems(t *testing.T) {
	peer := opcuapeer.Start(t, opcuapeer.Options{Bulk: 10000, BulkInterval: time.Second})
	h := startConn(t, Options{
		Name:            "bulk",
		Endpoint:        peer.Endpoint(),
		Select:          Selection{Browse: []BrowseRule{{Under: "Objects/Bulk", Match: "*/*"}}},
		PublishInterval: 500 * time.Millisecond,
		StaleAfter:      10 * time.Second,
	})
	waitFor(t, 90*time.Second, "10,000 items Good", func() bool { return allGood(h.table, 10000) })
	st := h.conn.Status()
	if st.Items != 10000 {
		t.Fatalf("%d items monitored", st.Items)
	}
	t.Logf("10,000 items: connect to all monitored in %v", st.SetupTime.Round(time.Millisecond))
}

func allQuality(tb *tags.Table, q tags.Quality) bool {
	snap := tb.Snapshot()
	for _, v := range snap {
		if v.Quality() != q {
			return false
		}
	}
	return len(snap) > 0
}

// serverMonitoredItems asks the peer how many monitored items its sessions hold.
func serverMonitoredItems(t *testing.T, peer *opcuapeer.Peer) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tool, err := DialTool(ctx, ToolOptions{Endpoint: peer.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	defer tool.Close()
	vals, err := tool.Read(ctx, []*ua.NodeID{ua.MustParseNodeID("ns=2;s=Stats.MonitoredItems")})
	if err != nil {
		t.Fatal(err)
	}
	n, ok := vals[0].Value.(uint64) // the tools widen unsigned integers
	if !ok {
		t.Fatalf("Stats.MonitoredItems = %#v", vals[0].Value)
	}
	return int(n)
}

// TestPeerUserCertificateLogin logs in with an X.509 user certificate instead of a password.
func TestPeerUserCertificateLogin(t *testing.T) {
	peer := opcuapeer.Start(t, opcuapeer.Options{NoAnonymous: true})
	sec, _ := peerSecurity(t, peer, "Basic256Sha256", "SignAndEncrypt")
	users, err := pki.Open(filepath.Join(t.TempDir(), "user"))
	if err != nil {
		t.Fatal(err)
	}
	der, key, err := users.Own("urn:minebrain:test:operator", "operator")
	if err != nil {
		t.Fatal(err)
	}
	sec.Identity = Identity{CertificateDER: der, Key: key}
	h := peerConn(t, peer, sec, plantSelection)
	waitFor(t, 20*time.Second, "every plant item Good", func() bool { return allGood(h.table, plantItems) })
	if got := h.conn.Status().Security; got != "Basic256Sha256 · SignAndEncrypt · certificate" {
		t.Errorf("security %q", got)
	}
}

// TestPeerDeadbands: absolute and percent deadbands reach the server as DataChangeFilters: a
// flow swinging ±100 m³/h passes no deadband of 1000, a pressure swinging ±2 bar none of 50 %
// of its 16 bar range, while the same pressure without a deadband changes all the time.
func TestPeerDeadbands(t *testing.T) {
	peer := opcuapeer.Start(t, opcuapeer.Options{})
	node := func(s string) string { return "nsu=" + opcuapeer.NamespaceURI + ";s=" + s }
	h := peerConn(t, peer, Security{}, Selection{Nodes: []NodeRule{
		{Node: node("Plant.Pump2.FlowM3h"), Tag: "Dead.P2.Absolute", Deadband: Deadband{Kind: "absolute", Value: 1000}},
		{Node: node("Plant.Pump2.PressureBar"), Tag: "Dead.P2.Percent", Deadband: Deadband{Kind: "percent", Value: 50}},
		{Node: node("Plant.Pump1.PressureBar"), Tag: "Dead.P1.None"},
	}})
	waitFor(t, 20*time.Second, "three items Good", func() bool { return allGood(h.table, 3) })
	var mu sync.Mutex
	counts := map[tags.ID]int{}
	h.table.SetTap(func(batch []tags.Update) {
		mu.Lock()
		defer mu.Unlock()
		for _, u := range batch {
			counts[u.ID]++
		}
	})
	time.Sleep(3 * time.Second)
	mu.Lock()
	defer mu.Unlock()
	count := func(tag string) int { id, _ := h.table.Lookup(tag); return counts[id] }
	if a, p, n := count("Dead.P2.Absolute"), count("Dead.P2.Percent"), count("Dead.P1.None"); a > 0 || p > 0 || n < 5 {
		t.Fatalf("changes in 3 s: absolute deadband %d, percent deadband %d, none %d; want 0, 0 and many", a, p, n)
	}
}
