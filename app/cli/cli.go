// Package cli parses Minebrain's command line and runs the chosen subcommand. Every subcommand
// returns an exit status: 0 success, 1 failure at run time, 2 a usage error (unknown command or
// flag, bad value), so scripts can tell a typo from a plant problem.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit statuses shared by every subcommand.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// command is one subcommand: its name, a one-line summary for the usage text, and the function
// that parses its flags and runs it.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"desktop", "open the desktop window (the default with no arguments)", runDesktop},
		{"serve", "run the web face over HTTP and a WebSocket (127.0.0.1:8080)", runServe},
		{"sim", "run the simulated mine as a standalone OPC UA server", runSim},
		{"opc", "integrator tools: endpoints, browse, read, write, call, watch, bench (opc help)", runOpc},
		{"history", "historian files: query, export, stats, check, bench (history help)", runHistory},
		{"pki", "OPC UA certificates: list, trust, reject, remove, show-own (pki help)", runPki},
		{"users", "local users: add, list, passwd, disable, enable (users help)", runUsers},
		{"audit", "the audit log: verify the hash chain, list entries (audit help)", runAudit},
		{"site", "check a site file: site check FILE", runSite},
		{"plugin", "plugins: new, build, check, list (plugin help)", runPlugin},
		{"version", "print the version", runVersion},
		{"help", "show this help", nil},
	}
}

// Main runs the command line args (without the program name) and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	name := "desktop"
	if len(args) > 0 {
		name = args[0]
	}
	if name == "help" || name == "-h" || name == "--help" || name == "-help" {
		usage(stdout)
		return exitOK
	}
	// Flags without a command belong to the default command: `minebrain --time-scale 60`.
	if len(args) == 0 || strings.HasPrefix(name, "-") {
		return runDesktop(ctx, args, stdout, stderr)
	}
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "minebrain: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Minebrain: the control room for a whole mine.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage:")
	fmt.Fprintln(w, "  minebrain [flags]         open the desktop window on the simulated mine")
	fmt.Fprintln(w, "  minebrain <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `minebrain <command> --help` for a command's flags.")
}

// newFlagSet returns a flag set that reports errors to stderr and does not exit, so that the
// caller maps a bad flag to exit status 2.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: minebrain %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and turns the outcome into an exit status: -1 to go on, exitOK when
// help was asked for, exitUsage on a bad flag or a stray argument.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "minebrain %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return exitUsage
	}
	return -1
}

// failed reports a run-time error of command name and returns its exit status.
func failed(stderr io.Writer, name string, err error) int {
	fmt.Fprintf(stderr, "minebrain %s: %v\n", name, err)
	return exitError
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", "version", stderr)
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	fmt.Fprintln(stdout, "minebrain", Version)
	return exitOK
}

// Version is set at build time with -ldflags "-X minebrain/app/cli.Version=...".
var Version = "dev"
