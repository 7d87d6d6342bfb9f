package site

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"minebrain/app/alarms"
	"minebrain/app/sim"
)

// simRaise is one alarm raised while running the simulated mine.
type simRaise struct {
	id    string
	at    time.Duration // simulated time since start
	value float64
}

// runDefaultAlarms runs the built-in site's alarms through the alarm engine against the
// simulated mine (the model the embedded server publishes), from start, for d of simulated
// time, feeding every alarm and suppression tag each step, and returns every raise.
func runDefaultAlarms(t testing.TB, seed int64, start time.Time, d time.Duration) []simRaise {
	s := Default()
	mine := sim.NewMine(sim.Config{Seed: seed, Start: start})
	var raises []simRaise
	var elapsed time.Duration
	now := func() time.Time { return start.Add(elapsed) }
	eng, err := alarms.New(s.Alarms, alarms.Options{Now: now, Sink: alarms.SinkFunc(func(tr alarms.Transition) {
		if tr.To == alarms.Unacknowledged {
			raises = append(raises, simRaise{tr.AlarmID, elapsed, tr.Value})
		}
	})})
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	seen := map[string]bool{}
	add := func(tag string) {
		if !seen[tag] {
			seen[tag] = true
			tags = append(tags, tag)
		}
	}
	for _, a := range s.Alarms {
		add(a.Tag)
		if a.SuppressWhen != nil {
			add(a.SuppressWhen.Tag)
		}
	}
	batch := make([]alarms.Sample, 0, len(tags))
	for step := 0; elapsed <= d; step++ {
		batch = batch[:0]
		for _, tag := range tags {
			v, ok := mine.Value(tag)
			if !ok {
				t.Fatalf("the simulator has no tag %s", tag)
			}
			var f float64
			switch v := v.(type) {
			case float64:
				f = v
			case int32:
				f = float64(v)
			case uint32:
				f = float64(v)
			case bool:
				if v {
					f = 1
				}
			default:
				t.Fatalf("%s: value %T", tag, v)
			}
			batch = append(batch, alarms.Sample{Tag: tag, Value: f, Time: now()})
		}
		eng.Process(batch)
		if step%4 == 0 {
			eng.Tick()
		}
		mine.Step(sim.StepInterval)
		elapsed += sim.StepInterval
	}
	return raises
}

// TestDefaultAlarmsAtStart runs the simulated mine for its first 30 simulated minutes at
// four times of day: the built-in site's alarms must raise DR05.Local (DR05 starts in
// local control) and nothing else, or the operator starts with a standing alarm list.
// Thirty simulated minutes are the first 30 s of a demo at 60x.
func TestDefaultAlarmsAtStart(t *testing.T) {
	d := 30 * time.Minute
	hours := []int{0, 6, 12, 18}
	if testing.Short() {
		d, hours = 30*time.Second, []int{6}
	}
	for _, h := range hours {
		start := time.Date(2025, 1, 15, h, 0, 0, 0, time.UTC)
		raises := runDefaultAlarms(t, 1, start, d)
		if len(raises) == 0 || raises[0].id != "DR05.Local" || raises[0].at != 0 {
			t.Errorf("start %02d:00: DR05.Local is not raised at once: %v", h, raises)
		}
		for _, r := range raises[min(1, len(raises)):] {
			t.Errorf("start %02d:00: %s raised at %v (value %g); only DR05.Local may be active in the first %v", h, r.id, r.at, r.value, d)
		}
	}
}

// TestDefaultAlarmsDay prints when the built-in alarms raise over a simulated day (seeds
// and start hours in SIM_DAY, e.g. SIM_DAY=1,2); it is for tuning limits, not a check.
func TestDefaultAlarmsDay(t *testing.T) {
	spec := os.Getenv("SIM_DAY")
	if spec == "" {
		t.Skip("set SIM_DAY=seed,seed,... to run")
	}
	for _, f := range strings.Split(spec, ",") {
		var seed int64
		fmt.Sscan(f, &seed)
		for _, h := range []int{6, 18} {
			start := time.Date(2025, 1, 15, h, 0, 0, 0, time.UTC)
			mine := sim.NewMine(sim.Config{Seed: seed, Start: start})
			t.Logf("seed %d start %02d:00 wear %v", seed, h, mine.WearFaults())
			for _, r := range runDefaultAlarms(t, seed, start, 24*time.Hour) {
				t.Logf("  %-22s %9v  %g", r.id, r.at.Round(time.Second), r.value)
			}
		}
	}
}
