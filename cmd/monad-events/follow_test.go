package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
