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

// existing checks that path is an existing historian file and returns its schema version.
func existing(ctx context.Context, path string) (int, error) {
	if strings.ContainsAny(path, "?#") {
		return 0, fmt.Errorf("historian: database path %q must not contain '?' or '#'", path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("historian: %s does not exist", path)
		}
		return 0, err
	}
	if fi.IsDir() {
		return 0, fmt.Errorf("historian: %s is a directory", path)
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
func openReadOnly(ctx context.Context, path string) (*sql.DB, int, error) {
	v, err := existing(ctx, path)
	if err != nil {
		return nil, 0, err
	}
	db, err := sql.Open("sqlite", dsn(path, "mode=ro", "_pragma=busy_timeout(5000)"))
	if err != nil {
		return nil, 0, err
	}
	db.SetMaxOpenConns(1)
	return db, v, nil
}

// Span returns the time of a tag's first and last sample; ok is false when it has none.
func (s *Store) Span(ctx context.Context, tag string) (first, last time.Time, ok bool, err error) {
	sr := s.lookup(tag)
	if sr == nil {
		return first, last, false, fmt.Errorf("%w: %q", ErrUnknownTag, tag)
	}
	mem := sr.snapshot()
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
	f := mem.start()
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
