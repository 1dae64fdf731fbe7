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

// lastPublished reads the last message of every ordered subject: the
// block each one is at. Subjects without a message are absent.
func lastPublished(ctx context.Context, stream natsjs.Stream, prefix string) (map[string]blockRef, error) {
	last := make(map[string]blockRef)
	for _, subj := range orderedSubjects(prefix) {
		m, err := stream.GetLastMsgForSubject(ctx, subj)
		if errors.Is(err, natsjs.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("last message on %s: %w", subj, err)
		}
		ref, err := parseRef(m.Header)
		if err != nil {
			return nil, fmt.Errorf("last message on %s (stream sequence %d): %w", subj, m.Sequence, err)
		}
		last[subj] = ref
	}
	return last, nil
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
