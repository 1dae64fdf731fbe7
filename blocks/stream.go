package blocks

import (
	"context"
	"errors"
	"github.com/monadgo/events/execevents"
	"io"
	"iter"

	"github.com/monadgo/events/eventring"
)

// CommitUpdates yields the commit updates of a fresh [Tracker] with opts
// reading ring with a new reader: from sequence number 1 on a snapshot
// (if its ring had wrapped, a gap is reported and every block that
// survived the capture follows), from the newest BLOCK_START on a live
// ring (so that the first block is complete). See [Tracker.Updates] for
// errors, gaps and the end. The caller keeps ownership of ring.
func CommitUpdates(ctx context.Context, ring *eventring.Ring, opts BuilderOptions) iter.Seq2[CommitUpdate, error] {
	rd := ring.NewReader()
	if !ring.IsSnapshot() {
		RewindToLatestBlockStart(rd)
	}
	return NewTracker(opts).Updates(ctx, rd)
}

// Updates reads events with r (blocking in r.Next) and yields the commit
// updates they cause. Builder and tracker errors are yielded with a zero
// CommitUpdate and reading goes on; stop early by breaking out of the loop.
//
// A reader gap is yielded as the *eventring.GapError. The tracker is then
// reset (proposals reported before the gap get no further updates) and the
// reader is repositioned:
//
//   - on a live ring it resumes at the newest BLOCK_START still in the
//     ring, so the block being executed when the gap was detected is
//     delivered whole; only if the ring holds no usable BLOCK_START does it
//     resume at the newest event (and blocks at the next BLOCK_START). See
//     [RewindToLatestBlockStart].
//   - on a snapshot, which never changes, it resumes at the oldest event
//     still present (GapError.Oldest): a capture of a ring that had wrapped
//     reports one gap and then every block whose BLOCK_START survived (the
//     events of the block cut by the wrap are skipped).
//
// Nothing already read is read again, so no update is reported twice.
//
// The iteration ends at the end of a snapshot, or after yielding any other
// error of r.Next (ctx cancelled, writer gone).
//
// Every CommitUpdate is owned by the caller except that the same
// *ExecutedBlock appears in all updates of one proposal.
func (t *Tracker) Updates(ctx context.Context, r *eventring.Reader) iter.Seq2[CommitUpdate, error] {
	return func(yield func(CommitUpdate, error) bool) {
		ring := r.Ring()
		follow(ctx, r, t.Reset, func(err error) bool { return yield(CommitUpdate{}, err) },
			func(d *eventring.Descriptor) bool {
				ups, err := t.Process(ring, d)
				for _, u := range ups {
					if !yield(u, nil) {
						return false
					}
				}
				return err == nil || yield(CommitUpdate{}, err)
			})
	}
}

// Blocks reads events with r (blocking in r.Next) and yields the blocks b
// builds, with the same error, gap and end rules as [Tracker.Updates].
func (b *Builder) Blocks(ctx context.Context, r *eventring.Reader) iter.Seq2[*ExecutedBlock, error] {
	return func(yield func(*ExecutedBlock, error) bool) {
		ring := r.Ring()
		follow(ctx, r, b.Reset, func(err error) bool { return yield(nil, err) },
			func(d *eventring.Descriptor) bool {
				blk, err := b.Process(ring, d)
				if blk != nil && !yield(blk, nil) {
					return false
				}
				return err == nil || yield(nil, err)
			})
	}
}

// follow reads events with r and hands each to event until it returns
// false. A gap resets the consumer's state (reset) and repositions the
// reader (resume) before it is reported with yieldErr; the end of a
// snapshot ends the loop quietly, any other error of r.Next after being
// reported.
func follow(ctx context.Context, r *eventring.Reader, reset func(), yieldErr func(error) bool, event func(*eventring.Descriptor) bool) {
	var d eventring.Descriptor
	for {
		if err := r.Next(ctx, &d); err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			var gap *eventring.GapError
			if !errors.As(err, &gap) {
				yieldErr(err)
				return
			}
			// Reposition before yielding: the consumer may take its time,
			// and meanwhile the writer may overwrite the BLOCK_START to
			// resume at.
			resume(r, gap)
			reset()
			if !yieldErr(err) {
				return
			}
			continue
		}
		if !event(&d) {
			return
		}
	}
}

// resume repositions r after gap. On a snapshot it goes on with the oldest
// event present: nothing there will be overwritten, so every surviving
// block can be delivered, while jumping to the newest BLOCK_START would
// keep only the last one. On a live ring it goes to the newest BLOCK_START
// in the ring, so that the block in progress is rebuilt from its start
// rather than lost, else to the newest event: a lapped reader catching up
// with the oldest survivor would only be lapped again.
//
// The BLOCK_START must be newer than the last event r read. A lapped
// reader's lost events are all older than anything still in the ring, so
// this always holds on an intact ring; the check guarantees that an event
// (a block already delivered, in particular) is never consumed twice even
// on a corrupt one. Its payload must also still be valid: the payload
// buffer can wrap before the descriptors do, and a BLOCK_START whose
// payload is gone would only give an *eventring.ExpiredError instead of a block.
func resume(r *eventring.Reader, gap *eventring.GapError) {
	last := r.LastSeqno()
	if r.Ring().IsSnapshot() {
		// Oldest is past the lost seqno, hence past last; max guards
		// against reading anything twice should a corrupt ring say otherwise.
		r.SetSeqno(max(gap.Oldest, last+1))
		return
	}
	var d eventring.Descriptor
	if LatestConsensus(r, execevents.EventTypeBlockStart, &d) && d.Seqno > last && r.Ring().PayloadValid(&d) {
		return
	}
	r.Reset()
}
