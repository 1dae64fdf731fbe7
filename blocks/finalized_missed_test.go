package blocks_test

import (
	"context"
	"errors"
	"iter"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/evcap"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// The tests below cut the emn-30b recording so that a source holds
// finalizations of blocks whose BLOCK_START it no longer has (as a ring
// that has overwritten them does) and ends before the next finalization
// of a block it holds whole. missedX is the block cut in the middle.
const missedX = uint64(15000012)

// eventIndex returns the index in evs of the first event of type et for
// block n (by the spec's offsets, scanFacts).
func eventIndex(t *testing.T, evs []memEvent, et execevents.EventType, n uint64) int {
	t.Helper()
	s := scanFacts{evs}
	for i, e := range evs {
		if execevents.EventType(e.d.EventType) == et && s.number(i) == n {
			return i
		}
	}
	t.Fatalf("test setup: no %v for block %d in the recording", et, n)
	return -1
}

// liveRingOf records evs into a new live ring whose writer stays open
// (recordRemapped: events whose BLOCK_START is not among them are dropped).
func liveRingOf(t *testing.T, evs []memEvent) (*eventring.Recorder, *eventring.Ring) {
	t.Helper()
	rec, ring := newLiveRing(t)
	recordRemapped(t, rec, evs)
	return rec, ring
}

// snapshotOf records evs as liveRingOf does and returns a snapshot of that
// ring: a source that ends where evs end.
func snapshotOf(t *testing.T, evs []memEvent) *eventring.Ring {
	t.Helper()
	_, live := liveRingOf(t, evs)
	return snapshotOfRing(t, live)
}

// snapshotOfRing writes a zstd snapshot of ring and opens it.
func snapshotOfRing(t *testing.T, ring *eventring.Ring) *eventring.Ring {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ring.zst")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.WriteSnapshot(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	snap, err := execevents.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { snap.Close() })
	return snap
}

// captureOf writes every event of ring (a snapshot, or a live ring whose
// writer is done) into an evcap capture file and opens it. Its Sources are
// sources Finalized does not position: they are read from their first
// event, and end where the ring ends.
func captureOf(t *testing.T, ring *eventring.Ring) *evcap.File {
	t.Helper()
	hdr := ring.Header()
	p := filepath.Join(t.TempDir(), "cut.evcap")
	w, err := evcap.Create(p, []evcap.Schema{{ContentType: hdr.ContentType, Hash: hdr.SchemaHash}}, evcap.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rd := ring.NewReader()
	rd.SetSeqno(1)
	var d eventring.Descriptor
	for rd.TryNext(&d) == eventring.Ready {
		if _, err := w.WriteFrom(&d, hdr.ContentType, ring); err != nil {
			t.Fatal(err)
		}
	}
	if d.Seqno != ring.LastSeqno() {
		t.Fatalf("test setup: the capture ends at event %d of %d", d.Seqno, ring.LastSeqno())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := evcap.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// wantMissed checks that err is a *MissedError for blocks after+1..next-1.
func wantMissed(t *testing.T, what string, err error, after, next uint64) {
	t.Helper()
	var m *blocks.MissedError
	if !errors.As(err, &m) || m.After != after || m.Next != next {
		t.Errorf("%s: %v, want blocks %d..%d missed", what, err, after+1, next-1)
	}
}

// TestFinalizedMissedAtEnd: a source whose finalizations above the
// checkpoint are all of blocks it cannot deliver (their BLOCK_START is
// gone; the one block it holds whole is not finalized in it) reports the
// lost blocks before it ends, whichever the source (snapshot or capture)
// and the gap policy; nothing is reported for a checkpoint at or above its
// newest finalized block. Before the fix the stream ended without a word.
func TestFinalizedMissedAtEnd(t *testing.T) {
	all := loadSnapshot(t, snap30)
	want := finalizedFacts(all)
	x := missedX
	from := eventIndex(t, all, execevents.EventTypeBlockQC, x) - 100  // in the middle of block x
	to := eventIndex(t, all, execevents.EventTypeBlockFinalized, x+1) // block x+1 whole, not finalized
	if from <= eventIndex(t, all, execevents.EventTypeBlockStart, x) || !equalNums(want[11:13], []uint64{x, x + 1}) {
		t.Fatalf("test setup: the recording's finalizations %v", want)
	}
	snap := snapshotOf(t, all[from:to])
	capture := captureOf(t, snap)
	ctx := context.Background()
	sources := []struct {
		name string
		src  func() eventring.Source
	}{
		{"snapshot", func() eventring.Source { return snap.NewReader() }},
		{"capture", func() eventring.Source { return capture.NewSource() }},
	}
	for _, s := range sources {
		t.Run(s.name, func(t *testing.T) {
			// Checkpoint x-5: blocks x-4 .. x are finalized (the source
			// holds x's finalization) and none can be delivered.
			for _, p := range []blocks.GapPolicy{blocks.GapOldest, blocks.GapNewest} {
				got, notices, err := drain(t, blocks.Finalized(ctx, s.src(), blocks.FinalizedOptions{After: x - 5, OnGap: p}))
				if err != nil || len(got) != 0 || len(notices) != 1 {
					t.Fatalf("%v: blocks %v, notices %v, error %v; want one notice", p, got, notices, err)
				}
				wantMissed(t, p.String(), notices[0], x-5, x+1)
			}
			got, notices, err := drain(t, blocks.Finalized(ctx, s.src(), blocks.FinalizedOptions{After: x - 5, OnGap: blocks.GapStop}))
			var m *blocks.MissedError
			if !errors.As(err, &m) || m.After != x-5 || len(got) != 0 || len(notices) != 0 {
				t.Errorf("stop: blocks %v, notices %v, error %v; want a MissedError after %d", got, notices, err, x-5)
			}

			// Checkpoint x-1: only block x is lost (the source's oldest
			// finalization is the one right after the checkpoint).
			got, notices, err = drain(t, blocks.Finalized(ctx, s.src(), blocks.FinalizedOptions{After: x - 1}))
			if err != nil || len(got) != 0 || len(notices) != 1 {
				t.Fatalf("after %d: blocks %v, notices %v, error %v; want one notice", x-1, got, notices, err)
			}
			wantMissed(t, "after x-1", notices[0], x-1, x+1)
			got, _, err = drain(t, blocks.Finalized(ctx, s.src(), blocks.FinalizedOptions{After: x - 1, OnGap: blocks.GapStop}))
			if len(got) != 0 {
				t.Errorf("stop after %d: blocks %v", x-1, got)
			}
			wantMissed(t, "stop after x-1", err, x-1, x+1)

			// Nothing is lost for a checkpoint at or above the newest
			// finalized block.
			for _, after := range []uint64{x, x + 7} {
				for _, p := range []blocks.GapPolicy{blocks.GapOldest, blocks.GapNewest, blocks.GapStop} {
					got, notices, err := drain(t, blocks.Finalized(ctx, s.src(), blocks.FinalizedOptions{After: after, OnGap: p}))
					if err != nil || len(got) != 0 || len(notices) != 0 {
						t.Errorf("after %d, %v: blocks %v, notices %v, error %v; want nothing", after, p, got, notices, err)
					}
				}
			}
		})
	}
}

// TestFinalizedMissedThenBlock: with a later finalized block in the source
// the lost blocks are reported once, before it.
func TestFinalizedMissedThenBlock(t *testing.T) {
	all := loadSnapshot(t, snap30)
	x := missedX
	from := eventIndex(t, all, execevents.EventTypeBlockQC, x) - 100
	to := eventIndex(t, all, execevents.EventTypeBlockVerified, x+2) + 1
	snap := snapshotOf(t, all[from:to])
	capture := captureOf(t, snap)
	ctx := context.Background()
	for _, src := range []func() eventring.Source{
		func() eventring.Source { return snap.NewReader() },
		func() eventring.Source { return capture.NewSource() },
	} {
		var got []any // notices and block numbers, in order
		for u, err := range blocks.Finalized(ctx, src(), blocks.FinalizedOptions{After: x - 5}) {
			switch {
			case err != nil:
				t.Fatal(err)
			case u.Notice != nil:
				wantMissed(t, "notice", u.Notice, x-5, x+1)
				got = append(got, "missed")
			default:
				got = append(got, u.Block.Number())
			}
		}
		if len(got) != 3 || got[0] != "missed" || got[1] != x+1 || got[2] != x+2 {
			t.Errorf("%T: %v, want the notice, then blocks %d and %d", src(), got, x+1, x+2)
		}
	}
	// GapNewest goes to block x+2: x+1 is given up too, in the same notice.
	got, notices, err := drain(t, blocks.Finalized(ctx, snap.NewReader(), blocks.FinalizedOptions{After: x - 5, OnGap: blocks.GapNewest}))
	if err != nil || len(notices) != 1 || !equalNums(got, []uint64{x + 2}) {
		t.Fatalf("newest: blocks %v, notices %v, error %v", got, notices, err)
	}
	wantMissed(t, "newest", notices[0], x-5, x+2)
}

// TestFinalizedMissedLive: on a live ring whose writer has not finalized
// anything the stream can deliver yet, the blocks its finalizations prove
// lost are reported at once, not when (if ever) the next block comes; when
// it comes it is delivered with no second notice. A checkpoint at the
// ring's newest finalization reports nothing while the stream waits.
func TestFinalizedMissedLive(t *testing.T) {
	all := loadSnapshot(t, snap30)
	x := missedX
	from := eventIndex(t, all, execevents.EventTypeBlockQC, x) - 100
	to := eventIndex(t, all, execevents.EventTypeBlockFinalized, x+1)
	end := eventIndex(t, all, execevents.EventTypeBlockVerified, x+1) + 1
	for _, c := range []struct {
		name   string
		opts   blocks.FinalizedOptions
		notice bool
	}{
		{"oldest", blocks.FinalizedOptions{After: x - 5}, true},
		{"newest", blocks.FinalizedOptions{After: x - 5, OnGap: blocks.GapNewest}, true},
		{"at the newest finalization", blocks.FinalizedOptions{After: x}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec, ring := liveRingOf(t, all[from:to])
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			next, stop := iter.Pull2(blocks.Finalized(ctx, ring.NewReader(), c.opts))
			defer stop()
			if c.notice {
				u, err, _ := next()
				if err != nil {
					t.Fatalf("no notice while the writer is idle: %v", err)
				}
				wantMissed(t, "notice", u.Notice, x-5, x+1)
			}
			type item struct {
				u   blocks.Update
				err error
			}
			first := make(chan item, 1)
			go func() {
				u, err, _ := next()
				first <- item{u, err}
			}()
			time.Sleep(100 * time.Millisecond) // the stream waits for the writer
			for _, e := range all[to:end] {    // block x+1's finalization
				if _, err := rec.Record(e.d.EventType, e.d.ContentExt, e.p); err != nil {
					t.Fatal(err)
				}
			}
			it := <-first
			if it.err != nil || it.u.Notice != nil || it.u.Block == nil || it.u.Block.Number() != x+1 {
				t.Fatalf("got %+v, %v; want block %d", it.u, it.err, x+1)
			}
		})
	}
}

// TestFinalizedMissedLagged: on a chain whose finalizations lag two blocks
// behind execution, a source that begins with a block's BLOCK_START holds
// two finalizations of blocks it cannot deliver before the first one it
// can: the lost blocks are reported in one notice, with that block; a
// source that ends before it reports them at its end, a stream ended by an
// error before the error.
func TestFinalizedMissedLagged(t *testing.T) {
	all := loadSnapshot(t, snap30)
	x := missedX
	exec := func(b uint64) []memEvent {
		return all[eventIndex(t, all, execevents.EventTypeBlockStart, b):eventIndex(t, all, execevents.EventTypeBlockQC, b)]
	}
	consensus := func(b uint64) []memEvent { // QC, FINALIZED, VERIFIED
		i := eventIndex(t, all, execevents.EventTypeBlockQC, b)
		if eventIndex(t, all, execevents.EventTypeBlockVerified, b) != i+2 {
			t.Fatalf("test setup: block %d's consensus events are not consecutive", b)
		}
		return all[i : i+3]
	}
	// exec x+1, consensus x-1, exec x+2, consensus x, exec x+3,
	// consensus x+1, exec x+4, consensus x+2.
	var lagged, cut []memEvent
	for b := x + 1; b <= x+4; b++ {
		lagged = append(lagged, exec(b)...)
		lagged = append(lagged, consensus(b-2)...)
		if b == x+3 {
			cut = append(cut, lagged...)
			cut = cut[:len(cut)-3] // ends after exec x+3: x+1 not finalized
		}
	}
	// Captures of rings holding these events: sources that end (snapshots
	// would do too, but cost seconds to compress under the race detector).
	ctx := context.Background()
	_, ring := liveRingOf(t, lagged)
	got, notices, err := drain(t, blocks.Finalized(ctx, captureOf(t, ring).NewSource(), blocks.FinalizedOptions{After: x - 5}))
	if err != nil || len(notices) != 1 || !equalNums(got, []uint64{x + 1, x + 2}) {
		t.Fatalf("blocks %v, notices %v, error %v; want one notice, then blocks %d, %d", got, notices, err, x+1, x+2)
	}
	wantMissed(t, "lagged", notices[0], x-5, x+1)

	_, ring = liveRingOf(t, cut)
	got, notices, err = drain(t, blocks.Finalized(ctx, captureOf(t, ring).NewSource(), blocks.FinalizedOptions{After: x - 5}))
	if err != nil || len(notices) != 1 || len(got) != 0 {
		t.Fatalf("cut: blocks %v, notices %v, error %v; want one notice", got, notices, err)
	}
	wantMissed(t, "cut", notices[0], x-5, x+1)

	// The same on the live ring: the report waits for block x+1, which
	// the stream holds, but comes before the error that ends the stream.
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	got, notices, err = drain(t, blocks.Finalized(tctx, ring.NewReader(), blocks.FinalizedOptions{After: x - 5}))
	if !errors.Is(err, context.DeadlineExceeded) || len(notices) != 1 || len(got) != 0 {
		t.Fatalf("live cut: blocks %v, notices %v, error %v; want one notice, then the deadline", got, notices, err)
	}
	wantMissed(t, "live cut", notices[0], x-5, x+1)
}

// TestFinalizedMissedLappedNewest: a live ring laps the stream, which goes
// on (GapNewest) at the newest BLOCK_START, that of block y, skipping the
// finalizations still in the ring before it; the writer then stops before
// finalizing y. The blocks those skipped finalizations prove lost are
// reported right after the gap, not when block y comes.
func TestFinalizedMissedLappedNewest(t *testing.T) {
	all := loadSnapshot(t, snap30)
	rec, ring := newLiveRing(t)
	record := func(evs []memEvent) {
		t.Helper()
		for _, e := range evs { // the recording's own seqnos: its flow tags hold
			if _, err := rec.Record(e.d.EventType, e.d.ContentExt, e.p); err != nil {
				t.Fatal(err)
			}
		}
	}
	const delivered = uint64(15000002)
	resumeAt := eventIndex(t, all, execevents.EventTypeBlockStart, delivered+1)
	// y: the first block whose finalization comes more than a ring's worth
	// of events after the stream stops reading.
	c := int(rec.Sizes().DescriptorCapacity)
	y := delivered + 1
	for eventIndex(t, all, execevents.EventTypeBlockStart, y) < resumeAt+c+1000 {
		y++
	}
	finY := eventIndex(t, all, execevents.EventTypeBlockFinalized, y)
	record(all[:resumeAt])

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	next, stop := iter.Pull2(blocks.Finalized(ctx, ring.NewReader(), blocks.FinalizedOptions{After: delivered - 1, OnGap: blocks.GapNewest}))
	defer stop()
	if u, err, _ := next(); err != nil || u.Block == nil || u.Block.Number() != delivered {
		t.Fatalf("got %+v, %v; want block %d", u, err, delivered)
	}
	record(all[resumeAt:finY]) // laps the stream, stops before y's finalization
	var gap *eventring.GapError
	if u, err, _ := next(); err != nil || !errors.As(u.Notice, &gap) {
		t.Fatalf("got %+v, %v; want a gap", u, err)
	}
	u, err, _ := next()
	if err != nil {
		t.Fatalf("no notice while the writer is idle: %v", err)
	}
	wantMissed(t, "after the gap", u.Notice, delivered, y)
	record(all[finY : eventIndex(t, all, execevents.EventTypeBlockVerified, y)+1])
	if u, err, _ := next(); err != nil || u.Block == nil || u.Block.Number() != y {
		t.Fatalf("got %+v, %v; want block %d", u, err, y)
	}
}

// TestFinalizedMissedArchiveLate: with an archive, blocks the source
// proves lost are not reported while the stream waits: an Archiver reading
// the same ring writes them as it reads their finalization, possibly just
// after the stream looked. Here the archive receives blocks x-4..x while
// the writer is idle; when block x+1 comes, the stream delivers them from
// the archive, then x+1, and reports nothing.
func TestFinalizedMissedArchiveLate(t *testing.T) {
	all := loadSnapshot(t, snap30)
	x := missedX
	dir := archiveOf(t)
	aside := t.TempDir()
	for _, n := range finalizedFacts(all) {
		if n > x-5 { // the archive ends at the checkpoint; x-4..x arrive late
			if err := os.Rename(dir.BlockPath(n), filepath.Join(aside, filepath.Base(dir.BlockPath(n)))); err != nil {
				t.Fatal(err)
			}
		}
	}
	from := eventIndex(t, all, execevents.EventTypeBlockQC, x) - 100
	to := eventIndex(t, all, execevents.EventTypeBlockFinalized, x+1)
	end := eventIndex(t, all, execevents.EventTypeBlockVerified, x+1) + 1
	rec, ring := liveRingOf(t, all[from:to])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	next, stop := iter.Pull2(blocks.Finalized(ctx, ring.NewReader(), blocks.FinalizedOptions{After: x - 5, Archive: dir}))
	defer stop()
	type item struct {
		u   blocks.Update
		err error
	}
	first := make(chan item, 1)
	go func() {
		u, err, _ := next()
		first <- item{u, err}
	}()
	select {
	case it := <-first:
		t.Fatalf("while the writer is idle: %+v, %v", it.u, it.err)
	case <-time.After(200 * time.Millisecond):
	}
	for n := x - 4; n <= x; n++ { // the archiver catches up
		if err := os.Rename(filepath.Join(aside, filepath.Base(dir.BlockPath(n))), dir.BlockPath(n)); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range all[to:end] { // block x+1's finalization
		if _, err := rec.Record(e.d.EventType, e.d.ContentExt, e.p); err != nil {
			t.Fatal(err)
		}
	}
	it := <-first
	for n := x - 4; n <= x+1; n++ {
		if it.err != nil || it.u.Notice != nil || it.u.Block == nil || it.u.Block.Number() != n {
			t.Fatalf("got %+v, %v; want block %d", it.u, it.err, n)
		}
		if n < x+1 {
			u, err, _ := next()
			it = item{u, err}
		}
	}
}
