// Package desktop is the Wails face of Minebrain: it opens the native window, serves the
// embedded frontend to it, binds the engine's methods and forwards the engine's events. It is
// the only Go package that imports Wails; everything it shows comes from app/engine.
package desktop

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/runtime"

	"minebrain/app/engine"
	"minebrain/app/opcua"
)

// App is the object bound to the frontend as window.go.desktop.App. Its exported methods are
// the engine API of docs/architecture.md (Contract 2), the same names the web face serves.
type App struct {
	engine *engine.Engine
	logger *slog.Logger
}

// Model returns the site's areas, units and signals.
func (a *App) Model() engine.Model { return a.engine.Model() }

// Snapshot returns every tag's latest value.
func (a *App) Snapshot() []engine.TagValue { return a.engine.Snapshot() }

// Status returns the state of every connection.
func (a *App) Status() engine.Status { return a.engine.Status() }

// Ready is called by the frontend once it has painted the overview with live values.
func (a *App) Ready(info engine.ReadyInfo) { a.engine.Ready(info) }

// TrustCertificate trusts a connection's refused server certificate and retries at once.
func (a *App) TrustCertificate(connection, thumbprint string) error {
	return a.engine.TrustCertificate(connection, thumbprint)
}

// AddNode adds a node to a connection and to the site file.
func (a *App) AddNode(connection, nodeID, tag string) error {
	return a.engine.AddNode(connection, nodeID, tag)
}

// Browse lists a connection's address space one level under node ("" for Objects).
func (a *App) Browse(connection, node string) ([]opcua.BrowseNode, error) {
	return a.engine.Browse(connection, node)
}

// History returns the trend of up to 8 tags over a time range, downsampled or raw.
func (a *App) History(req engine.HistoryRequest) (engine.HistoryReply, error) {
	return a.engine.History(req)
}

// Run opens the window and blocks until it is closed or ctx is cancelled. The engine must
// already be started; Run does not close it.
func Run(ctx context.Context, e *engine.Engine, assets fs.FS, logger *slog.Logger) error {
	if !Available {
		return ErrUnavailable
	}
	app := &App{engine: e, logger: logger}
	err := wails.Run(&options.App{
		Title:     "Minebrain",
		Width:     1280,
		Height:    800,
		MinWidth:  900,
		MinHeight: 600,
		// The ISA-101 grey of the frontend, so the window never flashes white while loading.
		BackgroundColour: &options.RGBA{R: 0xd9, G: 0xd9, B: 0xd9, A: 0xff},
		AssetServer:      &assetserver.Options{Assets: assets},
		OnStartup: func(wctx context.Context) {
			go forwardEvents(wctx, ctx, e)
			go func() {
				// A signal to the process closes the window like the user would.
				select {
				case <-ctx.Done():
					runtime.Quit(wctx)
				case <-wctx.Done():
				}
			}()
		},
		Bind: []any{app},
	})
	if err != nil {
		return fmt.Errorf("desktop: %w", err)
	}
	return nil
}

// forwardEvents pushes the engine's event stream into the window until either side ends.
func forwardEvents(wctx, ctx context.Context, e *engine.Engine) {
	events, cancel := e.Subscribe()
	defer cancel()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			runtime.EventsEmit(wctx, ev.Name, ev.Data)
		case <-ctx.Done():
			return
		case <-wctx.Done():
			return
		}
	}
}
