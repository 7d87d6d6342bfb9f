package sim

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
)

// gopcuaLogger adapts slog to gopcua's server.Logger. gopcua calls its logger
// printf-style ("socket closed: %s", err), which slog would render as broken
// key-value pairs, so the message is formatted first. Levels are demoted by
// one step because gopcua reports ordinary events loudly: a client hanging up
// is an Error, a secure channel closing a Warn.
//
// While the server is being built, gopcua's nodeset import complains about
// every duplicate reference type in its own standard nodeset (about twenty
// "errors" per start), and while it shuts down it reports its own closed
// listener as an error; outside started()..stopping() everything goes to
// Debug.
type gopcuaLogger struct {
	l       *slog.Logger
	running *atomic.Bool
}

func newGopcuaLogger(l *slog.Logger) gopcuaLogger {
	return gopcuaLogger{l: l, running: new(atomic.Bool)}
}

// started ends the quiet start-up period.
func (g gopcuaLogger) started() { g.running.Store(true) }

// stopping begins the quiet shut-down period.
func (g gopcuaLogger) stopping() { g.running.Store(false) }

func (g gopcuaLogger) Debug(msg string, args ...any) { g.log(slog.LevelDebug, msg, args) }
func (g gopcuaLogger) Info(msg string, args ...any)  { g.log(slog.LevelDebug, msg, args) }
func (g gopcuaLogger) Warn(msg string, args ...any)  { g.log(slog.LevelInfo, msg, args) }
func (g gopcuaLogger) Error(msg string, args ...any) { g.log(slog.LevelWarn, msg, args) }

func (g gopcuaLogger) log(level slog.Level, msg string, args []any) {
	if !g.running.Load() {
		level = slog.LevelDebug
	}
	ctx := context.Background()
	if !g.l.Enabled(ctx, level) {
		return // gopcua logs every request at Debug: do not format them for nothing
	}
	g.l.Log(ctx, level, "gopcua: "+strings.TrimSpace(fmt.Sprintf(msg, args...)))
}
