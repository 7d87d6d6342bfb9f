package cli

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"minebrain/app/historian"
	"minebrain/app/users"
)

// withStdin runs the command line with in as its stdin.
func withStdin(in string, args ...string) (int, string, string) {
	old := stdin
	stdin = strings.NewReader(in)
	defer func() { stdin = old }()
	return run(args...)
}

// authenticate checks a login against the users in data, as the faces will.
func authenticate(t *testing.T, data, name, pw string) (users.User, error) {
	t.Helper()
	ctx := context.Background()
	s, err := historian.Open(ctx, filepath.Join(data, historyFile), historian.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := users.New(ctx, s, users.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return u.Authenticate(name, pw, "test")
}

func TestUsersUsage(t *testing.T) {
	data := t.TempDir()
	cases := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"users"}, exitUsage, "Usage: minebrain users"},
		{[]string{"users", "frob"}, exitUsage, `unknown command "frob"`},
		{[]string{"users", "add", "ana", "--data", data}, exitUsage, "--role is required"},
		{[]string{"users", "add", "--role", "operator", "--data", data}, exitUsage, "missing NAME"},
		{[]string{"users", "add", "ana", "--role", "root", "--data", data}, exitUsage, `unknown role "root"`},
		{[]string{"users", "add", "ana", "--role", "operator", "--password", "x"}, exitUsage, "flag provided but not defined: -password"},
		{[]string{"users", "passwd", "--data", data}, exitUsage, "missing NAME"},
		{[]string{"users", "disable", "a", "b", "--data", data}, exitUsage, `unexpected argument "b"`},
		{[]string{"users", "list", "--data", ""}, exitUsage, "no data directory"},
		{[]string{"users", "list", "--data", data}, exitError, "does not exist"},
		{[]string{"users", "add", "bad name", "--role", "viewer", "--data", data}, exitError, "bad user name"},
	}
	for _, tc := range cases {
		code, _, stderr := withStdin("long enough password\n", tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%q: status %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.stderr)
		}
	}
	if code, stdout, _ := run("users", "help"); code != exitOK || !strings.Contains(stdout, "passwd NAME") {
		t.Errorf("users help: %d %q", code, stdout)
	}
	if code, stdout, _ := run("help"); code != exitOK || !strings.Contains(stdout, "users") || !strings.Contains(stdout, "audit") {
		t.Errorf("help does not list users and audit: %q", stdout)
	}
}

func TestUsersCommands(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data") // made by the first add
	code, stdout, stderr := withStdin("crusher-42-ok\n", "users", "add", "ana", "--role", "engineer", "--data", data)
	if code != exitOK || !strings.Contains(stdout, "added ana (engineer)") {
		t.Fatalf("add: %d %q %q", code, stdout, stderr)
	}
	if code, _, _ := withStdin("viewer-wall-1", "users", "add", "wall", "--role", "VIEWER", "--data", data); code != exitOK {
		t.Fatal("add without a final newline failed")
	}
	for _, tc := range []struct{ in, name, want string }{
		{"crusher-42-ok\n", "ana", "user already exists"},
		{"short\n", "bob", "at least 10 characters"},
		{"BOB-the-op\n", "bob-the-op", "must not be the user name"},
		{"", "bob", "no password on stdin"},
	} {
		code, _, stderr := withStdin(tc.in, "users", "add", tc.name, "--role", "operator", "--data", data)
		if code != exitError || !strings.Contains(stderr, tc.want) {
			t.Errorf("add %s with %q: %d %q, want %q", tc.name, tc.in, code, stderr, tc.want)
		}
	}
	if usr, err := authenticate(t, data, "ana", "crusher-42-ok"); err != nil || usr.Role != users.Engineer {
		t.Fatalf("login after add: %+v, %v", usr, err)
	}

	if code, stdout, stderr := withStdin("new-pass-word\r\n", "users", "passwd", "ana", "--data", data); code != exitOK || !strings.Contains(stdout, "password of ana changed") {
		t.Fatalf("passwd: %d %q %q", code, stdout, stderr)
	}
	if _, err := authenticate(t, data, "ana", "new-pass-word"); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	if code, _, stderr := withStdin("new-pass-word\n", "users", "passwd", "nobody", "--data", data); code != exitError || !strings.Contains(stderr, "no such user") {
		t.Errorf("passwd of an unknown user: %d %q", code, stderr)
	}

	if code, stdout, _ := run("users", "disable", "ana", "--data", data); code != exitOK || !strings.Contains(stdout, "disabled ana") {
		t.Fatalf("disable: %d %q", code, stdout)
	}
	if _, err := authenticate(t, data, "ana", "new-pass-word"); !errors.Is(err, users.ErrDisabled) {
		t.Fatalf("login of a disabled user: %v", err)
	}
	code, stdout, _ = run("users", "list", "--data", data)
	if code != exitOK || !strings.Contains(stdout, "ana   engineer  disabled") || !strings.Contains(stdout, "wall  viewer    enabled") {
		t.Errorf("list:\n%s", stdout)
	}
	code, stdout, _ = run("users", "list", "--json", "--data", data)
	var got []userJSON
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var u userJSON
		if err := json.Unmarshal([]byte(line), &u); err != nil {
			t.Fatalf("list --json line %q: %v", line, err)
		}
		got = append(got, u)
	}
	if code != exitOK || len(got) != 2 || got[0].Name != "ana" || !got[0].Disabled || got[1].Role != "viewer" {
		t.Errorf("list --json: %+v", got)
	}
	if code, _, _ := run("users", "enable", "ana", "--data", data); code != exitOK {
		t.Fatal("enable failed")
	}
	if _, err := authenticate(t, data, "ana", "new-pass-word"); err != nil {
		t.Fatalf("login after enable: %v", err)
	}
	if code, _, stderr := run("users", "disable", "nobody", "--data", data); code != exitError || !strings.Contains(stderr, "no such user") {
		t.Errorf("disable of an unknown user: %d %q", code, stderr)
	}

	// Every change is in the audit log, from the cli face.
	code, stdout, _ = run("audit", "list", "--json", "--data", data)
	var actions []string
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var e struct{ Action, Face, Target, Who string }
		json.Unmarshal([]byte(line), &e)
		if e.Face != "cli" || !strings.HasPrefix(e.Who, "os:") {
			t.Errorf("audit entry %s", line)
		}
		actions = append(actions, e.Action+" "+e.Target)
	}
	want := "user.add user ana,user.add user wall,user.passwd user ana,user.disable user ana,user.enable user ana"
	if code != exitOK || strings.Join(actions, ",") != want {
		t.Errorf("audit actions %q, want %q", actions, want)
	}
}
