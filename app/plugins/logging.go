package plugins

import "log/slog"

// The runtime's log records about a plugin carry its id under PluginKey. A line the plugin
// logged itself (log, stdout, stderr) has that attribute alone; the runtime's own records
// have these messages and more attributes. Tools that show a plugin's activity (plugin run,
// plugin test) tell the two apart with PluginLine.
const (
	PluginKey           = "plugin"
	MsgFault            = "plugin fault"                      // reason, restart_in
	MsgAlarmFailed      = "plugin alarm"                      // err: raising plugin.<id> failed
	MsgAlarmClearFailed = "plugin alarm clear"                // err
	MsgMode             = "plugin mode"                       // old, new, who
	MsgKVNotSaved       = "plugin key-value state not saved"  // err
	MsgReloading        = "plugin changed on disk; reloading" // file
	MsgReloadRefused    = "plugin reload refused"             // err
)

// PluginLine reports whether r is a line a plugin logged, and which plugin's.
func PluginLine(r slog.Record) (id string, ok bool) {
	if r.NumAttrs() != 1 {
		return "", false
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == PluginKey {
			id, ok = a.Value.String(), true
		}
		return false
	})
	return id, ok
}
