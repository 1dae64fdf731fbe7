package blocks_test

import (
	"context"
	"errors"
	"iter"
	"path/filepath"
	"testing"
	"time"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// TestLiveRingGap records the emn-1b block into a live ring with the
// project's recorder, follows it with Tracker.Updates, lets the writer lap
// the reader while a block is half recorded, and checks that the gap is
// reported and that the half-recorded block is then delivered whole,
// identical to the snapshot's: the reader resumed at its BLOCK_START, not
// at the newest event. Blocks completed before the gap are not delivered
// again, and blocks lost in the gap are not delivered at all.
func TestLiveRingGap(t *testing.T) {
	evs := loadSnapshot(t, snap1)
	var opts blocks.BuilderOptions
	clean := buildAll(t, evs, opts)[0]
	// How many updates one copy of the recording yields.
	perCopy := 0
	{
		tr := blocks.NewTracker(opts)
		src := newMemSource(evs)
		for i := range src.evs {
			ups, err := tr.Process(src, &src.evs[i].d)
			if err != nil {
				t.Fatal(err)
			}
			perCopy += len(ups)
		}
	}

	rec, ring := newLiveRing(t)

	writeCopy := func(k byte) { recordCopy(t, rec, evs, k) }

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tr := blocks.NewTracker(opts)
	next, stop := iter.Pull2(tr.Updates(ctx, ring.NewReader()))
	defer stop()
	pull := func(k byte) {
		t.Helper()
		for range perCopy {
			u, err, ok := next()
			if !ok || err != nil {
				t.Fatalf("copy %d: ok %v, error %v", k, ok, err)
			}
			if u.Block.ID()[31] != k {
				t.Fatalf("copy %d: update for block id ...%02x", k, u.Block.ID()[31])
			}
			b := *u.Block
			b.Start.BlockTag.ID[31] = clean.Start.BlockTag.ID[31]
			b.StartSeqno, b.EndSeqno = clean.StartSeqno, clean.EndSeqno
			if !equalBlocks(&b, clean) {
				t.Fatalf("copy %d: block differs from the snapshot's", k)
			}
		}
	}

	writeCopy(1)
	pull(1)
	// The writer laps the reader (more than a descriptor array of events)
	// and is half way through copy 13 when the reader notices.
	for k := byte(2); k <= 12; k++ {
		writeCopy(k)
	}
	finish13 := recordHalf(t, rec, evs, 13)
	_, err, ok := next()
	var gap *eventring.GapError
	if !ok || !errors.As(err, &gap) {
		t.Fatalf("after the writer lapped the reader: ok %v, error %v; want a *eventring.GapError", ok, err)
	}
	t.Log(err)
	// The reader went back to copy 13's BLOCK_START and the tracker was
	// reset: copy 13 is tracked whole once its second half is written.
	// (Before, the reader resumed at the newest event, mid-block, and
	// copy 13 was lost.) Copy 12, complete but older than the gap's
	// newest BLOCK_START, is part of what the gap lost.
	finish13()
	writeCopy(14)
	pull(13)
	pull(14)

	// A consumer joining now with CommitUpdates starts at the newest
	// BLOCK_START, so it sees copy 14 complete.
	ctx2, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	n := 0
	for u, err := range blocks.CommitUpdates(ctx2, ring, opts) {
		if err != nil || u.Block.ID()[31] != 14 {
			t.Fatalf("late joiner: update for ...%02x, error %v; want copy 14", u.Block.ID()[31], err)
		}
		if n++; n == perCopy {
			break
		}
	}
}

// TestLiveRingGapNoBlockStart: when the events that lapped the reader hold
// no BLOCK_START at all, the reader falls back to the newest event and
// tracking resumes with the next block.
func TestLiveRingGapNoBlockStart(t *testing.T) {
	evs := loadSnapshot(t, snap1)
	clean := buildAll(t, evs, blocks.BuilderOptions{})[0]
	rec, ring := newLiveRing(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	next, stop := iter.Pull2(blocks.NewBuilder(blocks.BuilderOptions{}).Blocks(ctx, ring.NewReader()))
	defer stop()
	recordCopy(t, rec, evs, 1)
	if blk, err, ok := next(); !ok || err != nil || blk.ID()[31] != 1 {
		t.Fatalf("copy 1: ok %v, error %v", ok, err)
	}
	// More than a ring of untagged payload-free events (no owner, no
	// BLOCK_START): nothing to rewind to.
	for range eventring.MinDescriptorCapacity + 100 {
		if _, err := rec.Record(uint16(execevents.EventTypeBlockPerfEVMEnter), [4]uint64{}); err != nil {
			t.Fatal(err)
		}
	}
	var gap *eventring.GapError
	if blk, err, ok := next(); !ok || blk != nil || !errors.As(err, &gap) {
		t.Fatalf("after the writer lapped the reader: ok %v, error %v; want a *eventring.GapError", ok, err)
	}
	recordCopy(t, rec, evs, 2)
	blk, err, ok := next()
	if !ok || err != nil || blk.ID()[31] != 2 {
		t.Fatalf("copy 2: ok %v, error %v", ok, err)
	}
	b := *blk
	b.Start.BlockTag.ID[31] = clean.Start.BlockTag.ID[31]
	b.StartSeqno, b.EndSeqno = clean.StartSeqno, clean.EndSeqno
	if !equalBlocks(&b, clean) {
		t.Fatal("copy 2: block differs from the snapshot's")
	}
}

// newLiveRing creates a ring of the minimum size written by the project's
// Recorder and opens it for reading; both are closed when the test ends.
func newLiveRing(t *testing.T) (*eventring.Recorder, *eventring.Ring) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "exec-ring")
	rec, err := eventring.Create(path, eventring.Sizes{
		DescriptorCapacity: eventring.MinDescriptorCapacity,
		PayloadBufSize:     eventring.MinPayloadBufSize,
	}, execevents.RingContentType, execevents.SchemaHash)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	ring, err := execevents.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ring.Close() })
	return rec, ring
}

// recordCopy records the events again as proposal k: block ids get k in
// their last byte, BLOCK_SEQNO tags follow the new seqnos.
func recordCopy(t *testing.T, rec *eventring.Recorder, evs []memEvent, k byte) {
	t.Helper()
	recordPart(t, rec, evs, k, rec.LastSeqno()+1)
}

// recordHalf records the first half of copy k (its BLOCK_START and about
// half of its transactions) and returns a function recording the rest.
func recordHalf(t *testing.T, rec *eventring.Recorder, evs []memEvent, k byte) (rest func()) {
	t.Helper()
	if execevents.EventType(evs[0].d.EventType) != execevents.EventTypeBlockStart {
		t.Fatalf("test setup: the recording starts with %v, not BLOCK_START", execevents.EventType(evs[0].d.EventType))
	}
	start, half := rec.LastSeqno()+1, len(evs)/2
	recordPart(t, rec, evs[:half], k, start)
	return func() { recordPart(t, rec, evs[half:], k, start) }
}

// recordPart records events of copy k, whose BLOCK_START has seqno start.
func recordPart(t *testing.T, rec *eventring.Recorder, evs []memEvent, k byte, start uint64) {
	t.Helper()
	for _, e := range evs {
		ext := e.d.ContentExt
		if ext[execevents.FlowTypeBlockSeqno] != 0 {
			ext[execevents.FlowTypeBlockSeqno] = start
		}
		p := e.p
		switch execevents.EventType(e.d.EventType) {
		case execevents.EventTypeBlockStart, execevents.EventTypeBlockQC, execevents.EventTypeBlockFinalized:
			p = append([]byte(nil), p...)
			p[31] = k
		}
		if _, err := rec.Record(e.d.EventType, ext, p); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLiveRingGapBlocks: Builder.Blocks reports a gap when the writer laps
// the reader, then builds the block that was half recorded at that moment
// whole, from its BLOCK_START (before, it resumed at the newest event and
// lost that block), and goes on with the next ones.
func TestLiveRingGapBlocks(t *testing.T) {
	evs := loadSnapshot(t, snap1)
	clean := buildAll(t, evs, blocks.BuilderOptions{})[0]
	rec, ring := newLiveRing(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	next, stop := iter.Pull2(blocks.NewBuilder(blocks.BuilderOptions{}).Blocks(ctx, ring.NewReader()))
	defer stop()
	pull := func(k byte) {
		t.Helper()
		blk, err, ok := next()
		if !ok || err != nil || blk.ID()[31] != k {
			var id byte
			if blk != nil {
				id = blk.ID()[31]
			}
			t.Fatalf("copy %d: ok %v, error %v, block ...%02x", k, ok, err, id)
		}
		b := *blk
		b.Start.BlockTag.ID[31] = clean.Start.BlockTag.ID[31]
		b.StartSeqno, b.EndSeqno = clean.StartSeqno, clean.EndSeqno
		if !equalBlocks(&b, clean) {
			t.Fatalf("copy %d: block differs from the snapshot's", k)
		}
	}
	recordCopy(t, rec, evs, 1)
	pull(1)
	for k := byte(2); k <= 12; k++ {
		recordCopy(t, rec, evs, k)
	}
	finish13 := recordHalf(t, rec, evs, 13)
	var gap *eventring.GapError
	if blk, err, ok := next(); !ok || blk != nil || !errors.As(err, &gap) {
		t.Fatalf("after the writer lapped the reader: ok %v, error %v; want a *eventring.GapError", ok, err)
	}
	finish13()
	recordCopy(t, rec, evs, 14)
	pull(13)
	pull(14)
}
