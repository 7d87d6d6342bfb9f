package web

import (
	"errors"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// assets serves the built frontend: files as they are, and index.html for any other path
// without a file extension, so client-side routes survive a reload.
type assets struct {
	fsys  fs.FS
	files http.Handler
}

func newAssets(fsys fs.FS) *assets {
	a := &assets{fsys: fsys}
	if fsys != nil {
		a.files = http.FileServerFS(fsys)
	}
	return a
}

// notBuilt is the page served when the frontend has not been built into the binary.
const notBuilt = `<!doctype html>
<html><head><meta charset="utf-8"><title>Minebrain: frontend not built</title></head>
<body style="font-family:sans-serif;background:#d9d9d9;margin:3em">
<h1>The frontend is not built</h1>
<p>This Minebrain binary was compiled without its web frontend (frontend/dist has no index.html).</p>
<p>Run <code>make run</code> in the source tree: it builds the frontend and then the application.</p>
<p>The engine is running: <a href="/api/health">/api/health</a>.</p>
</body></html>
`

func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !a.built() {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(notBuilt))
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" || name == "index.html" {
		a.index(w, r)
		return
	}
	info, err := fs.Stat(a.fsys, name)
	switch {
	case err == nil && !info.IsDir():
		if strings.HasPrefix(name, "assets/") {
			// Vite names these by content hash: a new build never reuses a name.
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		a.files.ServeHTTP(w, r)
	case path.Ext(name) != "" || (err != nil && !errors.Is(err, fs.ErrNotExist)):
		// A missing script or image must be a 404, not index.html parsed as JavaScript.
		http.NotFound(w, r)
	default:
		a.index(w, r)
	}
}

func (a *assets) built() bool {
	if a.fsys == nil {
		return false
	}
	info, err := fs.Stat(a.fsys, "index.html")
	return err == nil && !info.IsDir()
}

// index serves index.html for the root and for client routes. It is never cached, so a new
// build is picked up on reload.
func (a *assets) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, a.fsys, "index.html")
}
