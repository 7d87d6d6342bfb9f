package engine

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"minebrain/app/alarms"
	"minebrain/app/historian"
)

// journalPart names the alarm journal's tables in the historian's schema_parts.
const journalPart = "alarms"

// journalMigrations: append, never edit.
var journalMigrations = []string{
	`CREATE TABLE alarm_journal (
		seq        INTEGER PRIMARY KEY,
		time_ns    INTEGER NOT NULL,
		alarm      TEXT NOT NULL,
		area       TEXT NOT NULL,
		unit       TEXT NOT NULL,
		priority   TEXT NOT NULL,
		message    TEXT NOT NULL,
		from_state TEXT NOT NULL,
		to_state   TEXT NOT NULL,
		cause      TEXT NOT NULL,
		who        TEXT NOT NULL,
		reason     TEXT NOT NULL,
		value      REAL);
	CREATE INDEX alarm_journal_by_time ON alarm_journal(time_ns)`,
}

// journalBacklog bounds the transitions kept while the file cannot be written (disk full):
// an alarm flood of hours fits; beyond it the oldest are dropped and counted.
const journalBacklog = 100_000

// journalEvery is how long transitions gather before one write job commits them.
const journalEvery = 200 * time.Millisecond

// journal writes every alarm transition, with who and when, into the historian file.
// Transitions arrive from the alarm engine's sink under its lock, so add only appends to a
// slice; a goroutine commits them in batches on the historian's writer.
type journal struct {
	store  *historian.Store
	alarms func(id string) (alarms.View, bool)
	log    *slog.Logger

	mu      sync.Mutex
	pending []alarms.Transition
	dropped int64
	poke    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func openJournal(ctx context.Context, store *historian.Store, log *slog.Logger) (*journal, error) {
	if err := store.Migrate(ctx, journalPart, journalMigrations...); err != nil {
		return nil, fmt.Errorf("engine: alarm journal: %w", err)
	}
	return &journal{store: store, log: log, poke: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}, nil
}

func (j *journal) add(t alarms.Transition) {
	j.mu.Lock()
	if len(j.pending) >= journalBacklog {
		j.pending = j.pending[1:]
		j.dropped++
	}
	j.pending = append(j.pending, t)
	j.mu.Unlock()
	select {
	case j.poke <- struct{}{}:
	default:
	}
}

// run commits pending transitions until stop, then commits what is left.
func (j *journal) run(lookup func(id string) (alarms.View, bool)) {
	defer close(j.done)
	j.alarms = lookup
	for {
		select {
		case <-j.stop:
			j.flush()
			return
		case <-j.poke:
			time.Sleep(journalEvery) // gather a burst into one commit
			j.flush()
		}
	}
}

// flush commits the pending transitions; on failure they stay pending for the next try.
func (j *journal) flush() {
	j.mu.Lock()
	batch := j.pending
	j.pending = nil
	j.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := j.store.Write(ctx, func(tx *sql.Tx) error {
		st, err := tx.Prepare(`INSERT INTO alarm_journal (time_ns, alarm, area, unit, priority, message,
			from_state, to_state, cause, who, reason, value) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, t := range batch {
			v, _ := j.alarms(t.AlarmID)
			var value any = t.Value
			if v.Kind == alarms.System {
				value = nil
			}
			if _, err := st.Exec(t.When.UnixNano(), t.AlarmID, v.Area, v.Unit, v.Priority.String(), v.Message,
				t.From.String(), t.To.String(), t.Cause.String(), t.Who, t.Reason, value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		j.log.Error("engine: alarm journal: write failed; kept for the next try", "transitions", len(batch), "err", err)
		j.mu.Lock()
		j.pending = append(batch, j.pending...)
		if over := len(j.pending) - journalBacklog; over > 0 {
			j.pending, j.dropped = j.pending[over:], j.dropped+int64(over)
		}
		j.mu.Unlock()
		time.Sleep(time.Second)
		select {
		case j.poke <- struct{}{}:
		default:
		}
	}
}

func (j *journal) close() {
	close(j.stop)
	<-j.done
}

// query reads journal rows, newest first.
func (j *journal) query(ctx context.Context, q AlarmHistoryQuery) ([]JournalEntry, error) {
	from, to := time.Unix(0, 0), time.Now().Add(time.Hour)
	var err error
	if q.From != "" {
		if from, err = time.Parse(time.RFC3339, q.From); err != nil {
			return nil, fmt.Errorf("alarm history: from %q is not an RFC 3339 time (2026-11-27T06:00:00Z)", q.From)
		}
	}
	if q.To != "" {
		if to, err = time.Parse(time.RFC3339, q.To); err != nil {
			return nil, fmt.Errorf("alarm history: to %q is not an RFC 3339 time (2026-11-27T18:00:00Z)", q.To)
		}
	}
	limit := q.Limit
	if limit <= 0 || limit > 10_000 {
		limit = 1000
	}
	where := []string{"time_ns >= ?", "time_ns <= ?"}
	args := []any{from.UnixNano(), to.UnixNano()}
	if q.Area != "" {
		where, args = append(where, "area = ?"), append(args, q.Area)
	}
	if q.Priority != "" {
		if _, err := alarms.ParsePriority(q.Priority); err != nil {
			return nil, fmt.Errorf("alarm history: %w", err)
		}
		where, args = append(where, "priority = ?"), append(args, strings.ToLower(q.Priority))
	}
	if q.Text != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(q.Text) + "%"
		where = append(where, `(alarm LIKE ? ESCAPE '\' OR message LIKE ? ESCAPE '\' OR who LIKE ? ESCAPE '\' OR reason LIKE ? ESCAPE '\')`)
		args = append(args, like, like, like, like)
	}
	args = append(args, limit)
	rows, err := j.store.ReadDB().QueryContext(ctx, `SELECT time_ns, alarm, area, unit, priority, message,
		from_state, to_state, cause, who, reason, value FROM alarm_journal WHERE `+strings.Join(where, " AND ")+
		` ORDER BY seq DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("alarm history: %w", err)
	}
	defer rows.Close()
	out := []JournalEntry{}
	for rows.Next() {
		var r JournalEntry
		var ns int64
		var v sql.NullFloat64
		if err := rows.Scan(&ns, &r.ID, &r.Area, &r.Unit, &r.Priority, &r.Message, &r.From, &r.To,
			&r.Cause, &r.Who, &r.Reason, &v); err != nil {
			return nil, fmt.Errorf("alarm history: %w", err)
		}
		r.Time = time.Unix(0, ns).UTC()
		if v.Valid {
			r.Value = &v.Float64
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
