package cli

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// defaultDataDir is the directory for Minebrain's files (the history database) when --data is
// not given: the user's data directory, like os.UserConfigDir for configuration.
func defaultDataDir() (string, error) {
	return dataDirFor(runtime.GOOS, os.Getenv)
}

// dataDirFor is defaultDataDir for an operating system and environment:
//
//   - Windows: %LOCALAPPDATA%\Minebrain
//   - macOS: $HOME/Library/Application Support/Minebrain
//   - Linux and other Unix: $XDG_DATA_HOME/minebrain if XDG_DATA_HOME is an absolute path,
//     else $HOME/.local/share/minebrain
func dataDirFor(goos string, getenv func(string) string) (string, error) {
	switch goos {
	case "windows":
		base := getenv("LOCALAPPDATA")
		if base == "" {
			return "", errors.New("%LOCALAPPDATA% is not set")
		}
		return strings.TrimRight(base, `\/`) + `\Minebrain`, nil
	case "darwin", "ios":
		home := getenv("HOME")
		if home == "" {
			return "", errors.New("$HOME is not set")
		}
		return filepath.Join(home, "Library", "Application Support", "Minebrain"), nil
	}
	if x := getenv("XDG_DATA_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "minebrain"), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", errors.New("neither $XDG_DATA_HOME nor $HOME is set")
	}
	return filepath.Join(home, ".local", "share", "minebrain"), nil
}
