package blocks_test

import (
	"context"
	"errors"
	"testing"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
)

// wrappedCopies shapes the wrapped capture: 12 copies of the emn-1b block
// (6 597 events each) and half of a 13th, 82 462 events in all, overflow a
// ring of 65 536 descriptors, so the first 16 926 events are overwritten
// (copies 1 and 2 and most of copy 3), copies 4 to 12 survive whole, and the
// capture ends in the middle of copy 13.
const wrappedCopies = 12

// wrappedSnapshot records copies of the emn-1b block into a live ring of
// the minimum size until it wraps, captures it with WriteSnapshot and opens
// the capture. It returns the snapshot, the events of one copy, and the
// BLOCK_START seqno of every copy recorded whole (index k-1 for copy k).
func wrappedSnapshot(t *testing.T) (snap *eventring.Ring, evs []memEvent, starts []uint64) {
	t.Helper()
	evs = loadSnapshot(t, snap1)
	var payload uint64
	for _, e := range evs {
		payload += uint64(len(e.p))
	}
	rec, live := newLiveRing(t)
	// Every payload recorded must still be in the buffer, so that the
	// blocks' survival depends on the descriptors alone.
	if n := uint64(wrappedCopies+1) * payload; n >= rec.Sizes().PayloadBufSize {
		t.Fatalf("test setup: %d payload bytes recorded overflow the %d-byte buffer", n, rec.Sizes().PayloadBufSize)
	}
	for k := byte(1); k <= wrappedCopies; k++ {
		starts = append(starts, rec.LastSeqno()+1)
		recordCopy(t, rec, evs, k)
	}
	recordHalf(t, rec, evs, wrappedCopies+1)
	if last, c := rec.LastSeqno(), rec.Sizes().DescriptorCapacity; last <= c+uint64(len(evs)) {
		t.Fatalf("test setup: %d events do not wrap a ring of %d descriptors by more than a block", last, c)
	}

	snap = snapshotOfRing(t, live)
	if !snap.IsSnapshot() {
		t.Fatal("the capture does not open as a snapshot")
	}
	return snap, evs, starts
}

// survivors returns the copies (1-based) whose BLOCK_START is still in a
// ring of c descriptors whose last event is last: every slot holds one of
// the last c events, all committed.
func survivors(starts []uint64, last, c uint64) []byte {
	oldest := last - c + 1
	var ks []byte
	for i, s := range starts {
		if s >= oldest {
			ks = append(ks, byte(i+1))
		}
	}
	return ks
}

// checkCopy compares blk with copy k of the clean block, recorded with its
// BLOCK_START at seqno start.
func checkCopy(t *testing.T, blk, clean *blocks.ExecutedBlock, k byte, start uint64) {
	t.Helper()
	if blk.ID()[31] != k {
		t.Fatalf("block ...%02x, want copy %d", blk.ID()[31], k)
	}
	end := start + clean.EndSeqno - clean.StartSeqno
	if blk.StartSeqno != start || blk.EndSeqno != end {
		t.Fatalf("copy %d: seqnos %d..%d, want %d..%d", k, blk.StartSeqno, blk.EndSeqno, start, end)
	}
	b := *blk
	b.Start.BlockTag.ID[31] = clean.Start.BlockTag.ID[31]
	b.StartSeqno, b.EndSeqno = clean.StartSeqno, clean.EndSeqno
	if !equalBlocks(&b, clean) {
		t.Fatalf("copy %d: block differs from the reference snapshot's", k)
	}
}

// TestWrappedSnapshotUpdates: on a snapshot whose ring wrapped, Updates
// reports the gap once (a notice) and then every block whose BLOCK_START
// survived, in order and identical to what was recorded; not only the last
// one, as when it resumed at the newest BLOCK_START like on a live ring.
func TestWrappedSnapshotUpdates(t *testing.T) {
	snap, evs, starts := wrappedSnapshot(t)
	var opts blocks.BuilderOptions
	clean := buildAll(t, evs, opts)[0]
	// The updates one copy yields, computed on the reference events.
	var perCopy []blocks.CommitState
	{
		tr := blocks.NewTracker(opts)
		src := newMemSource(evs)
		for i := range src.evs {
			ups, err := tr.Process(src, &src.evs[i].d)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range ups {
				perCopy = append(perCopy, u.State)
			}
		}
	}
	if len(perCopy) == 0 || perCopy[0] != blocks.CommitProposed {
		t.Fatalf("test setup: one copy yields updates %v", perCopy)
	}
	c := uint64(eventring.MinDescriptorCapacity)
	want := survivors(starts, snap.LastSeqno(), c)
	if len(want) < 2 {
		t.Fatalf("test setup: copies %v survive; want several", want)
	}
	t.Logf("last seqno %d, oldest %d: copies %v survive", snap.LastSeqno(), snap.LastSeqno()-c+1, want)

	gaps, i, j := 0, 0, 0 // i: copy in want; j: update within the copy
	for u, err := range blocks.Updates(context.Background(), snap, opts) {
		var gap *eventring.GapError
		switch {
		case err != nil:
			t.Fatalf("after %d updates: %v", i*len(perCopy)+j, err)
		case errors.As(u.Notice, &gap):
			gaps++
			if gaps > 1 || i > 0 || j > 0 {
				t.Fatalf("gap %v after %d updates: want exactly one, first", u.Notice, i*len(perCopy)+j)
			}
			if gap.Expected != 1 || gap.Oldest != snap.LastSeqno()-c+1 {
				t.Fatalf("gap %+v, want Expected 1, Oldest %d", *gap, snap.LastSeqno()-c+1)
			}
			if u.Block != nil || u.State != 0 || u.Abandoned != nil {
				t.Fatalf("gap notice %+v carries an update", u)
			}
		case u.Notice != nil:
			t.Fatalf("after %d updates: notice %v", i*len(perCopy)+j, u.Notice)
		default:
			if gaps == 0 {
				t.Fatal("an update before the gap")
			}
			if i == len(want) {
				t.Fatalf("update %v for ...%02x after the last surviving copy", u.State, u.Block.ID()[31])
			}
			k := want[i]
			if u.State != perCopy[j] {
				t.Fatalf("copy %d update %d: state %v, want %v", k, j, u.State, perCopy[j])
			}
			checkCopy(t, u.Block, clean, k, starts[k-1])
			if j++; j == len(perCopy) {
				i, j = i+1, 0
			}
		}
	}
	if gaps != 1 || i != len(want) || j != 0 {
		t.Fatalf("got %d gaps and %d whole copies (+%d updates); want 1 gap and copies %v", gaps, i, j, want)
	}
}

// TestWrappedSnapshotBlocks: Builder.Blocks over a wrapped snapshot, read
// with a reader from eventring.Open, builds every block whose BLOCK_START
// survived after reporting the gap, and not the half-recorded last one.
func TestWrappedSnapshotBlocks(t *testing.T) {
	wrapped, evs, starts := wrappedSnapshot(t)
	// The same capture through eventring.Open (no schema check).
	snap, err := eventring.Open(wrapped.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	clean := buildAll(t, evs, blocks.BuilderOptions{})[0]
	want := survivors(starts, snap.LastSeqno(), eventring.MinDescriptorCapacity)
	if len(want) < 2 {
		t.Fatalf("test setup: copies %v survive; want several", want)
	}
	var got []byte
	gaps := 0
	b := blocks.NewBuilder(blocks.BuilderOptions{})
	for u, err := range b.Blocks(context.Background(), snap.NewReader()) {
		var gap *eventring.GapError
		switch {
		case err != nil:
			t.Fatalf("after %d blocks: %v", len(got), err)
		case errors.As(u.Notice, &gap):
			if gaps++; gaps > 1 || len(got) > 0 {
				t.Fatalf("gap %v after %d blocks: want exactly one, first", u.Notice, len(got))
			}
		case u.Notice != nil:
			t.Fatalf("after %d blocks: notice %v", len(got), u.Notice)
		default:
			if u.State != blocks.CommitProposed {
				t.Fatalf("Blocks yielded state %v, want Proposed", u.State)
			}
			blk := u.Block
			if len(got) == len(want) {
				t.Fatalf("block ...%02x after the last surviving copy", blk.ID()[31])
			}
			k := want[len(got)]
			checkCopy(t, blk, clean, k, starts[k-1])
			got = append(got, k)
		}
	}
	if gaps != 1 || len(got) != len(want) {
		t.Fatalf("got %d gaps and copies %v; want 1 gap and copies %v", gaps, got, want)
	}
}
