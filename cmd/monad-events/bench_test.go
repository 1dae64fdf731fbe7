package main

import (
	"bufio"
	"io"
	"path/filepath"
	"testing"

	"github.com/monadgo/events/eventring"
)

// benchmarkWatch formats every event of a snapshot as watch does, to
// io.Discard; ns/op is per event.
func benchmarkWatch(b *testing.B, path string, json bool) {
	r, err := eventring.Open(path)
	if err != nil {
		b.Skip(err)
	}
	defer r.Close()
	o := &openedRing{Ring: r, path: path, snapshot: true}
	out := bufio.NewWriter(io.Discard)
	w := &watcher{ring: o, out: out, json: json}
	var d eventring.Descriptor
	rd := r.NewReader()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if rd.TryNext(&d) != eventring.Ready {
			rd.SetSeqno(1)
			if rd.TryNext(&d) != eventring.Ready {
				b.Fatal("empty ring")
			}
		}
		w.track(&d)
		if err := w.event(&d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWatchLine(b *testing.B) {
	benchmarkWatch(b, benchSnapshot(b), false)
}

func BenchmarkWatchJSON(b *testing.B) {
	benchmarkWatch(b, benchSnapshot(b), true)
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
