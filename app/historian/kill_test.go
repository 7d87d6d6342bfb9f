package historian

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	killEnv    = "HISTORIAN_KILL_CHILD_DB"
	killTags   = 50 // samples per batch: one per tag, all with the batch's timestamp
	killRounds = 20
)

// killMaxLoss is the durability promise under test: a crash loses at most the last
// FlushInterval (500 ms) plus the commit in flight; one second leaves room for a slow commit.
// Under the race detector a commit at this ingest rate takes several times longer.
func killMaxLoss() time.Duration {
	if raceEnabled {
		return 3 * time.Second
	}
	return time.Second
}

func killTag(i int) string { return fmt.Sprintf("k%02d", i) }

// TestKillChild is the writer process of TestSIGKILL; it does nothing in a normal run.
//
// It appends batches as fast as the store takes them, with default Options (the product's
// durability), timestamps from the wall clock and the batch's sequence number as value. On
// stdout it reports, one write per line so that a kill never tears a line:
//
//	a STEP NS   batch STEP (time NS) was accepted by Append
//	f STEP      every batch up to STEP is committed (Flush returned)
func TestKillChild(t *testing.T) {
	path := os.Getenv(killEnv)
	if path == "" {
		t.Skip("helper process for TestSIGKILL")
	}
	ctx := context.Background()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	step := int64(0)
	if l := s.Latest([]string{killTag(0)})[0]; l.OK {
		step = int64(l.Point.V) + 1
	}
	appended := make(chan int64, 1) // the newest step appended, for the flusher
	go func() {
		last := int64(-1)
		for {
			time.Sleep(100 * time.Millisecond)
			select {
			case last = <-appended:
			default:
			}
			if err := s.Flush(ctx); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			if last >= 0 {
				os.Stdout.WriteString("f " + strconv.FormatInt(last, 10) + "\n")
			}
		}
	}()
	batch := make([]Sample, killTags)
	prev := int64(0)
	for ; ; step++ {
		ns := max(time.Now().UnixNano(), prev+1) // strictly increasing per tag
		prev = ns
		for i := range batch {
			batch[i] = Sample{Tag: killTag(i), Time: time.Unix(0, ns), Value: float64(step)}
		}
		for s.Append(batch) == ErrBufferFull {
			time.Sleep(200 * time.Microsecond)
		}
		os.Stdout.WriteString("a " + strconv.FormatInt(step, 10) + " " + strconv.FormatInt(ns, 10) + "\n")
		select {
		case <-appended: // replace the unread value
		default:
		}
		appended <- step
	}
}

// killReport is what the parent learned from a child's stdout.
type killReport struct {
	step, ns int64 // newest batch accepted by Append (-1: none)
	flushed  int64 // newest batch known committed (-1: none)
	err      string
}

// TestSIGKILL kills a writer process with SIGKILL during full-speed ingest, killRounds times at
// varying moments. After each kill the file must open and pass PRAGMA integrity_check, every
// tag must hold a gap-free prefix of the batches containing everything flushed, and the
// samples lost must span at most killMaxLoss: from the newest sample in the file to the newest
// the child had handed to Append.
func TestSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	path := filepath.Join(t.TempDir(), "kill.db")
	r := rand.New(rand.NewPCG(7, 7))
	var worst time.Duration
	var kept int64
	for round := 0; round < killRounds; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), killEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		started := make(chan struct{}) // the first flush is reported
		final := make(chan killReport, 1)
		go func() {
			rep := killReport{step: -1, flushed: -1}
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				switch {
				case len(f) == 3 && f[0] == "a":
					rep.step, _ = strconv.ParseInt(f[1], 10, 64)
					rep.ns, _ = strconv.ParseInt(f[2], 10, 64)
				case len(f) == 2 && f[0] == "f":
					if rep.flushed < 0 {
						close(started)
					}
					rep.flushed, _ = strconv.ParseInt(f[1], 10, 64)
				case len(f) > 0 && f[0] == "error":
					rep.err = sc.Text()
				}
			}
			final <- rep
		}()
		select {
		case <-started:
		case <-time.After(20 * time.Second):
		}
		// Kill at varying points: 50-650 ms into the ingest, across commits and block seals.
		time.Sleep(time.Duration(50+r.IntN(600)) * time.Millisecond)
		cmd.Process.Kill() // SIGKILL
		cmd.Wait()
		rep := <-final
		if rep.err != "" {
			t.Fatalf("round %d: child: %s", round, rep.err)
		}
		if rep.flushed < 0 {
			t.Fatalf("round %d: child never flushed", round)
		}

		s := openTest(t, path, Options{})
		var ic string
		if err := s.rdb.QueryRow("PRAGMA integrity_check").Scan(&ic); err != nil || ic != "ok" {
			t.Fatalf("round %d: integrity_check %q %v", round, ic, err)
		}
		// Every tag ends at the same batch: a commit is all or nothing.
		names := make([]string, killTags)
		for i := range names {
			names[i] = killTag(i)
		}
		newest := s.Latest(names)
		for _, l := range newest {
			if !l.OK || l.Point != newest[0].Point {
				t.Fatalf("round %d: %s newest %+v, %s newest %+v", round, l.Tag, l.Point, newest[0].Tag, newest[0].Point)
			}
		}
		last := newest[0].Point
		if int64(last.V) < rep.flushed || int64(last.V) > rep.step {
			t.Fatalf("round %d: newest stored batch %d; flushed %d, appended %d", round, int64(last.V), rep.flushed, rep.step)
		}
		// A gap-free prefix: batch i is the i-th sample (checked on two tags: decoding all
		// of them each round would dominate the test's time).
		for _, tag := range []string{killTag(0), killTag(killTags - 1)} {
			pts, err := s.Range(context.Background(), tag, time.Unix(0, 0), time.Unix(0, last.T+1))
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range pts {
				if p.V != float64(i) || (i > 0 && p.T <= pts[i-1].T) {
					t.Fatalf("round %d %s: point %d is %+v: not a gap-free prefix", round, tag, i, p)
				}
			}
			if len(pts) == 0 || pts[len(pts)-1] != last {
				t.Fatalf("round %d %s: Range ends at %d points, Latest is %+v", round, tag, len(pts), last)
			}
		}
		loss := time.Duration(rep.ns - last.T)
		worst = max(worst, loss)
		kept = int64(last.V) + 1
		t.Logf("round %d: appended up to batch %d, flushed %d, stored %d: lost %d batches, %v of samples",
			round, rep.step, rep.flushed, int64(last.V), rep.step-int64(last.V), loss.Round(time.Millisecond))
		if loss > killMaxLoss() {
			t.Errorf("round %d: lost %v of samples (more than %v)", round, loss, killMaxLoss())
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d kills: worst loss %v; %d batches of %d tags kept", killRounds, worst.Round(time.Millisecond), kept, killTags)
}
