package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"minebrain/app/plugins"
	"minebrain/app/plugins/histrun"
	"minebrain/app/plugins/manifest"
)

// `minebrain plugin test --against history`: the plugin in SHADOW over a recorded history
// file (app/plugins/histrun).

// testHistoryFlags checks the flags that belong to one --against only: a usage error's exit
// code, or -1 when they are fine.
func (p *pluginRun) testHistoryFlags(mode plugins.Mode) int {
	set := map[string]bool{}
	p.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if p.tf.against == "sim" {
		for _, name := range []string{"history", "from"} {
			if set[name] {
				return usageError(p.fs, p.stderr, p.name, "--"+name+" is for --against history")
			}
		}
		return -1
	}
	if mode == plugins.Auto {
		return usageError(p.fs, p.stderr, p.name, "--mode auto with --against history: recorded history cannot be changed, "+
			"so a plugin runs against it in SHADOW only; use --against sim to see its writes applied")
	}
	if set["seed"] {
		return usageError(p.fs, p.stderr, p.name, "--seed is for --against sim")
	}
	if p.tf.history == "" {
		why := "no default data directory"
		if p.dataErr != nil {
			why += " (" + p.dataErr.Error() + ")"
		}
		return usageError(p.fs, p.stderr, p.name, why+": give --history FILE")
	}
	if p.tf.from != "" {
		if _, err := parseTime(p.tf.from, time.Now()); err != nil {
			return usageError(p.fs, p.stderr, p.name, "--from: "+err.Error())
		}
	}
	return -1
}

// splitWatch is --watch's tags; nil when it is empty.
func splitWatch(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// testHistory runs the plugin of m over the history file and prints the report.
func (p *pluginRun) testHistory(m *manifest.Manifest, watch []string) int {
	f := p.tf
	var from time.Time
	if f.from != "" {
		from, _ = parseTime(f.from, time.Now()) // checked by testHistoryFlags
	}
	cache := moduleCacheDir()
	var lastProgress, t0 time.Time
	began := time.Now()
	o := histrun.Options{Manifest: m.File, History: f.history, From: from, For: f.dur, Watch: watch,
		Speed: f.speed, CacheDir: cache,
		Progress: func(now time.Time) {
			if t0.IsZero() {
				t0 = now
			}
			if time.Since(lastProgress) < 2*time.Second {
				return
			}
			if !lastProgress.IsZero() {
				fmt.Fprintf(p.stderr, "replayed %v of %v, at %s (%.0f×)\n", now.Sub(t0).Round(time.Second), f.dur,
					now.UTC().Format(time.RFC3339), now.Sub(t0).Seconds()/time.Since(began).Seconds())
			}
			lastProgress = time.Now()
		}}
	rep, err := histrun.Run(p.ctx, o)
	if err != nil && rep.ID == "" {
		if errors.Is(err, histrun.ErrAuto) {
			return usageError(p.fs, p.stderr, p.name, err.Error())
		}
		return failed(p.stderr, p.name, err)
	}
	if err != nil {
		fmt.Fprintf(p.stderr, "minebrain %s: stopped: %v\n", p.name, err)
	}
	if p.json {
		enc := json.NewEncoder(p.stdout)
		enc.SetIndent("", "  ")
		v := struct {
			histrun.Report
			Signals []jsonSignal `json:"signals"`
			Verdict string       `json:"verdict"`
		}{rep, jsonSignals(rep.Signals), verdict(rep.Summary)}
		if e := enc.Encode(v); e != nil {
			return failed(p.stderr, p.name, e)
		}
	} else {
		printHistoryReport(p.stdout, rep)
	}
	if err != nil || len(rep.Faults) > 0 {
		return exitError
	}
	return exitOK
}

func printHistoryReport(w io.Writer, r histrun.Report) {
	speed := r.Simulated.Seconds() / max(r.Real.Seconds(), 1e-9)
	fmt.Fprintf(w, "plugin %s against the history %s, from %s to %s, mode %s: %v replayed in %v (%.0f recorded seconds per second)\n",
		r.ID, r.History, r.Start.Format(time.RFC3339), r.End.Format(time.RFC3339), r.Mode, r.Simulated,
		r.Real.Round(time.Millisecond), speed)
	if r.Cut {
		fmt.Fprintf(w, "  (cut at the newest sample: the recording of its reads is %s to %s)\n",
			r.RecordingFirst.Format(time.RFC3339), r.RecordingLast.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "reads: %s", strings.Join(r.Reads, ", "))
	if r.MissingReads > 0 || r.StaleReads > 0 {
		fmt.Fprintf(w, " (%d missing, %d stale of %d tick reads; stale after a %v gap in the recording)",
			r.MissingReads, r.StaleReads, r.Ticks*len(r.Reads), r.StaleAfter)
	}
	fmt.Fprintln(w)
	printTestSummary(w, r.Summary, func(w io.Writer) {
		if len(r.Setpoints) == 0 {
			return
		}
		fmt.Fprintln(w, "\nsetpoints, wanted against recorded at the same times:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  TAG\tWRITES\tCOMPARED\tWOULD CHANGE\tMEAN |DIFF|\tMAX |DIFF|\tMEAN WANTED\tMEAN RECORDED\tRECORDED CHANGES\t")
		for _, s := range r.Setpoints {
			if !s.Recorded {
				fmt.Fprintf(tw, "  %s\t%d\t-\t-\t-\t-\t-\t-\tnot in the history\t\n", s.Tag, s.Decisions)
				continue
			}
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%.4g\t%.4g\t%.4g\t%.4g\t%d\t\n", s.Tag, s.Decisions, s.Compared, s.Changes,
				s.MeanAbsDiff, s.MaxAbsDiff, s.WantedMean, s.RecordedMean, s.RecordedChanges)
		}
		tw.Flush()
	})
}
