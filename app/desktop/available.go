//go:build !production

package desktop

import "errors"

// Available reports whether this binary can open a window. Wails compiles its native window
// only with the `production` (or `dev`) build tag, which needs cgo and GTK/WebKit on Linux;
// the headless build used by `serve`, `sim` and the tests leaves it out.
const Available = false

// ErrUnavailable explains what to do when the window is asked of a headless build.
var ErrUnavailable = errors.New("this minebrain binary was built without its desktop window; " +
	"run `minebrain serve` for the web face, or build the desktop binary with `make build`")
