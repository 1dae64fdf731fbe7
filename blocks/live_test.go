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
			if !ok || err != nil || u.Notice != nil {
				t.Fatalf("copy %d: ok %v, error %v, notice %v", k, ok, err, u.Notice)
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
	u, err, ok := next()
	var gap *eventring.GapError
	if !ok || err != nil || !errors.As(u.Notice, &gap) || u.Block != nil {
		t.Fatalf("after the writer lapped the reader: ok %v, error %v, notice %v; want a *eventring.GapError notice", ok, err, u.Notice)
	}
	t.Log(u.Notice)
	// The reader went back to copy 13's BLOCK_START and the tracker was
	// reset: copy 13 is tracked whole once its second half is written.
	// (Before, the reader resumed at the newest event, mid-block, and
	// copy 13 was lost.) Copy 12, complete but older than the gap's
	// newest BLOCK_START, is part of what the gap lost.
	finish13()
	writeCopy(14)
	pull(13)
	pull(14)

	// A consumer joining now with Updates starts at the newest
	// BLOCK_START, so it sees copy 14 complete.
	ctx2, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	n := 0
	for u, err := range blocks.Updates(ctx2, ring, opts) {
		if err != nil || u.Notice != nil || u.Block.ID()[31] != 14 {
			t.Fatalf("late joiner: update %+v, error %v; want copy 14", u, err)
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
	if u, err, ok := next(); !ok || err != nil || u.Notice != nil || u.Block.ID()[31] != 1 {
		t.Fatalf("copy 1: ok %v, error %v, notice %v", ok, err, u.Notice)
	}
	// More than a ring of untagged payload-free events (no owner, no
	// BLOCK_START): nothing to rewind to.
	for range eventring.MinDescriptorCapacity + 100 {
		if _, err := rec.Record(uint16(execevents.EventTypeBlockPerfEVMEnter), [4]uint64{}); err != nil {
			t.Fatal(err)
		}
	}
	var gap *eventring.GapError
	if u, err, ok := next(); !ok || err != nil || u.Block != nil || !errors.As(u.Notice, &gap) {
		t.Fatalf("after the writer lapped the reader: ok %v, error %v, notice %v; want a *eventring.GapError notice", ok, err, u.Notice)
	}
	recordCopy(t, rec, evs, 2)
	u, err, ok := next()
	if !ok || err != nil || u.Notice != nil || u.Block.ID()[31] != 2 {
		t.Fatalf("copy 2: ok %v, error %v, notice %v", ok, err, u.Notice)
	}
	b := *u.Block
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
		u, err, ok := next()
		if !ok || err != nil || u.Notice != nil || u.Block.ID()[31] != k {
			var id byte
			if u.Block != nil {
				id = u.Block.ID()[31]
			}
			t.Fatalf("copy %d: ok %v, error %v, notice %v, block ...%02x", k, ok, err, u.Notice, id)
		}
		b := *u.Block
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
	if u, err, ok := next(); !ok || err != nil || u.Block != nil || !errors.As(u.Notice, &gap) {
		t.Fatalf("after the writer lapped the reader: ok %v, error %v, notice %v; want a *eventring.GapError notice", ok, err, u.Notice)
	}
	finish13()
	recordCopy(t, rec, evs, 14)
	pull(13)
	pull(14)
}

// TestIteratorErrorRule: the iterators follow the standard library's error
// rule. A block dropped on the way is a notice (an Update with Notice set
// and nothing else) after which the next block comes normally; a cancelled
// context is an error, yielded once with a zero Update, after which the
// iteration is over.
func TestIteratorErrorRule(t *testing.T) {
	evs := loadSnapshot(t, snap1)
	for _, c := range []struct {
		name string
		seq  func(ctx context.Context, src eventring.Source) iter.Seq2[blocks.Update, error]
	}{
		{"Tracker.Updates", blocks.NewTracker(blocks.BuilderOptions{}).Updates},
		{"Builder.Blocks", blocks.NewBuilder(blocks.BuilderOptions{}).Blocks},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec, ring := newLiveRing(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			next, stop := iter.Pull2(c.seq(ctx, ring.NewReader()))
			defer stop()
			recordHalf(t, rec, evs, 1) // never finished: dropped when copy 2 starts
			recordCopy(t, rec, evs, 2)

			u, err, ok := next()
			var de *blocks.DropError
			if !ok || err != nil || !errors.As(u.Notice, &de) || de.Reason != blocks.DropUnterminatedBlock {
				t.Fatalf("first step: ok %v, error %v, notice %v; want a DropUnterminatedBlock notice", ok, err, u.Notice)
			}
			if u.Block != nil || u.State != 0 || u.Abandoned != nil {
				t.Errorf("notice carries an update: %+v", u)
			}
			u, err, ok = next()
			if !ok || err != nil || u.Notice != nil || u.State != blocks.CommitProposed || u.Block.ID()[31] != 2 {
				t.Fatalf("second step: ok %v, error %v, update %+v; want copy 2 proposed", ok, err, u)
			}

			// Whatever copy 2 still has to report (its consensus events)
			// comes first; then the reader waits and sees the cancel.
			cancel()
			for {
				u, err, ok = next()
				if !ok {
					t.Fatal("the iteration ended without an error after cancel")
				}
				if err != nil || u.Notice != nil {
					break
				}
			}
			if !errors.Is(err, context.Canceled) || u.Notice != nil || u.Block != nil || u.State != 0 {
				t.Fatalf("after cancel: error %v, update %+v; want context.Canceled and a zero Update", err, u)
			}
			if _, err, ok := next(); ok {
				t.Fatalf("the iteration went on after its error (next error %v)", err)
			}
		})
	}
}
