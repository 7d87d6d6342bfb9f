package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"

	"minebrain/app/historian"
)

// sqliteExport writes exported samples as plain rows into a new SQLite file with a samples
// view, for tools that want SQL: the historian's own file keeps samples inside compressed
// blocks, which no SQL view can decode.
type sqliteExport struct {
	path string
	db   *sql.DB
	tx   *sql.Tx
	ins  *sql.Stmt
	tags map[string]int64
}

const exportSchema = `
CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE sample_rows (
  tag_id  INTEGER NOT NULL REFERENCES tags(id),
  time_ns INTEGER NOT NULL,   -- Unix nanoseconds, UTC
  value   REAL,               -- NULL for a missing value (NaN)
  status  INTEGER NOT NULL,   -- OPC UA status code; 0 is Good
  PRIMARY KEY (tag_id, time_ns)) WITHOUT ROWID;
CREATE VIEW samples AS
  SELECT tags.name AS tag,
         strftime('%Y-%m-%dT%H:%M:%fZ', time_ns / 1e9, 'unixepoch') AS time,
         time_ns, value, status,
         CASE status >> 30 WHEN 0 THEN 'good' WHEN 1 THEN 'uncertain' ELSE 'bad' END AS quality
  FROM sample_rows JOIN tags ON tags.id = sample_rows.tag_id;`

// newSQLiteExport creates path, which must not exist yet: an export never overwrites a file.
func newSQLiteExport(ctx context.Context, path string) (*sqliteExport, error) {
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("%s exists; an export writes a new file", path)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)")
	if err != nil {
		return nil, err
	}
	e := &sqliteExport{path: path, db: db, tags: map[string]int64{}}
	if _, err = db.ExecContext(ctx, exportSchema); err == nil {
		if e.tx, err = db.BeginTx(ctx, nil); err == nil {
			e.ins, err = e.tx.Prepare("INSERT INTO sample_rows VALUES (?, ?, ?, ?)")
		}
	}
	if err != nil {
		e.abort()
		return nil, fmt.Errorf("export to %s: %w", path, err)
	}
	return e, nil
}

func (e *sqliteExport) write(tag string, p historian.Point) error {
	id, ok := e.tags[tag]
	if !ok {
		res, err := e.tx.Exec("INSERT INTO tags (name) VALUES (?)", tag)
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		e.tags[tag] = id
	}
	var v any = p.V
	if p.V != p.V { // NaN: SQL has no NaN
		v = nil
	}
	_, err := e.ins.Exec(id, p.T, v, int64(p.S))
	return err
}

func (e *sqliteExport) finish() error {
	err := errors.Join(e.ins.Close(), e.tx.Commit(), e.db.Close())
	if err != nil {
		os.Remove(e.path)
	}
	return err
}

func (e *sqliteExport) abort() {
	if e.tx != nil {
		e.tx.Rollback()
	}
	e.db.Close()
	os.Remove(e.path)
}
