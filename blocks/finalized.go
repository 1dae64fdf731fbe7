package blocks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/monadgo/events/archive"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// GapPolicy says where a finalized-block stream goes on when events were
// lost before it could read them (a lapped reader, a wrapped snapshot, a
// checkpoint older than anything the source still holds).
type GapPolicy uint8

const (
	// GapOldest goes on with the oldest event still present, so that every
	// block still held is delivered (the default: lose as little as
	// possible). On a live ring a reader that far behind may be lapped
	// again; each time it loses only what it could not have read anyway.
	GapOldest GapPolicy = iota
	// GapNewest goes on with the newest BLOCK_START in the ring: the
	// freshest blocks at once, the ones in between given up.
	GapNewest
	// GapStop ends the stream with the *eventring.GapError of a reader
	// gap, or with a *MissedError when blocks are missing otherwise (a
	// checkpoint the source no longer reaches, a writer restart, a block
	// dropped on the way).
	GapStop
)

// String returns "oldest", "newest" or "stop".
func (p GapPolicy) String() string {
	switch p {
	case GapOldest:
		return "oldest"
	case GapNewest:
		return "newest"
	case GapStop:
		return "stop"
	}
	return fmt.Sprintf("GapPolicy(%d)", uint8(p))
}

// FinalizedOptions configures [Finalized].
type FinalizedOptions struct {
	BuilderOptions
	// After is the checkpoint: the number of the last finalized block the
	// consumer has fully processed (0: none). The stream yields only
	// blocks numbered above it, each once.
	After uint64
	// OnGap says where to go on after lost events.
	OnGap GapPolicy
	// Archive, when set, is a finalized-block archive (kept by an
	// Archiver, possibly in another process) that fills in what the
	// source lacks: the stream first delivers the archived blocks above
	// After, then joins the source after the last of them, and whenever
	// the source skips blocks (a gap, a ring that laps the reader) it
	// delivers the skipped ones from the archive if it has them by then.
	Archive *archive.Dir
}

// ErrMissed: finalized blocks were lost before the stream could deliver
// them (see MissedError).
var ErrMissed = errors.New("blocks: finalized blocks missed")

// MissedError reports finalized blocks a stream could not deliver: blocks
// After+1 .. Next-1 were finalized but are no longer in the source (or it
// never held them). It is a notice of [Finalized], or its error with
// GapStop.
type MissedError struct {
	After uint64 // the last block delivered (or the checkpoint)
	// Next is the block after the last one missed: the next block
	// delivered, or, when the report comes before it (see [Finalized]),
	// the one after the newest block the source proved finalized. 0 when
	// not known (GapStop's error for a checkpoint older than the ring).
	Next uint64
}

// Error names the missed range.
func (e *MissedError) Error() string {
	if e.Next == 0 {
		return fmt.Sprintf("blocks: finalized blocks after %d missed (no longer in the source)", e.After)
	}
	if e.Next == e.After+2 {
		return fmt.Sprintf("blocks: finalized block %d missed", e.After+1)
	}
	return fmt.Sprintf("blocks: finalized blocks %d..%d missed", e.After+1, e.Next-1)
}

// Is reports whether target is ErrMissed.
func (e *MissedError) Is(target error) bool { return target == ErrMissed }

// Finalized yields every block of src that is finalized, numbered above
// opts.After, exactly once and in block-number order: the stream an
// indexer wants. Each Update has State CommitFinalized and Block set
// (Abandoned lists the competing proposals dropped); notices (Notice set)
// are those of [Tracker.Updates] plus *MissedError when blocks were lost
// (see GapPolicy).
//
// A *MissedError names blocks above the last one delivered (or the
// checkpoint) that the source proves finalized but the stream cannot
// deliver: the next block delivered is not the one after the last, or the
// source holds the BLOCK_FINALIZED of a block whose BLOCK_START it no
// longer holds (or that was dropped), or the stream repositioned itself
// past such events. It comes just before the next block delivered while
// that block is at hand (the tracker holds a later proposal: one notice
// for the gap), else as soon as the event that proves it has been read, or
// the tracker drops the later proposal (GapStop: the stream ends with it
// at once). A repositioning (GapNewest on start or after a gap) reports
// the finalizations it skipped at once; on a chain whose finalizations lag
// execution, those read after the new position, of blocks before it, come
// in a second notice with the next block. With opts.Archive a report waits
// for the next block delivered instead, because the archive may still
// receive the blocks (an Archiver reading the same ring writes them as it
// reads their finalization). In any case it comes before the stream ends
// (the end of a snapshot or capture, an error). Blocks the source does not prove
// finalized are never reported: a source holding no finalization above
// the checkpoint (a live ring whose writer has not finalized the next
// block yet) reports nothing.
//
// Where reading starts: on a ring, at the consensus event that follows the
// BLOCK_START of block After ([RewindForSimpleReplay]) when the ring still
// holds it; for After 0, like [Updates] (a live ring's newest BLOCK_START,
// a snapshot's first event); otherwise, when block After is older than
// anything in the ring, as opts.OnGap says (GapOldest: the oldest event;
// GapNewest: the newest BLOCK_START; GapStop: a *MissedError), and when it
// is newer than every finalization in the ring, at the oldest event. Any
// other source (a capture file) is read from where it is, blocks up to
// After skipped. A gap while reading repositions the same way (GapStop
// ends the stream with the *eventring.GapError).
//
// To survive restarts, the consumer stores the number of each block once
// it has processed it (its checkpoint) and passes it as After when it
// starts again. Errors end the stream as in [Tracker.Updates].
func Finalized(ctx context.Context, src eventring.Source, opts FinalizedOptions) iter.Seq2[Update, error] {
	return func(yield0 func(Update, error) bool) {
		ended := false // an error was yielded or the consumer stopped
		yield := func(u Update, err error) bool {
			ok := yield0(u, err) && err == nil
			ended = ended || !ok
			return ok
		}
		last := opts.After
		if opts.Archive != nil {
			var ok bool
			if last, ok = fromArchive(ctx, opts.Archive, opts.BuilderOptions, last, 0, yield); !ok {
				return
			}
		}
		if as, ok := src.(*archive.Source); ok {
			finalizedFromArchive(ctx, as, opts, last, yield)
			return
		}
		t := NewTracker(opts.BuilderOptions)

		// proven is the newest block the source proved finalized without
		// the stream delivering it: blocks last+1..proven are lost once
		// proven > last. The report waits while the tracker holds a later
		// block, whose delivery carries it (one notice per gap), and with
		// an archive, which may still receive the blocks.
		var proven uint64
		prove := func(n uint64) {
			if last != 0 && n > last {
				proven = max(proven, n)
			}
		}
		// reportProven delivers blocks last+1..proven from the archive, if
		// it has them, and reports the rest missed. It returns false when
		// the stream ended.
		reportProven := func() bool {
			if proven <= last {
				return true
			}
			n := proven
			if opts.Archive != nil {
				var ok bool
				if last, ok = fromArchive(ctx, opts.Archive, opts.BuilderOptions, last, n+1, yield); !ok {
					return false
				}
				if last >= n {
					return true
				}
			}
			missed := &MissedError{After: last, Next: n + 1}
			last = n
			if opts.OnGap == GapStop {
				return yield(Update{}, missed)
			}
			return yield(Update{Notice: missed}, nil)
		}

		if err := positionAfter(src, last, opts.OnGap); err != nil {
			var missed *MissedError
			if !errors.As(err, &missed) || opts.OnGap == GapStop {
				yield(Update{}, err)
				return
			}
		}
		if r, ok := liveReader(src); ok && last != 0 {
			// Finalizations the reader was positioned past (GapNewest).
			prove(finalizedBefore(r, r.Ring().OldestSeqno()))
			if opts.Archive == nil && !reportProven() {
				return
			}
		}
		resumeAfterGap := func(src eventring.Source, gap *eventring.GapError) error {
			if opts.OnGap == GapStop {
				return gap
			}
			r, ok := liveReader(src)
			if !ok {
				return src.Seek(gap.Oldest)
			}
			var d eventring.Descriptor
			if last != 0 && RewindForSimpleReplay(r, last, &d) == nil {
				proven = 0 // everything after block last is read again
				return nil
			}
			if opts.OnGap == GapNewest {
				err := resume(r, gap)
				if last != 0 {
					prove(finalizedBefore(r, gap.Oldest))
				}
				return err
			}
			r.SetSeqno(max(gap.Oldest, r.Ring().OldestSeqno()))
			return nil
		}
		// A gap or a writer restart resets the tracker: no later block is
		// at hand any more to carry the report. An error ends the stream:
		// the report comes first.
		followYield := func(u Update, err error) bool {
			if err != nil {
				return reportProven() && yield(u, err)
			}
			return yield(u, nil) && (opts.Archive != nil || reportProven())
		}
		follow(ctx, src, resumeAfterGap, t.Reset, followYield, func(d *eventring.Descriptor) bool {
			ups, err := t.Process(src, d)
			finalized := false
			for _, u := range ups {
				if u.State != CommitFinalized {
					continue
				}
				finalized = true
				n := u.Block.Number()
				if n <= last && last != 0 {
					continue // delivered before (or before the checkpoint)
				}
				if last != 0 && n > last+1 && opts.Archive != nil {
					var ok bool
					if last, ok = fromArchive(ctx, opts.Archive, opts.BuilderOptions, last, n, yield); !ok {
						return false
					}
				}
				if last != 0 && n > last+1 {
					missed := &MissedError{After: last, Next: n}
					if opts.OnGap == GapStop {
						yield(Update{}, missed)
						return false
					}
					if !yield(Update{Notice: missed}, nil) {
						return false
					}
				}
				last = n
				if !yield(u, nil) {
					return false
				}
			}
			if err != nil && !yield(Update{Notice: err}, nil) {
				return false
			}
			if !finalized && last != 0 {
				// A finalization of a block the tracker does not hold
				// (its BLOCK_START is gone, or it was dropped) proves it
				// and every block before it lost.
				if n, ok := finalizedNumber(src, d); ok {
					prove(n)
				}
			}
			// Report now unless a later block at hand (or the archive)
			// will carry the report. Checked after every event: the
			// tracker may have dropped the later block meanwhile.
			if proven > last && (opts.OnGap == GapStop || opts.Archive == nil && !t.holdsAbove(proven)) {
				return reportProven()
			}
			return true
		})
		if !ended {
			reportProven() // the end of a snapshot or capture
		}
	}
}

// positionAfter points a ring reader at the first event to read for a
// consumer that has processed finalized block after (see Finalized).
// Other sources are left where they are. A *MissedError says block after
// is older than the ring's contents (the reader is then positioned as
// policy says, except for GapStop).
func positionAfter(src eventring.Source, after uint64, policy GapPolicy) error {
	r, ok := liveReader(src)
	if !ok {
		return nil
	}
	ring := r.Ring()
	if after == 0 {
		if ring.IsSnapshot() {
			r.SetSeqno(1)
		} else {
			_ = RewindToLatestBlockStart(r) // else the newest event: blocks begin at the next BLOCK_START
		}
		return nil
	}
	var d eventring.Descriptor
	err := RewindForSimpleReplay(r, after, &d)
	if err == nil {
		return nil
	}
	if older, known := olderThanRing(r, after); known && older {
		switch policy {
		case GapNewest:
			if RewindToLatestBlockStart(r) != nil {
				r.Reset()
			}
		case GapOldest:
			r.SetSeqno(ring.OldestSeqno())
		}
		return &MissedError{After: after}
	}
	// Block after is not finalized in the ring yet (or the ring says
	// nothing either way): read everything it holds; blocks up to after
	// are skipped.
	r.SetSeqno(ring.OldestSeqno())
	return nil
}

// liveReader returns the ring reader under src: src itself, or the reader
// of the ring an *eventring.Follower reads now.
func liveReader(src eventring.Source) (*eventring.Reader, bool) {
	if f, ok := src.(*eventring.Follower); ok && f.Reader() != nil {
		return f.Reader(), true
	}
	r, ok := src.(*eventring.Reader)
	return r, ok
}

// olderThanRing reports whether finalized block n precedes everything in
// the ring: the oldest BLOCK_FINALIZED still readable finalizes a later
// block. known is false when the ring holds no readable BLOCK_FINALIZED.
func olderThanRing(r *eventring.Reader, n uint64) (older, known bool) {
	ring := r.Ring()
	var d eventring.Descriptor
	for s := ring.OldestSeqno(); s != 0 && ring.TryCopy(s, &d); s++ {
		if execevents.EventType(d.EventType) != execevents.EventTypeBlockFinalized {
			continue
		}
		m, err := BlockNumberOf(ring, &d)
		if err != nil {
			continue // overwritten meanwhile: look further
		}
		// Finalization n+1 in the ring: block n+1 may still be whole.
		return m > n+1, true
	}
	return false, false
}

// finalizedBefore returns the number of the block finalized by the newest
// BLOCK_FINALIZED from seqno from up to (not including) the event r reads
// next: blocks up to it are finalized and r will not read their
// finalization. 0 when there is none (or none still readable).
func finalizedBefore(r *eventring.Reader, from uint64) uint64 {
	ring := r.Ring()
	var d eventring.Descriptor
	for s := r.LastSeqno(); s >= max(from, 1) && ring.TryCopy(s, &d); s-- {
		if execevents.EventType(d.EventType) != execevents.EventTypeBlockFinalized {
			continue
		}
		if n, err := BlockNumberOf(ring, &d); err == nil {
			return n
		}
	}
	return 0
}

// finalizedNumber returns the number of the block a BLOCK_FINALIZED event
// finalizes; ok is false for other events and unreadable payloads.
func finalizedNumber(src eventring.PayloadSource, d *eventring.Descriptor) (n uint64, ok bool) {
	if execevents.EventType(d.EventType) != execevents.EventTypeBlockFinalized {
		return 0, false
	}
	ev, err := execevents.ReadEvent(src, d)
	if err != nil {
		return 0, false
	}
	f, ok := ev.(*execevents.BlockFinalizedEvent)
	if !ok || f.BlockTag == nil {
		return 0, false
	}
	return f.BlockNumber, true
}

// fromArchive delivers the archived blocks numbered above after and below
// before (0: no bound), in order, as finalized updates, and returns the
// number of the last one delivered (after if none). ok is false when the
// consumer stopped or an error ended the stream (it was yielded).
func fromArchive(ctx context.Context, dir *archive.Dir, opts BuilderOptions, after, before uint64, yield func(Update, error) bool) (last uint64, ok bool) {
	last = after
	src, err := dir.NewSource(after)
	if err != nil {
		yield(Update{}, err)
		return last, false
	}
	defer src.Close()
	b := NewBuilder(opts)
	var d eventring.Descriptor
	for {
		err := src.Next(ctx, &d)
		if errors.Is(err, io.EOF) {
			return last, true
		}
		if err != nil {
			return last, yield(Update{}, err) && false
		}
		if before != 0 && src.Block() >= before {
			return last, true
		}
		blk, err := b.Process(src, &d)
		if err != nil {
			if !yield(Update{Notice: err}, nil) {
				return last, false
			}
			continue
		}
		if blk == nil || blk.Number() <= last {
			continue
		}
		if last != 0 && blk.Number() > last+1 && !yield(Update{Notice: &MissedError{After: last, Next: blk.Number()}}, nil) {
			return last, false
		}
		last = blk.Number()
		if !yield(Update{State: CommitFinalized, Block: blk}, nil) {
			return last, false
		}
	}
}

// finalizedFromArchive is Finalized over an archive's own Source: every
// block in it is finalized.
func finalizedFromArchive(ctx context.Context, src *archive.Source, opts FinalizedOptions, after uint64, yield func(Update, error) bool) {
	if err := src.Refresh(after); err != nil {
		yield(Update{}, err)
		return
	}
	fromArchive(ctx, src.Dir(), opts.BuilderOptions, after, 0, yield)
}
