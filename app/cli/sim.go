package cli

import (
	"context"
	"fmt"
	"io"

	"minebrain/app/sim"
)

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("sim", "sim [flags]", stderr)
	listen := fs.String("listen", "127.0.0.1:4840", "address of the OPC UA server (host:port)")
	allowRemote := fs.Bool("allow-remote", false, "allow --listen on an address other than loopback")
	seed := fs.Int64("seed", 1, "seed of the simulation (same seed, same faults at the same time)")
	timeScale := fs.Float64("time-scale", 1, "simulated seconds per real second (60 for demos and tests)")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if *timeScale <= 0 {
		fmt.Fprintf(stderr, "minebrain sim: --time-scale must be above 0, got %v\n", *timeScale)
		fs.Usage()
		return exitUsage
	}
	logger := newLogger(stderr)
	srv, err := sim.Start(ctx, sim.Options{
		Listen: *listen, AllowRemote: *allowRemote, Seed: *seed, TimeScale: *timeScale, Logger: logger,
	})
	if err != nil {
		return failed(stderr, "sim", err)
	}
	fmt.Fprintf(stdout, "Simulated mine: %s\n", srv.EndpointURL())
	<-ctx.Done()
	if err := srv.Close(); err != nil {
		return failed(stderr, "sim", err)
	}
	return exitOK
}
