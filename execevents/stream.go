package execevents

import (
	"context"
	"errors"
	"io"
	"iter"

	"github.com/monadgo/events/eventring"
)

// CommitUpdates yields the commit updates of a fresh [Tracker] with opts
// reading ring with a new reader: from sequence number 1 on a snapshot,
// from the newest BLOCK_START on a live ring (so that the first block is
// complete). See [Tracker.Updates] for errors, gaps and the end. The caller
// keeps ownership of ring.
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
// A reader gap is yielded as the *eventring.GapError, after which the reader
// jumps to the newest event and the tracker is reset (blocks resume at the
// next BLOCK_START). The iteration ends at the end of a snapshot, or after
// yielding any other error of r.Next (ctx cancelled, writer gone).
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
// false. A gap resets the reader to the newest event and the consumer's
// state (reset) before it is reported with yieldErr; the end of a snapshot
// ends the loop quietly, any other error of r.Next after being reported.
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
			// Reset before yielding: the consumer may take its time, and
			// the events written meanwhile are the ones to resume with.
			r.Reset()
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
