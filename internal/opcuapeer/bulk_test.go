package opcuapeer

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"
)

// cpuTicks is the user+system CPU time of a process in clock ticks (100 per second).
func cpuTicks(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return u + s
}

// TestBulkLoad subscribes to 10,000 variables changing at 10 Hz and reports the peer's
// CPU use and the notification rate. Slow, so only with MINEBRAIN_PEER_BULK=1.
func TestBulkLoad(t *testing.T) {
	if os.Getenv("MINEBRAIN_PEER_BULK") == "" {
		t.Skip("set MINEBRAIN_PEER_BULK=1 to run the 10k-variable load test")
	}
	const n = 10000
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	p := Start(t, Options{Bulk: n, BulkInterval: 100 * time.Millisecond})

	measure := func(what string) {
		a := cpuTicks(t, p.PID())
		time.Sleep(10 * time.Second)
		// 100 ticks per second over 10 s: ticks/10 is the percentage of one core
		t.Logf("%s: peer CPU %d%% of one core", what, (cpuTicks(t, p.PID())-a)/10)
	}
	measure("no subscriber")

	c, err := connect(t, ctx, p.Endpoint(), "None", ua.MessageSecurityModeNone, ua.UserTokenTypeAnonymous)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	ns, err := c.FindNamespace(ctx, NamespaceURI)
	if err != nil {
		t.Fatal(err)
	}
	notes := make(chan *opcua.PublishNotificationData, 64)
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: 100 * time.Millisecond}, notes)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Cancel(ctx)
	var count, batches int // read only after done is closed
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case d := <-notes:
				if dc, ok := d.Value.(*ua.DataChangeNotification); ok {
					count += len(dc.MonitoredItems)
					batches++
				}
			}
		}
	}()
	// 1000 items per call: the peer's advertised MaxMonitoredItemsPerCall
	for g := 0; g < n/100; g += 10 {
		var reqs []*ua.MonitoredItemCreateRequest
		for k := g; k < g+10; k++ {
			for i := 0; i < 100; i++ {
				id := ua.NewStringNodeID(ns, fmt.Sprintf("Bulk.G%03d.V%02d", k, i))
				reqs = append(reqs, opcua.NewMonitoredItemCreateRequestWithDefaults(id, ua.AttributeIDValue, uint32(k*100+i)))
			}
		}
		res, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth, reqs...)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Results {
			if r.StatusCode != ua.StatusOK {
				t.Fatalf("monitor: %v", r.StatusCode)
			}
		}
	}
	time.Sleep(2 * time.Second)
	measure("10k monitored items")
	cancel()
	<-done
	// node-opcua sends at most 1000 notifications per PublishResponse
	// (Subscription.maxNotificationPerPublishHighLimit), so the client sees fewer
	// changes than the peer makes; queue size 1 keeps the latest value of each item.
	t.Logf("%d data changes in %d notifications", count, batches)
}
