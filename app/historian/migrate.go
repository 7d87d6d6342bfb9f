package historian

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Migrate brings the tables another package owns in this file (a "part", e.g. "journal") to
// version len(steps): steps[i] takes the part from version i to i+1, in one write transaction
// on the writer. Versions are kept per part in schema_parts, independent of the historian's own
// SchemaVersion, so each package evolves its tables alone. As for the historian schema: never
// edit a released step, append one; a part newer than steps is refused with ErrNewerSchema
// and left untouched.
func (s *Store) Migrate(ctx context.Context, part string, steps ...string) error {
	if part == "" {
		return errors.New("historian: Migrate: empty part name")
	}
	return s.Write(ctx, func(tx *sql.Tx) error {
		var v int
		err := tx.QueryRowContext(ctx, "SELECT version FROM schema_parts WHERE name = ?", part).Scan(&v)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if v > len(steps) {
			return fmt.Errorf("%w: part %q has version %d, this build knows up to %d",
				ErrNewerSchema, part, v, len(steps))
		}
		if v == len(steps) {
			return nil
		}
		for ; v < len(steps); v++ {
			if _, err := tx.ExecContext(ctx, steps[v]); err != nil {
				return fmt.Errorf("historian: migration of %q to version %d: %w", part, v+1, err)
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO schema_parts(name, version, applied_at) VALUES (?, ?, ?)
			ON CONFLICT(name) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at`,
			part, v, time.Now().UTC().Format(time.RFC3339))
		return err
	})
}

// PartVersion returns the version of a part's tables (0 if it has none), from the read pool.
func (s *Store) PartVersion(ctx context.Context, part string) (int, error) {
	var v int
	err := s.rdb.QueryRowContext(ctx, "SELECT version FROM schema_parts WHERE name = ?", part).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}
