package blocks

import (
	"fmt"
	"slices"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// Tracker follows executed proposals through their commit states (spec
// §9.2): blocks come from an inner [Builder] as CommitProposed, and the
// consensus events BLOCK_QC, BLOCK_FINALIZED and BLOCK_VERIFIED move them to
// CommitVoted, CommitFinalized and CommitVerified. When a proposal is
// finalized, the competing proposals for the same number are reported as
// abandoned and forgotten; a verified block is forgotten too.
//
// Only blocks that were reassembled completely are tracked: consensus events
// for proposals the tracker has not seen are ignored. Inconsistent consensus
// events give a *CommitError and are otherwise ignored; builder errors pass
// through unchanged. All of these are per-event conditions after which the
// tracker goes on; [Tracker.Updates] yields them as notices ([Update.Notice]).
// The updates Process and its siblings return never carry a Notice.
//
// The tracker holds at most BuilderOptions.MaxTracked proposals, so a ring
// without consensus events cannot make it grow without limit: beyond that,
// each newly executed block evicts the tracked proposal with the lowest
// block number, which is reported as an *EvictedError alongside the new
// block's CommitProposed update.
//
// A Tracker is not safe for concurrent use.
type Tracker struct {
	b     *Builder
	max   int // MaxTracked
	dec   execevents.Decoder
	byID  map[execevents.Bytes32]*tracked
	byNum map[uint64][]*tracked // proposals per number, in arrival order
	out   []Update              // reused result buffer
}

type tracked struct {
	blk   *ExecutedBlock
	state CommitState
}

// NewTracker returns a Tracker whose inner builder uses opts.
func NewTracker(opts BuilderOptions) *Tracker {
	b := NewBuilder(opts)
	return &Tracker{
		b:     b,
		max:   int(b.opts.MaxTracked),
		byID:  make(map[execevents.Bytes32]*tracked),
		byNum: make(map[uint64][]*tracked),
		out:   make([]Update, 0, 2),
	}
}

// Builder returns the inner block builder.
func (t *Tracker) Builder() *Builder { return t.b }

// Reset forgets every tracked block and the block in progress. Call it
// after a reader gap.
func (t *Tracker) Reset() {
	t.b.Reset()
	clear(t.byID)
	clear(t.byNum)
}

// Len returns the number of blocks being tracked (executed, not yet
// verified, abandoned or evicted); it never exceeds MaxTracked.
func (t *Tracker) Len() int { return len(t.byID) }

// State returns the commit state of the tracked proposal id.
func (t *Tracker) State(id execevents.Bytes32) (CommitState, bool) {
	if tr := t.byID[id]; tr != nil {
		return tr.state, true
	}
	return 0, false
}

// Process consumes the event d, reading its payload from src. It returns
// the updates the event caused (at most one today) in a slice that is
// reused by the next call, and an error. Both may be non-empty: an update
// that is reported despite an inconsistency comes with a *CommitError, and
// a newly executed block that pushed an older proposal out of tracking
// (MaxTracked) comes with an *EvictedError.
//
// The error is a condition of this event (*DropError, *RejectedError,
// *CommitError, *EvictedError, *eventring.ExpiredError), never a reason to
// stop: feed the next event. [Tracker.Updates] yields it as a notice.
//
// An expired payload (*eventring.ExpiredError) clears all state, as after
// Reset.
func (t *Tracker) Process(src eventring.PayloadSource, d *eventring.Descriptor) ([]Update, error) {
	t.out = t.out[:0]
	switch execevents.EventType(d.EventType) {
	case execevents.EventTypeBlockQC, execevents.EventTypeBlockFinalized, execevents.EventTypeBlockVerified:
		ev, err := t.dec.Read(src, d)
		if _, ok := err.(*eventring.ExpiredError); ok {
			t.Reset()
			return nil, err
		}
		if err != nil {
			return nil, &CommitError{Seqno: d.Seqno, EventType: execevents.EventType(d.EventType), Msg: "malformed payload", Err: err}
		}
		var tag execevents.BlockTag
		switch ev := ev.(type) {
		case *execevents.BlockQCEvent:
			tag = ev.BlockTag
		case *execevents.BlockFinalizedEvent:
			tag = *ev.BlockTag
		case *execevents.BlockVerifiedEvent:
			tag.BlockNumber = ev.BlockNumber
		}
		return t.consensus(d.Seqno, execevents.EventType(d.EventType), tag)
	}
	blk, err := t.b.Process(src, d)
	if err != nil {
		if _, ok := err.(*eventring.ExpiredError); ok {
			t.Reset()
		}
		return nil, err
	}
	if blk != nil {
		return t.add(blk)
	}
	return nil, nil
}

// AddEvent is Process for an already decoded (e.g. cloned) event; the
// caller vouches that its payload is intact.
func (t *Tracker) AddEvent(ev execevents.Event) ([]Update, error) {
	t.out = t.out[:0]
	if execevents.CheckEvent(ev) != nil {
		_, err := t.b.AddEvent(ev) // reports it
		return nil, err
	}
	m := ev.Meta()
	switch ev := ev.(type) {
	case *execevents.BlockQCEvent:
		return t.consensus(m.Seqno, m.EventType, ev.BlockTag)
	case *execevents.BlockFinalizedEvent:
		return t.consensus(m.Seqno, m.EventType, *ev.BlockTag)
	case *execevents.BlockVerifiedEvent:
		return t.consensus(m.Seqno, m.EventType, execevents.BlockTag{BlockNumber: ev.BlockNumber})
	}
	blk, err := t.b.AddEvent(ev)
	if err != nil || blk == nil {
		return nil, err
	}
	return t.add(blk)
}

// AddBlock starts tracking an executed block built elsewhere and reports it
// as proposed; if MaxTracked proposals were tracked already, the error is
// the *EvictedError of the one that made room.
func (t *Tracker) AddBlock(blk *ExecutedBlock) ([]Update, error) {
	t.out = t.out[:0]
	return t.add(blk)
}

func (t *Tracker) add(blk *ExecutedBlock) ([]Update, error) {
	id := blk.Start.BlockTag.ID
	if old := t.byID[id]; old != nil {
		return nil, &CommitError{Seqno: blk.StartSeqno, EventType: execevents.EventTypeBlockStart, Block: blk.Start.BlockTag,
			State: old.state, Msg: fmt.Sprintf("proposal already executed (first BLOCK_START seqno %d); new execution ignored", old.blk.StartSeqno)}
	}
	var err error
	if len(t.byID) >= t.max {
		err = t.evict(blk)
	}
	tr := &tracked{blk: blk, state: CommitProposed}
	t.byID[id] = tr
	n := blk.Start.BlockTag.BlockNumber
	t.byNum[n] = append(t.byNum[n], tr)
	t.out = append(t.out, Update{State: CommitProposed, Block: blk})
	return t.out, err
}

// evict stops tracking the proposal with the lowest block number (the
// earliest executed among equals) to make room for next. Consensus settles
// numbers in increasing order, so the lowest one is the longest overdue.
// Room is made before next is inserted so that the newest proposal, the
// one most likely to see consensus events soon, is always kept. The scan
// over the numbers only runs when the bound is hit, which a healthy chain
// never does.
func (t *Tracker) evict(next *ExecutedBlock) error {
	first := true
	var n uint64
	for m := range t.byNum {
		if first || m < n {
			n, first = m, false
		}
	}
	set := t.byNum[n]
	if len(set) == 0 {
		return nil // byNum and byID disagree; cannot happen
	}
	old := set[0]
	if len(set) == 1 {
		delete(t.byNum, n)
	} else {
		t.byNum[n] = slices.Delete(set, 0, 1)
	}
	delete(t.byID, old.blk.Start.BlockTag.ID)
	return &EvictedError{Block: old.blk, State: old.state, Limit: t.max, Seqno: next.EndSeqno, Next: next.Start.BlockTag}
}

// holdsAbove reports whether a proposal numbered above n is tracked: a
// block that may still be finalized (and delivered by Finalized).
func (t *Tracker) holdsAbove(n uint64) bool {
	for m := range t.byNum {
		if m > n {
			return true
		}
	}
	return false
}

func (t *Tracker) consensus(seqno uint64, et execevents.EventType, tag execevents.BlockTag) ([]Update, error) {
	switch et {
	case execevents.EventTypeBlockQC:
		tr := t.byID[tag.ID]
		if tr == nil || tr.state != CommitProposed {
			return nil, nil // unknown, or already past Voted: nothing new
		}
		tr.state = CommitVoted
		t.out = append(t.out, Update{State: CommitVoted, Block: tr.blk})
		return t.out, nil

	case execevents.EventTypeBlockFinalized:
		tr := t.byID[tag.ID]
		if tr == nil {
			return nil, nil
		}
		if tr.state >= CommitFinalized {
			return nil, &CommitError{Seqno: seqno, EventType: et, Block: tag, State: tr.state,
				Msg: "proposal finalized twice"}
		}
		if own := tr.blk.Start.BlockTag.BlockNumber; own != tag.BlockNumber {
			return nil, &CommitError{Seqno: seqno, EventType: et, Block: tag, State: tr.state,
				Msg: fmt.Sprintf("proposal was executed as block number %d", own)}
		}
		tr.state = CommitFinalized
		var abandoned []*ExecutedBlock
		for _, o := range t.byNum[tag.BlockNumber] {
			if o != tr {
				abandoned = append(abandoned, o.blk)
				delete(t.byID, o.blk.Start.BlockTag.ID)
			}
		}
		if abandoned != nil {
			t.byNum[tag.BlockNumber] = append(t.byNum[tag.BlockNumber][:0], tr)
		}
		t.out = append(t.out, Update{State: CommitFinalized, Block: tr.blk, Abandoned: abandoned})
		return t.out, nil

	case execevents.EventTypeBlockVerified:
		n := tag.BlockNumber
		set, ok := t.byNum[n]
		if !ok {
			return nil, nil
		}
		delete(t.byNum, n)
		for _, o := range set {
			delete(t.byID, o.blk.Start.BlockTag.ID)
		}
		var err error
		if len(set) != 1 {
			return nil, &CommitError{Seqno: seqno, EventType: et, Block: tag,
				Msg: fmt.Sprintf("%d proposals tracked for the verified number, want exactly one; all dropped", len(set))}
		}
		tr := set[0]
		if tr.state != CommitFinalized {
			err = &CommitError{Seqno: seqno, EventType: et, Block: tr.blk.Start.BlockTag, State: tr.state,
				Msg: "verified before it was finalized"}
		}
		// Everything at or below a verified number is settled: anything
		// still tracked there missed its consensus events.
		var stale []uint64
		for m := range t.byNum {
			if m <= n {
				stale = append(stale, m)
			}
		}
		if len(stale) > 0 {
			for _, m := range stale {
				for _, o := range t.byNum[m] {
					delete(t.byID, o.blk.Start.BlockTag.ID)
				}
				delete(t.byNum, m)
			}
			if err == nil {
				err = &CommitError{Seqno: seqno, EventType: et, Block: tr.blk.Start.BlockTag, State: tr.state,
					Msg: fmt.Sprintf("gapped verified block number: proposals for lower numbers %v were still tracked; dropped", stale)}
			}
		}
		tr.state = CommitVerified
		t.out = append(t.out, Update{State: CommitVerified, Block: tr.blk})
		return t.out, err
	}
	return nil, nil
}
