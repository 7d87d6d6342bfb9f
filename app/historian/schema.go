package historian

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"
)

// SchemaVersion is the database schema version this code writes. It is kept in
// PRAGMA user_version and recorded, with the time each migration ran, in schema_version.
const SchemaVersion = 2

// ErrNewerSchema is returned (wrapped) by Open for a database written by a newer Minebrain.
// Such a file is never altered.
var ErrNewerSchema = errors.New("historian: database schema is newer than this Minebrain")

// migrations[i] takes a database from version i to version i+1. Never edit a released
// migration: append a new one.
var migrations = []string{
	// 0 -> 1
	`CREATE TABLE schema_version (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT    NOT NULL
	);
	CREATE TABLE tags (
		id   INTEGER PRIMARY KEY,
		name TEXT    NOT NULL UNIQUE,
		unit TEXT    NOT NULL DEFAULT ''
	);
	CREATE TABLE blocks (
		tag_id       INTEGER NOT NULL REFERENCES tags(id),
		start_ns     INTEGER NOT NULL,
		end_ns       INTEGER NOT NULL,
		count        INTEGER NOT NULL,
		min          REAL,
		max          REAL,
		stats        BLOB    NOT NULL,
		data         BLOB    NOT NULL,
		PRIMARY KEY (tag_id, start_ns)
	) WITHOUT ROWID;
	CREATE TABLE open_chunks (
		tag_id   INTEGER NOT NULL REFERENCES tags(id),
		start_ns INTEGER NOT NULL,
		data     BLOB    NOT NULL,
		PRIMARY KEY (tag_id, start_ns)
	) WITHOUT ROWID;`,
	// 1 -> 2: per-tag compression; the index retention walks oldest-first; the versions of
	// tables other packages own (Store.Migrate).
	`ALTER TABLE tags ADD COLUMN compression     INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE tags ADD COLUMN deviation       REAL    NOT NULL DEFAULT 0;
	ALTER TABLE tags ADD COLUMN deviation_pct   REAL    NOT NULL DEFAULT 0;
	ALTER TABLE tags ADD COLUMN span            REAL    NOT NULL DEFAULT 0;
	ALTER TABLE tags ADD COLUMN max_interval_ns INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX blocks_by_end ON blocks(end_ns);
	CREATE TABLE schema_parts (
		name       TEXT    PRIMARY KEY,
		version    INTEGER NOT NULL,
		applied_at TEXT    NOT NULL
	);`,
}

// readUserVersion reads PRAGMA user_version from a file without changing it: a read-only
// connection with no pragmas, so not even the journal mode is touched. A missing file is
// version 0.
func readUserVersion(ctx context.Context, path string) (int, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	// busy_timeout is a setting of the connection, not of the file: it lets this read wait
	// while another process (`minebrain users add` beside a running Minebrain) creates or
	// migrates the file, instead of failing with SQLITE_BUSY at once.
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("historian: reading schema version of %s: %w", path, err)
	}
	return v, nil
}

// migrate brings the write connection's database to SchemaVersion in one transaction.
func migrate(ctx context.Context, db *sql.DB, path string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: %s has schema version %d, this build knows up to %d; use a newer Minebrain",
			ErrNewerSchema, path, v, SchemaVersion)
	}
	if v == SchemaVersion {
		return nil
	}
	for ; v < SchemaVersion; v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("historian: migration to schema %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_version(version, applied_at) VALUES (?, ?)",
			v+1, time.Now().UTC().Format(time.RFC3339)); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}
