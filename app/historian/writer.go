package historian

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Durability choice: unsealed samples live in memory (so queries see them at once) and, at
// every commit (each FlushInterval, 500 ms by default), the samples that arrived since the last
// commit are written as one small compressed chunk per tag into open_chunks. When the tag's
// block seals, the block goes into blocks and the tag's chunks are deleted, in the same
// transaction. A crash therefore loses at most the samples of the last FlushInterval (plus the
// transaction being committed), and one row per active tag per commit is cheap, where one row
// per sample would cap ingest near 100,000 samples/s. With synchronous=NORMAL in WAL mode a
// committed transaction survives a process crash; a power cut may also lose the transactions
// since the last WAL sync.

// Append queues samples for the writer without blocking. When the bounded buffer has no room
// for the whole batch it returns ErrBufferFull and accepts nothing: the caller decides whether
// to retry, and memory never grows without bound (e.g. while the disk is full).
//
// Per tag, samples must come in increasing time order; a sample not newer than the tag's
// latest stored sample is dropped and counted in Stats().OutOfOrder.
func (s *Store) Append(samples []Sample) error {
	if len(samples) == 0 {
		return nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if len(s.buf)+len(samples) > s.opts.MaxBuffered {
		s.mu.Unlock()
		s.stats.bufferFull.Add(int64(len(samples)))
		return ErrBufferFull
	}
	s.buf = append(s.buf, samples...)
	s.mu.Unlock()
	s.stats.appended.Add(int64(len(samples)))
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// Flush waits until every sample appended before the call is committed to the file.
func (s *Store) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case s.flushReq <- reply:
	case <-s.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writer is the only goroutine that writes to the database.
func (s *Store) writer() {
	defer close(s.done)
	flush := time.NewTicker(s.opts.FlushInterval)
	defer flush.Stop()
	ckpt := time.NewTicker(s.opts.CheckpointInterval)
	defer ckpt.Stop()
	retain := time.NewTicker(s.opts.RetentionInterval)
	defer retain.Stop()
	s.kickPrune() // retention runs once at Open
	for {
		select {
		case <-s.wake:
			if s.failing == nil {
				s.drain()
				if s.pendingBlocks() >= s.opts.CommitBlocks {
					s.commit()
				}
			}
		case <-flush.C:
			// While commits fail (disk full, read-only file), stop taking samples: the bounded
			// buffer fills and Append pushes back. Retry every tick; resume by itself.
			if s.failing == nil {
				s.drain()
			}
			s.commit()
		case reply := <-s.flushReq:
			if s.failing == nil {
				s.drain()
			}
			err := s.commit()
			if err == nil && s.failing == nil {
				// The commit may have recovered from failure; take what queued meanwhile.
				s.drain()
				err = s.commit()
			}
			reply <- err
		case <-ckpt.C:
			if s.failing == nil {
				s.checkpoint()
			}
		case j := <-s.jobs:
			j.done <- s.runJob(j)
		case <-retain.C:
			s.kickPrune()
		case <-s.pruneKick:
			// One batch per turn: samples, flushes and jobs get the writer between batches.
			if more, _ := s.pruneBatch(); more { // an error is in Stats; retried next interval
				s.kickPrune()
			}
		case <-s.closing:
			if s.failing == nil {
				s.drain()
			}
			s.commit()
			return
		}
	}
}

func (s *Store) pendingBlocks() int { return s.npending }

// drain moves the buffered samples into their series, sealing full blocks.
func (s *Store) drain() {
	s.mu.Lock()
	batch := s.buf
	s.buf = s.spare[:0]
	var units map[string]string
	if len(s.units) > 0 {
		units, s.units = s.units, map[string]string{}
	}
	var comps map[string]Compression
	if len(s.comps) > 0 {
		comps, s.comps = s.comps, map[string]Compression{}
	}
	s.mu.Unlock()
	for name, c := range comps {
		sr := s.series(name)
		if sr.conf != c {
			sr.mu.Lock()
			sr.conf = c
			sr.mu.Unlock()
			s.compDirty[sr] = struct{}{}
		}
		// The held snapshot, if any, is kept: the new setting starts from it.
		sr.comp = newCompressor(c, sr.last, sr.hasLast)
		s.dirty[sr] = struct{}{}
	}
	for name, unit := range units {
		sr := s.series(name)
		if sr.unit != unit {
			sr.mu.Lock()
			sr.unit = unit
			sr.mu.Unlock()
			s.unitDirty[sr] = struct{}{}
		}
	}
	if len(batch) == 0 {
		s.spare = batch
		return
	}
	var ingested, late, dropped int64
	for i := range batch {
		smp := &batch[i]
		sr := s.series(smp.Tag)
		p := Point{T: smp.Time.UnixNano(), V: smp.Value, S: smp.Status}
		if sr.hasLast && p.T <= sr.last.T {
			late++
			continue
		}
		sr.mu.Lock()
		if sr.comp != nil && sr.comp.offer(p) {
			sr.open = sr.open[:len(sr.open)-1] // the previous snapshot was redundant
			dropped++
		}
		if len(sr.open) > 0 && (len(sr.open) >= s.opts.BlockMaxSamples ||
			p.T-sr.open[0].T >= int64(s.opts.BlockMaxSpan)) {
			s.seal(sr)
		}
		sr.open = append(sr.open, p)
		sr.last, sr.hasLast = p, true
		sr.mu.Unlock()
		s.dirty[sr] = struct{}{}
		ingested++
	}
	clear(batch) // drop the tag strings for the GC
	s.spare = batch[:0]
	s.stats.ingested.Add(ingested)
	s.stats.outOfOrder.Add(late)
	s.stats.compressed.Add(dropped)
}

// series returns the named series, creating it if new. Writer only.
func (s *Store) series(name string) *series {
	sr := s.byName[name] // the writer is the only mutator of byName: no lock to read
	if sr == nil {
		sr = &series{id: s.nextID, name: name}
		s.nextID++
		s.seriesMu.Lock()
		s.byName[name] = sr
		s.seriesMu.Unlock()
		s.newTags = append(s.newTags, sr)
	}
	return sr
}

// seal turns sr's open samples into a pending block. The caller holds sr.mu.
func (s *Store) seal(sr *series) {
	sr.pending = append(sr.pending, sealBlock(sr.open))
	s.npending++
	sr.open = sr.open[:0] // readers copy under the lock, so the array can be reused
	sr.persisted = 0
	sr.sealedSince = true
}

// commit writes new tags, sealed blocks and the open samples not yet stored, in one
// transaction. On failure nothing in memory changes and the next call retries it all.
func (s *Store) commit() error {
	if len(s.dirty) == 0 && len(s.newTags) == 0 && len(s.unitDirty) == 0 && len(s.compDirty) == 0 {
		return s.failing
	}
	if s.failing != nil {
		// Retrying after a failure (a full disk): the WAL holds committed pages that a
		// checkpoint moves into the database before truncating it, giving back room the
		// retried commit needs. If the checkpoint fails too, the commit reports why.
		_, _ = s.wdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	}
	err := s.writeTx()
	if err != nil {
		if perr := writeProbe(s.path); perr != nil {
			err = fmt.Errorf("%w (%v)", err, perr)
		}
		s.failing = err
		msg := err.Error()
		s.stats.lastErr.Store(&msg)
		return err
	}
	if s.failing != nil {
		s.failing = nil
		s.stats.lastErr.Store(nil)
	}
	s.stats.commits.Add(1)
	s.newTags = s.newTags[:0]
	clear(s.unitDirty)
	clear(s.compDirty)
	s.npending = 0
	for sr := range s.dirty {
		sr.mu.Lock()
		sr.pending = nil
		sr.mu.Unlock()
		if sr.sealedSince {
			sr.chunkRows = false
			sr.sealedSince = false
			sr.snapRow = false
		}
		if end := len(sr.open) - sr.held(); end > sr.persisted {
			sr.chunkRows = true
			sr.persisted = end
		}
		sr.snapRow = sr.held() == 1
		if sr.snapRow {
			sr.snapT = sr.open[len(sr.open)-1].T
		}
	}
	clear(s.dirty)
	return nil
}

func (s *Store) writeTx() (err error) {
	ctx := context.Background()
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("historian: begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if len(s.newTags) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT INTO tags(id, name, unit, compression, deviation,
			deviation_pct, span, max_interval_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, sr := range s.newTags {
			c := sr.conf
			if _, err := st.ExecContext(ctx, sr.id, sr.name, sr.unit, c.Kind, c.Deviation,
				c.DeviationPct, c.Span, int64(c.MaxInterval)); err != nil {
				return fmt.Errorf("historian: insert tag %s: %w", sr.name, err)
			}
		}
	}
	for sr := range s.unitDirty {
		if _, err := tx.ExecContext(ctx, "UPDATE tags SET unit = ? WHERE id = ?", sr.unit, sr.id); err != nil {
			return fmt.Errorf("historian: set unit of %s: %w", sr.name, err)
		}
	}
	for sr := range s.compDirty {
		c := sr.conf
		if _, err := tx.ExecContext(ctx, `UPDATE tags SET compression = ?, deviation = ?,
			deviation_pct = ?, span = ?, max_interval_ns = ? WHERE id = ?`,
			c.Kind, c.Deviation, c.DeviationPct, c.Span, int64(c.MaxInterval), sr.id); err != nil {
			return fmt.Errorf("historian: set compression of %s: %w", sr.name, err)
		}
	}
	insBlock, err := tx.PrepareContext(ctx, `INSERT INTO blocks(tag_id, start_ns, end_ns, count,
		min, max, stats, data) VALUES (?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	defer insBlock.Close()
	delChunks, err := tx.PrepareContext(ctx, "DELETE FROM open_chunks WHERE tag_id = ?")
	if err != nil {
		return err
	}
	defer delChunks.Close()
	insChunk, err := tx.PrepareContext(ctx, "INSERT INTO open_chunks(tag_id, start_ns, data) VALUES (?, ?, ?)")
	if err != nil {
		return err
	}
	defer insChunk.Close()
	delSnap, err := tx.PrepareContext(ctx, "DELETE FROM open_chunks WHERE tag_id = ? AND start_ns = ?")
	if err != nil {
		return err
	}
	defer delSnap.Close()
	var chunk, stats []byte
	for sr := range s.dirty {
		// The writer is the only mutator of sr: reading without the lock is safe.
		for _, b := range sr.pending {
			m := &b.meta
			stats = m.appendStats(stats[:0])
			if _, err := insBlock.ExecContext(ctx, sr.id, m.start, m.end, m.count,
				sqlFloat(m.min), sqlFloat(m.max), stats, b.data); err != nil {
				return fmt.Errorf("historian: insert block of %s: %w", sr.name, err)
			}
		}
		if sr.sealedSince && (sr.chunkRows || sr.snapRow) {
			if _, err := delChunks.ExecContext(ctx, sr.id); err != nil {
				return fmt.Errorf("historian: delete open chunks of %s: %w", sr.name, err)
			}
		} else if sr.snapRow {
			// The stored snapshot row is replaced whatever became of it: if it was kept it
			// goes into the chunk below, if dropped it must not stay in the file.
			if _, err := delSnap.ExecContext(ctx, sr.id, sr.snapT); err != nil {
				return fmt.Errorf("historian: delete snapshot of %s: %w", sr.name, err)
			}
		}
		end := len(sr.open) - sr.held()
		if end > sr.persisted {
			chunk = EncodeBlock(chunk[:0], sr.open[sr.persisted:end])
			if _, err := insChunk.ExecContext(ctx, sr.id, sr.open[sr.persisted].T, chunk); err != nil {
				return fmt.Errorf("historian: insert open chunk of %s: %w", sr.name, err)
			}
		}
		if end < len(sr.open) {
			chunk = EncodeBlock(chunk[:0], sr.open[end:])
			if _, err := insChunk.ExecContext(ctx, sr.id, sr.open[end].T, chunk); err != nil {
				return fmt.Errorf("historian: insert snapshot of %s: %w", sr.name, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("historian: commit: %w", err)
	}
	return nil
}

// sqlFloat maps NaN to NULL explicitly (SQLite would store NULL anyway).
func sqlFloat(v float64) sql.NullFloat64 {
	return sql.NullFloat64{Float64: v, Valid: v == v}
}

func (s *Store) checkpoint() {
	var busy, logPages, moved int
	err := s.wdb.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logPages, &moved)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		msg := "checkpoint: " + err.Error()
		s.stats.lastErr.Store(&msg)
	}
}

// writeProbe tries a small write beside the database and returns why it fails, if it does:
// SQLite says only "disk I/O error" for both a full disk and a read-only file system, and an
// operator needs to know which.
func writeProbe(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".minebrain-probe-*")
	if err != nil {
		return err
	}
	_, err = f.Write([]byte{0})
	return errors.Join(err, f.Close(), os.Remove(f.Name()))
}
