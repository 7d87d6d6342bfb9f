package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// historyCommand is one `minebrain history` subcommand.
type historyCommand struct {
	name, args, summary string
	run                 func(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int
}

func historyCommands() []historyCommand {
	return []historyCommand{
		{"query", "--db FILE --tag TAG [--from T] [--to T] [--buckets N] [--json]", "print a tag's samples, or with --buckets its aggregates", runHistoryQuery},
		{"export", "--db FILE --tag TAG... [--from T] [--to T] [--out FILE.csv]", "write samples as CSV (tag,time,value,status)", runHistoryExport},
		{"stats", "--db FILE [--json]", "tags, samples, blocks, size and time span of a file", runHistoryStats},
		{"check", "--db FILE [--json]", "verify a file: integrity_check, schema, every block decoded", runHistoryCheck},
		{"bench", "[--tags N] [--samples N] [--db FILE] [--json]", "measure ingest, size and query latency on generated signals", runHistoryBench},
	}
}

func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) == 0 {
			historyUsage(stderr)
			return exitUsage
		}
		historyUsage(stdout)
		return exitOK
	}
	for _, c := range historyCommands() {
		if c.name == args[0] {
			return c.run(ctx, "history "+c.name, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "minebrain history: unknown command %q\n\n", args[0])
	historyUsage(stderr)
	return exitUsage
}

func historyUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: minebrain history <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Tools for historian database files. Times T are RFC 3339 (2026-01-02T15:04:05Z,")
	fmt.Fprintln(w, "2026-01-02), `now`, or relative to now: -90s, -15m, -1h, -7d, -2w.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range historyCommands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "export and bench show progress on stderr, updated in place, when stderr is a terminal")
	fmt.Fprintln(w, "(export --progress: always).")
	fmt.Fprintln(w, "query, export, stats and check open the file read-only: they never create, migrate or")
	fmt.Fprintln(w, "change it, work while Minebrain writes it (they see what it has committed, up to the")
	fmt.Fprintln(w, "last half second) and on a read-only file system.")
	fmt.Fprintln(w, "Exit status: 0 success, 1 failure (or problems found by check), 2 usage error.")
	fmt.Fprintln(w, "Run `minebrain history <command> --help` for a command's flags.")
}

// historyUsageErr reports a usage error found after flag parsing and returns exit status 2.
func historyUsageErr(fs *flag.FlagSet, stderr io.Writer, format string, a ...any) int {
	fmt.Fprintf(stderr, "minebrain %s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
	fs.Usage()
	return exitUsage
}

// parseTime parses a command-line time: RFC 3339 (with or without fractional seconds), a
// date or a date and time without zone (taken as UTC), "now", or a negative duration relative
// to now with units ns..h plus d (24 h) and w (7 d): "-1h", "-7d", "-1d12h".
func parseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "now" {
		return now, nil
	}
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		d, err := parseLongDuration(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("bad time %q: %v", s, err)
		}
		return now.Add(d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q: want RFC 3339 (2026-01-02T15:04:05Z), a date, now, or relative (-1h, -7d)", s)
}

// parseLongDuration is time.ParseDuration plus the units d (24 h) and w (7 d).
func parseLongDuration(s string) (time.Duration, error) {
	sign := time.Duration(1)
	switch {
	case strings.HasPrefix(s, "-"):
		sign, s = -1, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	if s == "" {
		return 0, fmt.Errorf("want a number and a unit (s, m, h, d, w)")
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		j := i
		for j < len(s) && !(s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
			j++
		}
		num, unit := s[:i], s[i:j]
		s = s[j:]
		if num == "" || unit == "" {
			return 0, fmt.Errorf("want a number and a unit (s, m, h, d, w)")
		}
		var d time.Duration
		switch unit {
		case "d", "w":
			f, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, err
			}
			day := 24 * time.Hour
			if unit == "w" {
				day *= 7
			}
			if f*float64(day) > math.MaxInt64/2 {
				return 0, fmt.Errorf("too long")
			}
			d = time.Duration(f * float64(day))
		default:
			var err error
			if d, err = time.ParseDuration(num + unit); err != nil {
				return 0, err
			}
		}
		total += d
	}
	return sign * total, nil
}

// timeRange parses --from and --to (either may be empty: defaults defFrom, defTo).
func timeRange(from, to string, now time.Time) (f, t time.Time, err error) {
	if f, err = parseTime(from, now); err != nil {
		return
	}
	if t, err = parseTime(to, now); err != nil {
		return
	}
	if !t.After(f) {
		err = fmt.Errorf("--to (%s) must be after --from (%s)", rfc3339ms(t), rfc3339ms(f))
	}
	return
}

// rfc3339ms formats t in UTC with milliseconds: 2026-01-02T15:04:05.000Z.
func rfc3339ms(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// jsonNum is a float for JSON: null for NaN and ±Inf, which JSON cannot hold.
func jsonNum(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// printJSON prints v as one indented JSON object.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// fmtNum formats a value for text output; NaN as "-".
func fmtNum(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func fmtStatus(s uint32) string { return fmt.Sprintf("0x%08X", s) }

// progressLine shows progress on w, updated in place (carriage return) at most 4 times a
// second, and only when w is a terminal: piped or redirected stderr gets no progress lines,
// so logs and scripts see only the result and real errors. Forced on (export --progress) for
// a non-terminal, it prints one plain line a second instead.
type progressLine struct {
	w     io.Writer
	on    bool
	tty   bool
	last  time.Time
	shown bool
}

func newProgressLine(w io.Writer) *progressLine {
	p := &progressLine{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.on, p.tty = true, true
		}
	}
	return p
}

func (p *progressLine) update(format string, a ...any) {
	every := 250 * time.Millisecond
	if !p.tty {
		every = time.Second
	}
	if !p.on || time.Since(p.last) < every {
		return
	}
	p.last = time.Now()
	if !p.tty {
		fmt.Fprintf(p.w, format+"\n", a...)
		return
	}
	fmt.Fprintf(p.w, "\r\033[K"+format, a...)
	p.shown = true
}

// bar shows a progress bar for frac (0..1) followed by a message:
// [##########----------]  50%  message
func (p *progressLine) bar(frac float64, format string, a ...any) {
	const width = 24
	frac = min(max(frac, 0), 1)
	fill := int(frac * width)
	p.update("[%s%s] %3.0f%%  "+format, append([]any{strings.Repeat("#", fill), strings.Repeat("-", width-fill), 100 * frac}, a...)...)
}

// done clears the progress line.
func (p *progressLine) done() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}
