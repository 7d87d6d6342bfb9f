package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// `minebrain plugin build` of a C plugin: clang (with wasm-ld and wasi-libc) compiles every
// DIR/*.c into a WASI reactor with the C SDK's header sdk/c/minebrain.h; build() then writes
// the module's hash into the manifest as for a Go plugin.

const (
	// cDeps is how to get the C toolchain on Debian 12.
	cDeps = "apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32 (Debian 12), or `make deps-plugin-c` in Minebrain's source"
	// cHeader is the C SDK's header, in sdk/c beside the Go SDK's sdk/go.
	cHeader = "minebrain.h"
	// wasiSysrootEnv names a wasi-libc sysroot other than the ones cSysroot knows.
	wasiSysrootEnv = "WASI_SYSROOT"
)

// pluginLang is a plugin source's language.
type pluginLang int

const (
	langGo pluginLang = iota
	langC
)

// pluginLanguage tells what DIR is: a Go plugin (it has a go.mod), a C plugin (.c files and
// no go.mod), or else a Go plugin if it has .go files (a package of a module above it).
func pluginLanguage(dir string) (pluginLang, error) {
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
		return langGo, nil
	}
	if srcs, _ := sourcesOf(dir, ".c"); len(srcs) > 0 {
		return langC, nil
	}
	if srcs, _ := sourcesOf(dir, ".go"); len(srcs) > 0 {
		return langGo, nil
	}
	return 0, fmt.Errorf("%s has no go.mod or .go files (a Go plugin: see `minebrain plugin new`) and no .c files (a C plugin: see sdk/c); nothing to build", dir)
}

// sourcesOf returns the names of DIR's files ending in ext, sorted (as os.ReadDir sorts).
func sourcesOf(dir, ext string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var srcs []string
	for _, e := range entries {
		if !e.IsDir() && filepath.Ext(e.Name()) == ext {
			srcs = append(srcs, e.Name())
		}
	}
	return srcs, nil
}

// findCSDK finds the C SDK's directory: sdk/c beside the Go SDK that findSDK finds (so
// $MINEBRAIN_SDK, the current directory and the executable's count the same way).
func findCSDK() (string, error) {
	goSDK, err := findSDK()
	if err != nil {
		return "", fmt.Errorf("cannot find the C SDK (sdk/c/%s, beside sdk/go): %v", cHeader, err)
	}
	dir := filepath.Join(filepath.Dir(goSDK), "c")
	if _, err := os.Stat(filepath.Join(dir, cHeader)); err != nil {
		return "", fmt.Errorf("cannot find the C SDK: %s has no %s (found the Go SDK at %s); give Minebrain's source with $%s", dir, cHeader, goSDK, sdkEnv)
	}
	return dir, nil
}

// findClang returns the clang to build C plugins with: clang, else clang-14, from PATH.
func findClang() (string, error) {
	for _, name := range []string{"clang", "clang-14"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("clang is not on PATH: C plugins need clang, wasm-ld and wasi-libc: " + cDeps)
}

// cSysroot returns wasi-libc's sysroot: $WASI_SYSROOT, else Debian's (/usr, with the
// wasm32-wasi multiarch directories), else the wasi-sdk's usual places.
func cSysroot() (string, error) {
	if env := os.Getenv(wasiSysrootEnv); env != "" {
		return env, nil
	}
	for _, root := range []string{"/usr", "/usr/share/wasi-sysroot", "/opt/wasi-sdk/share/wasi-sysroot"} {
		if _, err := os.Stat(filepath.Join(root, "lib", "wasm32-wasi", "libc.a")); err == nil {
			return root, nil
		}
	}
	return "", fmt.Errorf("wasi-libc is not installed (no /usr/lib/wasm32-wasi/libc.a; name another sysroot with $%s): %s", wasiSysrootEnv, cDeps)
}

// cBuildArgs is clang's command line (after the program) to build srcs into out.
func cBuildArgs(sysroot, sdk, out string, srcs []string) []string {
	args := []string{"--target=wasm32-wasi", "--sysroot=" + sysroot, "-O2", "-mexec-model=reactor", "-I", sdk, "-o", out}
	return append(args, srcs...)
}

// compileC builds DIR's C sources into out (absolute). On failure it prints clang's output
// and returns exitError, having changed nothing but (perhaps) out.
func (p *pluginRun) compileC(dir, out string) int {
	clang, err := findClang()
	if err != nil {
		return failed(p.stderr, p.name, err)
	}
	sysroot, err := cSysroot()
	if err != nil {
		return failed(p.stderr, p.name, err)
	}
	sdk, err := findCSDK()
	if err != nil {
		return failed(p.stderr, p.name, err)
	}
	srcs, err := sourcesOf(dir, ".c")
	if err != nil {
		return failed(p.stderr, p.name, err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return failed(p.stderr, p.name, err)
	}
	cmd := exec.CommandContext(p.ctx, clang, cBuildArgs(sysroot, sdk, out, srcs)...)
	cmd.Dir = dir
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		p.stderr.Write(output.Bytes())
		return failed(p.stderr, p.name, fmt.Errorf("clang in %s failed: %v (when it cannot find a system header or library: %s)", dir, err, cDeps))
	}
	p.stderr.Write(output.Bytes()) // warnings, if any
	return exitOK
}
