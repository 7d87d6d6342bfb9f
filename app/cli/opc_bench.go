package cli

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"time"

	"minebrain/app/opcua"
)

func benchFlags(fs *flag.FlagSet, o *opcRun) {
	fs.StringVar(&o.bench.Under, "under", "Objects/Bulk", "browse path of the folder holding the items")
	fs.StringVar(&o.bench.Match, "match", "*/*", "browse pattern of the items below --under")
	fs.DurationVar(&o.bench.Sampling, "sampling", 100*time.Millisecond, "sampling interval: the server's update period")
	fs.DurationVar(&o.bench.Publish, "publish", 250*time.Millisecond, "publishing interval")
	fs.DurationVar(&o.bench.Warmup, "warmup", 3*time.Second, "time after subscribing that is not measured")
	fs.DurationVar(&o.bench.For, "for", 20*time.Second, "measured window")
	fs.Func("max-per-publish", "data changes per publish response to ask for (default 1000; gopcua turns 0 into 10000)", func(s string) error {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return err
		}
		v := uint32(n)
		o.bench.MaxNotificationsPerPublish = &v
		return nil
	})
}

// runOpcBench subscribes a real connection to every item the browse rule finds and reports
// what reached the tag table. Loss assumes items that count up by one per update, like the
// test peer's Bulk folder (testpeer/opcua, --bulk N).
func runOpcBench(ctx context.Context, o *opcRun) int {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--sampling", o.bench.Sampling}, {"--publish", o.bench.Publish}, {"--warmup", o.bench.Warmup}, {"--for", o.bench.For}} {
		if d.v <= 0 {
			return o.usage(fmt.Errorf("%s must be above 0, got %v", d.name, d.v))
		}
	}
	opts, err := o.toolOptions()
	if err != nil {
		return o.usage(err)
	}
	b := o.bench
	b.Endpoint, b.Security = opts.Endpoint, opts.Security
	b.SetupTimeout = 6 * o.timeout // discovery and creating 10,000 items take several requests
	if !o.json {
		b.Progress = func(el time.Duration, n uint64) {
			fmt.Fprintf(o.stderr, "\r%4.0f s  %10d notifications  %8.0f/s", el.Seconds(), n, float64(n)/el.Seconds())
		}
	}
	r, err := opcua.RunBench(ctx, b)
	if !o.json {
		fmt.Fprintln(o.stderr)
	}
	if err != nil {
		return o.fail(err)
	}
	if o.json {
		o.jsonLine(r)
		return exitOK
	}
	fmt.Fprintf(o.stdout, "items                 %d\n", r.Items)
	fmt.Fprintf(o.stdout, "setup (connect→all monitored)  %v\n", r.SetupTime.Round(time.Millisecond))
	fmt.Fprintf(o.stdout, "window                %v\n", r.Window.Round(time.Millisecond))
	fmt.Fprintf(o.stdout, "notifications         %d (%.0f/s)\n", r.Notifications, r.PerSecond)
	fmt.Fprintf(o.stdout, "lost (counter gaps)   %d\n", r.Lost)
	fmt.Fprintf(o.stdout, "server overflow flags %d\n", r.Overflow)
	fmt.Fprintf(o.stdout, "not advancing         %d\n", r.OutOfOrder)
	fmt.Fprintf(o.stdout, "bad                   %d\n", r.Bad)
	fmt.Fprintf(o.stdout, "client CPU            %.1f%% of one core\n", r.CPUPercentCore)
	return exitOK
}
