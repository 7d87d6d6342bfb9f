package historian

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Retention deletes whole sealed blocks, oldest first (by their last sample, through the
// blocks_by_end index), at most pruneBatchBlocks per transaction. The writer runs one batch
// per turn of its loop, so sample commits, flushes and write jobs wait at most one batch.
//
// Rules: with RetainFor, a block goes when its last sample is older than now - RetainFor;
// with RetainBytes, the oldest blocks go while the used pages ((page_count - freelist_count) ×
// page_size) exceed RetainBytes. Neither rule deletes a tag's newest sealed block or its
// unsealed samples: every tag keeps its latest values, so a limit too small for one block per
// tag is exceeded rather than emptying the historian.
//
// Freed pages go to SQLite's freelist and are reused by the next blocks, so under steady
// retention the file stops growing instead of shrinking and regrowing. New files are not
// created with auto_vacuum=INCREMENTAL: its page moves would stall the writer for the sake of
// space that is about to be needed again. To give space back after lowering a limit, run
// VACUUM on the file while Minebrain is stopped.

const pruneBatchBlocks = 200

func (s *Store) retentionOn() bool { return s.opts.RetainFor > 0 || s.opts.RetainBytes > 0 }

func (s *Store) kickPrune() {
	if !s.retentionOn() {
		return
	}
	select {
	case s.pruneKick <- struct{}{}:
	default:
	}
}

// Prune applies the retention rules now and returns when nothing more is to be deleted. It
// runs batch by batch on the writer, like the periodic pass.
func (s *Store) Prune(ctx context.Context) error {
	for {
		var more bool
		var err error
		if jerr := s.do(ctx, func() { more, err = s.pruneBatch() }); jerr != nil {
			return jerr
		}
		if err != nil || !more {
			return err
		}
	}
}

// pruneBatch deletes up to pruneBatchBlocks blocks in one transaction; more reports that it
// deleted some, so another batch may be due.
func (s *Store) pruneBatch() (more bool, err error) {
	if !s.retentionOn() {
		return false, nil
	}
	t := time.Now()
	blocks, samples, err := s.pruneTx()
	d := time.Since(t)
	if int64(d) > s.stats.pruneBatchMax.Load() {
		s.stats.pruneBatchMax.Store(int64(d))
	}
	if err != nil {
		msg := "retention: " + err.Error()
		s.stats.lastErr.Store(&msg)
		return false, err
	}
	s.stats.prunedBlocks.Add(int64(blocks))
	s.stats.prunedSamples.Add(samples)
	if blocks == 0 {
		s.stats.lastPrune.Store(time.Now().UnixNano())
	}
	return blocks > 0, nil
}

type blockKey struct{ tag, start int64 }

func (s *Store) pruneTx() (blocks int, samples int64, err error) {
	ctx := context.Background()
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	// A tag's newest block is never a victim.
	const notNewest = `start_ns < (SELECT max(start_ns) FROM blocks WHERE tag_id = b.tag_id)`
	var victims []blockKey
	if s.opts.RetainFor > 0 {
		cutoff := s.opts.now().Add(-s.opts.RetainFor).UnixNano()
		victims, samples, err = pickBlocks(tx, `SELECT tag_id, start_ns, count, 0 FROM blocks AS b
			WHERE end_ns < ? AND `+notNewest+` ORDER BY end_ns LIMIT ?`, -1, cutoff, pruneBatchBlocks)
		if err != nil {
			return 0, 0, err
		}
	}
	if len(victims) == 0 && s.opts.RetainBytes > 0 {
		used, err := usedBytes(tx)
		if err != nil {
			return 0, 0, err
		}
		if excess := used - s.opts.RetainBytes; excess > 0 {
			// Estimated row size: the blobs plus the key and index entries. Underestimates
			// are corrected by the next batch, which measures again.
			victims, samples, err = pickBlocks(tx, `SELECT tag_id, start_ns, count,
				length(data) + length(stats) + 48 FROM blocks AS b
				WHERE `+notNewest+` ORDER BY end_ns LIMIT ?`, excess, pruneBatchBlocks)
			if err != nil {
				return 0, 0, err
			}
		}
	}
	if len(victims) == 0 {
		return 0, 0, nil
	}
	del, err := tx.PrepareContext(ctx, "DELETE FROM blocks WHERE tag_id = ? AND start_ns = ?")
	if err != nil {
		return 0, 0, err
	}
	defer del.Close()
	for _, k := range victims {
		if _, err := del.ExecContext(ctx, k.tag, k.start); err != nil {
			return 0, 0, fmt.Errorf("delete block: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, err
	}
	return len(victims), samples, nil
}

// pickBlocks reads (tag_id, start_ns, count, size) rows oldest first, stopping once the sizes
// add up to enough (enough < 0: take all rows).
func pickBlocks(tx *sql.Tx, query string, enough int64, args ...any) ([]blockKey, int64, error) {
	rows, err := tx.Query(query, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []blockKey
	var samples, sum int64
	for rows.Next() && (enough < 0 || sum < enough) {
		var k blockKey
		var count, size int64
		if err := rows.Scan(&k.tag, &k.start, &count, &size); err != nil {
			return nil, 0, err
		}
		out = append(out, k)
		samples += count
		sum += size
	}
	return out, samples, rows.Err()
}

// usedBytes is the size of the pages holding data: the file's pages minus the free ones.
func usedBytes(tx *sql.Tx) (int64, error) {
	var pages, free, size int64
	for q, v := range map[string]*int64{"page_count": &pages, "freelist_count": &free, "page_size": &size} {
		if err := tx.QueryRow("PRAGMA " + q).Scan(v); err != nil {
			return 0, err
		}
	}
	return (pages - free) * size, nil
}
