package blocks

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/monadgo/events/execevents"
)

// Sentinel errors; use errors.Is. The concrete errors are typed
// (*RejectedError, *DropError, *CommitError, *EvictedError) and carry the
// offending values. A payload that expired while it was read is reported
// with eventring's *eventring.ExpiredError (errors.Is
// eventring.ErrPayloadExpired), whichever package noticed it.
var (
	// ErrRejected: the block in progress failed (BLOCK_REJECT, TXN_REJECT
	// or EVM_ERROR) and was discarded.
	ErrRejected = errors.New("blocks: block rejected")
	// ErrImplicitDrop: the block in progress was discarded because its
	// events were inconsistent or incomplete (see DropReason).
	ErrImplicitDrop = errors.New("blocks: block dropped")
	// ErrInconsistent: consensus events contradict the tracked state.
	ErrInconsistent = errors.New("blocks: inconsistent commit state")
	// ErrEvicted: the commit tracker stopped following a proposal to stay
	// within its MaxTracked bound; no further update comes for it.
	ErrEvicted = errors.New("blocks: proposal evicted from commit tracking")
)

// RejectedError reports that the block in progress ended in failure and was
// discarded. Exactly one of the code fields applies, per EventType.
type RejectedError struct {
	Block      execevents.BlockTag  // the discarded proposal
	StartSeqno uint64               // seqno of its BLOCK_START
	Seqno      uint64               // seqno of the failing event
	EventType  execevents.EventType // EventTypeBlockReject, EventTypeTxnReject or EventTypeEVMError
	// TxnIndex is the failing transaction (TXN_REJECT, transaction-scope
	// EVM_ERROR), or -1.
	TxnIndex   int64
	RejectCode uint32              // BLOCK_REJECT / TXN_REJECT validation code (spec §7.7)
	EVMError   execevents.EVMError // EVM_ERROR payload
}

// Error names the block, the event and the offending values.
func (e *RejectedError) Error() string {
	s := fmt.Sprintf("blocks: block %d (id %s, start seqno %d) rejected by %s at seqno %d",
		e.Block.BlockNumber, shortHex(e.Block.ID[:]), e.StartSeqno, eventName(e.EventType), e.Seqno)
	if e.TxnIndex >= 0 {
		s += fmt.Sprintf(", transaction %d", e.TxnIndex)
	}
	if e.EventType == execevents.EventTypeEVMError {
		return s + fmt.Sprintf(": domain %#x status %d", e.EVMError.DomainID, e.EVMError.StatusCode)
	}
	return s + fmt.Sprintf(": code %d", e.RejectCode)
}

// Is reports whether target is ErrRejected.
func (e *RejectedError) Is(target error) bool { return target == ErrRejected }

// DropReason says why a block was implicitly dropped.
type DropReason uint8

// Drop reasons.
const (
	// DropUnterminatedBlock: a BLOCK_START arrived while a block was in
	// progress. The old block is dropped; the new one is started.
	DropUnterminatedBlock DropReason = iota + 1
	// DropMissingTransaction: BLOCK_END arrived but a transaction slot
	// (Index) was never filled, or a transaction has no receipt.
	DropMissingTransaction
	// DropMissingLog: BLOCK_END arrived but transaction TxnIndex has only
	// Actual of its Expected logs.
	DropMissingLog
	// DropMissingCallFrame: as DropMissingLog, for call frames.
	DropMissingCallFrame
	// DropMissingAccess: an account access list was incomplete at
	// BLOCK_END (accesses option only).
	DropMissingAccess
	// DropBadIndex: an event's index was out of range, out of order or a
	// duplicate (Index, Expected), or an event arrived before the one it
	// depends on (e.g. a log before its transaction's TXN_EVM_OUTPUT).
	DropBadIndex
	// DropMalformed: an event of the block had a malformed payload (Err
	// holds the decoder's *execevents.PayloadError) or impossible flow tags.
	DropMalformed
	// DropLostEvent: the recorder replaced an event of the block with a
	// RECORD_ERROR (payload too large), so the block cannot be complete.
	DropLostEvent
	// DropLimit: a count in the block exceeds the builder's sanity limit
	// (Actual > Expected).
	DropLimit
	// DropMissingListEntry: BLOCK_END arrived but a transaction's access
	// list or authorization list has only Actual of its Expected entries.
	DropMissingListEntry
	// DropByteLimit: the payloads of the block's events add up to more than
	// BuilderOptions.MaxBlockBytes (Actual bytes with the event that
	// crossed it, Expected the limit). That event's payload was not read.
	DropByteLimit
)

var dropReasonNames = [...]string{
	DropUnterminatedBlock:  "unterminated block",
	DropMissingTransaction: "missing transaction",
	DropMissingLog:         "missing log",
	DropMissingCallFrame:   "missing call frame",
	DropMissingAccess:      "missing account access",
	DropBadIndex:           "out-of-order or duplicate index",
	DropMalformed:          "malformed event",
	DropLostEvent:          "event lost by the recorder",
	DropLimit:              "count over limit",
	DropMissingListEntry:   "missing access or authorization list entry",
	DropByteLimit:          "payload bytes over limit",
}

// String returns a short description of the reason.
func (r DropReason) String() string {
	if int(r) < len(dropReasonNames) && dropReasonNames[r] != "" {
		return dropReasonNames[r]
	}
	return fmt.Sprintf("DropReason(%d)", uint8(r))
}

// DropError reports a block that was discarded because its events were
// inconsistent or incomplete ("implicit drop"). Fields that do not apply to
// the reason are zero; TxnIndex is -1 when no transaction is involved.
type DropError struct {
	Reason     DropReason           // why the block was dropped; says which fields below apply
	Detail     string               // what exactly was wrong, in words (may be empty)
	Block      execevents.BlockTag  // the dropped proposal
	StartSeqno uint64               // seqno of its BLOCK_START
	Seqno      uint64               // seqno of the event that revealed the problem
	EventType  execevents.EventType // type of that event
	TxnIndex   int64                // transaction concerned, or -1 (block scope)
	// Index is the offending index (transaction, log, frame, entry), or
	// the lost event's type (DropLostEvent).
	Index uint64
	// Expected is the expected index or count, or the limit (DropLimit,
	// DropByteLimit).
	Expected uint64
	// Actual is the actual count: entries, slots, payload bytes
	// (DropByteLimit) or the lost event's requested payload size
	// (DropLostEvent).
	Actual uint64
	// Next is the BLOCK_START that interrupted the block
	// (DropUnterminatedBlock only); the builder has started it unless its
	// txn_count is over the builder's limit.
	Next execevents.BlockTag
	// Err is the underlying decode error (DropMalformed), if any.
	Err error
}

// Error names the block, the event and the offending values.
func (e *DropError) Error() string {
	s := fmt.Sprintf("blocks: block %d (id %s, start seqno %d) dropped at %s seqno %d: %s",
		e.Block.BlockNumber, shortHex(e.Block.ID[:]), e.StartSeqno, eventName(e.EventType), e.Seqno, e.Reason)
	switch e.Reason {
	case DropUnterminatedBlock:
		s += fmt.Sprintf(" (interrupted by block %d id %s)", e.Next.BlockNumber, shortHex(e.Next.ID[:]))
	case DropMissingTransaction:
		s += fmt.Sprintf(" (transaction %d)", e.Index)
	case DropMissingLog, DropMissingCallFrame, DropMissingAccess, DropMissingListEntry:
		s += fmt.Sprintf(" (%s%d of %d)", e.txn(), e.Actual, e.Expected)
	case DropBadIndex:
		s += fmt.Sprintf(" (%sindex %d, expected %d)", e.txn(), e.Index, e.Expected)
	case DropLostEvent:
		s += fmt.Sprintf(" (event type %d, %d-byte payload)", e.Index, e.Actual)
	case DropLimit:
		s += fmt.Sprintf(" (%scount %d over limit %d)", e.txn(), e.Actual, e.Expected)
	case DropByteLimit:
		s += fmt.Sprintf(" (%s%d payload bytes over limit %d)", e.txn(), e.Actual, e.Expected)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// txn names the transaction involved, if any, for Error.
func (e *DropError) txn() string {
	if e.TxnIndex < 0 {
		return "block scope: "
	}
	return fmt.Sprintf("transaction %d: ", e.TxnIndex)
}

// Is reports whether target is ErrImplicitDrop.
func (e *DropError) Is(target error) bool { return target == ErrImplicitDrop }

// Unwrap returns the underlying decode error, if any.
func (e *DropError) Unwrap() error { return e.Err }

// CommitError reports consensus events that contradict the tracked state
// (spec §9.2's "fatal" cases); the tracker keeps going.
type CommitError struct {
	Seqno     uint64               // seqno of the contradicting event
	EventType execevents.EventType // its type (a consensus event, or BLOCK_START of a re-executed proposal)
	Block     execevents.BlockTag  // id and number concerned (id zero for BLOCK_VERIFIED)
	State     CommitState          // tracked state of that block when the event came
	Msg       string               // what contradicts the tracked state, in words
	// Err is the decoder's *execevents.PayloadError for a malformed consensus
	// payload, else nil.
	Err error
}

// Error names the block, the event and the offending values.
func (e *CommitError) Error() string {
	s := fmt.Sprintf("blocks: %s seqno %d for block %d (id %s, state %s): %s",
		eventName(e.EventType), e.Seqno, e.Block.BlockNumber, shortHex(e.Block.ID[:]), e.State, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying decode error, if any.
func (e *CommitError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInconsistent.
func (e *CommitError) Is(target error) bool { return target == ErrInconsistent }

// EvictedError reports a proposal that a [Tracker] stopped following
// because it already held BuilderOptions.MaxTracked proposals when another
// one was executed. The evicted proposal is the one with the lowest block
// number (the earliest executed among equals): on a healthy chain it would
// have been verified or abandoned long before, so an eviction means its
// consensus events are missing. No further update is reported for it, and
// its consensus events, should they still come, are ignored like those of
// any unknown proposal.
type EvictedError struct {
	Block *ExecutedBlock // the proposal no longer tracked
	State CommitState    // the last state reported for it
	Limit int            // the tracker's MaxTracked
	// Seqno is the BLOCK_END seqno of the newly executed proposal, Next,
	// that needed the room.
	Seqno uint64
	Next  execevents.BlockTag // the newly executed proposal
}

// Error names the evicted block, its state and the bound.
func (e *EvictedError) Error() string {
	tag := e.Block.Start.BlockTag
	return fmt.Sprintf("blocks: block %d (id %s, start seqno %d, state %s) evicted from commit tracking at seqno %d: %d proposals tracked (MaxTracked) when block %d (id %s) was executed",
		tag.BlockNumber, shortHex(tag.ID[:]), e.Block.StartSeqno, e.State, e.Seqno, e.Limit, e.Next.BlockNumber, shortHex(e.Next.ID[:]))
}

// Is reports whether target is ErrEvicted.
func (e *EvictedError) Is(target error) bool { return target == ErrEvicted }

func eventName(t execevents.EventType) string {
	if int(t) < len(execevents.Events) {
		return execevents.Events[t].Name
	}
	return fmt.Sprintf("event type %d", uint16(t))
}

func shortHex(b []byte) string { return "0x" + hex.EncodeToString(b) }
