package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The end-to-end tests run the real binary, built once by TestMain.

var (
	update  = flag.Bool("update", false, "rewrite the golden files under testdata/ from the current output")
	binPath string // path of the built monad-events
)

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "monad-events-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binPath = filepath.Join(dir, "monad-events")
	// Built without -race even when the tests run with it: the binary is
	// the product under test, and a race build would make the live tests
	// slow on a two-core machine.
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building monad-events:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one run of the binary produced.
type result struct {
	stdout, stderr string
	code           int
}

// runCmd runs the binary with args and a deadline; a run that does not end
// in time fails the test (a hang is a bug too). Timestamps print in UTC so
// that output does not depend on the machine's time zone.
func runCmd(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	// Stdout goes to a file, read back once at its final size: outputs of
	// tens of MB (blocks --json of emn-30b) grown in a bytes.Buffer through
	// a pipe cost seconds of copying and page faults under -race.
	outFile, err := os.CreateTemp("", "monad-events-stdout-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(outFile.Name())
	defer outFile.Close()
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = outFile, &errb
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("monad-events %s: still running after %v (hang)\nstderr:\n%s", strings.Join(args, " "), timeout, tail(errb.String()))
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("monad-events %s: %v", strings.Join(args, " "), err)
	}
	return result{readAll(t, outFile), errb.String(), code}
}

// readAll returns the contents of f from its start, read into one
// allocation of its size.
func readAll(t *testing.T, f *os.File) string {
	t.Helper()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	out.Grow(int(fi.Size()))
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(&out, f); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// mustRun runs the binary and fails the test unless it exits with status 0.
func mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := runCmd(t, 2*time.Minute, args...)
	if r.code != 0 {
		t.Fatalf("monad-events %s: exit status %d\nstderr:\n%s", strings.Join(args, " "), r.code, tail(r.stderr))
	}
	return r
}

func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// sharedFile returns a file of the read-only reference data beside the
// repository (../shared), skipping the test when it is absent.
func sharedFile(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "..", "shared", "testdata", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("reference data %s not present (%v): the reference tests need ../shared beside the repository", rel, err)
	}
	return p
}

// demoSnapshot returns the project's demo snapshot, skipping when it has not
// been generated yet.
func demoSnapshot(t *testing.T) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "testdata", "demo.snapshot.zst")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("demo snapshot missing (%v); generate it with go run ./internal/cmd/mkdemo", err)
	}
	return p
}

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (create it: go test ./cmd/monad-events -run %s -args -update)", err, t.Name())
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\n(%d vs %d lines; after a deliberate change: go test ./cmd/monad-events -run TestDemoGolden -args -update)",
					p, i+1, gl[i], wl[i], len(gl), len(wl))
			}
		}
		t.Fatalf("%s: got %d lines, want %d", p, len(gl), len(wl))
	}
}
