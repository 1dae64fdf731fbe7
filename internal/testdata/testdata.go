// Package testdata locates the reference material tests read: the daemon's
// recordings under ../shared/testdata (next to the repository, never copied
// into it) and the project's own testdata directory. Every function skips
// the calling test, saying what is missing, when the material is absent.
package testdata

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
)

// root is the module root, found from this file's location so that tests
// of any package (and any working directory) agree.
var root = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}()

// SharedDir is the reference data directory, ../shared/testdata relative
// to the module root.
var SharedDir = filepath.Join(root, "..", "shared", "testdata")

// Shared returns the path of rel under SharedDir, skipping tb when it does
// not exist.
func Shared(tb testing.TB, rel string) string {
	tb.Helper()
	return exists(tb, filepath.Join(SharedDir, rel), "the tests need ../shared/testdata next to the repository")
}

// Project returns the path of rel under the repository's own testdata
// directory, skipping tb when it does not exist.
func Project(tb testing.TB, rel string) string {
	tb.Helper()
	return exists(tb, filepath.Join(root, "testdata", rel), "project test data missing")
}

// ExecCases returns every case folder under SharedDir/exec-events that
// holds a snapshot.zst (more cases, including other chains, may be added),
// sorted, skipping tb when there is none.
func ExecCases(tb testing.TB) []string {
	tb.Helper()
	dir := filepath.Join(SharedDir, "exec-events")
	snaps, _ := filepath.Glob(filepath.Join(dir, "*", "snapshot.zst"))
	if len(snaps) == 0 {
		tb.Skipf("no reference cases (*/snapshot.zst) under %s: the tests need ../shared/testdata next to the repository", dir)
	}
	for i := range snaps {
		snaps[i] = filepath.Dir(snaps[i])
	}
	sort.Strings(snaps)
	return snaps
}

func exists(tb testing.TB, p, why string) string {
	tb.Helper()
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("%s not available (%v): %s", p, err, why)
	}
	return p
}
