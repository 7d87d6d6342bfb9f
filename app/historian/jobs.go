package historian

import (
	"context"
	"database/sql"
	"fmt"
)

// Write jobs let other packages (the event journal, the audit log) keep their tables in this
// file. SQLite allows one writer at a time; running their transactions on the historian's
// writer goroutine, instead of on a second write connection, means they never wait on
// busy_timeout against sample commits, and they are ordered with them: samples appended
// before a Write are committed before the job's transaction.

type job struct {
	ctx  context.Context
	fn   func(*sql.Tx) error
	raw  func() // instead of fn: internal work run as is on the writer (Prune)
	done chan error
}

// Write runs fn in its own write transaction on the writer goroutine and returns when it is
// committed (nil) or rolled back (fn's error, or the commit's). Samples appended before the
// call are committed first; if that fails (disk full, read-only file), fn is not run and the
// error is returned at once, so callers never wait on a failing writer.
//
// fn must only touch its own tables (not tags, blocks or open_chunks, which the writer mirrors
// in memory), must not call the Store's Write, Flush, Migrate or Close (it would wait for
// itself), and should be short: samples wait while it runs. ctx bounds the wait for the
// writer and the transaction itself.
func (s *Store) Write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.submit(&job{ctx: ctx, fn: fn, done: make(chan error, 1)})
}

// do runs f on the writer goroutine.
func (s *Store) do(ctx context.Context, f func()) error {
	return s.submit(&job{ctx: ctx, raw: f, done: make(chan error, 1)})
}

func (s *Store) submit(j *job) error {
	ctx := j.ctx
	select {
	case s.jobs <- j:
	case <-s.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Handed over: the writer runs it now, bounded by ctx, and always replies.
	return <-j.done
}

// runJob commits the samples taken so far, then runs j in its own transaction.
func (s *Store) runJob(j *job) error {
	if err := j.ctx.Err(); err != nil {
		return err
	}
	if j.raw != nil {
		j.raw()
		return nil
	}
	if s.failing == nil {
		s.drain()
	}
	if err := s.commit(); err != nil {
		return fmt.Errorf("historian: write job not run, the samples before it are not committed: %w", err)
	}
	tx, err := s.wdb.BeginTx(j.ctx, nil)
	if err != nil {
		return fmt.Errorf("historian: write job: begin: %w", err)
	}
	if err := j.fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("historian: write job: commit: %w", err)
	}
	return nil
}

// ReadDB is the read-only connection pool (query_only), for packages that keep tables in this
// file to query them. Readers never wait for the writer (WAL). Do not close it.
func (s *Store) ReadDB() *sql.DB { return s.rdb }
