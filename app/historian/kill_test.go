package historian

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const killEnv = "HISTORIAN_KILL_CHILD_DB"

// TestKillChild is the writer process of TestSIGKILL; it does nothing in a normal run.
func TestKillChild(t *testing.T) {
	path := os.Getenv(killEnv)
	if path == "" {
		t.Skip("helper process for TestSIGKILL")
	}
	ctx := context.Background()
	s, err := Open(ctx, path, Options{FlushInterval: 100 * time.Millisecond, BlockMaxSamples: 200})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	i := int64(0)
	if l := s.Latest([]string{"k0"})[0]; l.OK {
		i = int64(l.Point.V) + 1
	}
	for n := 0; ; n++ {
		batch := make([]Sample, 0, 100)
		for j := 0; j < 10; j++ {
			for tag := 0; tag < 10; tag++ {
				batch = append(batch, Sample{Tag: fmt.Sprintf("k%d", tag), Time: t0.Add(time.Duration(i) * time.Millisecond), Value: float64(i)})
			}
			i++
		}
		for s.Append(batch) == ErrBufferFull {
			time.Sleep(time.Millisecond)
		}
		if n%50 == 49 {
			if err := s.Flush(ctx); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			fmt.Println("flushed", i-1)
		}
	}
}

// TestSIGKILL kills a writer process during ingest several times: the database always opens,
// passes integrity_check, and holds a gap-free prefix containing everything flushed.
func TestSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	path := filepath.Join(t.TempDir(), "kill.db")
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), killEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		flushed, lines := int64(-1), 0
		for lines < 4 && sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 2 && f[0] == "flushed" {
				flushed, _ = strconv.ParseInt(f[1], 10, 64)
				lines++
			} else if len(f) > 0 && f[0] == "error" {
				t.Fatal(sc.Text())
			}
		}
		time.Sleep(time.Duration(20+round*37) * time.Millisecond) // kill at varying points
		cmd.Process.Kill()                                        // SIGKILL
		cmd.Wait()
		if flushed < 0 {
			t.Fatal("child never flushed")
		}
		s := openTest(t, path, Options{})
		var ic string
		if err := s.rdb.QueryRow("PRAGMA integrity_check").Scan(&ic); err != nil || ic != "ok" {
			t.Fatalf("round %d: integrity_check %q %v", round, ic, err)
		}
		kept := 0
		for tag := 0; tag < 10; tag++ {
			pts, err := s.Range(context.Background(), fmt.Sprintf("k%d", tag), t0, t0.Add(1000*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range pts {
				if p.V != float64(i) || p.T != t0.Add(time.Duration(i)*time.Millisecond).UnixNano() {
					t.Fatalf("round %d k%d: point %d is %+v: not a gap-free prefix", round, tag, i, p)
				}
			}
			kept = len(pts)
			if int64(len(pts)) <= flushed {
				t.Fatalf("round %d k%d: %d points, but %d were flushed", round, tag, len(pts), flushed+1)
			}
		}
		t.Logf("round %d: %d samples per tag flushed before the kill, %d kept", round, flushed+1, kept)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
