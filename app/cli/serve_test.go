package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestServeTLSFlags(t *testing.T) {
	for _, args := range [][]string{{"--tls-cert", "server.crt"}, {"--tls-key", "server.key"}} {
		code, _, stderr := run(append([]string{"serve"}, args...)...)
		if code != exitUsage || !strings.Contains(stderr, "--tls-cert and --tls-key go together") || !strings.Contains(stderr, "Usage") {
			t.Errorf("serve %v: status %d, stderr %q: want a usage error", args, code, stderr)
		}
	}
	// A key pair that cannot be loaded stops serve at start, naming the file.
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.crt")
	code, _, stderr := run("serve", "--data", dir, "--tls-cert", missing, "--tls-key", filepath.Join(dir, "missing.key"))
	if code != exitError || !strings.Contains(stderr, missing) || !strings.Contains(stderr, "does not exist") {
		t.Errorf("serve with a missing certificate: status %d, stderr %q", code, stderr)
	}
	if code, _, stderr := run("serve", "--help"); code != exitOK || !strings.Contains(stderr, "-tls-cert") || !strings.Contains(stderr, "-tls-key") {
		t.Errorf("serve --help: status %d, output %q", code, stderr)
	}
}
