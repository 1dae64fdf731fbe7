package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTruncatedRing: truncate -s 0 on a ring while replay writes it and
// watch and blocks read it. Each of the three ends with status 1 and one
// line naming the truncated file, instead of the fault that used to kill
// them ("internal error: runtime error: invalid memory address").
func TestTruncatedRing(t *testing.T) {
	src := replaySource(t)
	ring := filepath.Join(t.TempDir(), "cut-ring")
	replay, replayErr := start(t, "replay", "--loop", "--rate", "20000", src, ring)
	waitFile(t, ring)
	watch, watchErr := start(t, "watch", ring)
	blocks, blocksErr := start(t, "blocks", ring)
	time.Sleep(time.Second)
	if err := os.Truncate(ring, 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		cmd    *exec.Cmd
		stderr *strings.Builder
	}{{"replay", replay, replayErr}, {"watch", watch, watchErr}, {"blocks", blocks, blocksErr}} {
		code := waitExit(t, c.cmd, 10*time.Second)
		lines := strings.Split(strings.TrimSpace(c.stderr.String()), "\n")
		last := lines[len(lines)-1]
		if code != 1 || !strings.HasPrefix(last, "monad-events: ") || !strings.Contains(last, ring+": ring file truncated") ||
			strings.Contains(c.stderr.String(), "internal error") {
			t.Errorf("%s after the truncation: status %d, stderr:\n%s", c.name, code, c.stderr.String())
		}
		t.Logf("%s: %s", c.name, last)
	}
}

// inode returns the inode number of the file at path (0 if none).
func inode(path string) uint64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

// waitExit waits for cmd to end and returns its exit status; a command
// still running after timeout fails the test.
func waitExit(t *testing.T, cmd *exec.Cmd, timeout time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(timeout):
		t.Fatalf("%s did not end within %v", strings.Join(cmd.Args, " "), timeout)
		return -1
	}
}

// TestWaitRestarts: watch --wait and blocks --wait follow a ring path
// through four replays (standing in for a daemon's runs): the path is
// missing when they start, two replays end normally, two are killed with
// SIGKILL mid-run (their ring stays behind without a writer, possibly with
// a reservation never committed). Each replay's ring is read afterwards by
// plain watch and blocks (--start oldest) as the reference: the followers'
// output is exactly those outputs concatenated, every event and every
// block of every run, with one restart notice on stderr per new ring.
func TestWaitRestarts(t *testing.T) {
	src := replaySource(t)
	ring := filepath.Join(t.TempDir(), "restarted-ring")
	blocksCmd, blocksErr := start(t, "blocks", "--wait", ring)
	watchCmd, watchErr := start(t, "watch", "--wait", ring)
	time.Sleep(300 * time.Millisecond) // both wait for the path
	var wantBlocks, wantWatch strings.Builder
	const runs = 4
	for i := 1; i <= runs; i++ {
		if i%2 == 1 {
			mustRun(t, "replay", "--rate", "5000", src, ring)
		} else {
			old := inode(ring)
			replay, _ := start(t, "replay", "--loop", "--rate", "5000", src, ring)
			// The previous run's ring is still there: wait for the new one.
			for deadline := time.Now().Add(20 * time.Second); inode(ring) == old; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("replay did not create its ring")
				}
			}
			time.Sleep(time.Duration(200+100*i) * time.Millisecond)
			if err := replay.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			waitExit(t, replay, 10*time.Second)
		}
		wantBlocks.WriteString(mustRun(t, "blocks", "--start", "oldest", ring).stdout)
		wantWatch.WriteString(mustRun(t, "watch", "--start", "oldest", ring).stdout)
	}
	// Let the followers catch up with the last ring, then stop them.
	time.Sleep(time.Second)
	for _, c := range []*exec.Cmd{blocksCmd, watchCmd} {
		if err := c.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		if code := waitExit(t, c, 10*time.Second); code != 0 {
			t.Errorf("%s: status %d", strings.Join(c.Args, " "), code)
		}
	}
	for _, c := range []struct {
		name      string
		got, want string
		stderr    string
	}{
		{"blocks", blocksCmd.Stdout.(*strings.Builder).String(), wantBlocks.String(), blocksErr.String()},
		{"watch", watchCmd.Stdout.(*strings.Builder).String(), wantWatch.String(), watchErr.String()},
	} {
		if c.got != c.want || !strings.Contains(c.want, "\n") {
			t.Errorf("%s --wait printed %d lines, want %d (the replays' rings read one by one):\n%s",
				c.name, strings.Count(c.got, "\n"), strings.Count(c.want, "\n"), tail(c.stderr))
		}
		if n := strings.Count(c.stderr, "new ring:"); n != runs-1 {
			t.Errorf("%s: %d restart notices, want %d:\n%s", c.name, n, runs-1, c.stderr)
		}
		if n := strings.Count(c.stderr, "waiting for a ring:"); n != runs+1 {
			t.Errorf("%s: %d wait notices, want %d:\n%s", c.name, n, runs+1, c.stderr)
		}
	}
	if n := strings.Count(wantBlocks.String(), "Proposed "); n < 4*runs {
		t.Errorf("only %d blocks proposed in %d runs", n, runs)
	}
}
