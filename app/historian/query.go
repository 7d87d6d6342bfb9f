package historian

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// Queries read committed blocks through the read-only pool and the newest data (sealed blocks
// not yet committed, unsealed samples) from memory, so a sample is queryable as soon as the
// writer has taken it from the buffer. A plain-rows view over the compressed blocks cannot be
// written in SQL (the blobs need this package's decoder); tools get rows through this package
// (and, later, `minebrain history export`).

// ErrNoData is returned by ValueAt when the tag has no sample at or before the time.
var ErrNoData = errors.New("historian: no data")

// memSnapshot is a consistent copy of a series' in-memory data.
type memSnapshot struct {
	pending []*blockRec
	open    []Point
}

// start is the time of the oldest in-memory sample; committed blocks all start before it.
func (m memSnapshot) start() int64 {
	if len(m.pending) > 0 {
		return m.pending[0].meta.start
	}
	if len(m.open) > 0 {
		return m.open[0].T
	}
	return math.MaxInt64
}

func (sr *series) snapshot() memSnapshot {
	sr.mu.RLock()
	defer sr.mu.RUnlock()
	return memSnapshot{
		pending: append([]*blockRec(nil), sr.pending...),
		open:    append([]Point(nil), sr.open...),
	}
}

// loadRange returns, in time order, the blocks that can hold samples in [from, to) plus the block
// before from (for the value held into the range) and the first block at or after to (for the
// hold out of it), followed by the in-memory unsealed samples.
//
// The memory snapshot is taken first and committed blocks are read only below its start: a
// commit racing with the query then shows its blocks either in memory or in the file, never
// twice and never not at all.
//
// With n > 0 (an aggregate into n buckets of width ns), the data of blocks lying wholly inside
// one bucket is not read: their stored summary is all the aggregate uses.
func (s *Store) loadRange(ctx context.Context, name string, from, to, width int64, n int) ([]*blockRec, []Point, error) {
	sr := s.lookup(name)
	if sr == nil {
		return nil, nil, fmt.Errorf("%w: %q", ErrUnknownTag, name)
	}
	mem := sr.snapshot()
	var blocks []*blockRec
	if ms := mem.start(); ms > math.MinInt64 {
		rows, err := s.rdb.QueryContext(ctx, `SELECT start_ns, end_ns, stats,
			CASE WHEN ?6 > 0 AND start_ns >= ?2 AND end_ns < ?3
				AND min((start_ns - ?2) / ?5, ?6 - 1) = min((end_ns - ?2) / ?5, ?6 - 1)
			THEN NULL ELSE data END
			FROM blocks WHERE tag_id = ?1
			AND start_ns >= coalesce((SELECT max(start_ns) FROM blocks WHERE tag_id = ?1 AND start_ns <= ?2), ?2)
			AND start_ns <= coalesce((SELECT min(start_ns) FROM blocks WHERE tag_id = ?1 AND start_ns >= ?3), ?3)
			AND start_ns < ?4
			ORDER BY start_ns`, sr.id, from, to, ms, max(width, 1), n)
		if err != nil {
			return nil, nil, fmt.Errorf("historian: query blocks of %s: %w", name, err)
		}
		defer rows.Close()
		for rows.Next() {
			b := &blockRec{}
			m := &b.meta
			var stats sql.RawBytes
			if err := rows.Scan(&m.start, &m.end, &stats, &b.data); err != nil {
				return nil, nil, err
			}
			if err := m.parseStats(stats); err != nil {
				return nil, nil, fmt.Errorf("historian: %s block at %d: %w", name, m.start, err)
			}
			blocks = append(blocks, b)
		}
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
	}
	blocks = append(blocks, mem.pending...)
	return blocks, mem.open, nil
}

// Range returns the tag's samples with from <= time < to, oldest first, including samples not
// yet sealed or committed.
func (s *Store) Range(ctx context.Context, tag string, from, to time.Time) ([]Point, error) {
	f, t := from.UnixNano(), to.UnixNano()
	blocks, open, err := s.loadRange(ctx, tag, f, t, 0, 0)
	if err != nil {
		return nil, err
	}
	var out []Point
	for _, b := range blocks {
		if b.meta.end < f || b.meta.start >= t {
			continue
		}
		n := len(out)
		if out, err = DecodeBlock(out, b.data); err != nil {
			return nil, fmt.Errorf("historian: %s block at %d: %w", tag, b.meta.start, err)
		}
		out = append(out[:n], clip(out[n:], f, t)...)
	}
	return append(out, clip(open, f, t)...), nil
}

// clip returns the points of sorted pts within [from, to).
func clip(pts []Point, from, to int64) []Point {
	i := 0
	for i < len(pts) && pts[i].T < from {
		i++
	}
	j := len(pts)
	for j > i && pts[j-1].T >= to {
		j--
	}
	return pts[i:j]
}

// Latest is a tag's newest sample; OK is false for a tag with no samples.
type Latest struct {
	Tag   string
	Point Point
	OK    bool
}

// Latest returns the newest sample of each tag, from memory (no database access).
func (s *Store) Latest(tags []string) []Latest {
	out := make([]Latest, len(tags))
	s.seriesMu.RLock()
	defer s.seriesMu.RUnlock()
	for i, name := range tags {
		out[i].Tag = name
		if sr := s.byName[name]; sr != nil {
			sr.mu.RLock()
			out[i].Point, out[i].OK = sr.last, sr.hasLast
			sr.mu.RUnlock()
		}
	}
	return out
}

// ValueAt returns the tag's value at time at: the sample itself if one is at that time; the
// linear interpolation between the samples around it when both are good; otherwise the
// previous sample's value and status held (step), which is also what it returns after the
// newest sample. The returned point's T is at. ErrNoData when no sample is at or before at.
func (s *Store) ValueAt(ctx context.Context, tag string, at time.Time) (Point, error) {
	t := at.UnixNano()
	blocks, open, err := s.loadRange(ctx, tag, t, t+1, 0, 0)
	if err != nil {
		return Point{}, err
	}
	var prev, next Point
	var hasPrev, hasNext bool
	visit := func(p Point) bool {
		if p.T <= t {
			prev, hasPrev = p, true
			return true
		}
		next, hasNext = p, true
		return false
	}
	var buf []Point
	done := false
	for _, b := range blocks {
		if done {
			break
		}
		if b.meta.end <= t { // the whole block is at or before t: its last sample will do
			visit(b.meta.last)
			continue
		}
		if b.meta.start > t {
			done = !visit(b.meta.first)
			continue
		}
		if buf, err = DecodeBlock(buf[:0], b.data); err != nil {
			return Point{}, err
		}
		for _, p := range buf {
			if !visit(p) {
				done = true
				break
			}
		}
	}
	for _, p := range open {
		if done || !visit(p) {
			break
		}
	}
	if !hasPrev {
		return Point{}, fmt.Errorf("%w: %s at %s", ErrNoData, tag, at.UTC().Format(time.RFC3339Nano))
	}
	if prev.T == t || !hasNext || !usable(prev.V, prev.S) || !usable(next.V, next.S) {
		return Point{T: t, V: prev.V, S: prev.S}, nil
	}
	frac := float64(t-prev.T) / float64(next.T-prev.T)
	return Point{T: t, V: prev.V + (next.V-prev.V)*frac, S: 0}, nil
}
