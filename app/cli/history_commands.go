package cli

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"minebrain/app/historian"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

func runHistoryQuery(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(name, name+" --db FILE --tag TAG [--from T] [--to T] [--buckets N] [--json]", stderr)
	db := fs.String("db", "", "historian database file (required; opened read-only, never created)")
	tag := fs.String("tag", "", "tag name (required)")
	from := fs.String("from", "-1h", "start time (inclusive): RFC 3339, a date, now, or relative (-1h, -7d)")
	to := fs.String("to", "now", "end time (exclusive)")
	buckets := fs.Int("buckets", 0, "aggregate into N equal buckets (min, max, avg, first, last, count, % good) instead of raw samples")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if *db == "" {
		return historyUsageErr(fs, stderr, "missing --db FILE")
	}
	if *tag == "" {
		return historyUsageErr(fs, stderr, "missing --tag TAG")
	}
	if *buckets < 0 {
		return historyUsageErr(fs, stderr, "--buckets must be 0 (raw samples) or more, got %d", *buckets)
	}
	f, t, err := timeRange(*from, *to, time.Now())
	if err != nil {
		return historyUsageErr(fs, stderr, "%v", err)
	}
	if *buckets > 0 && t.Sub(f) < time.Duration(*buckets) {
		return historyUsageErr(fs, stderr, "--buckets %d is more than the nanoseconds from --from to --to", *buckets)
	}
	// Read-only: no writer, nothing created or migrated; works beside a running Minebrain.
	s, err := historian.OpenReader(ctx, *db)
	if err != nil {
		return failed(stderr, name, err)
	}
	defer s.Close()

	if *buckets == 0 {
		pts, err := s.Range(ctx, *tag, f, t)
		if err != nil {
			return failed(stderr, name, err)
		}
		if *asJSON {
			type jp struct {
				Time   string   `json:"time"`
				Value  *float64 `json:"value"`
				Status uint32   `json:"status"`
				Good   bool     `json:"good"`
			}
			out := struct {
				Tag    string `json:"tag"`
				From   string `json:"from"`
				To     string `json:"to"`
				Points []jp   `json:"points"`
			}{Tag: *tag, From: rfc3339ms(f), To: rfc3339ms(t), Points: make([]jp, len(pts))}
			for i, p := range pts {
				out.Points[i] = jp{rfc3339ms(p.Time()), jsonNum(p.V), p.S, historian.IsGood(p.S)}
			}
			return jsonResult(stderr, name, printJSON(stdout, out))
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tVALUE\tSTATUS")
		for _, p := range pts {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", rfc3339ms(p.Time()), fmtNum(p.V), fmtStatus(p.S))
		}
		tw.Flush()
		fmt.Fprintf(stderr, "%d samples of %s from %s to %s\n", len(pts), *tag, rfc3339ms(f), rfc3339ms(t))
		return exitOK
	}

	bks, err := s.Aggregate(ctx, *tag, f, t, *buckets)
	if err != nil {
		return failed(stderr, name, err)
	}
	if *asJSON {
		type jb struct {
			Start       string   `json:"start"`
			End         string   `json:"end"`
			Count       int      `json:"count"`
			Min         *float64 `json:"min"`
			Max         *float64 `json:"max"`
			Avg         *float64 `json:"avg"`
			First       *float64 `json:"first"`
			Last        *float64 `json:"last"`
			PercentGood *float64 `json:"percent_good"`
		}
		out := struct {
			Tag     string `json:"tag"`
			From    string `json:"from"`
			To      string `json:"to"`
			Buckets []jb   `json:"buckets"`
		}{Tag: *tag, From: rfc3339ms(f), To: rfc3339ms(t), Buckets: make([]jb, len(bks))}
		for i, b := range bks {
			j := jb{Start: rfc3339ms(b.Start), End: rfc3339ms(b.End), Count: b.Count,
				Min: jsonNum(b.Min), Max: jsonNum(b.Max), Avg: jsonNum(b.Avg), PercentGood: jsonNum(b.PercentGood)}
			if b.Count > 0 {
				j.First, j.Last = jsonNum(b.First.V), jsonNum(b.Last.V)
			}
			out.Buckets[i] = j
		}
		return jsonResult(stderr, name, printJSON(stdout, out))
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "START\tCOUNT\tMIN\tMAX\tAVG\tFIRST\tLAST\tGOOD%\t")
	for _, b := range bks {
		first, last := "-", "-"
		if b.Count > 0 {
			first, last = fmtNum(b.First.V), fmtNum(b.Last.V)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", rfc3339ms(b.Start), b.Count,
			fmtNum(b.Min), fmtNum(b.Max), fmtFixed(b.Avg), first, last, fmtFixed(b.PercentGood))
	}
	tw.Flush()
	return exitOK
}

func fmtFixed(v float64) string {
	if v != v {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func jsonResult(stderr io.Writer, name string, err error) int {
	if err != nil {
		return failed(stderr, name, err)
	}
	return exitOK
}

// exportWindow is how much of one tag export reads at a time, bounding memory (6 h at 1 Hz is
// 21,600 samples).
const exportWindow = 6 * time.Hour

func runHistoryExport(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(name, name+" --db FILE --tag TAG [--tag TAG...] [TAG...] [--from T] [--to T] [--out FILE.csv|FILE.db] [--progress]", stderr)
	db := fs.String("db", "", "historian database file (required; opened read-only, never created)")
	var tags stringList
	fs.Var(&tags, "tag", "tag to export (repeat for more; further tags may follow as arguments)")
	from := fs.String("from", "", "start time (inclusive; default: each tag's first sample)")
	to := fs.String("to", "", "end time (exclusive; default: after each tag's last sample)")
	out := fs.String("out", "", "write the CSV to this file (default: standard output); a name ending in .db or .sqlite writes a new SQLite file with plain rows and a samples view instead")
	progress := fs.Bool("progress", false, "show a progress bar on stderr even when it is not a terminal")
	pos, code := parseInterleaved(fs, args)
	if code >= 0 {
		return code
	}
	tags = append(tags, pos...)
	if *db == "" {
		return historyUsageErr(fs, stderr, "missing --db FILE")
	}
	if len(tags) == 0 {
		return historyUsageErr(fs, stderr, "missing --tag TAG")
	}
	now := time.Now()
	var f, t time.Time
	var err error
	if *from != "" {
		if f, err = parseTime(*from, now); err != nil {
			return historyUsageErr(fs, stderr, "--from: %v", err)
		}
	}
	if *to != "" {
		if t, err = parseTime(*to, now); err != nil {
			return historyUsageErr(fs, stderr, "--to: %v", err)
		}
	}
	if *from != "" && *to != "" && !t.After(f) {
		return historyUsageErr(fs, stderr, "--to must be after --from")
	}
	s, err := historian.OpenReader(ctx, *db)
	if err != nil {
		return failed(stderr, name, err)
	}
	defer s.Close()

	// Each tag's range, checked before any output is written.
	spans := make([]exportSpan, len(tags))
	var total time.Duration
	for i, tag := range tags {
		first, last, ok, err := s.Span(ctx, tag)
		if err != nil {
			return failed(stderr, name, err)
		}
		sp := exportSpan{f, t}
		if *from == "" {
			sp.from = first
		}
		if *to == "" {
			sp.to = last.Add(time.Nanosecond)
		}
		if !ok || !sp.to.After(sp.from) {
			sp.to = sp.from
		}
		spans[i] = sp
		total += sp.to.Sub(sp.from)
	}

	if ext := strings.ToLower(filepath.Ext(*out)); ext == ".db" || ext == ".sqlite" {
		return exportSQLite(ctx, name, s, tags, spans, total, *out, *progress, stderr)
	}

	w := stdout
	var file *os.File
	if *out != "" {
		if file, err = os.Create(*out); err != nil {
			return failed(stderr, name, err)
		}
		w = file
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	cw := csv.NewWriter(bw)
	fail := func(err error) int {
		if file != nil {
			file.Close()
			os.Remove(*out)
		}
		return failed(stderr, name, err)
	}
	cw.Write([]string{"tag", "time", "value", "status"})
	rec := make([]string, 4)
	n, err := exportSamples(ctx, s, tags, spans, total, *progress, stderr, func(tag string, p historian.Point) error {
		rec[0], rec[1], rec[2], rec[3] = tag, rfc3339ms(p.Time()), strconv.FormatFloat(p.V, 'g', -1, 64), fmtStatus(p.S)
		return cw.Write(rec)
	})
	if err != nil {
		return fail(err)
	}
	cw.Flush()
	if err := errors.Join(cw.Error(), bw.Flush()); err != nil {
		return fail(err)
	}
	if file != nil {
		if err := file.Close(); err != nil {
			file = nil
			os.Remove(*out)
			return failed(stderr, name, err)
		}
		fmt.Fprintf(stderr, "exported %d samples of %d tags to %s\n", n, len(tags), *out)
	}
	return exitOK
}

func runHistoryStats(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(name, name+" --db FILE [--json]", stderr)
	db := fs.String("db", "", "historian database file (required; opened read-only)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if *db == "" {
		return historyUsageErr(fs, stderr, "missing --db FILE")
	}
	st, err := historian.FileStats(ctx, *db)
	if err != nil {
		return failed(stderr, name, err)
	}
	var first, last string
	var span float64
	if !st.First.IsZero() {
		first, last = rfc3339ms(st.First), rfc3339ms(st.Last)
		span = st.Last.Sub(st.First).Seconds()
	}
	if *asJSON {
		return jsonResult(stderr, name, printJSON(stdout, map[string]any{
			"path": st.Path, "schema_version": st.SchemaVersion, "tags": st.Tags, "samples": st.Samples,
			"blocks": st.Blocks, "open_chunks": st.OpenChunks, "file_bytes": st.FileBytes,
			"bytes_per_sample": st.BytesPerSample, "first": first, "last": last, "span_s": span,
		}))
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "file\t%s\n", st.Path)
	fmt.Fprintf(tw, "schema version\t%d\n", st.SchemaVersion)
	fmt.Fprintf(tw, "tags\t%d\n", st.Tags)
	fmt.Fprintf(tw, "samples\t%d\n", st.Samples)
	fmt.Fprintf(tw, "blocks\t%d (+ %d open chunks)\n", st.Blocks, st.OpenChunks)
	fmt.Fprintf(tw, "file size\t%d bytes\n", st.FileBytes)
	fmt.Fprintf(tw, "bytes per sample\t%.2f\n", st.BytesPerSample)
	if first != "" {
		fmt.Fprintf(tw, "time span\t%s to %s (%s)\n", first, last, st.Last.Sub(st.First).Round(time.Second))
	} else {
		fmt.Fprintf(tw, "time span\t-\n")
	}
	tw.Flush()
	return exitOK
}

func runHistoryCheck(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(name, name+" --db FILE [--json]", stderr)
	db := fs.String("db", "", "historian database file (required; opened read-only)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if *db == "" {
		return historyUsageErr(fs, stderr, "missing --db FILE")
	}
	r, err := historian.Check(ctx, *db)
	if err != nil {
		return failed(stderr, name, err)
	}
	if *asJSON {
		type jp struct {
			Tag     string `json:"tag,omitempty"`
			Table   string `json:"table,omitempty"`
			Block   string `json:"block_start,omitempty"`
			BlockNs int64  `json:"block_start_ns,omitempty"`
			Message string `json:"message"`
		}
		probs := make([]jp, len(r.Problems))
		for i, p := range r.Problems {
			probs[i] = jp{Tag: p.Tag, Table: p.Table, Message: p.Msg}
			if p.Table != "" {
				probs[i].Block, probs[i].BlockNs = p.Block.UTC().Format(time.RFC3339Nano), p.Block.UnixNano()
			}
		}
		if err := printJSON(stdout, map[string]any{
			"path": r.Path, "ok": r.OK(), "schema_version": r.SchemaVersion, "integrity": r.Integrity,
			"tags": r.Tags, "blocks": r.Blocks, "open_chunks": r.OpenChunks, "samples": r.Samples,
			"problems": probs,
		}); err != nil {
			return failed(stderr, name, err)
		}
	} else {
		fmt.Fprintf(stdout, "integrity_check: %s\n", r.Integrity)
		fmt.Fprintf(stdout, "schema version:  %d\n", r.SchemaVersion)
		fmt.Fprintf(stdout, "decoded:         %d blocks, %d open chunks, %d samples of %d tags\n",
			r.Blocks, r.OpenChunks, r.Samples, r.Tags)
		for _, p := range r.Problems {
			fmt.Fprintf(stdout, "PROBLEM: %s\n", p)
		}
	}
	if !r.OK() {
		fmt.Fprintf(stderr, "minebrain %s: %d problems in %s\n", name, len(r.Problems), r.Path)
		return exitError
	}
	if !*asJSON {
		fmt.Fprintln(stdout, "ok")
	}
	return exitOK
}

func runHistoryBench(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(name, name+" [--tags N] [--samples N] [--db FILE] [--json]", stderr)
	var o historian.BenchOptions
	fs.IntVar(&o.Tags, "tags", 1000, "tags sampled at 1 Hz")
	fs.Int64Var(&o.Samples, "samples", 10_000_000, "samples in all (samples/tags seconds of data, ending now)")
	fs.StringVar(&o.Path, "db", "", "write (and keep) this new file; default a temporary file, removed afterwards")
	fs.DurationVar(&o.TrendSpan, "trend-span", 7*24*time.Hour, "history of the extra tag the long-trend query reads")
	fs.IntVar(&o.TrendBuckets, "buckets", 1000, "buckets of the long-trend query")
	fs.IntVar(&o.Runs, "runs", 7, "timed runs of the trend and latest queries (the median is printed)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	switch {
	case o.Tags <= 0:
		return historyUsageErr(fs, stderr, "--tags must be above 0, got %d", o.Tags)
	case o.Samples < int64(o.Tags):
		return historyUsageErr(fs, stderr, "--samples must be at least --tags (%d), got %d", o.Tags, o.Samples)
	case o.TrendSpan < time.Duration(o.TrendBuckets)*time.Second:
		return historyUsageErr(fs, stderr, "--trend-span must hold at least one second per bucket")
	case o.TrendBuckets <= 0 || o.Runs <= 0:
		return historyUsageErr(fs, stderr, "--buckets and --runs must be above 0")
	}
	if o.Path != "" {
		if _, err := os.Stat(o.Path); err == nil {
			return failed(stderr, name, fmt.Errorf("%s exists; bench writes a new file", o.Path))
		}
	}
	prog := newProgressLine(stderr)
	res, err := historian.RunBench(ctx, o, func(p historian.BenchProgress) {
		prog.update("bench: %s %d/%d", p.Phase, p.Done, p.Total)
	})
	prog.done()
	if err != nil {
		return failed(stderr, name, err)
	}
	if *asJSON {
		return jsonResult(stderr, name, printJSON(stdout, res))
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "data\t%d tags x %d s at 1 Hz = %d samples, + %d on the trend tag\n",
		res.Tags, res.Samples/int64(res.Tags), res.Samples, res.TrendSamples)
	fmt.Fprintf(tw, "ingest\t%.0f samples/s (%.0f while a reader runs)\n", res.IngestSamplesPerSec, res.IngestWithReaderSamplesPerSec)
	fmt.Fprintf(tw, "on disk\t%.2f bytes/sample (%d bytes)\n", res.BytesPerSample, res.FileBytes)
	fmt.Fprintf(tw, "trend\t%.2f ms median: %s of one tag into %d buckets\n", res.TrendMedianMs,
		time.Duration(res.TrendSpanSec*float64(time.Second)), res.TrendBuckets)
	fmt.Fprintf(tw, "latest\t%.3f ms median: latest value of all %d tags\n", res.LatestMedianMs, res.Tags)
	fmt.Fprintf(tw, "reader during ingest\tmax %.2f ms, p99 %.2f ms, median %.2f ms over %d one-hour trends\n",
		res.ReaderMaxMs, res.ReaderP99Ms, res.ReaderP50Ms, res.ReaderQueries)
	fmt.Fprintf(tw, "elapsed\t%.1f s\n", res.ElapsedSec)
	if res.Path != "" {
		fmt.Fprintf(tw, "file\t%s\n", res.Path)
	}
	tw.Flush()
	return exitOK
}

// exportSpan is the time range exported for one tag.
type exportSpan struct{ from, to time.Time }

// exportSamples reads each tag's span window by window (memory stays bounded however long the
// span) and hands every sample to write, showing progress. It returns the samples written.
func exportSamples(ctx context.Context, s *historian.Reader, tags []string, spans []exportSpan, total time.Duration,
	progress bool, stderr io.Writer, write func(tag string, p historian.Point) error) (int64, error) {
	prog := newProgressLine(stderr)
	prog.on = prog.on || progress
	defer prog.done()
	var n int64
	var doneDur time.Duration
	for i, tag := range tags {
		sp := spans[i]
		for ws := sp.from; ws.Before(sp.to); ws = ws.Add(exportWindow) {
			if err := ctx.Err(); err != nil {
				return n, err
			}
			we := ws.Add(exportWindow)
			if we.After(sp.to) {
				we = sp.to
			}
			pts, err := s.Range(ctx, tag, ws, we)
			if err != nil {
				return n, err
			}
			for _, p := range pts {
				if err := write(tag, p); err != nil {
					return n, err
				}
			}
			n += int64(len(pts))
			doneDur += we.Sub(ws)
			if total > 0 {
				prog.bar(float64(doneDur)/float64(total), "%s, %d samples", tag, n)
			}
		}
	}
	return n, nil
}

// exportSQLite is export into a new SQLite file (export_sqlite.go).
func exportSQLite(ctx context.Context, name string, s *historian.Reader, tags []string, spans []exportSpan,
	total time.Duration, out string, progress bool, stderr io.Writer) int {
	e, err := newSQLiteExport(ctx, out)
	if err != nil {
		return failed(stderr, name, err)
	}
	n, err := exportSamples(ctx, s, tags, spans, total, progress, stderr, e.write)
	if err != nil {
		e.abort()
		return failed(stderr, name, err)
	}
	if err := e.finish(); err != nil {
		return failed(stderr, name, err)
	}
	fmt.Fprintf(stderr, "exported %d samples of %d tags to %s (SELECT * FROM samples)\n", n, len(tags), out)
	return exitOK
}
