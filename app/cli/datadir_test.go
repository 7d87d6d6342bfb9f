package cli

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"
)

func TestDataDirFor(t *testing.T) {
	cases := []struct {
		goos string
		env  map[string]string
		want string
		err  bool
	}{
		{"linux", map[string]string{"HOME": "/home/op"}, "/home/op/.local/share/minebrain", false},
		{"linux", map[string]string{"HOME": "/home/op", "XDG_DATA_HOME": "/srv/xdg"}, "/srv/xdg/minebrain", false},
		{"linux", map[string]string{"HOME": "/home/op", "XDG_DATA_HOME": "relative"}, "/home/op/.local/share/minebrain", false},
		{"freebsd", map[string]string{"HOME": "/usr/home/op"}, "/usr/home/op/.local/share/minebrain", false},
		{"linux", map[string]string{}, "", true},
		{"windows", map[string]string{"LOCALAPPDATA": `C:\Users\op\AppData\Local`}, `C:\Users\op\AppData\Local\Minebrain`, false},
		{"windows", map[string]string{"HOME": "/home/op"}, "", true},
		{"darwin", map[string]string{"HOME": "/Users/op"}, "/Users/op/Library/Application Support/Minebrain", false},
	}
	for _, c := range cases {
		got, err := dataDirFor(c.goos, func(k string) string { return c.env[k] })
		if (err != nil) != c.err || got != c.want {
			t.Errorf("dataDirFor(%s, %v) = %q, %v; want %q (error %v)", c.goos, c.env, got, err, c.want, c.err)
		}
	}
}

func TestDataFlag(t *testing.T) {
	def, err := defaultDataDir() // TestMain points HOME and XDG_DATA_HOME at a temp dir
	if err != nil {
		t.Fatal(err)
	}
	quietLog := slog.New(slog.NewTextHandler(io.Discard, nil))
	cases := []struct {
		args     []string
		want     string
		noRecord bool
	}{
		{nil, filepath.Join(def, "history.db"), false},
		{[]string{"--data", "/srv/minebrain"}, "/srv/minebrain/history.db", false},
		{[]string{"--data="}, "", false},
		{[]string{"--data", ""}, "", false},
		{[]string{"--no-history"}, filepath.Join(def, "history.db"), true},
		{[]string{"--data", "/srv/minebrain", "--no-history"}, "/srv/minebrain/history.db", true},
	}
	for _, c := range cases {
		fs := newFlagSet("serve", "serve [flags]", io.Discard)
		ef := addEngineFlags(fs)
		if code := parseEngineFlags(fs, ef, c.args, io.Discard); code >= 0 {
			t.Fatalf("%v: exit status %d", c.args, code)
		}
		cfg := ef.config(quietLog)
		if cfg.HistoryPath != c.want || cfg.NoRecording != c.noRecord {
			t.Errorf("%v: HistoryPath %q NoRecording %v, want %q %v", c.args, cfg.HistoryPath, cfg.NoRecording, c.want, c.noRecord)
		}
	}
}
