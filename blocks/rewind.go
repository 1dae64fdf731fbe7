package blocks

import (
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// Rewind helpers (spec §9.3) move a reader backwards to a consensus event so
// that a consumer joining a live ring starts on a block boundary. Consensus
// events are BLOCK_START, BLOCK_QC, BLOCK_FINALIZED and BLOCK_VERIFIED;
// every other event whose BLOCK_SEQNO tag is set is block-internal and is
// "owned" by that BLOCK_START.
//
// A reader "points at" the event its next TryNext returns. The helpers begin
// by copying that event, so they fail on a reader that is fully caught up:
// call Reset (which points it at the newest event) first, or use
// [LatestConsensus]. On success the reader points at the event found and
// its descriptor is copied into d; on failure the reader is restored.

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
func owner(ring *eventring.Ring, d *eventring.Descriptor) bool {
	s := d.ContentExt[execevents.FlowTypeBlockSeqno]
	if s >= d.Seqno || !ring.TryCopy(s, d) {
		return false
	}
	return execevents.EventType(d.EventType) == execevents.EventTypeBlockStart
}

// BlockNumberOf returns the block number of a consensus event, or of the
// BLOCK_START that owns a block-internal event. It fails for other event
// types, when the owner has been overwritten, and when the payload expired.
func BlockNumberOf(ring *eventring.Ring, d *eventring.Descriptor) (uint64, bool) {
	tag, _, ok := tagOf(ring, d)
	return tag.BlockNumber, ok
}

// BlockIDMatches reports whether the consensus event d (or the owner of a
// block-internal d) carries block id id. BLOCK_VERIFIED carries no id and
// never matches.
func BlockIDMatches(ring *eventring.Ring, d *eventring.Descriptor, id execevents.Bytes32) bool {
	tag, hasID, ok := tagOf(ring, d)
	return ok && hasID && tag.ID == id
}

// tagOf reads the block tag of a consensus event (spec §7.5: BLOCK_START,
// BLOCK_QC and BLOCK_FINALIZED carry one; BLOCK_VERIFIED only a number, so
// hasID is false), or of the BLOCK_START owning a block-internal event. It
// fails for other event types, when the owner has been overwritten, and when
// the payload is malformed or expired. The event is read into memory of its
// own (execevents.ReadEvent): the scans that call this are rare and short.
func tagOf(ring *eventring.Ring, d *eventring.Descriptor) (tag execevents.BlockTag, hasID, ok bool) {
	c := *d
	if blockInternal(&c) && !owner(ring, &c) {
		return tag, false, false
	}
	switch execevents.EventType(c.EventType) {
	case execevents.EventTypeBlockStart, execevents.EventTypeBlockQC,
		execevents.EventTypeBlockFinalized, execevents.EventTypeBlockVerified:
	default:
		return tag, false, false // not worth reading
	}
	ev, err := execevents.ReadEvent(ring, &c)
	if err != nil {
		return tag, false, false
	}
	switch ev := ev.(type) {
	case *execevents.BlockStartEvent:
		return ev.BlockTag, true, true
	case *execevents.BlockQCEvent:
		return ev.BlockTag, true, true
	case *execevents.BlockFinalizedEvent:
		return *ev.BlockTag, true, true
	case *execevents.BlockVerifiedEvent:
		return execevents.BlockTag{BlockNumber: ev.BlockNumber}, false, true
	}
	return tag, false, false
}

// ConsensusPrev moves rd to the previous consensus event of type filter
// (EventTypeNone: any type). If rd points at a block-internal event, its
// BLOCK_START counts as "previous". It reports whether one was found.
func ConsensusPrev(rd *eventring.Reader, filter execevents.EventType, d *eventring.Descriptor) bool {
	return restoring(rd, func() bool { return consensusPrev(rd, filter, d) })
}

// restoring runs a search that moves rd and puts rd back where it was if
// the search fails: every helper leaves the reader unchanged on failure
// (spec §9.3).
func restoring(rd *eventring.Reader, search func() bool) bool {
	saved := rd.LastSeqno()
	if search() {
		return true
	}
	rd.SetSeqno(saved + 1)
	return false
}

func consensusPrev(rd *eventring.Reader, filter execevents.EventType, d *eventring.Descriptor) bool {
	ring := rd.Ring()
	if rd.TryCopy(d) != eventring.Ready {
		return false
	}
	if blockInternal(d) {
		if !owner(ring, d) {
			return false
		}
		rd.SetSeqno(d.Seqno)
		if filter == execevents.EventTypeNone || filter == execevents.EventTypeBlockStart {
			return true
		}
	}
	for rd.LastSeqno() > 0 {
		rd.SetSeqno(rd.LastSeqno()) // one step back
		if rd.TryCopy(d) != eventring.Ready {
			return false
		}
		if blockInternal(d) {
			if !owner(ring, d) {
				return false
			}
			rd.SetSeqno(d.Seqno)
		}
		if filter == execevents.EventTypeNone || execevents.EventType(d.EventType) == filter {
			return true
		}
	}
	return false
}

// LatestConsensus points rd at the newest consensus event of type filter
// (EventTypeNone: any) in the ring and copies it into d.
func LatestConsensus(rd *eventring.Reader, filter execevents.EventType, d *eventring.Descriptor) bool {
	return restoring(rd, func() bool {
		if rd.Reset() == 0 {
			return false
		}
		if rd.TryCopy(d) == eventring.Ready && !blockInternal(d) &&
			(filter == execevents.EventTypeNone || execevents.EventType(d.EventType) == filter) {
			return true
		}
		return consensusPrev(rd, filter, d)
	})
}

// RewindToLatestBlockStart points rd at the newest BLOCK_START in the ring,
// so that reading from there begins with a whole block. It reports whether
// one was found; rd is unchanged otherwise.
func RewindToLatestBlockStart(rd *eventring.Reader) bool {
	var d eventring.Descriptor
	return LatestConsensus(rd, execevents.EventTypeBlockStart, &d)
}

// BlockNumberPrev moves rd back to the consensus event of type filter
// (EventTypeNone, BLOCK_START, BLOCK_QC, BLOCK_FINALIZED or
// BLOCK_VERIFIED) for block number n. With the FINALIZED and VERIFIED
// filters, whose numbers only decrease going back, it gives up at the first
// smaller number.
func BlockNumberPrev(rd *eventring.Reader, n uint64, filter execevents.EventType, d *eventring.Descriptor) bool {
	switch filter {
	case execevents.EventTypeNone, execevents.EventTypeBlockStart, execevents.EventTypeBlockQC, execevents.EventTypeBlockFinalized, execevents.EventTypeBlockVerified:
	default:
		return false
	}
	ring := rd.Ring()
	return restoring(rd, func() bool {
		for consensusPrev(rd, filter, d) {
			m, ok := BlockNumberOf(ring, d)
			if !ok {
				return false
			}
			if m == n {
				return true
			}
			if m < n && (filter == execevents.EventTypeBlockFinalized || filter == execevents.EventTypeBlockVerified) {
				return false
			}
		}
		return false
	})
}

// BlockIDPrev moves rd back to the consensus event of type filter
// (EventTypeNone, BLOCK_START, BLOCK_QC or BLOCK_FINALIZED) for block id
// id.
func BlockIDPrev(rd *eventring.Reader, id execevents.Bytes32, filter execevents.EventType, d *eventring.Descriptor) bool {
	switch filter {
	case execevents.EventTypeNone, execevents.EventTypeBlockStart, execevents.EventTypeBlockQC, execevents.EventTypeBlockFinalized:
	default:
		return false
	}
	ring := rd.Ring()
	return restoring(rd, func() bool {
		for consensusPrev(rd, filter, d) {
			if execevents.EventType(d.EventType) != execevents.EventTypeBlockVerified && BlockIDMatches(ring, d, id) {
				return true
			}
		}
		return false
	})
}

// RewindForSimpleReplay positions rd for a consumer that has fully
// processed finalized block n: it finds BLOCK_FINALIZED for n, walks back to
// the newest BLOCK_START numbered n, and leaves rd at the consensus event
// that follows that BLOCK_START (possibly the BLOCK_FINALIZED itself),
// copying it into d.
func RewindForSimpleReplay(rd *eventring.Reader, n uint64, d *eventring.Descriptor) bool {
	ring := rd.Ring()
	return restoring(rd, func() bool {
		if !BlockNumberPrev(rd, n, execevents.EventTypeBlockFinalized, d) {
			return false
		}
		// Walk back remembering the position before each step.
		prevPos, prevSeqno := rd.LastSeqno(), d.Seqno
		for consensusPrev(rd, execevents.EventTypeNone, d) {
			if execevents.EventType(d.EventType) == execevents.EventTypeBlockStart {
				if m, ok := BlockNumberOf(ring, d); ok && m == n {
					rd.SetSeqno(prevPos + 1)
					return rd.TryCopy(d) == eventring.Ready && d.Seqno == prevSeqno
				}
			}
			prevPos, prevSeqno = rd.LastSeqno(), d.Seqno
		}
		return false
	})
}
