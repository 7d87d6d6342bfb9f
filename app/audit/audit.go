// Package audit is Minebrain's tamper-evident audit log: who did what, from which face, to
// which target, with the old and new value, the reason given and the result. Entries live in a
// table of the historian's SQLite file, each row chained to the one before by a SHA-256 hash,
// so Verify finds any row altered, inserted, deleted or moved by hand and names it.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"
)

// DB is what audit needs of the historian Store: appends run on its single writer, so they
// are ordered and committed before Append returns.
type DB interface {
	Migrate(ctx context.Context, part string, steps ...string) error
	Write(ctx context.Context, fn func(*sql.Tx) error) error
	ReadDB() *sql.DB
}

// Part is the name of this package's tables in the historian's schema_parts.
const Part = "audit"

// migrations: append, never edit.
var migrations = []string{
	`CREATE TABLE audit (
		seq       INTEGER PRIMARY KEY,
		time_ns   INTEGER NOT NULL,
		who       TEXT NOT NULL,
		face      TEXT NOT NULL,
		action    TEXT NOT NULL,
		target    TEXT NOT NULL,
		old_value TEXT NOT NULL,
		new_value TEXT NOT NULL,
		reason    TEXT NOT NULL,
		result    TEXT NOT NULL,
		prev_hash TEXT NOT NULL,
		hash      TEXT NOT NULL);
	CREATE INDEX audit_by_time ON audit(time_ns);
	CREATE TABLE audit_head (
		id   INTEGER PRIMARY KEY CHECK (id = 1),
		seq  INTEGER NOT NULL,
		hash TEXT NOT NULL)`,
}

// Faces an action can come from.
const (
	FaceDesktop = "desktop"
	FaceWeb     = "web"
	FacePlugin  = "plugin"
	FaceCLI     = "cli"
)

// Entry is one audit record. Seq, Prev and Hash are set by Append; Time too when zero.
type Entry struct {
	Seq    int64     `json:"seq"`
	Time   time.Time `json:"time"`
	Who    string    `json:"who"`
	Face   string    `json:"face"`
	Action string    `json:"action"`           // e.g. "start", "setpoint", "user.add"
	Target string    `json:"target"`           // e.g. "Pit.CV03", "user ana"
	Old    string    `json:"old,omitempty"`    // the value before, as shown to the user
	New    string    `json:"new,omitempty"`    // the value asked for
	Reason string    `json:"reason,omitempty"` // the reason the user gave
	Result string    `json:"result"`           // e.g. "done", "refused: interlock CV02 stopped"
	Prev   string    `json:"prev_hash"`        // hex SHA-256 of the entry before (zeros for the first)
	Hash   string    `json:"hash"`             // hex SHA-256(prev || canonical encoding)
}

// genesis is the prev hash of the first entry.
var genesis = hex.EncodeToString(make([]byte, sha256.Size))

// canonical is the byte string an entry's hash covers, after the previous hash: a format
// byte, the time as int64 Unix ns big-endian, then each text field as a 4-byte big-endian
// length and its bytes, in a fixed order. Lengths make it unambiguous ("ab"+"c" ≠ "a"+"bc").
//
// Seq is not covered: a row's place is fixed by the chain (each row names its predecessor's
// hash) and Verify requires seq to run 1, 2, 3… along it, so a covered seq would add no
// protection, only make one inserted row look like every later row altered.
func (e *Entry) canonical() []byte {
	b := make([]byte, 0, 128)
	b = append(b, 1)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixNano()))
	for _, s := range []string{e.Who, e.Face, e.Action, e.Target, e.Old, e.New, e.Reason, e.Result} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

// computeHash returns hex SHA-256(prev || canonical); prev is hex. A prev that is not hex
// (a tampered row) hashes as its text, which cannot match.
func (e *Entry) computeHash() string {
	h := sha256.New()
	if p, err := hex.DecodeString(e.Prev); err == nil && len(p) == sha256.Size {
		h.Write(p)
	} else {
		h.Write([]byte(e.Prev))
	}
	h.Write(e.canonical())
	return hex.EncodeToString(h.Sum(nil))
}

// Log is the audit log in a historian file.
type Log struct {
	db  DB
	now func() time.Time
}

// New migrates the audit tables and returns the log kept in db.
func New(ctx context.Context, db DB) (*Log, error) {
	if err := db.Migrate(ctx, Part, migrations...); err != nil {
		return nil, err
	}
	return &Log{db: db, now: time.Now}, nil
}

// ErrInvalid is wrapped by Append's errors for an entry missing who, face or action.
var ErrInvalid = errors.New("audit: invalid entry")

// Append records e and returns it as stored (Seq, Time, Prev, Hash set). It returns once the
// entry is committed; concurrent appends are serialized by the historian's writer, each
// chained to the one committed before it.
func (l *Log) Append(ctx context.Context, e Entry) (Entry, error) {
	switch {
	case e.Who == "":
		return Entry{}, fmt.Errorf("%w: no who", ErrInvalid)
	case e.Action == "":
		return Entry{}, fmt.Errorf("%w: no action", ErrInvalid)
	case e.Face != FaceDesktop && e.Face != FaceWeb && e.Face != FacePlugin && e.Face != FaceCLI:
		return Entry{}, fmt.Errorf("%w: face %q (desktop, web, plugin or cli)", ErrInvalid, e.Face)
	}
	stamp := e.Time.IsZero()
	err := l.db.Write(ctx, func(tx *sql.Tx) error {
		// The head row, not max(seq): a row deleted from the end must still break the chain.
		var seq int64
		prev := genesis
		err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&seq, &prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		e.Seq, e.Prev = seq+1, prev
		if stamp {
			// Stamped on the writer, so times follow seq order.
			e.Time = l.now()
		}
		e.Time = e.Time.UTC()
		e.Hash = e.computeHash()
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit(seq, time_ns, who, face, action, target,
			old_value, new_value, reason, result, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
			e.Seq, e.Time.UnixNano(), e.Who, e.Face, e.Action, e.Target, e.Old, e.New, e.Reason,
			e.Result, e.Prev, e.Hash); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_head(id, seq, hash) VALUES (1, ?, ?)
			ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, e.Seq, e.Hash)
		return err
	})
	if err != nil {
		return Entry{}, err
	}
	return e, nil
}

const entryCols = "seq, time_ns, who, face, action, target, old_value, new_value, reason, result, prev_hash, hash"

func scanEntry(sc interface{ Scan(...any) error }) (Entry, error) {
	var e Entry
	var ns int64
	err := sc.Scan(&e.Seq, &ns, &e.Who, &e.Face, &e.Action, &e.Target, &e.Old, &e.New, &e.Reason,
		&e.Result, &e.Prev, &e.Hash)
	e.Time = time.Unix(0, ns).UTC()
	return e, err
}

// List returns the entries at or after since (all if zero), oldest first, at most limit
// (all if limit <= 0; the newest limit when there are more).
func (l *Log) List(ctx context.Context, since time.Time, limit int) ([]Entry, error) {
	// Times beyond int64 nanoseconds (years 1678..2262) would wrap around.
	if since.After(time.Unix(0, math.MaxInt64)) {
		return nil, nil
	}
	q := "SELECT " + entryCols + " FROM audit"
	var args []any
	if since.After(time.Unix(0, math.MinInt64)) {
		q += " WHERE time_ns >= ?"
		args = append(args, since.UnixNano())
	}
	if limit > 0 {
		q = "SELECT * FROM (" + q + " ORDER BY seq DESC LIMIT ?)"
		args = append(args, limit)
	}
	rows, err := l.db.ReadDB().QueryContext(ctx, q+" ORDER BY seq", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
