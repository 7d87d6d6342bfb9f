package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"minebrain/app/engine"
	"minebrain/app/sim"
	"minebrain/app/site"
)

// engineFlags are the flags shared by the commands that run the engine (desktop and serve):
// which OPC UA server to connect to, or how to run the embedded simulated mine, and where
// Minebrain keeps its files.
type engineFlags struct {
	siteFile  string
	site      *site.Site // loaded by validate; nil for the built-in site
	endpoint  string
	seed      int64
	timeScale float64
	data      string
	noHistory bool
	dataErr   error // why there is no default data directory
}

// historyFile is the history database's name inside the data directory.
const historyFile = "history.db"

// siteFileName is the site file used from the data directory when --site is not given.
const siteFileName = "site.yaml"

func addEngineFlags(fs *flag.FlagSet) *engineFlags {
	f := &engineFlags{}
	fs.StringVar(&f.siteFile, "site", "",
		"site file declaring the OPC UA connections (docs/site-file.md); default <data>/"+siteFileName+" if it exists, else the embedded simulated mine")
	fs.StringVar(&f.endpoint, "endpoint", "",
		"OPC UA endpoint of the mine (opc.tcp://host:port), instead of a site file")
	fs.Int64Var(&f.seed, "seed", 1, "seed of the embedded simulated mine (same seed, same faults)")
	fs.Float64Var(&f.timeScale, "time-scale", 1, "simulated seconds per real second of the embedded mine")
	var def string
	def, f.dataErr = defaultDataDir()
	fs.StringVar(&f.data, "data", def,
		"directory for Minebrain's files (the history is "+historyFile+" in it); empty records no history")
	fs.BoolVar(&f.noHistory, "no-history", false, "record no samples (users, the audit log and the alarm journal are still kept in the data directory)")
	return f
}

// historyPath is the history database to record into, or "" for none.
func (f *engineFlags) historyPath() string {
	if f.data == "" {
		return ""
	}
	return filepath.Join(f.data, historyFile)
}

// validate reports a flag value that parsed but makes no sense, for a usage error.
func (f *engineFlags) validate() error {
	if !(f.timeScale > 0) {
		return fmt.Errorf("--time-scale must be above 0, got %v", f.timeScale)
	}
	if f.endpoint != "" && !strings.HasPrefix(f.endpoint, "opc.tcp://") {
		return fmt.Errorf("--endpoint %q is not an OPC UA address; it looks like opc.tcp://host:4840", f.endpoint)
	}
	if f.endpoint != "" && f.siteFile != "" {
		return errors.New("--endpoint and --site both name the connections; give one")
	}
	file := f.siteFile
	if file == "" && f.endpoint == "" && f.data != "" {
		if _, err := os.Stat(filepath.Join(f.data, siteFileName)); err == nil {
			file = filepath.Join(f.data, siteFileName)
		}
	}
	if file != "" {
		s, err := site.Load(file)
		if err != nil {
			return err
		}
		f.site = s
	}
	return nil
}

// siteSavePath is where the built-in site is saved once it is changed, or "" without a data
// directory. The next start finds it there.
// pluginDirs are <data>/plugins, where each plugin has a directory with its plugin.yaml; the
// compiled modules are kept in <data>/cache/plugins.
func (f *engineFlags) pluginDirs() (plugins, cache string) {
	if f.data == "" {
		return "", ""
	}
	return filepath.Join(f.data, "plugins"), filepath.Join(f.data, "cache", "plugins")
}

func (f *engineFlags) siteSavePath() string {
	if f.data == "" {
		return ""
	}
	return filepath.Join(f.data, siteFileName)
}

// pkiDir is the certificate store's directory, or "" without a data directory.
func (f *engineFlags) pkiDir() string {
	if f.data == "" {
		return ""
	}
	return filepath.Join(f.data, pkiDirName)
}

// parseEngineFlags parses the flags of a command that runs the engine: -1 to go on, else the
// exit status (a value that parsed but makes no sense is a usage error too).
func parseEngineFlags(fs *flag.FlagSet, ef *engineFlags, args []string, stderr io.Writer) int {
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if err := ef.validate(); err != nil {
		var siteErr *site.Error
		if errors.As(err, &siteErr) {
			// Every problem of the file, one per line, and nothing to bury them.
			fmt.Fprintf(stderr, "minebrain %s: the site file has %d problem(s):\n%v\n", fs.Name(), len(siteErr.Problems), err)
			return exitUsage
		}
		fmt.Fprintf(stderr, "minebrain %s: %v\n", fs.Name(), err)
		fs.Usage()
		return exitUsage
	}
	return -1
}

func (f *engineFlags) config(logger *slog.Logger) engine.Config {
	if f.data == "" && !f.noHistory && f.dataErr != nil {
		logger.Warn("no data directory: recording no history; name one with --data", "err", f.dataErr)
	}
	pluginDir, pluginCache := f.pluginDirs()
	return engine.Config{
		PluginDir:      pluginDir,
		PluginCacheDir: pluginCache,
		HistoryPath:    f.historyPath(),
		NoRecording:    f.noHistory,
		Site:           f.site,
		Endpoint:       f.endpoint,
		PKIDir:         f.pkiDir(),
		SiteSavePath:   f.siteSavePath(),
		Sim: sim.Options{
			Listen:    "127.0.0.1:0",
			Seed:      f.seed,
			TimeScale: f.timeScale,
			Logger:    logger.With("part", "sim"),
		},
		Logger: logger,
	}
}

// newLogger logs as text to stderr: the faces and the journal of a workstation read it.
// MINEBRAIN_DEBUG=1 adds the debug level.
func newLogger(stderr io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if os.Getenv("MINEBRAIN_DEBUG") != "" {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// gopcua's server narrates its start-up through the standard log package ("doing root.");
	// that is debug detail, not news for an operator.
	log.SetFlags(0)
	log.SetOutput(debugWriter{logger.With("component", "gopcua")})
	return logger
}

// debugWriter turns lines written to the standard log package into debug records.
type debugWriter struct{ logger *slog.Logger }

func (w debugWriter) Write(p []byte) (int, error) {
	w.logger.Debug(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
