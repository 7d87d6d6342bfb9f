package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gopcua/opcua/ua"

	"minebrain/app/opcua"
	"minebrain/app/pki"
)

// opcCommand is one `minebrain opc` subcommand.
type opcCommand struct {
	name, args, summary string
	minArgs, maxArgs    int // positional arguments after the URL; maxArgs -1 for any number
	flags               func(fs *flag.FlagSet, o *opcRun)
	run                 func(ctx context.Context, o *opcRun) int
}

func opcCommands() []opcCommand {
	return []opcCommand{
		{"endpoints", "URL", "list the endpoints the server offers", 0, 0, nil, runOpcEndpoints},
		{"browse", "URL [NODE] [--depth N]", "show the address space under NODE (default Objects) as a tree", 0, 1, browseFlags, runOpcBrowse},
		{"read", "URL NODE...", "read the values of nodes", 1, -1, nil, runOpcRead},
		{"write", "URL NODE VALUE --as USER", "write VALUE (text or JSON), converted to the node's DataType; audited", 2, 2, equipmentFlags, runOpcWrite},
		{"call", "URL OBJECT METHOD [ARG...] --as USER", "call a method, converting ARGs to its InputArguments; audited", 2, -1, equipmentFlags, runOpcCall},
		{"watch", "URL NODE... [--for DURATION]", "subscribe to nodes and print every change", 1, -1, watchFlags, runOpcWatch},
		{"bench", "URL [--under PATH] [--match PATTERN] [--for DURATION]", "measure notifications/s, client CPU and loss into a live tag table", 0, 0, benchFlags, runOpcBench},
	}
}

// opcRun is the parsed command line of one opc subcommand.
type opcRun struct {
	name           string
	url            string
	args           []string // positionals after the URL
	json           bool
	timeout        time.Duration
	depth          int
	watchFor       time.Duration
	interval       time.Duration
	sec            opcua.SecurityFlags
	bench          opcua.BenchOptions
	as, reason     string // write and call: the Minebrain user acting, and why
	data           string // write and call: the data directory with the users and the audit log
	dataErr        error  // why there is no default data directory
	stdout, stderr io.Writer
}

// toolOptions turns the flags into tool options, opening the PKI directory (and making the
// application certificate on first use) when the security settings need it. The tools judge
// server certificates by the trust list but pin nothing: pins belong to site connections.
func (o *opcRun) toolOptions() (opcua.ToolOptions, error) {
	sec, err := o.sec.Security()
	if err != nil || !sec.NeedsPKI() {
		return opcua.ToolOptions{Endpoint: o.url, Security: sec, Timeout: o.timeout}, err
	}
	dir := o.sec.PKI
	if dir == "" {
		data, err := defaultDataDir()
		if err != nil {
			return opcua.ToolOptions{}, fmt.Errorf("no --pki directory given and no data directory: %w", err)
		}
		dir = filepath.Join(data, pkiDirName)
	}
	store, err := pki.Open(dir)
	if err != nil {
		return opcua.ToolOptions{}, err
	}
	uri := pki.ApplicationURI()
	der, key, err := store.Own(uri, pki.ApplicationName)
	if err != nil {
		return opcua.ToolOptions{}, err
	}
	sec.Certificate = &opcua.AppCertificate{DER: der, Key: key, ApplicationURI: uri}
	sec.Trust = store
	return opcua.ToolOptions{Endpoint: o.url, Security: sec, Timeout: o.timeout}, nil
}

func runOpc(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		w := stdout
		if len(args) == 0 {
			w = stderr
		}
		opcUsage(w)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	var cmd *opcCommand
	for _, c := range opcCommands() {
		if c.name == args[0] {
			cmd = &c
			break
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "minebrain opc: unknown command %q\n\n", args[0])
		opcUsage(stderr)
		return exitUsage
	}
	o := &opcRun{name: "opc " + cmd.name, stdout: stdout, stderr: stderr}
	fs := newFlagSet(o.name, o.name+" "+cmd.args+" [flags]", stderr)
	fs.BoolVar(&o.json, "json", false, "print JSON lines (one object per endpoint, node, value or notification)")
	fs.DurationVar(&o.timeout, "timeout", opcua.DefaultRequestTimeout, "time limit for connecting and for each request")
	fs.StringVar(&o.sec.Policy, "policy", "", "security policy: None, Basic256Sha256, Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss or best (default None)")
	fs.StringVar(&o.sec.Mode, "mode", "", "security mode: None, Sign, SignAndEncrypt or best (default None with policy None, else best)")
	fs.StringVar(&o.sec.User, "user", "", "user name to log in as (default anonymous); needs --password-file")
	fs.StringVar(&o.sec.PasswordFile, "password-file", "", "file whose first line is the user's password")
	fs.StringVar(&o.sec.Cert, "cert", "", "user certificate file (DER or PEM) to log in with; needs --key")
	fs.StringVar(&o.sec.Key, "key", "", "the user certificate's private key (PEM)")
	fs.StringVar(&o.sec.PKI, "pki", "", "PKI directory: Minebrain's certificate and the trusted server certificates (default <data>/pki)")
	if cmd.flags != nil {
		cmd.flags(fs, o)
	}
	pos, code := parseInterleaved(fs, args[1:])
	if code >= 0 {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "minebrain %s: %s\n", o.name, fmt.Sprintf(format, a...))
		fs.Usage()
		return exitUsage
	}
	if len(pos) == 0 {
		return usageErr("missing the server URL")
	}
	o.url, o.args = pos[0], pos[1:]
	if err := opcua.ValidateEndpoint(o.url); err != nil {
		return usageErr("%v", err)
	}
	if len(o.args) < cmd.minArgs {
		return usageErr("missing arguments: want %s", cmd.args)
	}
	if cmd.maxArgs >= 0 && len(o.args) > cmd.maxArgs {
		return usageErr("unexpected argument %q", o.args[cmd.maxArgs])
	}
	if o.timeout <= 0 {
		return usageErr("--timeout must be above 0, got %v", o.timeout)
	}
	if _, err := o.sec.Security(); err != nil {
		fmt.Fprintf(stderr, "minebrain %s: %v\n", o.name, err)
		return exitUsage
	}
	return cmd.run(ctx, o)
}

func opcUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: minebrain opc <command> URL [arguments] [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Integrator tools for OPC UA servers. A secured endpoint or a login needs the server's")
	fmt.Fprintln(w, "certificate trusted first: an unknown one is refused and kept for `minebrain pki trust`.")
	fmt.Fprintln(w, "NODE is a NodeId: ns=2;s=Crushing.CR1.PowerKW, i=2258, ...")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range opcCommands() {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.args, c.summary)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "write and call act on equipment: they need --as USER, a Minebrain user with the engineer role")
	fmt.Fprintln(w, "or above, whose password is read from the terminal without echo or as the first line of stdin.")
	fmt.Fprintln(w, "Each attempt, refused ones too, is recorded with the old and new value and --reason TEXT in the")
	fmt.Fprintln(w, "audit log of --data DIR (`minebrain audit list`); nothing is sent unless it is recorded first.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every command takes --json and the security flags --policy --mode --user --password-file")
	fmt.Fprintln(w, "--cert --key --pki (--user logs in to the OPC UA server, --as to Minebrain).")
	fmt.Fprintln(w, "Exit status: 0 success, 1 OPC UA error or refusal, 2 usage error.")
	fmt.Fprintln(w, "Run `minebrain opc <command> --help` for a command's flags.")
}

// parseInterleaved parses flags anywhere among the positional arguments (`read URL NODE
// --json`). Arguments after "--", and negative numbers (a VALUE such as -5), are positional.
// It returns the positionals and -1, or an exit status when parsing ends here.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, int) {
	var pos []string
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			return append(pos, args[1:]...), -1
		}
		if isNegativeNumber(a) || !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			args = args[1:]
			continue
		}
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK
			}
			return nil, exitUsage
		}
		args = fs.Args()
	}
	return pos, -1
}

func isNegativeNumber(s string) bool {
	if !strings.HasPrefix(s, "-") {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// parseNodes parses NodeId arguments; a bad one is a usage error naming it.
func (o *opcRun) parseNodes(args []string) ([]*ua.NodeID, error) {
	out := make([]*ua.NodeID, len(args))
	for i, a := range args {
		n, err := opcua.ParseNodeID(a)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// usage reports a usage error found after flag parsing, and returns exit status 2.
func (o *opcRun) usage(err error) int {
	fmt.Fprintf(o.stderr, "minebrain %s: %v\n", o.name, err)
	fmt.Fprintf(o.stderr, "Run `minebrain %s --help` for usage.\n", o.name)
	return exitUsage
}

// fail reports a run-time error: status 2 for a value that cannot be converted, 1 otherwise
// (the OPC UA status code is named in the error).
func (o *opcRun) fail(err error) int {
	if errors.Is(err, opcua.ErrBadValue) {
		return o.usage(err)
	}
	return failed(o.stderr, o.name, err)
}

// dial connects, reporting a failure; the caller returns code when tool is nil.
func (o *opcRun) dial(ctx context.Context) (tool *opcua.Tool, code int) {
	opts, err := o.toolOptions()
	if err != nil {
		return nil, o.usage(err)
	}
	t, err := opcua.DialTool(ctx, opts)
	if err != nil {
		return nil, o.fail(err)
	}
	return t, exitOK
}

// jsonLine prints v as one line of JSON.
func (o *opcRun) jsonLine(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	fmt.Fprintf(o.stdout, "%s\n", b)
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
