package eventring

import "context"

// Source is a sequence of events read one at a time in sequence-number
// order, with their payloads: a live ring or a snapshot through a *Reader,
// a capture file through an evcap source, a ring followed across writer
// restarts. Consumers that read through a Source (the block builder and
// commit tracker, the commands) work on all of them alike.
//
// Next has the contract of [Reader.Next]: nil with d filled; a *GapError
// when events were lost (the source does not move: Seek(gap.Oldest), or a
// source-specific repositioning, goes on); io.EOF at the end of a source
// that does not grow; ErrClosed, ctx.Err(), or an error wrapping
// ErrWriterGone when a live source's writer is gone. Other errors (a
// malformed capture, a ring replaced under the reader) are the source's
// own, typed.
//
// The payload of the event read last is available through the
// PayloadSource methods until the next Next or Seek: PayloadValid reports
// afterwards whether the bytes Payload returned were intact (always true
// for a source that copies, such as a capture file). A ring serves any
// event it still holds; other sources may serve only the last one.
//
// Seek positions the source so that the next Next returns the event with
// sequence number seqno (or reports it lost). A Source is used by one
// goroutine at a time.
type Source interface {
	PayloadSource
	Next(ctx context.Context, d *Descriptor) error
	Seek(seqno uint64) error
}

// Payload returns a view of the payload of d in the reader's ring (see
// [Ring.Payload]); with PayloadValid and Next it makes a Reader a [Source].
func (rd *Reader) Payload(d *Descriptor) []byte { return rd.ring.Payload(d) }

// PayloadValid reports whether the payload of d is still intact in the
// reader's ring (see [Ring.PayloadValid]).
func (rd *Reader) PayloadValid(d *Descriptor) bool { return rd.ring.PayloadValid(d) }

// Seek positions the reader so that the next Next returns event seqno, as
// SetSeqno does. It never fails: an event the ring no longer holds is
// reported by Next as a *GapError.
func (rd *Reader) Seek(seqno uint64) error {
	rd.SetSeqno(seqno)
	return nil
}

var _ Source = (*Reader)(nil)

// CopyPayload copies the payload of d from src into dst (reusing its
// capacity) with the check-copy-check of spec §4.4, as Ring.CopyPayload
// does for a ring (and does here when src is one). A payload the writer
// reclaimed gives an *ExpiredError wrapping ErrPayloadExpired and dst
// emptied.
func CopyPayload(src PayloadSource, d *Descriptor, dst []byte) ([]byte, error) {
	if r, ok := src.(*Ring); ok {
		return r.CopyPayload(d, dst)
	}
	if src.PayloadValid(d) {
		dst = append(dst[:0], src.Payload(d)...)
		if src.PayloadValid(d) {
			return dst, nil
		}
	}
	return dst[:0], &ExpiredError{Seqno: d.Seqno, EventType: d.EventType, Offset: d.PayloadBufOffset,
		Size: d.PayloadSize, Err: ErrPayloadExpired}
}
