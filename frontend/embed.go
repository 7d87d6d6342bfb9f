// Package frontend embeds the built web frontend (frontend/dist) so that both faces serve the
// same files from inside the one binary. It is its own small package because a missing dist
// directory breaks every Go command that sees the go:embed; dist/.gitkeep keeps it present on
// a clean clone, and `npm run build` puts the marker back after Vite empties the directory.
package frontend

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built frontend, rooted at dist/. Before the first `npm run build` it holds
// only the .gitkeep marker; callers check for index.html and say how to build it.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a constant, valid path: this cannot fail
	}
	return sub
}
