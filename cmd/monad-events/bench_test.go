package main

import (
	"path/filepath"
	"testing"

	"github.com/monadgo/events/eventring"
)

func BenchmarkWatchLine(b *testing.B) {
	benchmarkWatch(b, benchSnapshot(b), false, false)
}

// BenchmarkWatchJSON is `watch --json` with the generated encoders;
// BenchmarkWatchJSONReflect the reflect renderer it replaced. Run both in
// one go (-bench WatchJSON) to compare them on the same machine state.
func BenchmarkWatchJSON(b *testing.B) {
	benchmarkWatch(b, benchSnapshot(b), true, false)
}

func BenchmarkWatchJSONReflect(b *testing.B) {
	benchmarkWatch(b, benchSnapshot(b), true, true)
}

// benchSnapshot prefers the 30-block reference recording (real event mix)
// and falls back to the demo.
func benchSnapshot(b *testing.B) string {
	p := filepath.Join("..", "..", "..", "shared", "testdata", "exec-events", "emn-30b-15m", "snapshot.zst")
	if r, err := eventring.Open(p); err == nil {
		r.Close()
		return p
	}
	return filepath.Join("..", "..", "testdata", "demo.snapshot.zst")
}
