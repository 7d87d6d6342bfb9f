package sim

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"
)

// These tests hammer the subscription services the way clients that start and
// stop in a hurry do (the engine closed during start-up), against a server of
// their own. Every request and Close have deadlines of their own, so a
// deadlock fails the test instead of hanging the run.

// quickDial connects a client whose requests give up after a few seconds.
func quickDial(ctx context.Context, endpoint string) (*opcua.Client, error) {
	c, err := opcua.NewClient(endpoint,
		opcua.SecurityMode(ua.MessageSecurityModeNone),
		opcua.AutoReconnect(false),
		opcua.RequestTimeout(4*time.Second))
	if err != nil {
		return nil, err
	}
	if err := c.Connect(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// signalItems asks to monitor every signal of the mine (690 items).
func signalItems(seed int64) []*ua.MonitoredItemCreateRequest {
	var items []*ua.MonitoredItemCreateRequest
	for i, sig := range NewMine(Config{Seed: seed}).Signals() {
		items = append(items, opcua.NewMonitoredItemCreateRequestWithDefaults(nodeID(sig.Tag), ua.AttributeIDValue, uint32(i)))
	}
	return items
}

// subscribeAll creates a subscription and monitors items in it, in one call
// or in chunks, and returns the subscription without waiting for any value.
func subscribeAll(ctx context.Context, c *opcua.Client, items []*ua.MonitoredItemCreateRequest, chunk int) (*opcua.Subscription, error) {
	ch := make(chan *opcua.PublishNotificationData, 64)
	go func() { // nobody reads the values; keep the client's publish loop going
		for {
			select {
			case <-ch:
			case <-ctx.Done():
				return
			}
		}
	}()
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: 100 * time.Millisecond}, ch)
	if err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	for i := 0; i < len(items); i += chunk {
		res, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth, items[i:min(i+chunk, len(items))]...)
		if err != nil {
			return sub, fmt.Errorf("monitor items %d..: %w", i, err)
		}
		if res.ResponseHeader.ServiceResult != ua.StatusOK {
			return sub, fmt.Errorf("monitor items %d..: %v", i, res.ResponseHeader.ServiceResult)
		}
	}
	return sub, nil
}

// closeWithin closes s and reports whether that took less than d.
func closeWithin(t *testing.T, s *Server, marks []string, d time.Duration) bool {
	t.Helper()
	begin := time.Now()
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
		t.Logf("closed in %v", time.Since(begin).Round(time.Millisecond))
		return true
	case <-time.After(d):
		t.Errorf("Close did not return within %v; the server's goroutines:\n%s", d, serverStacks(marks))
		return false
	}
}

// serverStacks describes what the goroutines of a server (see fingerprints)
// are waiting for, for a failure message: the stacks of the interesting ones
// in full (a send into a subscription queue, a deletion, the update loop)
// and a count of the rest.
func serverStacks(marks []string) string {
	var out []string
	waiting := 0
	for _, g := range leftovers(marks) {
		switch {
		case strings.Contains(g, "[chan send") && strings.Contains(g, "ChangeNotification"),
			strings.Contains(g, ".DeleteSubscription("),
			strings.Contains(g, "sim.(*notifier).notify"):
			if len(out) < 6 {
				out = append(out, g)
				continue
			}
		}
		if strings.Contains(g, "sync.Mutex.Lock") || strings.Contains(g, "[chan send") {
			waiting++
		}
	}
	return fmt.Sprintf("%s\n\n...and %d more goroutines of gopcua's server waiting for a lock or a queue", strings.Join(out, "\n\n"), waiting)
}

// healthy checks that the server still answers and still delivers changes.
func healthy(t *testing.T, s *Server, marks []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	c, err := quickDial(ctx, s.EndpointURL())
	if err != nil {
		t.Fatalf("connect after the churn: %v\n%s", err, serverStacks(marks))
	}
	defer c.Close(context.Background())
	ch := make(chan *opcua.PublishNotificationData, 64)
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: 100 * time.Millisecond}, ch)
	if err != nil {
		t.Fatalf("subscribe after the churn: %v\n%s", err, serverStacks(marks))
	}
	if _, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth, opcua.NewMonitoredItemCreateRequestWithDefaults(nodeID("Haulage.OC1.LoadTPH"), ua.AttributeIDValue, 1)); err != nil {
		t.Fatalf("monitor after the churn: %v\n%s", err, serverStacks(marks))
	}
	for n := 0; n < 3; { // the initial value and two changes
		select {
		case msg := <-ch:
			if dcn, ok := msg.Value.(*ua.DataChangeNotification); ok {
				n += len(dcn.MonitoredItems)
			}
		case <-ctx.Done():
			t.Fatalf("no value changes after the churn (%d notifications)\n%s", n, serverStacks(marks))
		}
	}
}

// TestSubscriptionChurnAndClose: clients that monitor every signal and at
// once delete their subscription or hang up, over and over, must not wedge
// the server or get each other's subscription ids; afterwards it still
// serves. Then Close, while clients are in the middle of creating monitored
// items, returns within a couple of seconds and leaves no goroutine of the
// server behind. One server for both: each costs seconds to build.
func TestSubscriptionChurnAndClose(t *testing.T) {
	t.Parallel()
	s, err := Start(context.Background(), Options{Listen: "127.0.0.1:0", Seed: 3, TimeScale: 60, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	marks := fingerprints(s)
	items := signalItems(3)
	t.Run("delete or hang up right after monitoring", func(t *testing.T) { churn(t, s, marks, items) })
	t.Run("close while creating monitored items", func(t *testing.T) { closeWhileCreating(t, s, marks, items) })
}

func churn(t *testing.T, s *Server, marks []string, items []*ua.MonitoredItemCreateRequest) {
	const workers, rounds = 3, 4
	errs := make(chan error, workers)
	var idMu sync.Mutex
	ids := map[uint32]string{} // subscription id -> who got it
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- func() error {
				for r := range rounds {
					ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
					defer cancel()
					c, err := quickDial(ctx, s.EndpointURL())
					if err != nil {
						return fmt.Errorf("worker %d round %d: connect: %w", w, r, err)
					}
					// One call for all items, or several; then delete the
					// subscription, or just hang up without deleting it.
					sub, err := subscribeAll(ctx, c, items, []int{len(items), 250}[(w+r)%2])
					if sub != nil {
						who := fmt.Sprintf("worker %d round %d", w, r)
						idMu.Lock()
						prev, dup := ids[sub.SubscriptionID]
						ids[sub.SubscriptionID] = who
						idMu.Unlock()
						if dup && err == nil {
							err = fmt.Errorf("got subscription id %d, which %s had", sub.SubscriptionID, prev)
						}
					}
					if err == nil && (w+r)%3 != 2 {
						err = sub.Cancel(ctx)
					}
					c.Close(ctx)
					if err != nil {
						return fmt.Errorf("worker %d round %d: %w", w, r, err)
					}
				}
				return nil
			}()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("%v\n%s", err, serverStacks(marks))
		}
	}
	healthy(t, s, marks)
}

func closeWhileCreating(t *testing.T, s *Server, marks []string, items []*ua.MonitoredItemCreateRequest) {
	stop := make(chan struct{})
	monitoring := make(chan struct{}, 16)
	var wg sync.WaitGroup
	defer func() {
		close(stop)
		wg.Wait()
	}()
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { <-stop; cancel() }()
			c, err := quickDial(ctx, s.EndpointURL())
			if err != nil {
				return
			}
			defer c.Close(context.Background())
			for r := 0; ctx.Err() == nil; r++ {
				select {
				case monitoring <- struct{}{}:
				default:
				}
				sub, err := subscribeAll(ctx, c, items, []int{len(items), 100}[(w+r)%2])
				if err != nil {
					return // the server closed
				}
				if w != 0 { // worker 0 piles subscriptions up
					_ = sub.Cancel(ctx)
				}
			}
		}()
	}
	// Close while the clients are busy: after a few rounds have begun.
	deadline := time.After(10 * time.Second)
	for i := 0; i < 8; i++ {
		select {
		case <-monitoring:
		case <-deadline:
			t.Errorf("the clients did not get going\n%s", serverStacks(marks))
			i = 8
		}
	}
	if closeWithin(t, s, marks, 2*time.Second) {
		waitFor(t, 5*time.Second, "the closed server's goroutines to end", func() bool { return len(leftovers(marks)) == 0 })
	}
}
