//go:build production

package desktop

import "errors"

// Available reports whether this binary can open a window: it can, it was built with the
// `production` tag.
const Available = true

// ErrUnavailable is never returned by a desktop build.
var ErrUnavailable = errors.New("desktop window unavailable")
