package blocks

import (
	"errors"
	"fmt"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// Rewind helpers (spec §9.3) move a reader backwards to a consensus event so
// that a consumer joining a live ring starts on a block boundary. Consensus
// events are BLOCK_START, BLOCK_QC, BLOCK_FINALIZED and BLOCK_VERIFIED;
// every other event whose BLOCK_SEQNO tag is set is block-internal and is
// "owned" by that BLOCK_START.
//
// A reader "points at" the event its next TryNext returns. The *Prev
// helpers search backwards from there, as the C helpers do, so they fail
// on a reader that is fully caught up: call Reset (which points it at the
// newest event) first, or use [LatestConsensus]. [RewindForSimpleReplay]
// searches the whole ring from its newest event. On success the reader
// points at the event found and its descriptor is copied into d; on
// failure the reader is restored and the error says why: it wraps
// [ErrNotFound] (the ring holds no such event), [ErrOverwritten] (the
// search reached events the writer had already overwritten, among which
// the one sought may have been), or a malformed payload's
// *execevents.PayloadError.

// Errors of the rewind helpers; use errors.Is.
var (
	// ErrNotFound: the events searched hold no match (or the reader
	// points at no event).
	ErrNotFound = errors.New("blocks: no such event in the ring")
	// ErrOverwritten: the search ran into events (or payloads) the writer
	// had overwritten before finding a match.
	ErrOverwritten = errors.New("blocks: overwritten in the ring")
)

// IsConsensus reports whether d is a consensus event (BLOCK_START,
// BLOCK_QC, BLOCK_FINALIZED, BLOCK_VERIFIED) rather than a block-internal
// one. Events with an unset BLOCK_SEQNO tag count as consensus events, as
// in the C helpers.
func IsConsensus(d *eventring.Descriptor) bool {
	return !blockInternal(d)
}

func blockInternal(d *eventring.Descriptor) bool {
	return d.ContentExt[execevents.FlowTypeBlockSeqno] != 0 && execevents.EventType(d.EventType) != execevents.EventTypeBlockStart
}

// owner replaces a block-internal d by its BLOCK_START (random access by
// seqno). It fails if the owner is gone, is not a BLOCK_START, or does not
// precede d.
func owner(ring *eventring.Ring, d *eventring.Descriptor) error {
	s, seqno := d.ContentExt[execevents.FlowTypeBlockSeqno], d.Seqno
	if s >= seqno {
		return fmt.Errorf("%w: event %d names BLOCK_START %d, not an earlier event", ErrNotFound, seqno, s)
	}
	if !ring.TryCopy(s, d) {
		return fmt.Errorf("%w: BLOCK_START %d of event %d", ErrOverwritten, s, seqno)
	}
	if execevents.EventType(d.EventType) != execevents.EventTypeBlockStart {
		return fmt.Errorf("%w: event %d names %d as its BLOCK_START, which is a %v", ErrNotFound, seqno, s, execevents.EventType(d.EventType))
	}
	return nil
}

// BlockNumberOf returns the block number of a consensus event, or of the
// BLOCK_START that owns a block-internal event. It fails for other event
// types (ErrNotFound), when the owner or the payload has been overwritten
// (ErrOverwritten), and for a malformed payload.
func BlockNumberOf(ring *eventring.Ring, d *eventring.Descriptor) (uint64, error) {
	tag, _, err := tagOf(ring, d)
	return tag.BlockNumber, err
}

// BlockIDMatches reports whether the consensus event d (or the owner of a
// block-internal d) carries block id id. BLOCK_VERIFIED carries no id and
// never matches.
func BlockIDMatches(ring *eventring.Ring, d *eventring.Descriptor, id execevents.Bytes32) bool {
	tag, hasID, err := tagOf(ring, d)
	return err == nil && hasID && tag.ID == id
}

// tagOf reads the block tag of a consensus event (spec §7.5: BLOCK_START,
// BLOCK_QC and BLOCK_FINALIZED carry one; BLOCK_VERIFIED only a number, so
// hasID is false), or of the BLOCK_START owning a block-internal event. The
// event is read into memory of its own (execevents.ReadEvent): the scans
// that call this are rare and short.
func tagOf(ring *eventring.Ring, d *eventring.Descriptor) (tag execevents.BlockTag, hasID bool, err error) {
	c := *d
	if blockInternal(&c) {
		if err := owner(ring, &c); err != nil {
			return tag, false, err
		}
	}
	switch execevents.EventType(c.EventType) {
	case execevents.EventTypeBlockStart, execevents.EventTypeBlockQC,
		execevents.EventTypeBlockFinalized, execevents.EventTypeBlockVerified:
	default:
		return tag, false, fmt.Errorf("%w: event %d is a %v, which carries no block tag", ErrNotFound, c.Seqno, execevents.EventType(c.EventType))
	}
	ev, err := execevents.ReadEvent(ring, &c)
	if err != nil {
		if errors.Is(err, eventring.ErrPayloadExpired) {
			return tag, false, fmt.Errorf("%w: %w", ErrOverwritten, err)
		}
		return tag, false, err
	}
	switch ev := ev.(type) {
	case *execevents.BlockStartEvent:
		return ev.BlockTag, true, nil
	case *execevents.BlockQCEvent:
		return ev.BlockTag, true, nil
	case *execevents.BlockFinalizedEvent:
		return *ev.BlockTag, true, nil
	case *execevents.BlockVerifiedEvent:
		return execevents.BlockTag{BlockNumber: ev.BlockNumber}, false, nil
	}
	return tag, false, fmt.Errorf("%w: event %d is not a consensus event", ErrNotFound, c.Seqno)
}

// ConsensusPrev moves rd to the previous consensus event of type filter
// (EventTypeNone: any type). If rd points at a block-internal event, its
// BLOCK_START counts as "previous".
func ConsensusPrev(rd *eventring.Reader, filter execevents.EventType, d *eventring.Descriptor) error {
	return restoring(rd, func() error { return consensusPrev(rd, filter, d) })
}

// restoring runs a search that moves rd and puts rd back where it was if
// the search fails: every helper leaves the reader unchanged on failure
// (spec §9.3).
func restoring(rd *eventring.Reader, search func() error) error {
	saved := rd.LastSeqno()
	err := search()
	if err != nil {
		rd.SetSeqno(saved + 1)
	}
	return err
}

// copyAt copies the event rd points at, saying why it cannot.
func copyAt(rd *eventring.Reader, d *eventring.Descriptor) error {
	switch rd.TryCopy(d) {
	case eventring.Ready:
		return nil
	case eventring.Gap:
		return fmt.Errorf("%w: reached event %d (the oldest in the ring is %d)", ErrOverwritten, rd.LastSeqno()+1, rd.Ring().OldestSeqno())
	}
	return fmt.Errorf("%w: the reader points at no event (next seqno %d)", ErrNotFound, rd.LastSeqno()+1)
}

func consensusPrev(rd *eventring.Reader, filter execevents.EventType, d *eventring.Descriptor) error {
	ring := rd.Ring()
	if err := copyAt(rd, d); err != nil {
		return err
	}
	if blockInternal(d) {
		if err := owner(ring, d); err != nil {
			return err
		}
		rd.SetSeqno(d.Seqno)
		if filter == execevents.EventTypeNone || filter == execevents.EventTypeBlockStart {
			return nil
		}
	}
	for rd.LastSeqno() > 0 {
		rd.SetSeqno(rd.LastSeqno()) // one step back
		if err := copyAt(rd, d); err != nil {
			return err
		}
		if blockInternal(d) {
			if err := owner(ring, d); err != nil {
				return err
			}
			rd.SetSeqno(d.Seqno)
		}
		if filter == execevents.EventTypeNone || execevents.EventType(d.EventType) == filter {
			return nil
		}
	}
	return fmt.Errorf("%w: no %s before it back to the ring's first event", ErrNotFound, filterName(filter))
}

func filterName(filter execevents.EventType) string {
	if filter == execevents.EventTypeNone {
		return "consensus event"
	}
	return filter.String()
}

// LatestConsensus points rd at the newest consensus event of type filter
// (EventTypeNone: any) in the ring and copies it into d.
func LatestConsensus(rd *eventring.Reader, filter execevents.EventType, d *eventring.Descriptor) error {
	return restoring(rd, func() error { return latestConsensus(rd, filter, d) })
}

func latestConsensus(rd *eventring.Reader, filter execevents.EventType, d *eventring.Descriptor) error {
	if rd.Reset() == 0 {
		return fmt.Errorf("%w: the ring is empty", ErrNotFound)
	}
	if rd.TryCopy(d) == eventring.Ready && !blockInternal(d) &&
		(filter == execevents.EventTypeNone || execevents.EventType(d.EventType) == filter) {
		return nil
	}
	return consensusPrev(rd, filter, d)
}

// RewindToLatestBlockStart points rd at the newest BLOCK_START in the ring,
// so that reading from there begins with a whole block; rd is unchanged on
// error.
func RewindToLatestBlockStart(rd *eventring.Reader) error {
	var d eventring.Descriptor
	return LatestConsensus(rd, execevents.EventTypeBlockStart, &d)
}

// checkFilter refuses a filter a block search cannot use.
func checkFilter(op string, filter execevents.EventType, allowed ...execevents.EventType) error {
	for _, a := range allowed {
		if filter == a {
			return nil
		}
	}
	return fmt.Errorf("blocks: %s: %v is not a filter it accepts", op, filter)
}

// BlockNumberPrev moves rd back to the consensus event of type filter
// (EventTypeNone, BLOCK_START, BLOCK_QC, BLOCK_FINALIZED or
// BLOCK_VERIFIED) for block number n. With the FINALIZED and VERIFIED
// filters, whose numbers only decrease going back, it gives up
// (ErrNotFound) at the first smaller number.
func BlockNumberPrev(rd *eventring.Reader, n uint64, filter execevents.EventType, d *eventring.Descriptor) error {
	if err := checkFilter("BlockNumberPrev", filter, execevents.EventTypeNone, execevents.EventTypeBlockStart,
		execevents.EventTypeBlockQC, execevents.EventTypeBlockFinalized, execevents.EventTypeBlockVerified); err != nil {
		return err
	}
	return restoring(rd, func() error { return blockNumberPrev(rd, n, filter, d) })
}

func blockNumberPrev(rd *eventring.Reader, n uint64, filter execevents.EventType, d *eventring.Descriptor) error {
	ring := rd.Ring()
	for {
		if err := consensusPrev(rd, filter, d); err != nil {
			return fmt.Errorf("%s for block %d: %w", filterName(filter), n, err)
		}
		m, err := BlockNumberOf(ring, d)
		if err != nil {
			return err
		}
		if m == n {
			return nil
		}
		if m < n && (filter == execevents.EventTypeBlockFinalized || filter == execevents.EventTypeBlockVerified) {
			return fmt.Errorf("%w: %v for block %d (found block %d's at seqno %d, and numbers only decrease before it)", ErrNotFound, filter, n, m, d.Seqno)
		}
	}
}

// BlockIDPrev moves rd back to the consensus event of type filter
// (EventTypeNone, BLOCK_START, BLOCK_QC or BLOCK_FINALIZED) for block id
// id.
func BlockIDPrev(rd *eventring.Reader, id execevents.Bytes32, filter execevents.EventType, d *eventring.Descriptor) error {
	if err := checkFilter("BlockIDPrev", filter, execevents.EventTypeNone, execevents.EventTypeBlockStart,
		execevents.EventTypeBlockQC, execevents.EventTypeBlockFinalized); err != nil {
		return err
	}
	ring := rd.Ring()
	return restoring(rd, func() error {
		for {
			if err := consensusPrev(rd, filter, d); err != nil {
				return fmt.Errorf("%s for block id %s: %w", filterName(filter), shortHex(id[:]), err)
			}
			if execevents.EventType(d.EventType) != execevents.EventTypeBlockVerified && BlockIDMatches(ring, d, id) {
				return nil
			}
		}
	})
}

// RewindForSimpleReplay positions rd for a consumer that has fully
// processed finalized block n: it finds BLOCK_FINALIZED for n, searching
// the whole ring from its newest event (whatever rd's position: a fresh
// reader of a live ring or of a snapshot finds it, the ring's newest event
// included), walks back to the newest BLOCK_START numbered n, and leaves rd
// at the consensus event that follows that BLOCK_START (possibly the
// BLOCK_FINALIZED itself), copying it into d. Reading on from there
// delivers every block finalized after n.
func RewindForSimpleReplay(rd *eventring.Reader, n uint64, d *eventring.Descriptor) error {
	ring := rd.Ring()
	return restoring(rd, func() error {
		if err := latestConsensus(rd, execevents.EventTypeBlockFinalized, d); err != nil {
			return fmt.Errorf("BLOCK_FINALIZED for block %d: %w", n, err)
		}
		switch m, err := BlockNumberOf(ring, d); {
		case err != nil:
			return err
		case m < n:
			return fmt.Errorf("%w: block %d is not finalized in the ring (the newest BLOCK_FINALIZED, seqno %d, is block %d's)", ErrNotFound, n, d.Seqno, m)
		case m > n:
			// rd points at d: the search goes on before it.
			if err := blockNumberPrev(rd, n, execevents.EventTypeBlockFinalized, d); err != nil {
				return err
			}
		}
		// Walk back remembering the position before each step.
		prevPos, prevSeqno := rd.LastSeqno(), d.Seqno
		for {
			if err := consensusPrev(rd, execevents.EventTypeNone, d); err != nil {
				return fmt.Errorf("BLOCK_START of finalized block %d: %w", n, err)
			}
			if execevents.EventType(d.EventType) == execevents.EventTypeBlockStart {
				if m, err := BlockNumberOf(ring, d); err == nil && m == n {
					rd.SetSeqno(prevPos + 1)
					if err := copyAt(rd, d); err != nil {
						return err
					}
					if d.Seqno != prevSeqno {
						return fmt.Errorf("%w: event %d changed while the ring was searched", ErrOverwritten, prevSeqno)
					}
					return nil
				}
			}
			prevPos, prevSeqno = rd.LastSeqno(), d.Seqno
		}
	})
}
