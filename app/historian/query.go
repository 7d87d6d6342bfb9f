package historian

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// Queries read committed blocks through the read-only pool and the newest data (sealed blocks
// not yet committed, unsealed samples) from memory, so a sample is queryable as soon as the
// writer has taken it from the buffer. A plain-rows view over the compressed blocks cannot be
// written in SQL (the blobs need this package's decoder); tools get rows through this package
// (Reader) or `minebrain history export`.

// ErrNoData is returned by ValueAt when the tag has no sample at or before the time.
var ErrNoData = errors.New("historian: no data")

// The query algorithms (Range, Aggregate, ValueAt) read one tag through a tagReader, so the
// Store (file plus memory) and the read-only Reader (file only) share them.

// span is the time range of a query; with n > 0 it is an aggregate into n buckets of width ns.
type span struct {
	from, to, width int64
	n               int
}

// blockFunc receives one block: its summary, and its encoded samples or nil when the aggregate
// needs only the summary. Neither may be kept after the call (data points into SQLite's row).
type blockFunc func(m *blockMeta, data []byte) error

// tagReader calls block, in time order, for the blocks that can hold samples in the span plus
// the block before it and the first block after it (for the holds into and out of the range),
// and then open once with the unsealed samples after them (not to be kept either).
type tagReader func(ctx context.Context, name string, r span, block blockFunc, open func([]Point) error) error

// errStop ends a block scan early; it is not an error.
var errStop = errors.New("historian: stop scan")

// pointPool holds decode buffers: a week trend decodes about a thousand blocks, and a reader
// that allocates less is slowed less by the garbage collector the writer keeps busy.
var pointPool = sync.Pool{New: func() any { p := make([]Point, 0, 4096); return &p }}

func getPoints() *[]Point { return pointPool.Get().(*[]Point) }

func putPoints(p *[]Point) {
	if cap(*p) <= 1<<16 { // do not keep a huge buffer alive
		*p = (*p)[:0]
		pointPool.Put(p)
	}
}

// snapshot copies the series' uncommitted blocks and unsealed samples (appended to open) under
// the read lock. The writer takes that lock only for a few microseconds at a time (never
// during a commit), so a query never waits for the file.
func (sr *series) snapshot(open []Point) (pending []*blockRec, pts []Point) {
	sr.mu.RLock()
	defer sr.mu.RUnlock()
	if len(sr.pending) > 0 {
		pending = append([]*blockRec(nil), sr.pending...)
	}
	return pending, append(open, sr.open...)
}

// memStart is the time of the oldest in-memory sample; committed blocks all start before it.
func memStart(pending []*blockRec, open []Point) int64 {
	if len(pending) > 0 {
		return pending[0].meta.start
	}
	if len(open) > 0 {
		return open[0].T
	}
	return math.MaxInt64
}

// queryer is *sql.DB or *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// blocksSQL selects a tag's blocks for a span (see tagReader), those starting before ?4 only.
// For an aggregate (?6 = n > 0) the data of a block lying wholly inside one bucket is not read:
// its stored summary is all the aggregate uses.
const blocksSQL = `SELECT start_ns, end_ns, stats,
	CASE WHEN ?6 > 0 AND start_ns >= ?2 AND end_ns < ?3
		AND min((start_ns - ?2) / ?5, ?6 - 1) = min((end_ns - ?2) / ?5, ?6 - 1)
	THEN NULL ELSE data END
	FROM blocks WHERE tag_id = ?1
	AND start_ns >= coalesce((SELECT max(start_ns) FROM blocks WHERE tag_id = ?1 AND start_ns <= ?2), ?2)
	AND start_ns <= coalesce((SELECT min(start_ns) FROM blocks WHERE tag_id = ?1 AND start_ns >= ?3), ?3)
	AND start_ns < ?4
	ORDER BY start_ns`

// scanBlocks streams the tag's committed blocks for r that start before before to fn. The
// blobs are scanned as sql.RawBytes (no copy beyond the driver's): fn decodes them in place.
func scanBlocks(ctx context.Context, q queryer, name string, id int64, r span, before int64, fn blockFunc) error {
	rows, err := q.QueryContext(ctx, blocksSQL, id, r.from, r.to, before, max(r.width, 1), r.n)
	if err != nil {
		return fmt.Errorf("historian: query blocks of %s: %w", name, err)
	}
	defer rows.Close()
	var m blockMeta
	var stats, data sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&m.start, &m.end, &stats, &data); err != nil {
			return err
		}
		if err := m.parseStats(stats); err != nil {
			return fmt.Errorf("historian: %s block at %d: %w", name, m.start, err)
		}
		if err := fn(&m, data); err != nil {
			return err
		}
	}
	return rows.Err()
}

// readTag is the Store's tagReader: committed blocks from the file, then the newest data from
// memory. The memory snapshot is taken first and committed blocks are read only below its
// start: a commit racing with the query then shows its blocks either in memory or in the file,
// never twice and never not at all.
func (s *Store) readTag(ctx context.Context, name string, r span, block blockFunc, open func([]Point) error) error {
	sr := s.lookup(name)
	if sr == nil {
		return fmt.Errorf("%w: %q", ErrUnknownTag, name)
	}
	buf := getPoints()
	defer putPoints(buf)
	pending, pts := sr.snapshot(*buf)
	*buf = pts
	if err := scanBlocks(ctx, s.rdb, name, sr.id, r, memStart(pending, pts), block); err != nil {
		return err
	}
	for _, b := range pending {
		if err := block(&b.meta, b.data); err != nil {
			return err
		}
	}
	return open(pts)
}

// Range returns the tag's samples with from <= time < to, oldest first, including samples not
// yet sealed or committed.
func (s *Store) Range(ctx context.Context, tag string, from, to time.Time) ([]Point, error) {
	return rangePoints(ctx, s.readTag, tag, from, to)
}

func rangePoints(ctx context.Context, read tagReader, tag string, from, to time.Time) ([]Point, error) {
	f, t := from.UnixNano(), to.UnixNano()
	var out []Point
	err := read(ctx, tag, span{from: f, to: t}, func(m *blockMeta, data []byte) error {
		if m.end < f || m.start >= t {
			return nil
		}
		n := len(out)
		var err error
		if out, err = DecodeBlock(out, data); err != nil {
			return fmt.Errorf("historian: %s block at %d: %w", tag, m.start, err)
		}
		out = append(out[:n], clip(out[n:], f, t)...)
		return nil
	}, func(open []Point) error {
		out = append(out, clip(open, f, t)...)
		return nil
	})
	return out, err
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
	return valueAt(ctx, s.readTag, tag, at)
}

func valueAt(ctx context.Context, read tagReader, tag string, at time.Time) (Point, error) {
	t := at.UnixNano()
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
	buf := getPoints()
	defer putPoints(buf)
	err := read(ctx, tag, span{from: t, to: t + 1}, func(m *blockMeta, data []byte) error {
		if m.end <= t { // the whole block is at or before t: its last sample will do
			visit(m.last)
			return nil
		}
		if m.start > t {
			visit(m.first)
			return errStop
		}
		var err error
		if *buf, err = DecodeBlock((*buf)[:0], data); err != nil {
			return err
		}
		for _, p := range *buf {
			if !visit(p) {
				return errStop
			}
		}
		return nil
	}, func(open []Point) error {
		for _, p := range open {
			if !visit(p) {
				break
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return Point{}, err
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
