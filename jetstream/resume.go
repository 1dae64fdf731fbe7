package jetstream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// blockRef names a block a message was about.
type blockRef struct {
	Number uint64
	ID     execevents.Bytes32
}

// orderedSubjects are the subjects published strictly in order, whose last
// messages say where a restarted publisher resumes.
func orderedSubjects(prefix string) []string {
	return []string{
		BlockSubject(prefix, blocks.CommitFinalized),
		CommitSubject(prefix, blocks.CommitFinalized),
		CommitSubject(prefix, blocks.CommitVerified),
	}
}

// resumeState is what the stream says about where a run resumes.
type resumeState struct {
	// last is the block of the last message of every ordered subject that
	// has one.
	last map[string]blockRef
	// verifyFrom is set when commit.verified has no message yet but
	// block.finalized has: it is the block of the first block.finalized
	// message, whose verification, and those of every block after it,
	// are due. The run must resume at its proposal if the ring holds it:
	// a block is verified some blocks after its finalization, and the
	// tracker reports a verification only for a proposal it has read, so
	// resuming at the last finalized block would skip them.
	verifyFrom *blockRef
}

// lastPublished reads the last message of every ordered subject: the
// block each one is at (subjects without a message are absent); and, on a
// stream that has finalized blocks but no verification yet, the first
// block.finalized message (resumeState.verifyFrom).
func lastPublished(ctx context.Context, stream natsjs.Stream, prefix string) (resumeState, error) {
	st := resumeState{last: make(map[string]blockRef)}
	for _, subj := range orderedSubjects(prefix) {
		m, err := stream.GetLastMsgForSubject(ctx, subj)
		if errors.Is(err, natsjs.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return st, fmt.Errorf("last message on %s: %w", subj, err)
		}
		ref, err := parseRef(m.Header)
		if err != nil {
			return st, fmt.Errorf("last message on %s (stream sequence %d): %w", subj, m.Sequence, err)
		}
		st.last[subj] = ref
	}
	// With no verification published yet, those of every block
	// finalized so far are due: find the first.
	finalized := BlockSubject(prefix, blocks.CommitFinalized)
	if _, ok := st.last[CommitSubject(prefix, blocks.CommitVerified)]; ok {
		return st, nil
	}
	if _, ok := st.last[finalized]; !ok {
		return st, nil
	}
	m, err := stream.GetMsg(ctx, 1, natsjs.WithGetMsgSubject(finalized))
	if errors.Is(err, natsjs.ErrMsgNotFound) {
		return st, nil // removed meanwhile (limits)
	}
	if err != nil {
		return st, fmt.Errorf("first message on %s: %w", finalized, err)
	}
	ref, err := parseRef(m.Header)
	if err != nil {
		return st, fmt.Errorf("first message on %s (stream sequence %d): %w", finalized, m.Sequence, err)
	}
	st.verifyFrom = &ref
	return st, nil
}

// parseRef reads the block headers of a message.
func parseRef(h nats.Header) (blockRef, error) {
	num, err := strconv.ParseUint(h.Get(HeaderBlockNumber), 10, 64)
	if err != nil {
		return blockRef{}, ErrForeignMessage
	}
	id, err := hexutil.Decode(h.Get(HeaderBlockID))
	if err != nil || len(id) != 32 {
		return blockRef{}, ErrForeignMessage
	}
	return blockRef{Number: num, ID: execevents.Bytes32(id)}, nil
}

// resumeAt points rd at the BLOCK_START of the oldest block among refs
// that the ring still holds, reporting which; rd is unchanged if none.
// Every block finalized after the blocks of refs descends from them, so it
// was executed after them: reading from there, the tracker sees every
// such proposal whole.
func resumeAt(rd *eventring.Reader, refs []blockRef) (blockRef, bool) {
	refs = slices.Clone(refs)
	slices.SortFunc(refs, func(a, b blockRef) int { return cmpUint(a.Number, b.Number) })
	var d eventring.Descriptor
	for _, ref := range refs {
		saved := rd.LastSeqno()
		rd.Reset()
		if blocks.BlockIDPrev(rd, ref.ID, execevents.EventTypeBlockStart, &d) == nil {
			return ref, true
		}
		rd.SetSeqno(saved + 1)
	}
	return blockRef{}, false
}

// rewindOldest points rd at the oldest BLOCK_START the ring holds whose
// payload is still valid, keeping away from the tail of a ring that has
// wrapped by a quarter of its descriptors (it is being overwritten: a
// reader starting there would be lapped at once). It reports whether it
// found one; otherwise rd is at the newest event (or at the start of an
// empty ring).
func rewindOldest(rd *eventring.Reader) bool {
	ring := rd.Ring()
	if blocks.RewindToLatestBlockStart(rd) != nil {
		if rd.Reset() == 0 {
			rd.SetSeqno(1)
		}
		return false
	}
	limit := ring.OldestSeqno()
	if c := ring.Sizes().DescriptorCapacity; !ring.IsSnapshot() && ring.LastSeqno() >= c {
		limit += c / 4
	}
	var d eventring.Descriptor
	for {
		at := rd.LastSeqno() + 1
		if blocks.ConsensusPrev(rd, execevents.EventTypeBlockStart, &d) != nil {
			return true
		}
		if d.Seqno < limit || !ring.PayloadValid(&d) {
			rd.SetSeqno(at)
			return true
		}
	}
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
