package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"minebrain/app/audit"
	"minebrain/app/historian"
	"minebrain/app/users"
)

// stdin is where passwords are read from; tests replace it.
var stdin io.Reader = os.Stdin

// usersCommand is one `minebrain users` subcommand.
type usersCommand struct {
	name, args, summary string
	named               bool // takes a NAME
	run                 func(u *usersRun) int
}

func usersCommands() []usersCommand {
	return []usersCommand{
		{"add", "NAME --role ROLE", "add a user; the password is read from the terminal or stdin", true, (*usersRun).add},
		{"list", "[--json]", "list the users, their roles and whether they are disabled", false, (*usersRun).list},
		{"passwd", "NAME", "set a user's password, read from the terminal or stdin", true, (*usersRun).passwd},
		{"disable", "NAME", "disable a user: the login is refused, the name is kept", true, (*usersRun).disable},
		{"enable", "NAME", "enable a disabled user again", true, (*usersRun).enable},
	}
}

// usersRun is one run of a users subcommand.
type usersRun struct {
	ctx            context.Context
	name           string // "users add"
	fs             *flag.FlagSet
	data, role     string
	json           bool
	user           string // the NAME argument
	stdout, stderr io.Writer
	store          *historian.Store
	users          *users.Users
}

func runUsers(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) == 0 {
			usersUsage(stderr)
			return exitUsage
		}
		usersUsage(stdout)
		return exitOK
	}
	for _, c := range usersCommands() {
		if c.name != args[0] {
			continue
		}
		u := &usersRun{ctx: ctx, name: "users " + c.name, stdout: stdout, stderr: stderr}
		u.fs = newFlagSet(u.name, u.name+" "+c.args+" [--data DIR]", stderr)
		def, defErr := defaultDataDir()
		u.fs.StringVar(&u.data, "data", def, "Minebrain's data directory (the users are in its "+historyFile+")")
		switch c.name {
		case "add":
			u.fs.StringVar(&u.role, "role", "", "the user's role: viewer, operator, engineer or admin (required)")
		case "list":
			u.fs.BoolVar(&u.json, "json", false, "print JSON lines")
		}
		pos, code := parseInterleaved(u.fs, args[1:])
		if code >= 0 {
			return code
		}
		want := 0
		if c.named {
			want = 1
		}
		switch {
		case len(pos) < want:
			return usageError(u.fs, stderr, u.name, "missing NAME")
		case len(pos) > want:
			return usageError(u.fs, stderr, u.name, fmt.Sprintf("unexpected argument %q", pos[want]))
		}
		if want == 1 {
			u.user = pos[0]
		}
		if c.name == "add" && u.role == "" {
			return usageError(u.fs, stderr, u.name, "--role is required (viewer, operator, engineer or admin)")
		}
		if u.data == "" {
			why := "--data is empty"
			if defErr != nil {
				why = defErr.Error()
			}
			return usageError(u.fs, stderr, u.name, "no data directory ("+why+"); name one with --data DIR")
		}
		return c.run(u)
	}
	fmt.Fprintf(stderr, "minebrain users: unknown command %q\n\n", args[0])
	usersUsage(stderr)
	return exitUsage
}

func usersUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: minebrain users <command> [--data DIR]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Minebrain's local users, kept in <data>/"+historyFile+". Roles, each including the ones before it:")
	fmt.Fprintln(w, "viewer, operator, engineer, admin. Passwords (at least 10 characters, not the user name) are")
	fmt.Fprintln(w, "read from the terminal without echo, or as the first line of stdin; never from a flag.")
	fmt.Fprintln(w, "Every change is recorded in the audit log (`minebrain audit list`).")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range usersCommands() {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.args, c.summary)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Exit status: 0 success, 1 failure (such as an unknown user or a weak password), 2 usage error.")
}

// usageError reports a usage error found after flag parsing and returns exit status 2.
func usageError(fs *flag.FlagSet, stderr io.Writer, name, msg string) int {
	fmt.Fprintf(stderr, "minebrain %s: %s\n", name, msg)
	fs.Usage()
	return exitUsage
}

// openData opens the history file in data. With create false a missing file is an error
// rather than a new empty file.
func openData(ctx context.Context, data string, create bool) (*historian.Store, error) {
	path := filepath.Join(data, historyFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if !create {
			return nil, fmt.Errorf("%s does not exist (is --data right?)", path)
		}
		if err := os.MkdirAll(data, 0o700); err != nil {
			return nil, err
		}
	}
	return historian.Open(ctx, path, historian.Options{})
}

// open opens the store and the users in it; the caller closes u.store.
func (u *usersRun) open(create bool) error {
	s, err := openData(u.ctx, u.data, create)
	if err != nil {
		return err
	}
	us, err := users.New(u.ctx, s, users.Options{})
	if err != nil {
		s.Close()
		return err
	}
	u.store, u.users = s, us
	return nil
}

// record writes an audit entry for a change made here; a change that cannot be audited is
// reported as a failure, since it happened unrecorded.
func (u *usersRun) record(action, old, new string, err error) error {
	l, aerr := audit.New(u.ctx, u.store)
	if aerr == nil {
		result := "done"
		if err != nil {
			result = "failed: " + err.Error()
		}
		_, aerr = l.Append(u.ctx, audit.Entry{Who: osUser(), Face: audit.FaceCLI, Action: action,
			Target: "user " + u.user, Old: old, New: new, Result: result})
	}
	if aerr != nil && err == nil {
		return fmt.Errorf("done, but not recorded in the audit log: %w", aerr)
	}
	return err
}

// osUser names who ran the command: the operating system account, as "os:NAME".
func osUser() string {
	if cu, err := user.Current(); err == nil && cu.Username != "" {
		return "os:" + cu.Username
	}
	return "os:unknown"
}

// readPassword reads a password: from a terminal without echo (twice when confirm, as for a
// new password), else the first line of stdin.
func readPassword(stderr io.Writer, prompt string, confirm bool) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, prompt+": ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if !confirm {
			return string(a), nil
		}
		fmt.Fprint(stderr, "again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		if errors.Is(err, io.EOF) {
			return "", errors.New("no password on stdin")
		}
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func (u *usersRun) add() int {
	role, err := users.ParseRole(u.role)
	if err != nil {
		return usageError(u.fs, u.stderr, u.name, err.Error())
	}
	// Check the name before asking for a password.
	if err := users.CheckName(u.user); err != nil {
		return failed(u.stderr, u.name, err)
	}
	pw, err := readPassword(u.stderr, "password for "+u.user, true)
	if err != nil {
		return failed(u.stderr, u.name, err)
	}
	if err := users.CheckPassword(u.user, pw); err != nil {
		return failed(u.stderr, u.name, err)
	}
	if err := u.open(true); err != nil {
		return failed(u.stderr, u.name, err)
	}
	defer u.store.Close()
	err = u.users.Add(u.ctx, u.user, role, pw)
	if errors.Is(err, users.ErrExists) {
		return failed(u.stderr, u.name, err) // nothing changed: nothing to audit
	}
	if err := u.record("user.add", "", "role "+role.String(), err); err != nil {
		return failed(u.stderr, u.name, err)
	}
	fmt.Fprintf(u.stdout, "added %s (%s)\n", u.user, role)
	return exitOK
}

func (u *usersRun) passwd() int {
	if err := u.open(false); err != nil {
		return failed(u.stderr, u.name, err)
	}
	defer u.store.Close()
	if _, err := u.users.Get(u.ctx, u.user); err != nil {
		return failed(u.stderr, u.name, err)
	}
	pw, err := readPassword(u.stderr, "new password for "+u.user, true)
	if err != nil {
		return failed(u.stderr, u.name, err)
	}
	err = u.users.SetPassword(u.ctx, u.user, pw)
	if errors.Is(err, users.ErrWeakPassword) {
		return failed(u.stderr, u.name, err)
	}
	if err := u.record("user.passwd", "", "", err); err != nil {
		return failed(u.stderr, u.name, err)
	}
	fmt.Fprintf(u.stdout, "password of %s changed\n", u.user)
	return exitOK
}

func (u *usersRun) setDisabled(disabled bool, verb string) int {
	if err := u.open(false); err != nil {
		return failed(u.stderr, u.name, err)
	}
	defer u.store.Close()
	before, err := u.users.Get(u.ctx, u.user)
	if err != nil {
		return failed(u.stderr, u.name, err)
	}
	state := map[bool]string{false: "enabled", true: "disabled"}
	err = u.users.SetDisabled(u.ctx, u.user, disabled)
	if err := u.record("user."+verb, state[before.Disabled], state[disabled], err); err != nil {
		return failed(u.stderr, u.name, err)
	}
	fmt.Fprintf(u.stdout, "%s %s\n", state[disabled], before.Name)
	return exitOK
}

func (u *usersRun) disable() int { return u.setDisabled(true, "disable") }
func (u *usersRun) enable() int  { return u.setDisabled(false, "enable") }

// userJSON is a user as `users list --json` prints it.
type userJSON struct {
	Name     string    `json:"name"`
	Role     string    `json:"role"`
	Disabled bool      `json:"disabled"`
	Created  time.Time `json:"created"`
	Changed  time.Time `json:"changed"`
}

func (u *usersRun) list() int {
	if err := u.open(false); err != nil {
		return failed(u.stderr, u.name, err)
	}
	defer u.store.Close()
	list, err := u.users.List(u.ctx)
	if err != nil {
		return failed(u.stderr, u.name, err)
	}
	if u.json {
		enc := json.NewEncoder(u.stdout)
		for _, x := range list {
			enc.Encode(userJSON{x.Name, x.Role.String(), x.Disabled, x.Created, x.Changed})
		}
		return exitOK
	}
	if len(list) == 0 {
		fmt.Fprintln(u.stdout, "no users (add one with `minebrain users add NAME --role admin`)")
		return exitOK
	}
	tw := tabwriter.NewWriter(u.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSTATE\tCHANGED")
	for _, x := range list {
		state := "enabled"
		if x.Disabled {
			state = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", x.Name, x.Role, state, x.Changed.Format(time.RFC3339))
	}
	tw.Flush()
	return exitOK
}
