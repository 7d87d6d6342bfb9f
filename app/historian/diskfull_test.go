package historian

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Real-filesystem failure tests: a tmpfs that fills up, and an ext4 image that turns read-only
// under the store. They need root (mount); elsewhere they skip, saying why.

const fullTags = 100

// run runs a command and returns its combined output in the error.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// mountOrSkip mounts with `mount args... dir` and unmounts in cleanup; it skips the test when
// mounting is not permitted here.
func mountOrSkip(t *testing.T, dir string, args ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("mounts file systems")
	}
	if err := run("mount", append(args, dir)...); err != nil {
		t.Skipf("cannot mount (needs root and mount(8)): %v", err)
	}
	t.Cleanup(func() {
		if err := run("umount", dir); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
}

// fullIngest appends one batch per step (one sample per tag, value = step, random-ish so that
// the blocks do not compress well).
type fullIngest struct {
	s     *Store
	r     *rand.Rand
	step  int64 // next batch
	t     time.Time
	batch []Sample
}

func newFullIngest(s *Store) *fullIngest {
	return &fullIngest{s: s, r: rand.New(rand.NewPCG(1, 2)), t: t0, batch: make([]Sample, fullTags)}
}

// next tries to append the next batch; on success it advances.
func (f *fullIngest) next() error {
	for i := range f.batch {
		// The step in the integer part (for checking), noise in the fraction (for size).
		f.batch[i] = Sample{Tag: killTag(i), Time: f.t, Value: float64(f.step) + f.r.Float64()*0.5}
	}
	err := f.s.Append(f.batch)
	if err == nil {
		f.step++
		f.t = f.t.Add(time.Second)
	}
	return err
}

// untilRefused appends until the store pushes back with ErrBufferFull while reporting a
// writer error: the writer has failed and the bounded buffer is full.
func (f *fullIngest) untilRefused(t *testing.T, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		err := f.next()
		if errors.Is(err, ErrBufferFull) {
			if f.s.Stats().LastError != "" {
				return
			}
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		// About 100,000 samples/s: a plant's pace, not a benchmark's. At full speed one
		// commit can outgrow the space the test later frees (see TestDiskFull).
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("after %v the store still takes samples (%d batches), stats %+v", limit, f.step, f.s.Stats())
}

// resume waits for the store to take samples again by itself, then appends n more batches
// and flushes them.
func (f *fullIngest) resume(t *testing.T, n int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for f.next() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("ingest did not resume within %v: stats %+v\n%s", limit, f.s.Stats(), dirReport(f.s.path))
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i := 0; i < n; {
		if err := f.next(); err == nil {
			i++
		} else if time.Now().After(deadline) {
			t.Fatalf("ingest stalled after resuming: %v, stats %+v\n%s", err, f.s.Stats(), dirReport(f.s.path))
		} else {
			time.Sleep(time.Millisecond)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	if err := f.s.Flush(ctx); err != nil {
		t.Fatalf("Flush after resuming: %v\n%s", err, dirReport(f.s.path))
	}
	if st := f.s.Stats(); st.LastError != "" {
		t.Fatalf("LastError still %q after a successful flush", st.LastError)
	}
}

// dirReport lists the database's directory and its free space, for failure messages.
func dirReport(path string) string {
	out, _ := exec.Command("sh", "-c", "ls -l \"$0\"; df -k \"$0\"", filepath.Dir(path)).CombinedOutput()
	return string(out)
}

// buffered is the number of samples queued in the store's ingest buffer.
func buffered(s *Store) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buf)
}

// assertRefusing checks, for a while, that a failing store keeps refusing samples with
// ErrBufferFull, keeps its buffer within MaxBuffered, says why in LastError, and that the
// file still passes integrity_check.
func assertRefusing(t *testing.T, f *fullIngest, d time.Duration, why ...string) {
	t.Helper()
	s := f.s
	before := s.Stats()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if err := f.next(); !errors.Is(err, ErrBufferFull) {
			t.Fatalf("Append on a failing store: %v, want ErrBufferFull", err)
		}
		if n := buffered(s); n > s.opts.MaxBuffered {
			t.Fatalf("buffer holds %d samples, bound %d", n, s.opts.MaxBuffered)
		}
	}
	st := s.Stats()
	if st.BufferFull <= before.BufferFull || st.Ingested != before.Ingested {
		t.Errorf("stats while failing: before %+v, after %+v", before, st)
	}
	msg := strings.ToLower(st.LastError)
	ok := false
	for _, w := range why {
		ok = ok || strings.Contains(msg, w)
	}
	if !ok {
		t.Errorf("LastError %q does not say clearly what is wrong (want one of %q)", st.LastError, why)
	}
	var ic string
	if err := s.rdb.QueryRow("PRAGMA integrity_check").Scan(&ic); err != nil || ic != "ok" {
		t.Fatalf("integrity_check while failing: %q %v", ic, err)
	}
	t.Logf("refusing: %d samples buffered (bound %d); LastError %q", buffered(s), s.opts.MaxBuffered, st.LastError)
}

// assertStored reopens path and checks that every tag holds exactly batches 0..n-1.
func assertStored(t *testing.T, path string, n int64) {
	t.Helper()
	s := openTest(t, path, Options{})
	defer s.Close()
	var ic string
	if err := s.rdb.QueryRow("PRAGMA integrity_check").Scan(&ic); err != nil || ic != "ok" {
		t.Fatalf("integrity_check after reopen: %q %v", ic, err)
	}
	for _, tag := range []string{killTag(0), killTag(fullTags / 2), killTag(fullTags - 1)} {
		pts, err := s.Range(context.Background(), tag, t0, t0.Add(time.Duration(n+1)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(pts)) != n {
			t.Fatalf("%s: %d samples stored, %d accepted by Append", tag, len(pts), n)
		}
		for i, p := range pts {
			if int64(p.V) != int64(i) {
				t.Fatalf("%s: sample %d holds batch %d", tag, i, int64(p.V))
			}
		}
	}
}

// TestDiskFull fills a small tmpfs for real. While it is full, Append must refuse with
// ErrBufferFull and bounded memory, Stats must say the disk is full, and the file must stay
// sound; when space returns (first a filler file deleted, then the file system grown) ingest
// resumes by itself, and every sample Append accepted is in the file in the end.
func TestDiskFull(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mountOrSkip(t, dir, "-t", "tmpfs", "-o", "size=8m", "tmpfs")
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 2<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "h.db")
	s := openTest(t, path, Options{FlushInterval: 100 * time.Millisecond, MaxBuffered: 20_000})
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()
	f := newFullIngest(s)

	f.untilRefused(t, 30*time.Second)
	assertRefusing(t, f, time.Second, "full")
	t.Logf("full after %d batches of %d tags", f.step, fullTags)

	// Space returns: the filler goes.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	f.resume(t, 200, 10*time.Second)
	t.Logf("resumed after the filler was deleted: %d batches", f.step)

	// Full again; then the file system grows.
	f.untilRefused(t, 30*time.Second)
	assertRefusing(t, f, 500*time.Millisecond, "full")
	if err := run("mount", "-o", "remount,size=64m", dir); err != nil {
		t.Fatal(err)
	}
	f.resume(t, 200, 10*time.Second)
	t.Logf("resumed after the file system grew: %d batches", f.step)

	closed = true
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertStored(t, path, f.step)
}

// TestReadOnlyFS turns the file system under a running store read-only, as ext4 does on an
// I/O error (errors=remount-ro), using ext4's trigger_fs_error. (A tmpfs cannot be remounted
// read-only while the store holds its files open for writing, and as root chmod changes
// nothing.) The store must refuse samples with bounded memory, say why, not hang Flush or
// Close, and leave a sound file holding everything flushed before. Such a file system stays
// read-only until it is unmounted, so ingest resumes in a new Store after a remount.
func TestReadOnlyFS(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts file systems")
	}
	tmp := t.TempDir()
	img, dir := filepath.Join(tmp, "ext4.img"), filepath.Join(tmp, "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 32<<20); err != nil {
		t.Fatal(err)
	}
	if err := run("mkfs.ext4", "-q", "-F", img); err != nil {
		t.Skipf("no ext4 image: %v", err)
	}
	mountOrSkip(t, dir, "-o", "loop,errors=remount-ro", img)
	src, err := exec.Command("findmnt", "-no", "SOURCE", dir).Output()
	if err != nil {
		t.Skipf("findmnt: %v", err)
	}
	trigger := filepath.Join("/sys/fs/ext4", filepath.Base(strings.TrimSpace(string(src))), "trigger_fs_error")
	if _, err := os.Stat(trigger); err != nil {
		t.Skipf("no ext4 trigger_fs_error: %v", err)
	}

	path := filepath.Join(dir, "h.db")
	s := openTest(t, path, Options{FlushInterval: 100 * time.Millisecond, MaxBuffered: 20_000})
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()
	f := newFullIngest(s)
	ingest := func(n int) {
		for i := 0; i < n; i++ {
			err := f.next()
			for errors.Is(err, ErrBufferFull) && s.Stats().LastError == "" {
				time.Sleep(time.Millisecond) // a healthy writer that is behind: wait for it
				err = f.next()
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// Written back to the device (as the kernel does within dirty_expire, 30 s): these must
	// survive. The next batches are committed (synchronous=NORMAL: no fsync per commit) but
	// still in the page cache, which an ext4 that turns read-only throws away, as a power cut
	// would.
	ingest(300)
	syscall.Sync()
	synced := f.step
	ingest(300)
	flushed := f.step

	if err := os.WriteFile(trigger, []byte("1"), 0); err != nil {
		t.Fatalf("trigger_fs_error: %v", err)
	}
	f.untilRefused(t, 20*time.Second)
	assertRefusing(t, f, time.Second, "read-only", "readonly")

	// Flush and Close report the failure promptly instead of hanging.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Flush on a read-only file system: %v, want the writer's error at once", err)
	}
	closed = true
	closeErr := make(chan error, 1)
	go func() { closeErr <- s.Close() }()
	select {
	case err := <-closeErr:
		if err == nil {
			t.Errorf("Close on a read-only file system returned nil; samples were not committed")
		}
		t.Logf("Close: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs on a read-only file system")
	}

	// Remount (the only way back for an ext4 that turned read-only) and carry on.
	if err := run("umount", dir); err != nil {
		t.Fatal(err)
	}
	if err := run("mount", "-o", "loop,errors=remount-ro", img, dir); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path, Options{})
	closed = false
	var ic string
	if err := s.rdb.QueryRow("PRAGMA integrity_check").Scan(&ic); err != nil || ic != "ok" {
		t.Fatalf("integrity_check after remount: %q %v", ic, err)
	}
	pts, err := s.Range(context.Background(), killTag(0), t0, t0.Add(time.Duration(f.step+1)*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(pts)) < synced {
		t.Fatalf("%d samples after remount, %d were flushed and synced", len(pts), synced)
	}
	t.Logf("after remount: %d batches stored; %d were synced, %d flushed, %d accepted", len(pts), synced, flushed, f.step)
	for i, p := range pts {
		if int64(p.V) != int64(i) {
			t.Fatalf("sample %d holds batch %d: not a gap-free prefix", i, int64(p.V))
		}
	}
	f.s, f.step, f.t = s, int64(len(pts)), t0.Add(time.Duration(len(pts))*time.Second)
	f.resume(t, 200, 10*time.Second)
	closed = true
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	assertStored(t, path, f.step)
}
