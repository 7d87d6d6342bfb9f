package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// ErrHashMismatch is what errors.Is finds in VerifyModule's error when the module is not the
// one the manifest names.
var ErrHashMismatch = errors.New("the module's SHA-256 differs from the manifest's sha256")

// VerifyModule checks that wasm, the module's bytes, has the manifest's sha256. A mismatch
// (a rebuilt module without an updated manifest, or a module replaced behind the manifest's
// back) is refused: the error says both hashes and how to fix it, and wraps ErrHashMismatch.
func VerifyModule(m *Manifest, wasm []byte) error {
	if m == nil {
		return errors.New("manifest: VerifyModule with no manifest")
	}
	sum := sha256.Sum256(wasm)
	got := hex.EncodeToString(sum[:])
	if got == m.SHA256 {
		return nil
	}
	file, dir := m.File, m.Dir
	if file == "" {
		file = "plugin.yaml"
	}
	if dir == "" {
		dir = "DIR"
	}
	return &hashError{msg: fmt.Sprintf("%s: sha256: the module %s has SHA-256 %s, but the manifest expects %s; "+
		"if the module was rebuilt on purpose, rebuild with `minebrain plugin build %s` or update sha256: to %s, otherwise find out who changed it",
		file, m.WasmPath(), got, m.SHA256, dir, got)}
}

type hashError struct{ msg string }

func (e *hashError) Error() string { return e.msg }
func (e *hashError) Unwrap() error { return ErrHashMismatch }
