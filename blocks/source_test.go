package blocks_test

import (
	"context"
	"testing"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/evcap"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/internal/testdata"
)

// collectUpdates runs a fresh Tracker over src to its end.
func collectUpdates(t *testing.T, src eventring.Source) []blocks.Update {
	t.Helper()
	var ups []blocks.Update
	for u, err := range blocks.NewTracker(blocks.BuilderOptions{}).Updates(context.Background(), src) {
		if err != nil {
			t.Fatalf("updates: %v", err)
		}
		ups = append(ups, u)
	}
	return ups
}

// TestCaptureSource: the daemon's own captures of emn-1b-15m (release
// layout compressed and plain, preview layout), read as an eventring.Source,
// give the Tracker exactly the updates the recording's ring gives it.
func TestCaptureSource(t *testing.T) {
	ring, err := eventring.Open(testdata.Shared(t, snap1))
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	want := collectUpdates(t, ring.NewReader())
	if len(want) == 0 {
		t.Fatal("the snapshot gave no updates")
	}
	for _, name := range []string{"emn-1b-15m.evcap", "emn-1b-15m-plain.evcap", "emn-1b-15m-preview.evcap"} {
		t.Run(name, func(t *testing.T) {
			f, err := evcap.Open(testdata.Shared(t, "evcap/"+name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got := collectUpdates(t, f.NewSource())
			if len(got) != len(want) {
				t.Fatalf("%d updates, want %d", len(got), len(want))
			}
			for i := range want {
				w, g := want[i], got[i]
				if g.State != w.State || g.Notice != nil || w.Notice != nil || (w.Block == nil) != (g.Block == nil) ||
					w.Block != nil && !equalBlocks(w.Block, g.Block) {
					t.Fatalf("update %d: %v %+v, want %v %+v", i, g.State, g.Notice, w.State, w.Notice)
				}
			}
		})
	}
}

// TestCaptureSourceGap: a capture whose sequence numbers jump reports the
// lost range as a gap, does not move, and goes on after Seek(gap.Oldest).
func TestCaptureSourceGap(t *testing.T) {
	evs := testdata.Events(t, testdata.Shared(t, snap1))[:100]
	path := t.TempDir() + "/gap.evcap"
	ring, err := eventring.Open(testdata.Shared(t, snap1))
	if err != nil {
		t.Fatal(err)
	}
	hdr := ring.Header()
	ring.Close()
	w, err := evcap.Create(path, []evcap.Schema{{ContentType: hdr.ContentType, Hash: hdr.SchemaHash}}, evcap.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range evs {
		if i >= 40 && i < 50 {
			continue // seqnos 41..50 lost
		}
		if i == 50 { // a bundle holds consecutive seqnos
			if err := w.EndBundle(); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Write(&e.Descriptor, hdr.ContentType, e.Payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := evcap.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src := f.NewSource()
	ctx := context.Background()
	var d eventring.Descriptor
	for want := uint64(1); want <= 40; want++ {
		if err := src.Next(ctx, &d); err != nil || d.Seqno != want {
			t.Fatalf("event %d: seqno %d, %v", want, d.Seqno, err)
		}
	}
	for range 2 { // the source does not move
		gap, ok := src.Next(ctx, &d).(*eventring.GapError)
		if !ok || gap.Expected != 41 || gap.Oldest != 51 {
			t.Fatalf("got %v, want a gap 41..51", gap)
		}
	}
	if err := src.Seek(51); err != nil {
		t.Fatal(err)
	}
	if err := src.Next(ctx, &d); err != nil || d.Seqno != 51 || len(src.Payload(&d)) != int(d.PayloadSize) {
		t.Fatalf("after Seek: seqno %d, %v", d.Seqno, err)
	}
}
