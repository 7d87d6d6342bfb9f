// Package histrun runs a plugin offline in SHADOW against recorded history (a Minebrain
// history file): `minebrain plugin test --against history`.
//
// At every tick of the manifest in recorded time the plugin reads, for each granted tag, the
// last recorded sample at or before that time, with its recorded status and source time
// (Missing before the tag's first sample; Stale when the recording has a gap: no loaded tag
// has a sample within Options.StaleAfter before the tick). Its writes are only ever recorded
// (SHADOW: recorded history cannot be changed) and compared with what was recorded for the
// same setpoint at the same times. The samples are read with one Range query per tag per
// chunk of recorded time, through a cursor, never one query per tag per tick. The bookkeeping
// (decisions, signal statistics, alarms, audit, faults, log lines, pace) is
// app/plugins/offline's, shared with simrun.
package histrun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"minebrain/app/control"
	"minebrain/app/historian"
	"minebrain/app/plugins"
	"minebrain/app/plugins/manifest"
	"minebrain/app/plugins/offline"
)

// ErrAuto refuses Options.Mode AUTO.
var ErrAuto = errors.New("histrun: recorded history cannot be changed, so a plugin runs against it in SHADOW only; " +
	"to see its writes applied, run it against the simulated mine (--against sim)")

// Options configure a Run; zero fields take the defaults given.
type Options struct {
	Manifest string        // the plugin's plugin.yaml
	History  string        // the history file (SQLite, opened read-only)
	From     time.Time     // the recorded time to start at; zero = For before the newest sample of the read tags
	For      time.Duration // recorded time to run; 1 h when zero; cut at the newest sample

	// Mode must be "" or plugins.Shadow: see ErrAuto.
	Mode plugins.Mode

	// Watch are the key signals summarised in Report.Signals (the value in force, sampled at
	// every tick); nil = the read tags, empty = none.
	Watch []string

	// StaleAfter: a value is Stale when no loaded tag has a sample within StaleAfter before
	// the tick (a gap in the recording; the recorder stores changes, so one flat tag's age
	// says nothing). Default 10 × the manifest's tick, at least 10 s.
	StaleAfter time.Duration

	// Chunk is the recorded time read per Range query of a tag; 1 h when zero.
	Chunk time.Duration

	// Speed, when above 0, paces the run at Speed × real time; 0 runs as fast as it goes.
	Speed float64

	// Progress, when set, is called after every tick with its recorded time.
	Progress func(t time.Time)

	CacheDir string       // wazero compilation cache; "" = in memory
	Logger   *slog.Logger // the plugin's log lines and the runtime's; discarded when nil
}

// Setpoint compares what the plugin wanted for one of its write grants with what was
// recorded for that setpoint at the same times.
type Setpoint struct {
	Tag       string `json:"tag"`
	Recorded  bool   `json:"recorded"`  // the history file has the tag
	Decisions int    `json:"decisions"` // the plugin's requests for it
	Compared  int    `json:"compared"`  // of them, at a time with a recorded value
	// Changes is how many of the compared requests differ from the recorded value: how many
	// times the plugin would have changed the setpoint.
	Changes int `json:"changes"`
	// |wanted - recorded| and the means of both over the compared requests (0 without any).
	MeanAbsDiff  float64 `json:"meanAbsDiff"`
	MaxAbsDiff   float64 `json:"maxAbsDiff"`
	WantedMean   float64 `json:"wantedMean"`
	RecordedMean float64 `json:"recordedMean"`
	// RecordedChanges is how many times the recorded setpoint changed between ticks (what
	// operators or the live system did over the same span).
	RecordedChanges int `json:"recordedChanges"`
}

// Report is what happened during a Run: the offline Summary, the recording it ran over and
// the comparison of its setpoint requests with the recorded setpoints.
type Report struct {
	offline.Summary
	History        string        `json:"history"`
	End            time.Time     `json:"end"`
	RecordingFirst time.Time     `json:"recordingFirst"` // the read tags' oldest sample
	RecordingLast  time.Time     `json:"recordingLast"`  // the read tags' newest sample
	Cut            bool          `json:"cut"`            // For reached past the newest sample: cut there
	StaleAfter     time.Duration `json:"staleAfter"`
	Reads          []string      `json:"reads"`        // the granted tags of the file
	MissingReads   int           `json:"missingReads"` // tick × tag reads before the tag's first sample
	StaleReads     int           `json:"staleReads"`   // tick × tag reads marked stale
	Setpoints      []Setpoint    `json:"setpoints"`
	Queries        int           `json:"queries"` // Range queries made
}

// defaultChunk is Options.Chunk's default.
const defaultChunk = time.Hour

// Run loads the plugin of o.Manifest and runs it in SHADOW over o.History from o.From for
// o.For of recorded time. The error is for a plugin that cannot be loaded, bad options, a
// history without the plugin's tags or samples in the range, or ctx being done (the Report
// then holds what was run so far); faults of the plugin are in the Report.
func Run(ctx context.Context, o Options) (Report, error) {
	switch o.Mode {
	case "", plugins.Shadow:
		o.Mode = plugins.Shadow
	case plugins.Auto:
		return Report{}, ErrAuto
	default:
		return Report{}, fmt.Errorf("histrun: mode %q: use shadow", o.Mode)
	}
	if o.For <= 0 {
		o.For = time.Hour
	}
	if o.Chunk <= 0 {
		o.Chunk = defaultChunk
	}
	if o.Speed < 0 || math.IsNaN(o.Speed) {
		return Report{}, fmt.Errorf("histrun: speed %v: use 0 (as fast as it goes) or above", o.Speed)
	}
	man, err := manifest.Load(o.Manifest)
	if err != nil {
		return Report{}, err
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = max(10*man.Tick, 10*time.Second)
	}
	if o.History == "" {
		return Report{}, errors.New("histrun: no history file")
	}
	r, err := historian.OpenReader(ctx, o.History)
	if err != nil {
		return Report{}, err
	}
	defer r.Close()
	infos, err := r.Tags(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("histrun: %s: %w", o.History, err)
	}
	names := make([]string, len(infos))
	for i, ti := range infos {
		names[i] = ti.Name
	}
	reads := man.Readable(names)
	for _, p := range man.Reads {
		if !slices.ContainsFunc(names, func(t string) bool { return manifest.Match(p, t) }) {
			return Report{}, fmt.Errorf("histrun: %s has no tag for the manifest's reads %q (its %d tags: %s)",
				o.History, p, len(names), some(names))
		}
	}
	if o.Watch == nil {
		o.Watch = reads
	}
	for _, w := range o.Watch {
		if !slices.Contains(names, w) {
			return Report{}, fmt.Errorf("histrun: watch %s: %s has no such tag", w, o.History)
		}
	}

	// The recording: the read tags' first and last samples.
	var first, last time.Time
	for _, tag := range reads {
		f, l, ok, err := r.Span(ctx, tag)
		if err != nil {
			return Report{}, fmt.Errorf("histrun: %s: %w", o.History, err)
		}
		if !ok {
			continue
		}
		if first.IsZero() || f.Before(first) {
			first = f
		}
		if l.After(last) {
			last = l
		}
	}
	if first.IsZero() {
		return Report{}, fmt.Errorf("histrun: %s holds no samples of the plugin's reads (%s)", o.History, strings.Join(reads, ", "))
	}
	first, last = first.UTC(), last.UTC()
	recording := fmt.Sprintf("%s holds the read tags from %s to %s", o.History, first.Format(time.RFC3339), last.Format(time.RFC3339))
	from := o.From
	if from.IsZero() {
		from = last.Add(-o.For)
		if from.Before(first) {
			from = first
		}
	} else if from.Before(first) || !from.Before(last) {
		return Report{}, fmt.Errorf("histrun: from %s is outside the recording: %s", from.UTC().Format(time.RFC3339), recording)
	}
	from = from.UTC()
	end, cut := from.Add(o.For), false
	if end.After(last) {
		end, cut = last, true
	}
	if end.Sub(from) < man.Tick {
		return Report{}, fmt.Errorf("histrun: from %s to %s is shorter than one tick (%v): %s",
			from.Format(time.RFC3339), end.Format(time.RFC3339), man.Tick, recording)
	}

	h := newHost(r, names, o.StaleAfter, from)
	load := append(append([]string(nil), reads...), o.Watch...)
	for _, w := range man.Writes {
		if slices.Contains(names, w.Tag) {
			load = append(load, w.Tag)
		}
	}
	for _, tag := range load {
		if err := h.load(ctx, tag, from, end, o.Chunk); err != nil {
			return Report{}, err
		}
	}

	rep := Report{Summary: offline.Summary{ID: man.ID, Mode: plugins.Shadow, Start: from}, History: o.History,
		End: end, RecordingFirst: first, RecordingLast: last, Cut: cut, StaleAfter: o.StaleAfter, Reads: reads}
	sps := make([]Setpoint, len(man.Writes))
	sums := make([][3]float64, len(man.Writes)) // |diff|, wanted, recorded
	prevRec := make([]float64, len(man.Writes))
	for i, w := range man.Writes {
		_, rec := h.series[w.Tag]
		sps[i] = Setpoint{Tag: w.Tag, Recorded: rec}
		prevRec[i] = math.NaN()
	}

	s, err := offline.Start(offline.Options{Manifest: man, Host: h, Collector: h.Collector, Mode: plugins.Shadow,
		Watch: o.Watch, Speed: o.Speed, CacheDir: o.CacheDir, Logger: o.Logger, Who: "histrun"})
	if err != nil {
		return rep, err
	}
	defer s.Close()

	var runErr error
	now := from
	for t := from.Add(man.Tick); !t.After(end); t = t.Add(man.Tick) {
		if err := s.Pace(ctx, t); err != nil {
			runErr = err
			break
		}
		if err := h.advance(ctx, t); err != nil {
			runErr = err
			break
		}
		now = t
		h.SetNow(t)
		for i, tag := range o.Watch {
			if v, ok := h.Value(tag); ok && !v.Missing && !math.IsNaN(v.V) {
				s.Sample(i, v.V)
			}
		}
		for _, tag := range reads {
			v, _ := h.Value(tag)
			switch {
			case v.Missing:
				rep.MissingReads++
			case v.Stale:
				rep.StaleReads++
			}
		}
		for i := range sps {
			if v, ok := h.Value(sps[i].Tag); ok && !v.Missing && !math.IsNaN(v.V) {
				if !math.IsNaN(prevRec[i]) && v.V != prevRec[i] {
					sps[i].RecordedChanges++
				}
				prevRec[i] = v.V
			}
		}
		decisions, err := s.Tick(t)
		if err != nil {
			runErr = err
			break
		}
		for _, d := range decisions {
			i := slices.IndexFunc(sps, func(sp Setpoint) bool { return sp.Tag == d.Tag })
			if i < 0 {
				continue
			}
			sp := &sps[i]
			sp.Decisions++
			v, ok := h.Value(d.Tag)
			if !ok || v.Missing || math.IsNaN(v.V) {
				continue
			}
			diff := math.Abs(d.Value - v.V)
			sp.Compared++
			sums[i][0] += diff
			sums[i][1] += d.Value
			sums[i][2] += v.V
			sp.MaxAbsDiff = max(sp.MaxAbsDiff, diff)
			if diff > 1e-9*max(1, math.Abs(v.V)) {
				sp.Changes++
			}
		}
		if o.Progress != nil {
			o.Progress(t)
		}
	}
	if runErr == nil {
		runErr = ctx.Err()
	}
	for i := range sps {
		if n := float64(sps[i].Compared); n > 0 {
			sps[i].MeanAbsDiff, sps[i].WantedMean, sps[i].RecordedMean = sums[i][0]/n, sums[i][1]/n, sums[i][2]/n
		}
	}
	rep.Summary = s.Finish(now)
	rep.Setpoints = sps
	h.mu.Lock()
	rep.Queries = h.queries
	h.mu.Unlock()
	return rep, runErr
}

// some names the first few of tags for an error message.
func some(tags []string) string {
	const n = 8
	if len(tags) <= n {
		return strings.Join(tags, ", ")
	}
	return strings.Join(tags[:n], ", ") + fmt.Sprintf(", … %d more", len(tags)-n)
}

// series is one loaded tag: a chunk of its samples and a cursor in it.
type series struct {
	tag      string
	pts      []historian.Point // the loaded chunk
	i        int               // pts[:i] are at or before the cursor
	cur      historian.Point   // the last sample at or before the cursor
	has      bool
	loadedTo int64 // samples before loadedTo have been loaded (Unix ns)
	end      int64 // nothing at or after end is needed
	chunk    time.Duration
}

// seek finds the last sample before t (the value in force when the run starts), looking back
// in growing windows down to the tag's first sample at first.
func (s *series) seek(ctx context.Context, r *historian.Reader, t, first int64, queries *int) error {
	for w := int64(time.Minute); ; w *= 4 {
		lo := max(t-w, first)
		pts, err := r.Range(ctx, s.tag, time.Unix(0, lo), time.Unix(0, t))
		*queries++
		if err != nil {
			return fmt.Errorf("histrun: reading %s: %w", s.tag, err)
		}
		if len(pts) > 0 {
			s.cur, s.has = pts[len(pts)-1], true
			return nil
		}
		if lo <= first {
			return nil
		}
	}
}

// advance moves the cursor to t, loading chunks as needed.
func (s *series) advance(ctx context.Context, r *historian.Reader, t int64, queries *int) error {
	for {
		for s.i < len(s.pts) && s.pts[s.i].T <= t {
			s.cur, s.has = s.pts[s.i], true
			s.i++
		}
		if s.i < len(s.pts) || s.loadedTo > t || s.loadedTo >= s.end {
			return nil
		}
		to := min(s.loadedTo+int64(s.chunk), s.end)
		pts, err := r.Range(ctx, s.tag, time.Unix(0, s.loadedTo), time.Unix(0, to))
		*queries++
		if err != nil {
			return fmt.Errorf("histrun: reading %s: %w", s.tag, err)
		}
		s.pts, s.i, s.loadedTo = pts, 0, to
	}
}

// host is plugins.Host over the recorded history; alarms and audit go to its Collector, whose
// clock is the recorded time of the tick.
type host struct {
	*offline.Collector
	r          *historian.Reader
	staleAfter int64

	mu      sync.Mutex
	tags    []string
	series  map[string]*series
	now     int64
	lastAny int64 // the newest sample at or before now of any loaded tag
	hasAny  bool
	queries int
}

func newHost(r *historian.Reader, tags []string, staleAfter time.Duration, from time.Time) *host {
	return &host{Collector: offline.NewCollector(from), r: r, staleAfter: int64(staleAfter), tags: tags,
		series: map[string]*series{}, now: from.UnixNano()}
}

// load adds a tag to the loaded ones for a run from from to end, its cursor at from.
func (h *host) load(ctx context.Context, tag string, from, end time.Time, chunk time.Duration) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.series[tag]; ok {
		return nil
	}
	sr := &series{tag: tag, loadedTo: from.UnixNano(), end: end.UnixNano() + 1, chunk: chunk}
	f, _, ok, err := h.r.Span(ctx, tag)
	if err != nil {
		return fmt.Errorf("histrun: %s: %w", tag, err)
	}
	if ok {
		if err := sr.seek(ctx, h.r, from.UnixNano(), f.UnixNano(), &h.queries); err != nil {
			return err
		}
	}
	h.series[tag] = sr
	return nil
}

// advance moves every loaded tag's cursor to t.
func (h *host) advance(ctx context.Context, t time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = t.UnixNano()
	for _, s := range h.series {
		if err := s.advance(ctx, h.r, h.now, &h.queries); err != nil {
			return err
		}
		if s.has && (!h.hasAny || s.cur.T > h.lastAny) {
			h.lastAny, h.hasAny = s.cur.T, true
		}
	}
	return nil
}

func (h *host) Tags() []string { return append([]string(nil), h.tags...) }

// Value is the tag's last recorded sample at or before the tick, with its status and time;
// Missing before its first sample (and for a tag of the file that is not loaded).
func (h *host) Value(tag string) (plugins.Value, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.series[tag]
	if !ok {
		if slices.Contains(h.tags, tag) {
			return plugins.Value{V: math.NaN(), Missing: true}, true
		}
		return plugins.Value{}, false
	}
	if !s.has {
		return plugins.Value{V: math.NaN(), Missing: true}, true
	}
	return plugins.Value{V: s.cur.V, Status: s.cur.S, Time: s.cur.Time().UTC(),
		Stale: !h.hasAny || h.now-h.lastAny > h.staleAfter}, true
}

// Write is never called in SHADOW; it refuses, should it be.
func (h *host) Write(context.Context, string, string, float64) control.Result {
	return control.Result{Outcome: control.Refused, Message: "recorded history cannot be changed"}
}
