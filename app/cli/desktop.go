package cli

import (
	"context"
	"fmt"
	"io"

	"minebrain/app/desktop"
	"minebrain/app/engine"
	"minebrain/frontend"
)

func runDesktop(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs := newFlagSet("desktop", "[desktop] [flags]", stderr)
	ef := addEngineFlags(fs)
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if err := ef.validate(); err != nil {
		fmt.Fprintf(stderr, "minebrain: %v\n", err)
		fs.Usage()
		return exitUsage
	}
	if !desktop.Available {
		fmt.Fprintf(stderr, "minebrain: %v\n", desktop.ErrUnavailable)
		return exitError
	}
	logger := newLogger(stderr)
	eng, err := engine.New(ef.config(logger))
	if err != nil {
		fmt.Fprintf(stderr, "minebrain: %v\n", err)
		return exitError
	}
	if err := eng.Start(ctx); err != nil {
		fmt.Fprintf(stderr, "minebrain: %v\n", err)
		return exitError
	}
	defer eng.Close()
	if err := desktop.Run(ctx, eng, frontend.Dist(), logger); err != nil {
		fmt.Fprintf(stderr, "minebrain: %v\n", err)
		return exitError
	}
	return exitOK
}
