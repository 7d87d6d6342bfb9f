package cli

import (
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuditUsage(t *testing.T) {
	data := t.TempDir()
	cases := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"audit"}, exitUsage, "Usage: minebrain audit"},
		{[]string{"audit", "frob"}, exitUsage, `unknown command "frob"`},
		{[]string{"audit", "verify", "--since", "1h"}, exitUsage, "flag provided but not defined: -since"},
		{[]string{"audit", "verify", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"audit", "list", "--since", "yesterday", "--data", data}, exitUsage, `--since "yesterday"`},
		{[]string{"audit", "list", "--data", ""}, exitUsage, "no data directory"},
		{[]string{"audit", "verify", "--data", data}, exitError, "does not exist"},
	}
	for _, tc := range cases {
		code, _, stderr := run(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%q: status %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.stderr)
		}
	}
	if code, stdout, _ := run("audit", "help"); code != exitOK || !strings.Contains(stdout, "verify") {
		t.Errorf("audit help: %d %q", code, stdout)
	}
}

func TestAuditVerifyAndList(t *testing.T) {
	data := t.TempDir()
	for _, name := range []string{"ana", "bob", "cy"} {
		if code, _, stderr := withStdin("long enough password\n", "users", "add", name, "--role", "operator", "--data", data); code != exitOK {
			t.Fatalf("add %s: %s", name, stderr)
		}
	}
	code, stdout, stderr := run("audit", "verify", "--data", data)
	if code != exitOK || !strings.Contains(stdout, "ok: 3 entries") || !strings.Contains(stdout, "last entry: 3 ") {
		t.Fatalf("verify: %d %q %q", code, stdout, stderr)
	}
	code, stdout, _ = run("audit", "list", "--since", "1h", "--data", data)
	if code != exitOK || strings.Count(stdout, "user.add") != 3 || !strings.Contains(stdout, "- → role operator") {
		t.Errorf("list --since 1h:\n%s", stdout)
	}
	code, stdout, _ = run("audit", "list", "--since", "2000-01-01T00:00:00Z", "--limit", "1", "--data", data)
	if code != exitOK || strings.Count(stdout, "user.add") != 1 || !strings.Contains(stdout, "user cy") {
		t.Errorf("list --limit 1:\n%s", stdout)
	}
	if code, stdout, _ = run("audit", "list", "--since", "2999-01-01T00:00:00Z", "--data", data); code != exitOK || !strings.Contains(stdout, "no audit entries") {
		t.Errorf("list of the future: %q", stdout)
	}

	// Someone edits row 2 with sqlite3.
	db, err := sql.Open("sqlite", filepath.Join(data, historyFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE audit SET target = 'user mallory' WHERE seq = 2"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, stdout, stderr = run("audit", "verify", "--data", data)
	if code != exitError || !strings.Contains(stdout, "row 2 altered") || !strings.Contains(stderr, "tampered with: row 2 altered") {
		t.Fatalf("verify after tampering: %d %q %q", code, stdout, stderr)
	}
	code, stdout, _ = run("audit", "verify", "--json", "--data", data)
	var rep struct {
		OK       bool
		Entries  int
		Problems []struct {
			Seq  int
			Kind string
		}
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != exitError || rep.OK || rep.Entries != 3 ||
		len(rep.Problems) != 1 || rep.Problems[0].Seq != 2 || rep.Problems[0].Kind != "altered" {
		t.Errorf("verify --json: %d %q (%v)", code, stdout, err)
	}
}
