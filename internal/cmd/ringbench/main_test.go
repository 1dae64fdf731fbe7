package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"
)

// TestReadChecksums runs "ringbench read" over the emn-30b reference
// snapshot: the event count and both checksums are the ones the testdata
// README states, and the line has the exact format a C reader prints.
func TestReadChecksums(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	snap := filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared", "testdata", "exec-events", "emn-30b-15m", "snapshot.zst")
	if _, err := os.Stat(snap); err != nil {
		t.Skipf("reference snapshot not available (needs ../shared/testdata next to the repository): %v", err)
	}
	line := regexp.MustCompile(`^events=(\d+) checksum=(0x[0-9a-f]{16}) ns_per_event=\d+\.\d+\n$`)
	for _, tc := range []struct{ mode, sum string }{
		{"desc", "0xc335b1710fbd9b71"},
		{"payload", "0x2eb87ffbe3b57c05"},
		{"desc-batch", "0xc335b1710fbd9b71"},
		{"payload-batch", "0x2eb87ffbe3b57c05"},
	} {
		var out bytes.Buffer
		if err := cmdRead(&out, []string{snap, "--mode", tc.mode, "--passes", "2"}); err != nil {
			t.Fatal(err)
		}
		m := line.FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("%s: output %q does not match %v", tc.mode, out.String(), line)
		}
		if m[1] != "136891" || m[2] != tc.sum {
			t.Errorf("%s: events=%s checksum=%s, want 136891 and %s", tc.mode, m[1], m[2], tc.sum)
		}
	}
}
