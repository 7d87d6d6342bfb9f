package plugins

// The calls this package makes into app/plugins/manifest, in one place.

import "minebrain/app/plugins/manifest"

// loadManifest reads and validates the manifest at path (Dir and File set).
func loadManifest(path string) (*manifest.Manifest, error) { return manifest.Load(path) }

// verifyModule checks the module bytes against the manifest's sha256.
func verifyModule(m *manifest.Manifest, wasm []byte) error { return manifest.VerifyModule(m, wasm) }

// readable is the site's tags the manifest's reads grant, sorted by name.
func readable(m *manifest.Manifest, tags []string) []string { return m.Readable(tags) }
