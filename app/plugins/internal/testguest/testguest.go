// Package testguest builds the Go test guests of app/plugins/testdata/guests for the tests of
// the packages that run plugins offline (simrun, histrun): each guest once per test binary,
// into a temporary directory that also holds a shared wazero compilation cache.
package testguest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	dir   string
	built = map[string][]byte{}
)

// Build returns the module of guest name, building it the first time.
func Build(t testing.TB, name string) []byte {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if wasm, ok := built[name]; ok {
		return wasm
	}
	d, err := workDir()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(d, name+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "./"+name)
	cmd.Dir = guestsDir()
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the %s guest: %v\n%s", name, err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	built[name] = wasm
	return wasm
}

// CacheDir is the compilation cache directory the tests of one binary share.
func CacheDir(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	d, err := workDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(d, "cache")
}

// Cleanup removes what Build made; call it from TestMain after the tests.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		os.RemoveAll(dir)
		dir = ""
	}
}

func workDir() (string, error) {
	if dir != "" {
		return dir, nil
	}
	d, err := os.MkdirTemp("", "minebrain-testguest-")
	if err != nil {
		return "", fmt.Errorf("testguest: %w", err)
	}
	dir = d
	return d, nil
}

// guestsDir is app/plugins/testdata/guests from the directory of a test of a package
// directly under app/plugins (go test runs a package's tests in its directory).
func guestsDir() string { return filepath.Join("..", "testdata", "guests") }

// GoodPlugin writes the good guest and its manifest into a new directory and returns the
// manifest's path. The guest reads its first granted tag (read), raises its alarm "high"
// while that is above limit and writes config target (60) to AF1's speed setpoint, granted
// 30..90, every second.
func GoodPlugin(t testing.TB, read string, limit float64) string {
	t.Helper()
	wasm := Build(t, "good")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "good.wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(wasm)
	man := fmt.Sprintf(`id: good
version: 0.1.0
wasm: good.wasm
sha256: %s
abi: 1
tick: 1s
memory: 64MiB
budget: 500ms
reads:
  - %s
writes:
  - tag: Crushing.AF1.FeederSpeedSP
    min: 30
    max: 90
config:
  target: 60
  limit: %g
`, hex.EncodeToString(sum[:]), read, limit)
	path := filepath.Join(dir, "plugin.yaml")
	if err := os.WriteFile(path, []byte(man), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
