package historian

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"
)

// Tools (`minebrain history ...`) look at existing files: they must never create one, and the
// read-only functions here never change one (a read-only connection with no pragmas that write).

// ErrNotHistorian is returned (wrapped) for a file that exists but holds no historian schema.
var ErrNotHistorian = errors.New("historian: not a Minebrain historian database")

// checkPath checks that path names an existing regular file usable in a SQLite URI.
func checkPath(path string) error {
	if strings.ContainsAny(path, "?#") {
		return fmt.Errorf("historian: database path %q must not contain '?' or '#'", path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("historian: %s does not exist", path)
		}
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("historian: %s is a directory", path)
	}
	return nil
}

// existing checks that path is an existing historian file and returns its schema version.
func existing(ctx context.Context, path string) (int, error) {
	if err := checkPath(path); err != nil {
		return 0, err
	}
	v, err := readUserVersion(ctx, path)
	if err != nil {
		return 0, err
	}
	if v == 0 {
		return 0, fmt.Errorf("%w: %s (schema version 0)", ErrNotHistorian, path)
	}
	return v, nil
}

// OpenExisting is Open for a file that must already be a historian database: a missing file
// is an error (it is not created), and so is a SQLite file without the historian schema.
func OpenExisting(ctx context.Context, path string, opts Options) (*Store, error) {
	if _, err := existing(ctx, path); err != nil {
		return nil, err
	}
	return Open(ctx, path, opts)
}

// openReadOnly opens an existing historian file through one read-only connection.
//
// On a read-only file system SQLite cannot create the shared-memory index (-shm) a WAL-mode
// file needs, and a read-only open fails; then the file is opened immutable, which is safe
// there (nothing can write it) unless a -wal file holds commits not yet in the main file: that
// is refused with advice rather than read without them.
func openReadOnly(ctx context.Context, path string) (*sql.DB, int, error) {
	if err := checkPath(path); err != nil {
		return nil, 0, err
	}
	open := func(params ...string) (*sql.DB, int, error) {
		db, err := sql.Open("sqlite", dsn(path, append(params, "_pragma=busy_timeout(5000)", "_pragma=query_only(1)")...))
		if err != nil {
			return nil, 0, err
		}
		db.SetMaxOpenConns(1)
		var v int
		if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			db.Close()
			return nil, 0, err
		}
		return db, v, nil
	}
	db, v, err := open("mode=ro")
	var code interface{ Code() int }
	if err != nil && errors.As(err, &code) && code.Code()&0xff == sqliteCantOpen {
		if fi, werr := os.Stat(path + "-wal"); werr == nil && fi.Size() > 0 {
			return nil, 0, fmt.Errorf("historian: reading %s: %w; its -wal file holds commits that a "+
				"read-only file system keeps from being read: copy the file with its -wal somewhere writable", path, err)
		}
		if db2, v2, err2 := open("mode=ro", "immutable=1"); err2 == nil {
			db, v, err = db2, v2, nil
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("historian: reading schema version of %s: %w", path, err)
	}
	if v == 0 {
		db.Close()
		return nil, 0, fmt.Errorf("%w: %s (schema version 0)", ErrNotHistorian, path)
	}
	return db, v, nil
}

const sqliteCantOpen = 14 // SQLITE_CANTOPEN

// Reader reads an existing historian file without a Store: no writer, never creates or
// migrates the file, and nothing it does writes to it (read-only connections). It works while
// a Store (e.g. a running Minebrain) writes the same file: each query runs in one read
// transaction, so it sees whole commits only (WAL). It also works on a read-only file or file
// system. It sees what is committed: the newest FlushInterval of a running Store is in that
// Store's memory only. The `minebrain history` tools use it.
type Reader struct {
	path string
	db   *sql.DB
}

// OpenReader opens an existing historian file for reading. A missing file, a file without the
// historian schema and one with a newer schema are errors; the file is not touched.
func OpenReader(ctx context.Context, path string) (*Reader, error) {
	db, v, err := openReadOnly(ctx, path)
	if err != nil {
		return nil, err
	}
	if v > SchemaVersion {
		db.Close()
		return nil, fmt.Errorf("%w: %s has schema version %d, this build reads up to %d; use a newer Minebrain",
			ErrNewerSchema, path, v, SchemaVersion)
	}
	db.SetMaxOpenConns(2)
	return &Reader{path: path, db: db}, nil
}

// Close closes the file.
func (r *Reader) Close() error { return r.db.Close() }

// tag begins a read transaction and looks the tag up. The caller must roll tx back.
func (r *Reader) tag(ctx context.Context, name string) (*sql.Tx, int64, error) {
	tx, err := r.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, "SELECT id FROM tags WHERE name = ?", name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("%w: %q", ErrUnknownTag, name)
	}
	if err != nil {
		tx.Rollback()
		return nil, 0, err
	}
	return tx, id, nil
}

// readTag is the Reader's tagReader: a tag's blocks, then its open chunks, in one read
// transaction (a commit that seals chunks into a block is seen whole or not at all).
func (r *Reader) readTag(ctx context.Context, name string, sp span, block blockFunc, open func([]Point) error) error {
	tx, id, err := r.tag(ctx, name)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := scanBlocks(ctx, tx, name, id, sp, math.MaxInt64, block); err != nil {
		return err
	}
	buf := getPoints()
	defer putPoints(buf)
	rows, err := tx.QueryContext(ctx, "SELECT start_ns, data FROM open_chunks WHERE tag_id = ? ORDER BY start_ns", id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var start int64
		var data sql.RawBytes
		if err := rows.Scan(&start, &data); err != nil {
			return err
		}
		if *buf, err = DecodeBlock(*buf, data); err != nil {
			return fmt.Errorf("historian: %s open chunk at %d: %w", name, start, err)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return open(*buf)
}

// Range is Store.Range on the committed data.
func (r *Reader) Range(ctx context.Context, tag string, from, to time.Time) ([]Point, error) {
	return rangePoints(ctx, r.readTag, tag, from, to)
}

// Aggregate is Store.Aggregate on the committed data.
func (r *Reader) Aggregate(ctx context.Context, tag string, from, to time.Time, n int) ([]Bucket, error) {
	return aggregate(ctx, r.readTag, tag, from, to, n)
}

// ValueAt is Store.ValueAt on the committed data.
func (r *Reader) ValueAt(ctx context.Context, tag string, at time.Time) (Point, error) {
	return valueAt(ctx, r.readTag, tag, at)
}

// Span returns the time of a tag's first and last committed sample; ok is false when it has
// none.
func (r *Reader) Span(ctx context.Context, tag string) (first, last time.Time, ok bool, err error) {
	tx, id, err := r.tag(ctx, tag)
	if err != nil {
		return first, last, false, err
	}
	defer tx.Rollback()
	var bFirst, bLast, cFirst sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT min(start_ns), max(end_ns) FROM blocks WHERE tag_id = ?", id).Scan(&bFirst, &bLast); err != nil {
		return first, last, false, err
	}
	// The newest sample is the last of the newest open chunk, if any (chunks follow blocks).
	var chunk []byte
	err = tx.QueryRowContext(ctx, `SELECT (SELECT min(start_ns) FROM open_chunks WHERE tag_id = ?1),
		data FROM open_chunks WHERE tag_id = ?1 ORDER BY start_ns DESC LIMIT 1`, id).Scan(&cFirst, &chunk)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return first, last, false, err
	}
	f, l := int64(math.MaxInt64), int64(math.MinInt64)
	if bFirst.Valid {
		f, l = bFirst.Int64, bLast.Int64
	}
	if chunk != nil {
		pts, err := DecodeBlock(nil, chunk)
		if err != nil {
			return first, last, false, fmt.Errorf("historian: %s newest open chunk: %w", tag, err)
		}
		f, l = min(f, cFirst.Int64), max(l, pts[len(pts)-1].T)
	}
	if f == math.MaxInt64 {
		return first, last, false, nil
	}
	return time.Unix(0, f), time.Unix(0, l), true, nil
}

// Tags lists the file's tags, by name.
func (r *Reader) Tags(ctx context.Context) ([]TagInfo, error) {
	rows, err := r.db.QueryContext(ctx, "SELECT name, unit FROM tags ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TagInfo
	for rows.Next() {
		var ti TagInfo
		if err := rows.Scan(&ti.Name, &ti.Unit); err != nil {
			return nil, err
		}
		out = append(out, ti)
	}
	return out, rows.Err()
}

// Span returns the time of a tag's first and last sample; ok is false when it has none.
func (s *Store) Span(ctx context.Context, tag string) (first, last time.Time, ok bool, err error) {
	sr := s.lookup(tag)
	if sr == nil {
		return first, last, false, fmt.Errorf("%w: %q", ErrUnknownTag, tag)
	}
	buf := getPoints()
	defer putPoints(buf)
	pending, open := sr.snapshot(*buf)
	*buf = open
	sr.mu.RLock()
	lp, has := sr.last, sr.hasLast
	sr.mu.RUnlock()
	if !has {
		return first, last, false, nil
	}
	var start sql.NullInt64
	if err := s.rdb.QueryRowContext(ctx, "SELECT min(start_ns) FROM blocks WHERE tag_id = ?", sr.id).Scan(&start); err != nil {
		return first, last, false, err
	}
	f := memStart(pending, open)
	if start.Valid && start.Int64 < f {
		f = start.Int64
	}
	if f == math.MaxInt64 {
		f = lp.T
	}
	return time.Unix(0, f), time.Unix(0, lp.T), true, nil
}

// FileInfo summarises a historian file (FileStats).
type FileInfo struct {
	Path           string
	SchemaVersion  int
	Tags           int
	Samples        int64 // in sealed blocks and open chunks
	Blocks         int64 // sealed blocks
	OpenChunks     int64
	FileBytes      int64 // the database file plus its -wal, if any
	BytesPerSample float64
	First, Last    time.Time // zero when the file holds no samples
}

// FileStats reads a historian file's summary without changing it. Open chunks are decoded
// (they are small) to count their samples and find the newest time.
func FileStats(ctx context.Context, path string) (FileInfo, error) {
	db, v, err := openReadOnly(ctx, path)
	if err != nil {
		return FileInfo{}, err
	}
	defer db.Close()
	fi := FileInfo{Path: path, SchemaVersion: v}
	var minStart, maxEnd sql.NullInt64
	var samples sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM tags").Scan(&fi.Tags); err != nil {
		return fi, fmt.Errorf("historian: %s: %w", path, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*), sum(count), min(start_ns), max(end_ns) FROM blocks").
		Scan(&fi.Blocks, &samples, &minStart, &maxEnd); err != nil {
		return fi, fmt.Errorf("historian: %s: %w", path, err)
	}
	fi.Samples = samples.Int64
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	if minStart.Valid {
		lo, hi = minStart.Int64, maxEnd.Int64
	}
	rows, err := db.QueryContext(ctx, "SELECT data FROM open_chunks")
	if err != nil {
		return fi, fmt.Errorf("historian: %s: %w", path, err)
	}
	var buf []Point
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			rows.Close()
			return fi, err
		}
		fi.OpenChunks++
		if buf, err = DecodeBlock(buf[:0], data); err != nil {
			continue // reported by Check
		}
		fi.Samples += int64(len(buf))
		lo, hi = min(lo, buf[0].T), max(hi, buf[len(buf)-1].T)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fi, err
	}
	if lo <= hi {
		fi.First, fi.Last = time.Unix(0, lo), time.Unix(0, hi)
	}
	for _, p := range []string{path, path + "-wal"} {
		if st, err := os.Stat(p); err == nil {
			fi.FileBytes += st.Size()
		}
	}
	if fi.Samples > 0 {
		fi.BytesPerSample = float64(fi.FileBytes) / float64(fi.Samples)
	}
	return fi, nil
}

// Problem is one defect found by Check. Tag and Block are empty/zero when the problem is not
// about one block (e.g. PRAGMA integrity_check output).
type Problem struct {
	Tag   string
	Table string    // "blocks" or "open_chunks", or "" for the whole file
	Block time.Time // the block's or chunk's start_ns
	Msg   string
}

func (p Problem) String() string {
	if p.Table == "" {
		return p.Msg
	}
	return fmt.Sprintf("%s %s block at %s: %s", p.Tag, p.Table,
		p.Block.UTC().Format("2006-01-02T15:04:05.000000000Z07:00"), p.Msg)
}

// CheckReport is the outcome of Check.
type CheckReport struct {
	Path          string
	SchemaVersion int
	Integrity     string // "ok" or the first line of PRAGMA integrity_check
	Tags          int
	Blocks        int64 // sealed blocks decoded
	OpenChunks    int64
	Samples       int64
	Problems      []Problem
}

// OK reports whether Check found no problem.
func (r CheckReport) OK() bool { return len(r.Problems) == 0 }

// maxProblems bounds the problems Check collects, so a badly broken file gives a bounded report.
const maxProblems = 1000

// Check verifies a historian file without changing it: PRAGMA integrity_check, the schema
// version, and every block and open chunk decoded (its count matching, its timestamps strictly
// increasing and matching start_ns/end_ns, its stats readable). The error is for failures to
// run the check at all; defects found are in the report's Problems.
func Check(ctx context.Context, path string) (CheckReport, error) {
	db, v, err := openReadOnly(ctx, path)
	if err != nil {
		return CheckReport{}, err
	}
	defer db.Close()
	r := CheckReport{Path: path, SchemaVersion: v}
	add := func(p Problem) {
		if len(r.Problems) < maxProblems {
			r.Problems = append(r.Problems, p)
		}
	}
	if v != SchemaVersion {
		add(Problem{Msg: fmt.Sprintf("schema version %d, this build knows %d", v, SchemaVersion)})
	}
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return r, fmt.Errorf("historian: integrity_check: %w", err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return r, err
		}
		if r.Integrity == "" {
			r.Integrity = line
		}
		if line != "ok" {
			add(Problem{Msg: "integrity_check: " + line})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return r, err
	}

	names := map[int64]string{}
	rows, err = db.QueryContext(ctx, "SELECT id, name FROM tags")
	if err != nil {
		return r, err
	}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return r, err
		}
		names[id] = name
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return r, err
	}
	r.Tags = len(names)
	tagName := func(id int64) string {
		if n, ok := names[id]; ok {
			return n
		}
		return fmt.Sprintf("<unknown tag id %d>", id)
	}

	var buf []Point
	// lastEnd is, per tag, the end of its previous block: blocks must not overlap.
	lastEnd := map[int64]int64{}
	rows, err = db.QueryContext(ctx, "SELECT tag_id, start_ns, end_ns, count, stats, data FROM blocks ORDER BY tag_id, start_ns")
	if err != nil {
		return r, err
	}
	for rows.Next() {
		var id, start, end, count int64
		var stats, data []byte
		if err := rows.Scan(&id, &start, &end, &count, &stats, &data); err != nil {
			rows.Close()
			return r, err
		}
		r.Blocks++
		prob := func(format string, a ...any) {
			add(Problem{Tag: tagName(id), Table: "blocks", Block: time.Unix(0, start), Msg: fmt.Sprintf(format, a...)})
		}
		if _, ok := names[id]; !ok {
			prob("no such tag")
		}
		m := blockMeta{start: start, end: end}
		if err := m.parseStats(stats); err != nil {
			prob("%v", err)
		} else if int64(m.count) != count {
			prob("stats count %d, count column %d", m.count, count)
		}
		if e, ok := lastEnd[id]; ok && start <= e {
			prob("overlaps the previous block (which ends at %d)", e)
		}
		lastEnd[id] = end
		buf, err = DecodeBlock(buf[:0], data)
		if err != nil {
			prob("%v", err)
			continue
		}
		r.Samples += int64(len(buf))
		if int64(len(buf)) != count {
			prob("decoded %d samples, count column %d", len(buf), count)
		}
		checkPoints(buf, start, end, prob)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return r, err
	}

	rows, err = db.QueryContext(ctx, "SELECT tag_id, start_ns, data FROM open_chunks ORDER BY tag_id, start_ns")
	if err != nil {
		return r, err
	}
	for rows.Next() {
		var id, start int64
		var data []byte
		if err := rows.Scan(&id, &start, &data); err != nil {
			rows.Close()
			return r, err
		}
		r.OpenChunks++
		prob := func(format string, a ...any) {
			add(Problem{Tag: tagName(id), Table: "open_chunks", Block: time.Unix(0, start), Msg: fmt.Sprintf(format, a...)})
		}
		if _, ok := names[id]; !ok {
			prob("no such tag")
		}
		if e, ok := lastEnd[id]; ok && start <= e {
			prob("starts before the end of the previous block or chunk (%d)", e)
		}
		buf, err = DecodeBlock(buf[:0], data)
		if err != nil {
			prob("%v", err)
			continue
		}
		r.Samples += int64(len(buf))
		lastEnd[id] = buf[len(buf)-1].T
		checkPoints(buf, start, buf[len(buf)-1].T, prob)
	}
	rows.Close()
	return r, rows.Err()
}

// checkPoints reports unordered timestamps and a start/end that do not match the samples.
func checkPoints(pts []Point, start, end int64, prob func(string, ...any)) {
	if pts[0].T != start {
		prob("first sample at %d, start_ns %d", pts[0].T, start)
	}
	if pts[len(pts)-1].T != end {
		prob("last sample at %d, end_ns %d", pts[len(pts)-1].T, end)
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].T <= pts[i-1].T {
			prob("sample %d at %d is not after sample %d at %d", i, pts[i].T, i-1, pts[i-1].T)
			return
		}
	}
}
