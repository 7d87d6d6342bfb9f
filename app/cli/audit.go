package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"minebrain/app/audit"
)

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		w, code := stderr, exitUsage
		if len(args) > 0 {
			w, code = stdout, exitOK
		}
		auditUsage(w)
		return code
	}
	name := "audit " + args[0]
	var synopsis string
	switch args[0] {
	case "verify":
		synopsis = "audit verify [--data DIR] [--json]"
	case "list":
		synopsis = "audit list [--since TIME|DURATION] [--limit N] [--data DIR] [--json]"
	default:
		fmt.Fprintf(stderr, "minebrain audit: unknown command %q\n\n", args[0])
		auditUsage(stderr)
		return exitUsage
	}
	fs := newFlagSet(name, synopsis, stderr)
	def, defErr := defaultDataDir()
	data := fs.String("data", def, "Minebrain's data directory (the audit log is in its "+historyFile+")")
	asJSON := fs.Bool("json", false, "print JSON")
	var since *string
	var limit *int
	if args[0] == "list" {
		since = fs.String("since", "", "entries from this time on: RFC 3339 (2026-11-27T08:00:00Z) or a duration back from now (24h)")
		limit = fs.Int("limit", 0, "at most the newest N entries (0: all)")
	}
	if code := parseFlags(fs, args[1:], stderr); code >= 0 {
		return code
	}
	if *data == "" {
		why := "--data is empty"
		if defErr != nil {
			why = defErr.Error()
		}
		return usageError(fs, stderr, name, "no data directory ("+why+"); name one with --data DIR")
	}
	var from time.Time
	if since != nil && *since != "" {
		var err error
		if from, err = parseSince(*since, time.Now()); err != nil {
			return usageError(fs, stderr, name, err.Error())
		}
	}

	s, err := openData(ctx, *data, false)
	if err != nil {
		return failed(stderr, name, err)
	}
	defer s.Close()
	l, err := audit.New(ctx, s)
	if err != nil {
		return failed(stderr, name, err)
	}
	if args[0] == "list" {
		return auditList(ctx, l, from, *limit, *asJSON, stdout, stderr)
	}
	return auditVerify(ctx, l, *asJSON, stdout, stderr)
}

func auditUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: minebrain audit <command> [--data DIR]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The audit log in <data>/"+historyFile+": every command, setpoint and user change, who made it,")
	fmt.Fprintln(w, "from which face, the old and new value, the reason and the result. Each row is chained to the")
	fmt.Fprintln(w, "one before by a SHA-256 hash, so a row altered, inserted, deleted or moved by hand is found.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	fmt.Fprintln(w, "  verify [--json]                                 check the chain; name the first bad row")
	fmt.Fprintln(w, "  list [--since TIME|DURATION] [--limit N] [--json]  print the entries, oldest first")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Exit status: 0 success (verify: the chain is intact), 1 failure (verify: the log was tampered")
	fmt.Fprintln(w, "with), 2 usage error.")
}

// parseSince reads an RFC 3339 time, or a duration meaning that long before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want an RFC 3339 time (2026-11-27T08:00:00Z) or a duration (24h)", s)
}

func auditList(ctx context.Context, l *audit.Log, from time.Time, limit int, asJSON bool, stdout, stderr io.Writer) int {
	list, err := l.List(ctx, from, limit)
	if err != nil {
		return failed(stderr, "audit list", err)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		for _, e := range list {
			enc.Encode(e)
		}
		return exitOK
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no audit entries")
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tWHO\tFACE\tACTION\tTARGET\tOLD → NEW\tREASON\tRESULT")
	for _, e := range list {
		change := ""
		if e.Old != "" || e.New != "" {
			change = orDash(e.Old) + " → " + orDash(e.New)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.Format(time.RFC3339),
			oneLine(e.Who), e.Face, oneLine(e.Action), oneLine(e.Target), oneLine(change), oneLine(e.Reason), oneLine(e.Result))
	}
	tw.Flush()
	return exitOK
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a field on its row of the table (tabs and newlines would break it).
func oneLine(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

func auditVerify(ctx context.Context, l *audit.Log, asJSON bool, stdout, stderr io.Writer) int {
	r, err := l.Verify(ctx)
	if err != nil {
		return failed(stderr, "audit verify", err)
	}
	if asJSON {
		json.NewEncoder(stdout).Encode(struct {
			OK bool `json:"ok"`
			audit.Report
		}{r.OK(), r})
	} else {
		for _, p := range r.Problems {
			fmt.Fprintln(stdout, p)
		}
		if r.Truncated {
			fmt.Fprintln(stdout, "(more problems not listed)")
		}
		if r.OK() {
			fmt.Fprintf(stdout, "ok: %d entries, the chain is intact\n", r.Entries)
			if r.Entries > 0 {
				fmt.Fprintf(stdout, "last entry: %d %s\n", r.LastSeq, r.LastHash)
			}
		}
	}
	if !r.OK() {
		p := r.Problems[0]
		fmt.Fprintf(stderr, "minebrain audit verify: the audit log was tampered with: row %d %s\n", p.Seq, p.Kind)
		return exitError
	}
	return exitOK
}
