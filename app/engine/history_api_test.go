package engine

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"minebrain/app/historian"
	"minebrain/app/sim"
)

// twoNumericTags picks two changing numeric signals of the model with a unit.
func twoNumericTags(t *testing.T, e *Engine) []string {
	t.Helper()
	var out []string
	for _, a := range e.Model().Areas {
		for _, u := range a.Units {
			for _, s := range u.Signals {
				if s.DataType == "Double" && s.Unit != "" && len(out) < 2 {
					out = append(out, s.Tag)
				}
			}
		}
	}
	if len(out) < 2 {
		t.Fatalf("no two Double signals with a unit in the model")
	}
	return out
}

func TestHistoryAPI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	e := startEngine(t, Config{Sim: sim.Options{Seed: 1, TimeScale: 60}, PublishInterval: 100 * time.Millisecond, HistoryPath: path})
	tags := twoNumericTags(t, e)
	start := time.Now()
	time.Sleep(3 * time.Second)
	now := time.Now()

	// Few samples for 1000 buckets: raw points.
	r, err := e.History(HistoryRequest{Tags: tags, From: start.Add(-time.Second).UnixMilli(), To: now.UnixMilli(), Buckets: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Series) != 2 {
		t.Fatalf("%d series, want 2", len(r.Series))
	}
	for i, s := range r.Series {
		if s.Tag != tags[i] || s.Unit == "" {
			t.Fatalf("series %d: tag %q unit %q, want %s with a unit", i, s.Tag, s.Unit, tags[i])
		}
		if len(s.Raw) < 5 || len(s.Buckets) != 0 {
			t.Fatalf("%s: %d raw points, %d buckets; want raw points only", s.Tag, len(s.Raw), len(s.Buckets))
		}
		for _, p := range s.Raw {
			if p.T < r.From || p.T >= r.To || p.Q != 0 || math.IsNaN(float64(p.V)) {
				t.Fatalf("%s: raw point %+v outside [%d, %d) or not good", s.Tag, p, r.From, r.To)
			}
		}
	}

	// Few buckets: aggregates with 100 % good.
	r, err = e.History(HistoryRequest{Tags: tags, From: start.UnixMilli(), To: now.UnixMilli(), Buckets: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range r.Series {
		if len(s.Buckets) != 3 || s.Raw != nil {
			t.Fatalf("%s: %d buckets, %d raw; want 3 buckets", s.Tag, len(s.Buckets), len(s.Raw))
		}
		for i, b := range s.Buckets {
			if b.T < r.From || b.T >= r.To || (i > 0 && b.T <= s.Buckets[i-1].T) {
				t.Fatalf("%s: bucket %d starts at %d, outside [%d, %d) or not increasing", s.Tag, i, b.T, r.From, r.To)
			}
			// (Avg may lie outside Min..Max: a value held in from before the bucket counts for
			// the time-weighted average, not for the bucket's extremes.)
			if b.Count == 0 || float64(b.Good) != 100 || !(b.Min <= b.Max) || math.IsNaN(float64(b.Avg)) {
				t.Fatalf("%s: bucket %d = %+v; want samples, 100 %% good, min <= max, an average", s.Tag, i, b)
			}
		}
	}
	// NaN travels as null.
	js, err := json.Marshal(HistoryBucket{T: 1, Min: JSONFloat(math.NaN()), Max: 2, Avg: JSONFloat(math.Inf(1))})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"t":1,"min":null,"max":2,"avg":null,"first":0,"last":0,"count":0,"good":0}`; string(js) != want {
		t.Fatalf("JSON %s, want %s", js, want)
	}

	// Bad requests.
	nine := []string{}
	for i := 0; i < 9; i++ {
		nine = append(nine, tags[0])
	}
	for _, c := range []struct {
		req  HistoryRequest
		want string
	}{
		{HistoryRequest{Tags: []string{tags[0], "No.Such.Tag", "Other"}, From: 1, To: 2, Buckets: 1}, `unknown tags (not in the site model): "No.Such.Tag", "Other"`},
		{HistoryRequest{Tags: tags, From: 2, To: 2, Buckets: 1}, "must be before"},
		{HistoryRequest{Tags: tags, From: 3, To: 2, Buckets: 1}, "must be before"},
		{HistoryRequest{Tags: tags, From: 1, To: 2, Buckets: 0}, "buckets must be 1..5000"},
		{HistoryRequest{Tags: tags, From: 1, To: 2, Buckets: 5001}, "buckets must be 1..5000"},
		{HistoryRequest{Tags: nine, From: 1, To: 2, Buckets: 1}, "at most 8"},
		{HistoryRequest{From: 1, To: 2, Buckets: 1}, "no tags"},
	} {
		_, err := e.History(c.req)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("History(%+v) = %v, want an error with %q", c.req, err, c.want)
		}
	}
}

func TestHistoryOff(t *testing.T) {
	e := startEngine(t, Config{Sim: sim.Options{Seed: 1, TimeScale: 60}})
	_, err := e.History(HistoryRequest{Tags: twoNumericTags(t, e), From: 1, To: 2, Buckets: 1})
	if !errors.Is(err, ErrHistoryOff) || !strings.Contains(err.Error(), "history is off") {
		t.Fatalf("History without history = %v, want %v", err, ErrHistoryOff)
	}
}

// TestHistoryWeekLatency fills a history file with a week of 1 Hz samples of a model tag
// before the engine opens it, then times History over 1 h and over the week: the reply is at
// most `buckets` points whatever the range.
func TestHistoryWeekLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a week of samples")
	}
	path := filepath.Join(t.TempDir(), "history.db")
	// Learn a tag name from a short engine run without history.
	probe := startEngine(t, Config{Sim: sim.Options{Seed: 1, TimeScale: 60}})
	tag := twoNumericTags(t, probe)[0]
	probe.Close()

	ctx := context.Background()
	s, err := historian.Open(ctx, path, historian.Options{})
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(-time.Minute).Truncate(time.Second)
	const week = 7 * 24 * 3600
	batch := make([]historian.Sample, 0, 3600)
	for i := 0; i < week; i++ {
		ts := end.Add(time.Duration(i-week) * time.Second)
		v := 500 + 100*math.Sin(float64(i)/3600) + float64(i%17)/10
		batch = append(batch, historian.Sample{Tag: tag, Time: ts, Value: math.Round(v*100) / 100})
		if len(batch) == cap(batch) || i == week-1 {
			for {
				err := s.Append(batch)
				if err == nil {
					break
				}
				if !errors.Is(err, historian.ErrBufferFull) {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Millisecond)
			}
			batch = batch[:0]
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	e := startEngine(t, Config{Sim: sim.Options{Seed: 1, TimeScale: 60}, HistoryPath: path})
	measure := func(span time.Duration, buckets int) (time.Duration, HistoryReply) {
		var times []time.Duration
		var r HistoryReply
		for i := 0; i < 5; i++ {
			t0 := time.Now()
			var err error
			r, err = e.History(HistoryRequest{Tags: []string{tag}, From: end.Add(-span).UnixMilli(), To: end.UnixMilli(), Buckets: buckets})
			if err != nil {
				t.Fatal(err)
			}
			times = append(times, time.Since(t0))
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		return times[len(times)/2], r
	}
	hour, r := measure(time.Hour, 1200)
	if n := len(r.Series[0].Buckets); n != 1200 || r.Series[0].Raw != nil {
		t.Fatalf("1 h: %d buckets, %d raw; want 1200 buckets", n, len(r.Series[0].Raw))
	}
	hourRaw, r := measure(time.Hour, 2000)
	if n := len(r.Series[0].Raw); n < 3600 || n > 3601 {
		t.Fatalf("1 h in 2000 buckets: %d raw points, want the 3600 samples", n)
	}
	weekT, r := measure(7*24*time.Hour, 1200)
	if n := len(r.Series[0].Buckets); n != 1200 {
		t.Fatalf("week: %d buckets, want 1200", n)
	}
	for _, b := range r.Series[0].Buckets[1:] {
		if b.Count < 400 || float64(b.Good) != 100 {
			t.Fatalf("week bucket %+v: want ~504 samples, 100 %% good", b)
		}
	}
	t.Logf("History latency (median of 5): 1 h of 1 Hz into 1200 buckets %v; 1 h raw (3600 points) %v; 7 d (604,800 samples) into 1200 buckets %v",
		hour, hourRaw, weekT)
	// The figures are reported, not asserted: under -race on a shared machine they say little.
}
