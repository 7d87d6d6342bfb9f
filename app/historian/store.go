package historian

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Options tunes a Store. Zero values take the defaults noted on each field.
type Options struct {
	// BlockMaxSamples seals a tag's open block at this many samples (default 2048).
	BlockMaxSamples int
	// BlockMaxSpan seals a tag's open block when a new sample is this far after the block's
	// first sample (default 5 minutes). Short blocks let long trends use the precomputed
	// per-block statistics instead of decoding.
	BlockMaxSpan time.Duration
	// FlushInterval is how often the writer commits (default 500 ms). It bounds what a crash
	// can lose: samples appended within the last FlushInterval, plus the commit in flight.
	FlushInterval time.Duration
	// CommitBlocks makes the writer commit early once this many sealed blocks wait (default 1024).
	CommitBlocks int
	// MaxBuffered bounds the samples Append may queue ahead of the writer (default 262144);
	// beyond it Append returns ErrBufferFull.
	MaxBuffered int
	// CheckpointInterval is how often the writer runs PRAGMA wal_checkpoint(TRUNCATE)
	// (default 30 s), so that the WAL cannot grow without bound under constant reads.
	CheckpointInterval time.Duration
	// Readers is the size of the read-only connection pool (default 4).
	Readers int

	// RetainFor, when positive, prunes sealed blocks whose last sample is older than
	// now - RetainFor.
	RetainFor time.Duration
	// RetainBytes, when positive, prunes the oldest sealed blocks (across tags) while the
	// file's data (used pages) exceeds it. A tag's newest block is never pruned by either rule.
	RetainBytes int64
	// RetentionInterval is how often the writer applies the retention rules (default 1 minute;
	// also once at Open).
	RetentionInterval time.Duration

	now func() time.Time // the clock retention uses; tests replace it
}

func (o *Options) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.BlockMaxSamples, 2048)
	defd(&o.BlockMaxSpan, 5*time.Minute)
	defd(&o.FlushInterval, 500*time.Millisecond)
	def(&o.CommitBlocks, 1024)
	def(&o.MaxBuffered, 1<<18)
	defd(&o.CheckpointInterval, 30*time.Second)
	def(&o.Readers, 4)
	defd(&o.RetentionInterval, time.Minute)
	if o.now == nil {
		o.now = time.Now
	}
}

var (
	// ErrBufferFull is returned by Append when the writer is behind (or failing, e.g. on a full
	// disk) and the bounded buffer has no room: the batch was not accepted.
	ErrBufferFull = errors.New("historian: ingest buffer full")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("historian: store closed")
	// ErrUnknownTag is returned by queries for a tag that has never been stored.
	ErrUnknownTag = errors.New("historian: unknown tag")
)

// Store is one historian database file. It is safe for concurrent use: any number of
// goroutines may Append and query; one internal writer goroutine owns the write connection.
type Store struct {
	path string
	opts Options
	wdb  *sql.DB // one connection, _txlock=immediate; used only by the writer goroutine
	rdb  *sql.DB // read-only pool (query_only)

	// Ingest buffer (bounded), handed to the writer by swapping slices.
	mu     sync.Mutex
	buf    []Sample
	spare  []Sample
	units  map[string]string      // SetUnit calls waiting for the writer
	comps  map[string]Compression // SetCompression calls waiting for the writer
	closed bool
	wake   chan struct{}

	flushReq  chan chan error
	jobs      chan *job
	pruneKick chan struct{} // a retention pass has more batches to run
	closing   chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	// Series by name. Only the writer adds to it (under seriesMu); readers take RLock.
	seriesMu sync.RWMutex
	byName   map[string]*series

	// Writer-only state.
	nextID    int64
	newTags   []*series
	dirty     map[*series]struct{}
	unitDirty map[*series]struct{} // existing tags whose unit changed
	compDirty map[*series]struct{} // existing tags whose compression changed
	failing   error
	npending  int // sealed blocks waiting for the next commit

	stats struct {
		appended, ingested, outOfOrder, bufferFull, commits atomic.Int64
		compressed, prunedBlocks, prunedSamples             atomic.Int64
		lastPrune, pruneBatchMax                            atomic.Int64 // Unix ns; ns
		lastErr                                             atomic.Pointer[string]
	}
}

// series is one tag's in-memory state: its unsealed samples, sealed blocks not yet committed,
// and its latest sample. mu guards the fields readers see; the writer is the only mutator.
type series struct {
	id   int64
	name string
	unit string      // guarded by mu
	conf Compression // guarded by mu

	mu      sync.RWMutex
	open    []Point     // unsealed samples, oldest first
	pending []*blockRec // sealed, not yet committed
	last    Point
	hasLast bool

	// Writer-only.
	persisted   int  // open[:persisted] are stored in open_chunks
	chunkRows   bool // open_chunks holds rows for this tag
	sealedSince bool // a block sealed since the last commit: its chunks must be deleted
	comp        *compressor
	snapRow     bool  // open_chunks holds the held snapshot as a one-sample row at snapT
	snapT       int64 //
}

// held reports whether open's last sample is the compressor's undecided snapshot. It is
// stored in its own open_chunks row, replaced at each commit, so the newest value is always
// in the file while the samples before it are written once.
func (sr *series) held() int {
	if sr.comp != nil && sr.comp.hasSnap {
		return 1
	}
	return 0
}

func dsn(path string, pragmas ...string) string {
	var b strings.Builder
	b.WriteString("file:")
	b.WriteString(path)
	sep := byte('?')
	for _, p := range pragmas {
		b.WriteByte(sep)
		b.WriteString(p)
		sep = '&'
	}
	return b.String()
}

// Open opens (creating if needed) the historian database at path and starts its writer.
// A database whose schema is newer than SchemaVersion is refused with ErrNewerSchema and
// left untouched.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	opts.setDefaults()
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("historian: database path %q must not contain '?' or '#'", path)
	}
	// Check the version before any connection with pragmas touches the file (journal_mode=WAL
	// alone would rewrite its header).
	v, err := readUserVersion(ctx, path)
	if err != nil {
		return nil, err
	}
	if v > SchemaVersion {
		return nil, fmt.Errorf("%w: %s has schema version %d, this build knows up to %d; use a newer Minebrain",
			ErrNewerSchema, path, v, SchemaVersion)
	}
	wdb, err := openWriter(ctx, path)
	if err != nil {
		return nil, err
	}
	rdb, err := sql.Open("sqlite", dsn(path,
		"_pragma=busy_timeout(5000)", "_pragma=query_only(1)", "_pragma=cache_size(-16384)"))
	if err != nil {
		wdb.Close()
		return nil, err
	}
	rdb.SetMaxOpenConns(opts.Readers)
	rdb.SetMaxIdleConns(opts.Readers)

	s := &Store{
		path: path, opts: opts, wdb: wdb, rdb: rdb,
		wake:      make(chan struct{}, 1),
		flushReq:  make(chan chan error),
		jobs:      make(chan *job),
		comps:     map[string]Compression{},
		pruneKick: make(chan struct{}, 1),
		closing:   make(chan struct{}),
		done:      make(chan struct{}),
		byName:    map[string]*series{},
		dirty:     map[*series]struct{}{},
		units:     map[string]string{},

		unitDirty: map[*series]struct{}{},
		compDirty: map[*series]struct{}{},
	}
	if err := s.load(ctx); err != nil {
		wdb.Close()
		rdb.Close()
		return nil, err
	}
	go s.writer()
	return s, nil
}

// busyRetry bounds how long Open retries a file another process is creating or migrating.
const busyRetry = 10 * time.Second

// openWriter opens the single write connection and brings the schema up to date. Switching a
// new file to WAL takes an exclusive lock for which SQLite does not wait (busy_timeout does
// not apply), so when another process is creating the same file at that moment (an admin's
// `minebrain users add` as Minebrain starts) it retries for a while instead of failing.
func openWriter(ctx context.Context, path string) (*sql.DB, error) {
	deadline := time.Now().Add(busyRetry)
	for {
		wdb, err := sql.Open("sqlite", dsn(path,
			"_pragma=busy_timeout(5000)", "_pragma=journal_mode(WAL)", "_pragma=synchronous(NORMAL)",
			"_pragma=cache_size(-32768)", "_txlock=immediate"))
		if err != nil {
			return nil, err
		}
		wdb.SetMaxOpenConns(1)
		wdb.SetMaxIdleConns(1)
		wdb.SetConnMaxLifetime(0)
		err = migrate(ctx, wdb, path)
		if err == nil {
			return wdb, nil
		}
		wdb.Close()
		if !strings.Contains(err.Error(), "SQLITE_BUSY") || time.Now().After(deadline) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// load reads tags, each tag's latest sealed sample and the open (unsealed) chunks.
func (s *Store) load(ctx context.Context) error {
	rows, err := s.wdb.QueryContext(ctx, `SELECT id, name, unit, compression, deviation,
		deviation_pct, span, max_interval_ns FROM tags ORDER BY id`)
	if err != nil {
		return err
	}
	byID := map[int64]*series{}
	for rows.Next() {
		sr := &series{}
		c := &sr.conf
		if err := rows.Scan(&sr.id, &sr.name, &sr.unit, &c.Kind, &c.Deviation, &c.DeviationPct,
			&c.Span, &c.MaxInterval); err != nil {
			rows.Close()
			return err
		}
		s.byName[sr.name] = sr
		byID[sr.id] = sr
		if sr.id >= s.nextID {
			s.nextID = sr.id + 1
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if s.nextID == 0 {
		s.nextID = 1
	}
	for _, sr := range byID {
		var m blockMeta
		var stats []byte
		err := s.wdb.QueryRowContext(ctx, `SELECT start_ns, end_ns, stats FROM blocks
			WHERE tag_id = ? ORDER BY start_ns DESC LIMIT 1`, sr.id).Scan(&m.start, &m.end, &stats)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		if err := m.parseStats(stats); err != nil {
			return fmt.Errorf("historian: last block of %s: %w", sr.name, err)
		}
		sr.last, sr.hasLast = m.last, true
	}
	rows, err = s.wdb.QueryContext(ctx, "SELECT tag_id, data FROM open_chunks ORDER BY tag_id, start_ns")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return err
		}
		sr := byID[id]
		if sr == nil {
			return fmt.Errorf("historian: open chunk for unknown tag id %d", id)
		}
		if sr.open, err = DecodeBlock(sr.open, data); err != nil {
			return fmt.Errorf("historian: open chunk of %s: %w", sr.name, err)
		}
		sr.persisted = len(sr.open)
		sr.chunkRows = true
		sr.last, sr.hasLast = sr.open[len(sr.open)-1], true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// A snapshot held at the last Close (or crash) is stored now: compression restarts from it.
	for _, sr := range byID {
		sr.comp = newCompressor(sr.conf, sr.last, sr.hasLast)
	}
	return nil
}

func nullFloat(v sql.NullFloat64) float64 {
	if !v.Valid {
		return nan
	}
	return v.Float64
}

// Close flushes everything appended so far, checkpoints the WAL and closes the file.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.closing)
		<-s.done
		s.closeErr = s.failing
		if _, err := s.wdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil && s.closeErr == nil {
			s.closeErr = err
		}
		if err := s.rdb.Close(); err != nil && s.closeErr == nil {
			s.closeErr = err
		}
		if err := s.wdb.Close(); err != nil && s.closeErr == nil {
			s.closeErr = err
		}
	})
	return s.closeErr
}

// Stats are ingest counters since Open.
type Stats struct {
	Appended   int64 // samples accepted by Append
	Ingested   int64 // samples the writer took into tag series (queryable; durable at the next commit)
	OutOfOrder int64 // samples dropped: not newer than the tag's latest sample
	BufferFull int64 // samples refused by Append with ErrBufferFull
	Commits    int64 // write transactions committed
	// Compressed counts samples dropped by compression (Deadband, SwingingDoor); they were
	// queryable while they were the newest sample of their tag.
	Compressed int64
	// PrunedBlocks and PrunedSamples count what retention deleted; LastPrune is when a
	// retention pass last finished (zero: never); PruneBatchMax is the longest retention
	// transaction, i.e. the longest the writer was held up by retention.
	PrunedBlocks, PrunedSamples int64
	LastPrune                   time.Time
	PruneBatchMax               time.Duration
	LastError                   string // the writer's last error, "" once a commit succeeds again
	Tags                        int
}

// Stats returns ingest counters.
func (s *Store) Stats() Stats {
	st := Stats{
		Appended:   s.stats.appended.Load(),
		Ingested:   s.stats.ingested.Load(),
		OutOfOrder: s.stats.outOfOrder.Load(),
		BufferFull: s.stats.bufferFull.Load(),
		Commits:    s.stats.commits.Load(),
		Compressed: s.stats.compressed.Load(),

		PrunedBlocks:  s.stats.prunedBlocks.Load(),
		PrunedSamples: s.stats.prunedSamples.Load(),
		PruneBatchMax: time.Duration(s.stats.pruneBatchMax.Load()),
	}
	if ns := s.stats.lastPrune.Load(); ns != 0 {
		st.LastPrune = time.Unix(0, ns)
	}
	if p := s.stats.lastErr.Load(); p != nil {
		st.LastError = *p
	}
	s.seriesMu.RLock()
	st.Tags = len(s.byName)
	s.seriesMu.RUnlock()
	return st
}

func (s *Store) lookup(name string) *series {
	s.seriesMu.RLock()
	defer s.seriesMu.RUnlock()
	return s.byName[name]
}

// TagInfo describes a stored tag.
type TagInfo struct {
	Name        string
	Unit        string
	Compression Compression
}

// Tags lists the stored tags (including those not yet committed), in no particular order.
func (s *Store) Tags() []TagInfo {
	s.seriesMu.RLock()
	defer s.seriesMu.RUnlock()
	out := make([]TagInfo, 0, len(s.byName))
	for _, sr := range s.byName {
		sr.mu.RLock()
		out = append(out, TagInfo{Name: sr.name, Unit: sr.unit, Compression: sr.conf})
		sr.mu.RUnlock()
	}
	return out
}

// SetUnit records a tag's engineering unit (e.g. "kW"), creating the tag if it is new. Like
// Append it does not block; the unit is stored at the next commit.
func (s *Store) SetUnit(tag, unit string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.units[tag] = unit
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// SetCompression sets a tag's compression, creating the tag if it is new; it is stored in the
// tags table and kept across restarts. Like SetUnit it does not block: the writer applies it to
// the samples it takes after it (so also to samples appended just before the call and not yet
// taken), and the held snapshot under the old setting is stored.
func (s *Store) SetCompression(tag string, c Compression) error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("%w for %s: %+v", err, tag, c)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.comps[tag] = c
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}
