package engine

import (
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"minebrain/app/alarms"
	"minebrain/app/opcua"
	"minebrain/app/tags"
)

// alarmQueue bounds the sample batches waiting for the alarm loop, like the recorder's queue:
// the publish path never waits. A full queue drops the batch and says so in the log; the next
// batch of a tag brings its alarm up to date.
const alarmQueue = 256

// alarmTick is how often the alarm engine's clock runs: delays, shelve expiry, stale tags,
// floods, and the application's own system alarms.
const alarmTick = time.Second

// connLostAfter is how long a connection may be down before its system alarm raises: a
// reconnect after a server restart takes about a second and is no news for the operator.
const connLostAfter = 5 * time.Second

// alarming feeds the alarm engine from the tag table's tap, runs its clock, raises the system
// alarms of the application and hands every transition to the journal.
type alarming struct {
	e       *Engine
	engine  *alarms.Engine
	journal *journal // nil without a history file
	log     *slog.Logger

	in      chan []tags.Update
	done    chan struct{} // closed when run returns
	changed atomic.Bool   // a transition happened since the subscribers were last told
	dropped atomic.Int64

	connDown map[string]time.Time // when each connection was last seen not connected
}

func newAlarming(e *Engine, defs []alarms.Definition, j *journal) (*alarming, error) {
	a := &alarming{e: e, journal: j, log: e.log, in: make(chan []tags.Update, alarmQueue),
		done: make(chan struct{}), connDown: map[string]time.Time{}}
	eng, err := alarms.New(defs, alarms.Options{Sink: a})
	if err != nil {
		return nil, fmt.Errorf("engine: alarms: %w", err)
	}
	a.engine = eng
	return a, nil
}

// Record is the alarm engine's sink. It runs under the alarm engine's lock: hand off only.
func (a *alarming) Record(t alarms.Transition) {
	a.changed.Store(true)
	if a.journal != nil {
		a.journal.add(t)
	}
}

// tap runs on the publish path: copy and hand off, never block.
func (a *alarming) tap(batch []tags.Update) {
	cp := make([]tags.Update, len(batch))
	copy(cp, batch)
	select {
	case a.in <- cp:
	default:
		if a.dropped.Add(int64(len(cp))) == int64(len(cp)) {
			a.log.Warn("engine: alarm queue full: samples skipped by the alarm engine")
		}
	}
}

// run evaluates batches as they come and ticks the clock until stop is closed.
func (a *alarming) run(stop <-chan struct{}) {
	defer close(a.done)
	tick := time.NewTicker(alarmTick)
	defer tick.Stop()
	var names []string // tag name by ID, grown as tags register
	var samples []alarms.Sample
	for {
		select {
		case <-stop:
			return
		case b := <-a.in:
			samples = samples[:0]
			for _, u := range b {
				for int(u.ID) >= len(names) {
					names = append(names, a.e.table.Name(tags.ID(len(names))))
				}
				samples = append(samples, alarmSample(names[u.ID], u.Sample))
			}
			a.engine.Process(samples)
		case <-tick.C:
			a.engine.Tick()
			a.systemAlarms(time.Now())
		}
		if a.changed.Swap(false) {
			a.e.notifySubscribers(func(s *subscriber) chan struct{} { return s.alarms })
		}
	}
}

// alarmSample converts a tag sample: booleans count as 0/1; a value that is no number (a
// string, nothing yet) is a bad sample, which holds value alarms and raises bad-quality ones.
func alarmSample(tag string, s tags.Sample) alarms.Sample {
	t := s.SourceTime
	if t.IsZero() {
		t = s.ServerTime
	}
	v, ok := historyValue(s.Value)
	status := s.Status
	if !ok || math.IsNaN(v) {
		v = 0
		if tags.QualityOf(status) != tags.Bad {
			status = badNoValue
		}
	}
	return alarms.Sample{Tag: tag, Value: v, Status: status, Time: t}
}

// badNoValue is the status given to a sample without a number (OPC UA Bad_NoData).
const badNoValue = 0x809B0000

// systemAlarms raises and clears the application's own alarms: a connection down for longer
// than connLostAfter, history recording failing.
func (a *alarming) systemAlarms(now time.Time) {
	st := a.e.Status()
	for _, c := range st.Connections {
		id := "conn." + c.Name
		if c.State == string(opcua.StateConnected) {
			delete(a.connDown, c.Name)
			a.clearSystem(id)
			continue
		}
		since, seen := a.connDown[c.Name]
		if !seen {
			a.connDown[c.Name] = now
			continue
		}
		if now.Sub(since) >= connLostAfter {
			msg := fmt.Sprintf("Connection %s to %s lost", c.Name, c.Endpoint)
			if c.LastError != "" {
				msg += ": " + c.LastError
			}
			a.raiseSystem(id, alarms.High, msg)
		}
	}
	if h := st.History; h != nil && h.State == "failing" {
		a.raiseSystem("historian.disk", alarms.High, "History recording failing: "+h.LastError)
	} else {
		a.clearSystem("historian.disk")
	}
}

func (a *alarming) raiseSystem(id string, p alarms.Priority, msg string) {
	if err := a.engine.RaiseSystem(id, p, msg); err != nil {
		a.log.Error("engine: system alarm", "id", id, "err", err)
	}
}

// clearSystem clears a system alarm that was ever raised; one never raised is no error.
func (a *alarming) clearSystem(id string) {
	if v, ok := a.engine.Get(id); ok && v.Active {
		_ = a.engine.ClearSystem(id)
	}
}
