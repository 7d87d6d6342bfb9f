// Package manifest reads a plugin's manifest: the small YAML file beside its .wasm that says
// what the plugin is and everything it may touch (sdk/ABI.md, docs/plugins.md).
package manifest

import "time"

// ABIVersion is the plugin ABI this Minebrain implements (sdk/ABI.md).
const ABIVersion = 1

// Manifest is a parsed, validated plugin.yaml.
type Manifest struct {
	ID      string            // [a-z0-9][a-z0-9-]{0,62}: the plugin's name in alarms, audit and the UI
	Version string            // the plugin's own version, free text up to 64 characters, e.g. "1.2.0"
	Wasm    string            // the module file, relative to the manifest's directory
	SHA256  string            // lowercase hex of the module file; a mismatch refuses to load
	ABI     int               // must be ABIVersion
	Tick    time.Duration     // how often mb_tick runs: 10 ms to 1 h
	Memory  uint32            // the module's memory limit in bytes (a multiple of 64 KiB): 1 MiB to 1 GiB
	Budget  time.Duration     // the longest mb_tick (and mb_init) may run: 100 µs to 10 s, and < Tick
	Reads   []string          // tag names or patterns (* within a dot-separated part, ** across parts)
	Writes  []Write           // setpoints it may write, each with limits that narrow the site's
	Config  map[string]string // free key → value text for the plugin (config_get)
	Dir     string            // the manifest's directory (set by Load)
	File    string            // the manifest's path (set by Load)
}

// Write is one setpoint a plugin may write.
type Write struct {
	Tag     string  // Area.Unit.Signal, ending in SP
	Min     float64 // required
	Max     float64 // required, > Min
	MaxRate float64 // units per second; 0 = none (the site's own rate limit still applies)
}
