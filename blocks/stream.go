package blocks

import (
	"context"
	"errors"
	"io"
	"iter"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// Updates yields the updates of a fresh [Tracker] with opts reading ring
// with a new reader: from sequence number 1 on a snapshot (if its ring had
// wrapped, a gap notice comes first and every block that survived the
// capture follows), from the newest BLOCK_START on a live ring (so that the
// first block is complete). See [Tracker.Updates] for notices, errors and
// the end. The caller keeps ownership of ring.
func Updates(ctx context.Context, ring *eventring.Ring, opts BuilderOptions) iter.Seq2[Update, error] {
	rd := ring.NewReader()
	if !ring.IsSnapshot() {
		RewindToLatestBlockStart(rd)
	}
	return NewTracker(opts).Updates(ctx, rd)
}

// Updates reads events from src (blocking in its Next) and yields the updates
// they cause, with the standard library's error rule: an error ends the
// iteration, and conditions after which reading goes on are values.
//
// Every commit-state change is an [Update] with State and Block set. A
// condition that reading goes past is an Update with Notice set (see
// [Update.Notice]): a dropped or rejected block, an expired payload, an
// evicted proposal or an inconsistent consensus event (what [Tracker.Process]
// returns as its error), and a reader gap (*eventring.GapError, with the
// lost range). After a gap the tracker is reset (proposals reported before
// it get no further updates) and the reader is repositioned before the
// notice is yielded:
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
//   - any other source (a capture file, say) goes on with GapError.Oldest
//     through its Seek; a Seek error ends the iteration.
//
// Nothing already read is read again, so no update is reported twice.
//
// An *eventring.WriterRestartError from src (an [eventring.Follower]
// switching to the new ring of a restarted writer) is handled like a gap:
// the tracker is reset and the restart is yielded as a Notice; reading
// goes on with the new ring, whose sequence numbers start over, from its
// oldest event (the follower positions it), so a restarted daemon's first
// blocks are delivered.
//
// The iteration ends quietly at the end of a snapshot (io.EOF from src). It ends with an
// error, yielded once with a zero Update, when ctx is done (ctx.Err()),
// when a live ring's writer is gone (wrapping eventring.ErrWriterGone) or
// when the ring is closed (eventring.ErrClosed). Stop early by breaking out
// of the loop.
//
// Every Update is a value owned by the caller, except that the same
// *ExecutedBlock appears in all updates of one proposal.
func (t *Tracker) Updates(ctx context.Context, src eventring.Source) iter.Seq2[Update, error] {
	return func(yield func(Update, error) bool) {
		follow(ctx, src, resume, t.Reset, yield, func(d *eventring.Descriptor) bool {
			ups, err := t.Process(src, d)
			for _, u := range ups {
				if !yield(u, nil) {
					return false
				}
			}
			return err == nil || yield(Update{Notice: err}, nil)
		})
	}
}

// Blocks reads events from src (blocking in its Next) and yields each block b
// completes as an [Update] with State CommitProposed, with the same notice,
// error, gap and end rules as [Tracker.Updates] (its notices are those of a
// Builder: gaps, *DropError, *RejectedError and *eventring.ExpiredError).
func (b *Builder) Blocks(ctx context.Context, src eventring.Source) iter.Seq2[Update, error] {
	return func(yield func(Update, error) bool) {
		follow(ctx, src, resume, b.Reset, yield, func(d *eventring.Descriptor) bool {
			blk, err := b.Process(src, d)
			if blk != nil && !yield(Update{State: CommitProposed, Block: blk}, nil) {
				return false
			}
			return err == nil || yield(Update{Notice: err}, nil)
		})
	}
}

// follow reads events from src and hands each to event until it returns
// false. A gap resets the consumer's state (reset) and repositions the
// reader (resume; its error ends the loop) before it is yielded as a
// notice; so does a writer restart (the follower has positioned the new
// ring already); the end of a snapshot ends the loop quietly, any other
// error of src.Next after being yielded.
func follow(ctx context.Context, src eventring.Source, resume func(eventring.Source, *eventring.GapError) error,
	reset func(), yield func(Update, error) bool, event func(*eventring.Descriptor) bool) {
	var d eventring.Descriptor
	for {
		if err := src.Next(ctx, &d); err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			var restart *eventring.WriterRestartError
			if errors.As(err, &restart) {
				reset()
				if !yield(Update{Notice: restart}, nil) {
					return
				}
				continue
			}
			var gap *eventring.GapError
			if !errors.As(err, &gap) {
				yield(Update{}, err)
				return
			}
			// Reposition before yielding: the consumer may take its time,
			// and meanwhile the writer may overwrite the BLOCK_START to
			// resume at.
			if err := resume(src, gap); err != nil {
				yield(Update{}, err)
				return
			}
			reset()
			if !yield(Update{Notice: gap}, nil) {
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
//
// Other sources go on with the oldest event after the gap.
func resume(src eventring.Source, gap *eventring.GapError) error {
	r, ok := src.(*eventring.Reader)
	if f, isFollower := src.(*eventring.Follower); isFollower && f.Reader() != nil {
		r, ok = f.Reader(), true // a live ring: repositioned as one
	}
	if !ok {
		return src.Seek(gap.Oldest)
	}
	last := r.LastSeqno()
	if r.Ring().IsSnapshot() {
		// Oldest is past the lost seqno, hence past last; max guards
		// against reading anything twice should a corrupt ring say otherwise.
		r.SetSeqno(max(gap.Oldest, last+1))
		return nil
	}
	var d eventring.Descriptor
	if LatestConsensus(r, execevents.EventTypeBlockStart, &d) == nil && d.Seqno > last && r.Ring().PayloadValid(&d) {
		return nil
	}
	r.Reset()
	return nil
}
