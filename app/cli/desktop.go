package cli

import (
	"context"
	"io"

	"minebrain/app/desktop"
	"minebrain/app/engine"
	"minebrain/frontend"
)

func runDesktop(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs := newFlagSet("desktop", "[desktop] [flags]", stderr)
	autoViewer := fs.Bool("auto-login-viewer", false,
		"start logged in as the read-only viewer \""+desktop.WallDisplay+"\" (no user needed), for wall displays; logging out returns to it")
	ef := addEngineFlags(fs)
	if code := parseEngineFlags(fs, ef, args, stderr); code >= 0 {
		return code
	}
	if !desktop.Available {
		return failed(stderr, "desktop", desktop.ErrUnavailable)
	}
	logger := newLogger(stderr)
	eng, err := engine.New(ef.config(logger))
	if err != nil {
		return failed(stderr, "desktop", err)
	}
	if err := eng.Start(ctx); err != nil {
		return failed(stderr, "desktop", err)
	}
	defer eng.Close()
	if err := desktop.Run(ctx, eng, frontend.Dist(), logger, desktop.Options{AutoLoginViewer: *autoViewer}); err != nil {
		return failed(stderr, "desktop", err)
	}
	return exitOK
}
