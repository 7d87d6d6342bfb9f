package opcua

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"minebrain/app/tags"
)

// BenchOptions configure RunBench: a real Connection subscribes to every variable a browse
// rule finds and delivers into a real tag table, as the engine does.
type BenchOptions struct {
	Endpoint string
	Security Security
	// Under and Match select the items (a BrowseRule); default Objects/Bulk and */*.
	Under, Match string
	// Sampling is the items' sampling interval, which should be the server's update period;
	// Publish the publishing interval. Defaults 100 ms and 250 ms.
	Sampling, Publish time.Duration
	// MaxNotificationsPerPublish is passed to the subscription; nil keeps the default.
	MaxNotificationsPerPublish *uint32
	// Warmup is excluded from the measurement (the initial values arrive then); For is the
	// measured window. Defaults 3 s and 20 s.
	Warmup, For time.Duration
	// SetupTimeout bounds connecting and subscribing every item; default 60 s.
	SetupTimeout time.Duration
	Logger       *slog.Logger
	// Progress, if set, is called about once a second during the measurement.
	Progress func(elapsed time.Duration, notifications uint64)
}

// BenchResult is what RunBench measured. Loss is counted from the values themselves: the
// bench expects every item to count up by one per server update (as the test peer's bulk
// variables do), so a step of more than one is that many updates lost somewhere between the
// server's variable and the tag table. Overflow counts the samples the server flagged as
// following a queue overflow, which places that loss in the server.
type BenchResult struct {
	Items          int           `json:"items"`
	SetupTime      time.Duration `json:"setupTimeNs"`
	Window         time.Duration `json:"windowNs"`
	Notifications  uint64        `json:"notifications"`
	PerSecond      float64       `json:"notificationsPerSecond"`
	Lost           uint64        `json:"lost"`
	OutOfOrder     uint64        `json:"notAdvancing"` // repeated or older values
	Overflow       uint64        `json:"overflow"`
	Bad            uint64        `json:"bad"`
	CPUPercentCore float64       `json:"cpuPercentOfOneCore"`
}

// RunBench measures the notification path against a live server.
func RunBench(ctx context.Context, o BenchOptions) (BenchResult, error) {
	if o.Under == "" {
		o.Under = "Objects/Bulk"
	}
	if o.Match == "" {
		o.Match = "*/*"
	}
	if o.Sampling <= 0 {
		o.Sampling = 100 * time.Millisecond
	}
	if o.Publish <= 0 {
		o.Publish = 250 * time.Millisecond
	}
	if o.Warmup <= 0 {
		o.Warmup = 3 * time.Second
	}
	if o.For <= 0 {
		o.For = 20 * time.Second
	}
	if o.SetupTimeout <= 0 {
		o.SetupTimeout = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	table := tags.NewTable()
	counter := &lossCounter{}
	table.SetTap(counter.observe)
	conn, err := New(Options{
		Name:             "bench",
		Endpoint:         o.Endpoint,
		Security:         o.Security,
		Select:           Selection{Browse: []BrowseRule{{Under: o.Under, Match: o.Match, Area: "Bench"}}},
		PublishInterval:  o.Publish,
		SamplingInterval: o.Sampling,
		// Room for every sample between two publishes, and one spare.
		QueueSize:                  uint32(math.Ceil(float64(o.Publish)/float64(o.Sampling))) + 2,
		MaxNotificationsPerPublish: o.MaxNotificationsPerPublish,
		Logger:                     o.Logger,
	}, table)
	if err != nil {
		return BenchResult{}, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn.Run(runCtx)
	}()
	defer func() {
		cancel()
		<-done
	}()

	// Wait for the subscription, then for the warm-up to pass.
	setup := time.NewTimer(o.SetupTimeout)
	defer setup.Stop()
	for conn.Status().State != StateConnected {
		select {
		case <-ctx.Done():
			return BenchResult{}, ctx.Err()
		case <-setup.C:
			return BenchResult{}, fmt.Errorf("not subscribed after %v: %s", o.SetupTimeout, conn.Status().LastError)
		case <-time.After(20 * time.Millisecond):
		}
	}
	st := conn.Status()
	if st.Items == 0 {
		return BenchResult{}, fmt.Errorf("no items under %s matching %s", o.Under, o.Match)
	}
	select {
	case <-ctx.Done():
		return BenchResult{}, ctx.Err()
	case <-time.After(o.Warmup):
	}

	before := counter.snapshot()
	cpu0, start := processCPU(), time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	end := time.NewTimer(o.For)
	defer end.Stop()
measure:
	for {
		select {
		case <-ctx.Done():
			return BenchResult{}, ctx.Err()
		case <-tick.C:
			if o.Progress != nil {
				o.Progress(time.Since(start), counter.snapshot().n-before.n)
			}
		case <-end.C:
			break measure
		}
	}
	after, window, cpu := counter.snapshot(), time.Since(start), processCPU()-cpu0
	if s := conn.Status(); s.State != StateConnected {
		return BenchResult{}, fmt.Errorf("the connection went %s during the measurement: %s", s.State, s.LastError)
	}
	r := BenchResult{
		Items:          st.Items,
		SetupTime:      st.SetupTime,
		Window:         window,
		Notifications:  after.n - before.n,
		Lost:           after.lost - before.lost,
		OutOfOrder:     after.backwards - before.backwards,
		Overflow:       after.overflow - before.overflow,
		Bad:            after.bad - before.bad,
		CPUPercentCore: 100 * cpu.Seconds() / window.Seconds(),
	}
	r.PerSecond = float64(r.Notifications) / window.Seconds()
	return r, nil
}

// lossCounter sees every sample the table stores and checks that each tag counts up by one.
type lossCounter struct {
	mu                                sync.Mutex
	last                              []float64
	n, lost, backwards, bad, overflow uint64
}

type lossCounts struct{ n, lost, backwards, bad, overflow uint64 }

// overflowBits are the info type DataValue and its Overflow flag (Part 4, 7.39.2).
const overflowBits = 0x0400 | 0x0080

func (c *lossCounter) observe(batch []tags.Update) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, u := range batch {
		c.n++
		if u.Sample.Status&overflowBits == overflowBits {
			c.overflow++
		}
		if tags.QualityOf(u.Sample.Status) != tags.Good {
			c.bad++
			continue
		}
		v, ok := u.Sample.Value.(float64)
		if !ok {
			continue
		}
		for int(u.ID) >= len(c.last) {
			c.last = append(c.last, math.NaN())
		}
		step := math.Floor(v) - math.Floor(c.last[u.ID])
		switch {
		case math.IsNaN(step): // the first value of the tag
		case step > 1:
			c.lost += uint64(step - 1)
		case step < 1:
			c.backwards++
		}
		c.last[u.ID] = v
	}
}

func (c *lossCounter) snapshot() lossCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return lossCounts{c.n, c.lost, c.backwards, c.bad, c.overflow}
}
