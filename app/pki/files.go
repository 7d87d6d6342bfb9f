package pki

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// writeAtomic writes data to path with mode perm so that path holds either its old content
// or all of data, never a part: a temporary file in the same directory, synced, renamed over
// path, and the directory synced.
func writeAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err = f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil { // best effort: not every system syncs directories
		d.Sync()
		d.Close()
	}
	return nil
}

// pemOrDER returns the DER bytes of the first CERTIFICATE block of PEM data, or data itself.
func pemOrDER(data []byte) []byte {
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return data
		}
		if b.Type == "CERTIFICATE" {
			return b.Bytes
		}
	}
}

// readPins reads pins.json: connection name to thumbprint. A missing file is no pins.
func (s *Store) readPins() (map[string]string, error) {
	pins := map[string]string{}
	data, err := os.ReadFile(s.path(pinsFile))
	if errors.Is(err, os.ErrNotExist) {
		return pins, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &pins); err != nil {
		return nil, fmt.Errorf("pki: %s: %v", s.path(pinsFile), err)
	}
	if pins == nil {
		pins = map[string]string{}
	}
	return pins, nil
}

// writePins replaces pins.json.
func (s *Store) writePins(pins map[string]string) error {
	data, err := json.MarshalIndent(pins, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(s.path(pinsFile), append(data, '\n'), 0o600)
}

// Pins returns the pinned server certificates: connection name to thumbprint. It is empty
// (not nil) when there are none or pins.json cannot be read.
func (s *Store) Pins() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	pins, err := s.readPins()
	if err != nil {
		return map[string]string{}
	}
	return pins
}

// PinsErr is Pins with the error reading pins.json.
func (s *Store) PinsErr() (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readPins()
}
