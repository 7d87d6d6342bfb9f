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
	"minebrain/app/users"
)

// App is the object bound to the frontend as window.go.desktop.App. Its exported methods are
// the engine API of docs/architecture.md (Contract 2), the same names the web face serves,
// plus the window's session: Session, Login, Logout, SetupFirstAdmin. Every other method
// fails "not logged in" before a login and runs as the logged-in user (Face "desktop").
type App struct {
	engine     *engine.Engine
	logger     *slog.Logger
	autoViewer bool
	sess       *session
}

// Options configure the desktop face.
type Options struct {
	// AutoLoginViewer starts the window logged in as the viewer "wall-display" (no user row,
	// read only), for wall displays; logging out returns to it.
	AutoLoginViewer bool
}

// NewApp returns the bound object of a window on e.
func NewApp(e *engine.Engine, logger *slog.Logger, opts Options) *App {
	if logger == nil {
		logger = slog.Default()
	}
	a := &App{engine: e, logger: logger, autoViewer: opts.AutoLoginViewer, sess: &session{}}
	if a.autoViewer {
		a.sess.start(WallDisplay, users.Viewer, true)
	}
	return a
}

// Model returns the site's areas, units and signals.
func (a *App) Model() (engine.Model, error) {
	if err := a.loggedIn(); err != nil {
		return engine.Model{}, err
	}
	return a.engine.Model(), nil
}

// Snapshot returns every tag's latest value.
func (a *App) Snapshot() ([]engine.TagValue, error) {
	if err := a.loggedIn(); err != nil {
		return nil, err
	}
	return a.engine.Snapshot(), nil
}

// Status returns the state of every connection.
func (a *App) Status() (engine.Status, error) {
	if err := a.loggedIn(); err != nil {
		return engine.Status{}, err
	}
	return a.engine.Status(), nil
}

// Ready is called by the frontend once it has painted the overview with live values.
func (a *App) Ready(info engine.ReadyInfo) error {
	if err := a.loggedIn(); err != nil {
		return err
	}
	a.engine.Ready(info)
	return nil
}

// TrustCertificate trusts a connection's refused server certificate and retries at once.
func (a *App) TrustCertificate(connection, thumbprint string) error {
	act, err := a.actor()
	if err != nil {
		return err
	}
	return a.engine.TrustCertificate(act, connection, thumbprint)
}

// AddNode adds a node to a connection and to the site file.
func (a *App) AddNode(connection, nodeID, tag string) error {
	act, err := a.actor()
	if err != nil {
		return err
	}
	return a.engine.AddNode(act, connection, nodeID, tag)
}

// Browse lists a connection's address space one level under node ("" for Objects).
func (a *App) Browse(connection, node string) ([]opcua.BrowseNode, error) {
	if err := a.loggedIn(); err != nil {
		return nil, err
	}
	return a.engine.Browse(connection, node)
}

// History returns the trend of up to 8 tags over a time range, downsampled or raw.
func (a *App) History(req engine.HistoryRequest) (engine.HistoryReply, error) {
	if err := a.loggedIn(); err != nil {
		return engine.HistoryReply{}, err
	}
	return a.engine.History(req)
}

// Run opens the window and blocks until it is closed or ctx is cancelled. The engine must
// already be started; Run does not close it.
func Run(ctx context.Context, e *engine.Engine, assets fs.FS, logger *slog.Logger, opts Options) error {
	if !Available {
		return ErrUnavailable
	}
	app := NewApp(e, logger, opts)
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
			// A session that ends by itself (its user disabled) is announced to the page,
			// which then shows its login again.
			app.sess.mu.Lock()
			app.sess.ended = func() { runtime.EventsEmit(wctx, "session", app.Session()) }
			app.sess.mu.Unlock()
			go app.watchUser(wctx)
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
