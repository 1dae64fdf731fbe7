package jetstream

import (
	"errors"
	"fmt"

	"github.com/monadgo/events/blocks"
)

// OptionError reports an invalid field of [Options].
type OptionError struct {
	Field string
	Msg   string
}

func (e *OptionError) Error() string { return "jetstream: option " + e.Field + ": " + e.Msg }

// StreamError reports a failure to set up or inspect the stream: creating
// or updating it (Op "create"), finding it (Op "lookup") or reading the last
// messages the publisher resumes from (Op "resume").
type StreamError struct {
	Stream string
	Op     string
	Err    error
}

func (e *StreamError) Error() string {
	return fmt.Sprintf("jetstream: stream %s: %s: %v", e.Stream, e.Op, e.Err)
}

func (e *StreamError) Unwrap() error { return e.Err }

// ErrForeignMessage: the last message on one of the publisher's subjects
// lacks the headers the publisher writes, so the stream is shared with
// another writer and cannot be resumed from. Wrapped in a *StreamError.
var ErrForeignMessage = errors.New("message not written by this publisher (no Monad-Block-Number/Monad-Block-Id header)")

// TooLargeError reports a message larger than the server accepts
// (nats.Conn.MaxPayload). The publisher logs it, counts it in
// Stats.TooLarge and goes on without it: raise the server's max_payload
// (the embedded server allows DefaultMaxPayload).
type TooLargeError struct {
	Subject string
	MsgID   string
	Size    int
	Max     int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("jetstream: message %s on %s is %d bytes, the server accepts at most %d", e.MsgID, e.Subject, e.Size, e.Max)
}

// LostBlocksError reports block numbers whose messages on an ordered
// subject will never be published: mostly because the publisher fell
// behind the ring (or was down) so long that the proposals were
// overwritten before it read them; also blocks dropped by reassembly or
// that could not be rendered (logged before). From and To are the first
// and last numbers lost. State says which messages, and is one of two
// values: blocks.CommitFinalized for block.finalized (counted in
// Stats.FinalizedLost), blocks.CommitVerified for commit.verified
// (Stats.VerifiedLost). A block is verified a few blocks after it is
// finalized, so its verification can be lost while its finalization was
// published: a restarted publisher that no longer finds the proposal of
// the last block it verified resumes at a later block, and the
// verifications of the blocks in between have nothing left to name. It is
// logged and counted.
type LostBlocksError struct {
	From, To uint64
	State    blocks.CommitState
}

func (e *LostBlocksError) Error() string {
	if e.State == blocks.CommitVerified {
		return fmt.Sprintf("jetstream: the commit.verified messages of blocks %d..%d were lost (proposals overwritten in the ring, dropped or not rendered)", e.From, e.To)
	}
	return fmt.Sprintf("jetstream: finalized blocks %d..%d were lost (proposals overwritten in the ring, dropped or not rendered)", e.From, e.To)
}
