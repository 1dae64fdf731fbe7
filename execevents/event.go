package execevents

import (
	"github.com/monadgo/events/eventring"
)

// Flow holds the EXEC flow tags of an event (descriptor content_ext, spec
// §7.2), stored as recorded.
type Flow struct {
	// BlockSeqno is the seqno of the BLOCK_START that opened the enclosing
	// block (its own seqno on a BLOCK_START); 0 outside any block.
	BlockSeqno uint64
	// TxnID is the transaction index + 1; 0 means "not a transaction-scope
	// event". Use TxnIndex to decode it.
	TxnID uint64
	// AccountIndex is, on STORAGE_ACCESS only, the 0-based index of the
	// owning ACCOUNT_ACCESS (stored raw, no +1). Meaningless elsewhere.
	AccountIndex uint64
}

// FlowOf extracts the flow tags of a descriptor.
func FlowOf(d *eventring.Descriptor) Flow {
	return Flow{
		BlockSeqno:   d.ContentExt[FlowTypeBlockSeqno],
		TxnID:        d.ContentExt[FlowTypeTxnID],
		AccountIndex: d.ContentExt[FlowTypeAccountIndex],
	}
}

// TxnIndex returns the transaction index the event belongs to, and false for
// events outside transaction scope.
func (f Flow) TxnIndex() (uint64, bool) {
	if f.TxnID == 0 {
		return 0, false
	}
	return f.TxnID - 1, true
}

// EventMeta is what every typed event carries besides its payload: the
// descriptor's identity and flow tags.
type EventMeta struct {
	Seqno            uint64    // the descriptor's sequence number
	EventType        EventType // the descriptor's event type
	RecordEpochNanos uint64    // when the writer recorded the event (ns since the Unix epoch)
	Flow             Flow      // flow tags (descriptor content_ext)
}

// Meta returns m; it makes every event type that embeds EventMeta satisfy
// [Event].
func (m *EventMeta) Meta() *EventMeta { return m }

// Type returns the event type.
func (m *EventMeta) Type() EventType { return m.EventType }

// Event is a typed execution event: one concrete pointer type per event
// kind (*BlockStartEvent, *TxnLogEvent, ..., *UnknownEvent for codes this
// schema does not define). Switch on the concrete type:
//
//	switch ev := ev.(type) {
//	case *execevents.BlockStartEvent:
//		fmt.Println(ev.BlockTag.BlockNumber)
//	case *execevents.TxnLogEvent:
//		fmt.Println(ev.Address, len(ev.Topics))
//	}
//
// Events returned by a [Decoder] are views: their payload fields point into
// the ring and the event value itself is reused by the decoder's next call
// for the same kind. They are trustworthy only if the payload is still valid
// after you are done reading them ([eventring.Ring.PayloadValid]). Clone
// returns an owned deep copy.
type Event interface {
	// Meta returns the descriptor facts and flow tags.
	Meta() *EventMeta
	// Type returns the event type.
	Type() EventType
	// Clone returns a deep copy that owns all its memory.
	Clone() Event
	isEvent()
}

// The concrete event types. Fixed-size payloads are reached through an
// embedded pointer to the generated struct (fields are promoted); payloads
// with trailing arrays through the generated view value.
type (
	// RecordErrorEvent stands in for an event the recorder could not
	// store. Truncated holds the beginning of the dropped event's payload
	// (not a complete event; do not decode it as one).
	RecordErrorEvent struct {
		EventMeta
		RecordErrorView
	}
	// BlockStartEvent opens a block scope.
	BlockStartEvent struct {
		EventMeta
		*BlockStart
	}
	// BlockRejectEvent closes a block that failed validation.
	BlockRejectEvent struct {
		EventMeta
		Code BlockReject // validation failure code (spec §7.7)
	}
	// BlockPerfEVMEnterEvent marks the start of a block's transaction
	// execution.
	BlockPerfEVMEnterEvent struct{ EventMeta }
	// BlockPerfEVMExitEvent marks the end of a block's transaction
	// execution.
	BlockPerfEVMExitEvent struct{ EventMeta }
	// BlockEndEvent closes a successfully executed block.
	BlockEndEvent struct {
		EventMeta
		*BlockEnd
	}
	// BlockQCEvent reports a quorum certificate for a proposal.
	BlockQCEvent struct {
		EventMeta
		*BlockQC
	}
	// BlockFinalizedEvent reports a finalized proposal.
	BlockFinalizedEvent struct {
		EventMeta
		*BlockFinalized
	}
	// BlockVerifiedEvent reports a verified block number.
	BlockVerifiedEvent struct {
		EventMeta
		*BlockVerified
	}
	// TxnHeaderStartEvent is the first event of a transaction.
	TxnHeaderStartEvent struct {
		EventMeta
		TxnHeaderStartView
	}
	// TxnAccessListEntryEvent is one EIP-2930 access-list element.
	TxnAccessListEntryEvent struct {
		EventMeta
		TxnAccessListEntryView
	}
	// TxnAuthListEntryEvent is one EIP-7702 authorization.
	TxnAuthListEntryEvent struct {
		EventMeta
		*TxnAuthListEntry
	}
	// TxnHeaderEndEvent marks the end of a transaction's header events.
	TxnHeaderEndEvent struct{ EventMeta }
	// TxnRejectEvent reports an invalid transaction.
	TxnRejectEvent struct {
		EventMeta
		Code TxnReject // validation failure code (spec §7.7)
	}
	// TxnPerfEVMEnterEvent marks the start of a transaction's execution.
	TxnPerfEVMEnterEvent struct{ EventMeta }
	// TxnPerfEVMExitEvent marks the end of a transaction's execution.
	TxnPerfEVMExitEvent struct{ EventMeta }
	// TxnEVMOutputEvent carries a transaction's receipt summary.
	TxnEVMOutputEvent struct {
		EventMeta
		*TxnEVMOutput
	}
	// TxnLogEvent is one log.
	TxnLogEvent struct {
		EventMeta
		TxnLogView
	}
	// TxnCallFrameEvent is one call-trace frame.
	TxnCallFrameEvent struct {
		EventMeta
		TxnCallFrameView
	}
	// TxnEndEvent marks the end of a successful transaction.
	TxnEndEvent struct{ EventMeta }
	// AccountAccessListHeaderEvent opens an account access list.
	AccountAccessListHeaderEvent struct {
		EventMeta
		*AccountAccessListHeader
	}
	// AccountAccessEvent is one account read or written.
	AccountAccessEvent struct {
		EventMeta
		*AccountAccess
	}
	// StorageAccessEvent is one storage slot read or written.
	StorageAccessEvent struct {
		EventMeta
		*StorageAccess
	}
	// EVMErrorEvent reports an internal execution error.
	EVMErrorEvent struct {
		EventMeta
		*EVMError
	}
	// UnknownEvent is an event whose type this schema does not define; the
	// payload is surfaced raw.
	UnknownEvent struct {
		EventMeta
		Payload []byte // the raw payload (a view, like every decoded event's)
	}
)

func (*RecordErrorEvent) isEvent()             {}
func (*BlockStartEvent) isEvent()              {}
func (*BlockRejectEvent) isEvent()             {}
func (*BlockPerfEVMEnterEvent) isEvent()       {}
func (*BlockPerfEVMExitEvent) isEvent()        {}
func (*BlockEndEvent) isEvent()                {}
func (*BlockQCEvent) isEvent()                 {}
func (*BlockFinalizedEvent) isEvent()          {}
func (*BlockVerifiedEvent) isEvent()           {}
func (*TxnHeaderStartEvent) isEvent()          {}
func (*TxnAccessListEntryEvent) isEvent()      {}
func (*TxnAuthListEntryEvent) isEvent()        {}
func (*TxnHeaderEndEvent) isEvent()            {}
func (*TxnRejectEvent) isEvent()               {}
func (*TxnPerfEVMEnterEvent) isEvent()         {}
func (*TxnPerfEVMExitEvent) isEvent()          {}
func (*TxnEVMOutputEvent) isEvent()            {}
func (*TxnLogEvent) isEvent()                  {}
func (*TxnCallFrameEvent) isEvent()            {}
func (*TxnEndEvent) isEvent()                  {}
func (*AccountAccessListHeaderEvent) isEvent() {}
func (*AccountAccessEvent) isEvent()           {}
func (*StorageAccessEvent) isEvent()           {}
func (*EVMErrorEvent) isEvent()                {}
func (*UnknownEvent) isEvent()                 {}

func ptrClone[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

func sliceClone[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

// Clone returns an owned deep copy.
func (e *RecordErrorEvent) Clone() Event {
	c := &RecordErrorEvent{EventMeta: e.EventMeta}
	c.RecordError = ptrClone(e.RecordError)
	c.Truncated = sliceClone(e.Truncated)
	return c
}

// Clone returns an owned deep copy.
func (e *BlockStartEvent) Clone() Event { return &BlockStartEvent{e.EventMeta, ptrClone(e.BlockStart)} }

// Clone returns an owned deep copy.
func (e *BlockRejectEvent) Clone() Event { c := *e; return &c }

// Clone returns an owned deep copy.
func (e *BlockPerfEVMEnterEvent) Clone() Event { c := *e; return &c }

// Clone returns an owned deep copy.
func (e *BlockPerfEVMExitEvent) Clone() Event { c := *e; return &c }

// Clone returns an owned deep copy.
func (e *BlockEndEvent) Clone() Event { return &BlockEndEvent{e.EventMeta, ptrClone(e.BlockEnd)} }

// Clone returns an owned deep copy.
func (e *BlockQCEvent) Clone() Event { return &BlockQCEvent{e.EventMeta, ptrClone(e.BlockQC)} }

// Clone returns an owned deep copy.
func (e *BlockFinalizedEvent) Clone() Event {
	return &BlockFinalizedEvent{e.EventMeta, ptrClone(e.BlockFinalized)}
}

// Clone returns an owned deep copy.
func (e *BlockVerifiedEvent) Clone() Event {
	return &BlockVerifiedEvent{e.EventMeta, ptrClone(e.BlockVerified)}
}

// Clone returns an owned deep copy.
func (e *TxnHeaderStartEvent) Clone() Event {
	c := &TxnHeaderStartEvent{EventMeta: e.EventMeta}
	c.TxnHeaderStart = ptrClone(e.TxnHeaderStart)
	c.Data = sliceClone(e.Data)
	c.BlobVersionedHashes = sliceClone(e.BlobVersionedHashes)
	return c
}

// Clone returns an owned deep copy.
func (e *TxnAccessListEntryEvent) Clone() Event {
	c := &TxnAccessListEntryEvent{EventMeta: e.EventMeta}
	c.TxnAccessListEntry = ptrClone(e.TxnAccessListEntry)
	c.StorageKeys = sliceClone(e.StorageKeys)
	return c
}

// Clone returns an owned deep copy.
func (e *TxnAuthListEntryEvent) Clone() Event {
	return &TxnAuthListEntryEvent{e.EventMeta, ptrClone(e.TxnAuthListEntry)}
}

// Clone returns an owned deep copy.
func (e *TxnHeaderEndEvent) Clone() Event { c := *e; return &c }

// Clone returns an owned deep copy.
func (e *TxnRejectEvent) Clone() Event { c := *e; return &c }

// Clone returns an owned deep copy.
func (e *TxnPerfEVMEnterEvent) Clone() Event { c := *e; return &c }

// Clone returns an owned deep copy.
func (e *TxnPerfEVMExitEvent) Clone() Event { c := *e; return &c }

// Clone returns an owned deep copy.
func (e *TxnEVMOutputEvent) Clone() Event {
	return &TxnEVMOutputEvent{e.EventMeta, ptrClone(e.TxnEVMOutput)}
}

// Clone returns an owned deep copy.
func (e *TxnLogEvent) Clone() Event {
	c := &TxnLogEvent{EventMeta: e.EventMeta}
	c.TxnLog = ptrClone(e.TxnLog)
	c.Topics = sliceClone(e.Topics)
	c.Data = sliceClone(e.Data)
	return c
}

// Clone returns an owned deep copy.
func (e *TxnCallFrameEvent) Clone() Event {
	c := &TxnCallFrameEvent{EventMeta: e.EventMeta}
	c.TxnCallFrame = ptrClone(e.TxnCallFrame)
	c.Input = sliceClone(e.Input)
	c.ReturnData = sliceClone(e.ReturnData)
	return c
}

// Clone returns an owned deep copy.
func (e *TxnEndEvent) Clone() Event { c := *e; return &c }

// Clone returns an owned deep copy.
func (e *AccountAccessListHeaderEvent) Clone() Event {
	return &AccountAccessListHeaderEvent{e.EventMeta, ptrClone(e.AccountAccessListHeader)}
}

// Clone returns an owned deep copy.
func (e *AccountAccessEvent) Clone() Event {
	return &AccountAccessEvent{e.EventMeta, ptrClone(e.AccountAccess)}
}

// Clone returns an owned deep copy.
func (e *StorageAccessEvent) Clone() Event {
	return &StorageAccessEvent{e.EventMeta, ptrClone(e.StorageAccess)}
}

// Clone returns an owned deep copy.
func (e *EVMErrorEvent) Clone() Event { return &EVMErrorEvent{e.EventMeta, ptrClone(e.EVMError)} }

// Clone returns an owned deep copy.
func (e *UnknownEvent) Clone() Event { return &UnknownEvent{e.EventMeta, sliceClone(e.Payload)} }

// Decoder turns descriptors and payloads into typed events without
// allocating: it keeps one value per event kind and returns a pointer to it,
// so an event it returned is overwritten by its next Decode of the same
// kind. The zero value is ready to use. A Decoder is not safe for concurrent
// use.
type Decoder struct {
	recordError             RecordErrorEvent
	blockStart              BlockStartEvent
	blockReject             BlockRejectEvent
	blockPerfEVMEnter       BlockPerfEVMEnterEvent
	blockPerfEVMExit        BlockPerfEVMExitEvent
	blockEnd                BlockEndEvent
	blockQC                 BlockQCEvent
	blockFinalized          BlockFinalizedEvent
	blockVerified           BlockVerifiedEvent
	txnHeaderStart          TxnHeaderStartEvent
	txnAccessListEntry      TxnAccessListEntryEvent
	txnAuthListEntry        TxnAuthListEntryEvent
	txnHeaderEnd            TxnHeaderEndEvent
	txnReject               TxnRejectEvent
	txnPerfEVMEnter         TxnPerfEVMEnterEvent
	txnPerfEVMExit          TxnPerfEVMExitEvent
	txnEVMOutput            TxnEVMOutputEvent
	txnLog                  TxnLogEvent
	txnCallFrame            TxnCallFrameEvent
	txnEnd                  TxnEndEvent
	accountAccessListHeader AccountAccessListHeaderEvent
	accountAccess           AccountAccessEvent
	storageAccess           StorageAccessEvent
	evmError                EVMErrorEvent
	unknown                 UnknownEvent
}

// Decode returns the typed view of the event described by d whose payload
// is p (normally ring.Payload(d)). A malformed payload gives a
// *PayloadError; nothing panics. The result refers to p: check
// ring.PayloadValid(d) after reading it.
func (dec *Decoder) Decode(d *eventring.Descriptor, p []byte) (Event, error) {
	m := EventMeta{
		Seqno:            d.Seqno,
		EventType:        EventType(d.EventType),
		RecordEpochNanos: d.RecordEpochNanos,
		Flow:             FlowOf(d),
	}
	var err error
	switch m.EventType {
	case EventTypeRecordError:
		e := &dec.recordError
		e.EventMeta = m
		if e.RecordErrorView, err = DecodeRecordError(p); err != nil {
			return nil, err
		}
		return e, nil
	case EventTypeBlockStart:
		e := &dec.blockStart
		e.EventMeta = m
		if e.BlockStart, err = DecodeBlockStart(p); err != nil {
			return nil, err
		}
		return e, nil
	case EventTypeBlockReject:
		e := &dec.blockReject
		e.EventMeta = m
		c, err := DecodeBlockReject(p)
		if err != nil {
			return nil, err
		}
		e.Code = *c
		return e, nil
	case EventTypeBlockPerfEVMEnter:
		return emptyEvent(&dec.blockPerfEVMEnter, &dec.blockPerfEVMEnter.EventMeta, m, p)
	case EventTypeBlockPerfEVMExit:
		return emptyEvent(&dec.blockPerfEVMExit, &dec.blockPerfEVMExit.EventMeta, m, p)
	case EventTypeBlockEnd:
		e := &dec.blockEnd
		e.EventMeta = m
		if e.BlockEnd, err = DecodeBlockEnd(p); err != nil {
			return nil, err
		}
		return e, nil
	case EventTypeBlockQC:
		e := &dec.blockQC
		e.EventMeta = m
		if e.BlockQC, err = DecodeBlockQC(p); err != nil {
			return nil, err
		}
		return e, nil
	case EventTypeBlockFinalized:
		e := &dec.blockFinalized
		e.EventMeta = m
		if e.BlockFinalized, err = DecodeBlockFinalized(p); err != nil {
			return nil, err
		}
		return e, nil
	case EventTypeBlockVerified:
		e := &dec.blockVerified
		e.EventMeta = m
		if e.BlockVerified, err = DecodeBlockVerified(p); err != nil {
			return nil, err
		}
		return e, nil
	case EventTypeTxnHeaderStart:
		e := &dec.txnHeaderStart
		e.EventMeta = m
		if e.TxnHeaderStartView, err = DecodeTxnHeaderStart(p); err != nil {
			return nil, err
		}
		return e, nil
	case EventTypeTxnAccessListEntry:
		e := &dec.txnAccessListEntry
		e.EventMeta = m
		if e.TxnAccessListEntryView, err = DecodeTxnAccessListEntry(p); err != nil {
			return nil, err
		}
		return e, nil
	case EventTypeTxnAuthListEntry:
		e := &dec.txnAuthListEntry
		e.EventMeta = m
		if e.TxnAuthListEntry, err = DecodeTxnAuthListEntry(p); err != nil {
			return nil, err
		}
		return e, nil
	case EventTypeTxnHeaderEnd:
		return emptyEvent(&dec.txnHeaderEnd, &dec.txnHeaderEnd.EventMeta, m, p)
	case EventTypeTxnReject:
		e := &dec.txnReject
		e.EventMeta = m
		c, err := DecodeTxnReject(p)
		if err != nil {
			return nil, err
		}
		e.Code = *c
		return e, nil
	case EventTypeTxnPerfEVMEnter:
		return emptyEvent(&dec.txnPerfEVMEnter, &dec.txnPerfEVMEnter.EventMeta, m, p)
	case EventTypeTxnPerfEVMExit:
		return emptyEvent(&dec.txnPerfEVMExit, &dec.txnPerfEVMExit.EventMeta, m, p)
	case EventTypeTxnEVMOutput:
		e := &dec.txnEVMOutput
		e.EventMeta = m
		if e.TxnEVMOutput, err = DecodeTxnEVMOutput(p); err != nil {
			return nil, err
		}
		return e, nil
	case EventTypeTxnLog:
		e := &dec.txnLog
		e.EventMeta = m
		if e.TxnLogView, err = DecodeTxnLog(p); err != nil {
			return nil, err
		}
		return e, nil
	case EventTypeTxnCallFrame:
		e := &dec.txnCallFrame
		e.EventMeta = m
		if e.TxnCallFrameView, err = DecodeTxnCallFrame(p); err != nil {
			return nil, err
		}
		return e, nil
	case EventTypeTxnEnd:
		return emptyEvent(&dec.txnEnd, &dec.txnEnd.EventMeta, m, p)
	case EventTypeAccountAccessListHeader:
		e := &dec.accountAccessListHeader
		e.EventMeta = m
		if e.AccountAccessListHeader, err = DecodeAccountAccessListHeader(p); err != nil {
			return nil, err
		}
		return e, nil
	case EventTypeAccountAccess:
		e := &dec.accountAccess
		e.EventMeta = m
		if e.AccountAccess, err = DecodeAccountAccess(p); err != nil {
			return nil, err
		}
		return e, nil
	case EventTypeStorageAccess:
		e := &dec.storageAccess
		e.EventMeta = m
		if e.StorageAccess, err = DecodeStorageAccess(p); err != nil {
			return nil, err
		}
		return e, nil
	case EventTypeEVMError:
		e := &dec.evmError
		e.EventMeta = m
		if e.EVMError, err = DecodeEVMError(p); err != nil {
			return nil, err
		}
		return e, nil
	}
	e := &dec.unknown
	e.EventMeta = m
	e.Payload = p
	return e, nil
}

// emptyEvent fills an event that must have no payload.
func emptyEvent(e Event, meta *EventMeta, m EventMeta, p []byte) (Event, error) {
	if len(p) != 0 {
		return nil, payloadError(m.EventType, 0, len(p), ErrPayloadLong, "the event has no payload")
	}
	*meta = m
	return e, nil
}

// missingPayload reports whether ev lacks the payload struct its kind must
// have: a hand-made event such as &BlockStartEvent{} rather than one from a
// Decoder or Clone.
func missingPayload(ev Event) bool {
	switch ev := ev.(type) {
	case nil:
		return true
	case *RecordErrorEvent:
		return ev.RecordError == nil
	case *BlockStartEvent:
		return ev.BlockStart == nil
	case *BlockEndEvent:
		return ev.BlockEnd == nil
	case *BlockQCEvent:
		return ev.BlockQC == nil
	case *BlockFinalizedEvent:
		return ev.BlockFinalized == nil
	case *BlockVerifiedEvent:
		return ev.BlockVerified == nil
	case *TxnHeaderStartEvent:
		return ev.TxnHeaderStart == nil
	case *TxnAccessListEntryEvent:
		return ev.TxnAccessListEntry == nil
	case *TxnAuthListEntryEvent:
		return ev.TxnAuthListEntry == nil
	case *TxnEVMOutputEvent:
		return ev.TxnEVMOutput == nil
	case *TxnLogEvent:
		return ev.TxnLog == nil
	case *TxnCallFrameEvent:
		return ev.TxnCallFrame == nil
	case *AccountAccessListHeaderEvent:
		return ev.AccountAccessListHeader == nil
	case *AccountAccessEvent:
		return ev.AccountAccess == nil
	case *StorageAccessEvent:
		return ev.StorageAccess == nil
	case *EVMErrorEvent:
		return ev.EVMError == nil
	}
	return false
}

// errMissingPayload is the error of an event without its payload struct.
func errMissingPayload(ev Event) error {
	var t EventType
	if ev != nil {
		t = ev.Type()
	}
	return payloadError(t, 0, 0, ErrPayloadShort, "event value without its payload struct")
}

// CheckEvent returns a *PayloadError (ErrPayloadShort) when ev is nil or
// lacks the payload struct its kind must have — a hand-made event such as
// &BlockStartEvent{} rather than one from a Decoder or Clone — and nil
// otherwise.
func CheckEvent(ev Event) error {
	if missingPayload(ev) {
		return errMissingPayload(ev)
	}
	return nil
}
