package execevents

import (
	"github.com/monadgo/events/eventring"
)

// This file and the other hand-written files of the package (open.go,
// payload.go, read.go, jsonrt.go) are the fixed runtime of the generated
// bindings: they depend on no particular event type, only on names the
// generator emits for every schema (EventType, Decoder, newEvent,
// SchemaHash, RingContentType). The typed events themselves are generated
// (ztyped.go, zdecode.go, zjson.go).

// The flow tags' positions in the descriptor's content_ext words (spec
// §7.2; enum monad_exec_flow_type).
const (
	flowBlockSeqno   = 0
	flowTxnID        = 1
	flowAccountIndex = 2
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
		BlockSeqno:   d.ContentExt[flowBlockSeqno],
		TxnID:        d.ContentExt[flowTxnID],
		AccountIndex: d.ContentExt[flowAccountIndex],
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

// metaOf returns the EventMeta of a descriptor.
func metaOf(d *eventring.Descriptor) EventMeta {
	return EventMeta{
		Seqno:            d.Seqno,
		EventType:        EventType(d.EventType),
		RecordEpochNanos: d.RecordEpochNanos,
		Flow:             FlowOf(d),
	}
}

// Event is a typed execution event: one concrete pointer type per event
// kind, generated from the schema (*BlockStartEvent, *TxnLogEvent, ...,
// and *UnknownEvent for codes the schema does not define). Switch on the
// concrete type:
//
//	switch ev := ev.(type) {
//	case *execevents.BlockStartEvent:
//		fmt.Println(ev.BlockTag.BlockNumber)
//	case *execevents.TxnLogEvent:
//		fmt.Println(ev.Address, len(ev.Topics))
//	}
//
// An event kind's Go type embeds EventMeta and a pointer to its payload
// struct (whose fields are promoted), and holds the payload's trailing
// arrays as slices. Where that memory lives depends on where the event
// came from: [ReadEvent] and Clone return events that own it; a
// [Decoder]'s View points into the payload it was given and Read into the
// Decoder's buffer, and both reuse the event value itself.
type Event interface {
	// Meta returns the descriptor facts and flow tags.
	Meta() *EventMeta
	// Type returns the event type.
	Type() EventType
	// PayloadSize returns the size of the payload the event was decoded
	// from: the fixed struct and its trailing arrays (spec §8.1).
	PayloadSize() int
	// Clone returns a deep copy that owns all its memory.
	Clone() Event
	// AppendPayloadJSON appends the payload as a JSON object (see the
	// package documentation); nothing for an event without payload.
	AppendPayloadJSON(dst []byte) []byte
	// AppendJSON appends the whole event as a JSON object: "seqno",
	// "eventType" (the name), "eventCode", "recordEpochNanos", the flow
	// tags that are set ("blockSeqno", "txnIndex", "accountIndex", when
	// not zero) and "payload" (AppendPayloadJSON, left out when empty).
	AppendJSON(dst []byte) []byte
	// MarshalJSON returns AppendJSON(nil).
	MarshalJSON() ([]byte, error)

	// view decodes payload p, whose descriptor has meta m, into the event
	// (in place: the event points into p).
	view(m EventMeta, p []byte) error
	// missingPayload reports whether the event lacks the payload struct
	// its kind must have.
	missingPayload() bool
}

// UnknownEvent is an event whose type this schema does not define (or the
// reserved code 0); the payload is surfaced raw.
type UnknownEvent struct {
	EventMeta
	Payload []byte // the raw payload (a view or a copy, as for every event)
}

// Meta returns the descriptor facts and flow tags.
func (e *UnknownEvent) Meta() *EventMeta { return &e.EventMeta }

// Type returns the descriptor's event type.
func (e *UnknownEvent) Type() EventType { return e.EventType }

// PayloadSize returns the size of the payload.
func (e *UnknownEvent) PayloadSize() int { return len(e.Payload) }

// Clone returns a deep copy that owns all its memory.
func (e *UnknownEvent) Clone() Event {
	c := *e
	c.Payload = cloneSlice(e.Payload)
	return &c
}

// AppendPayloadJSON appends {"payload":"0x..."}, the raw payload in hex.
func (e *UnknownEvent) AppendPayloadJSON(dst []byte) []byte {
	dst = append(dst, `{"payload":`...)
	dst = appendHex(dst, e.Payload)
	return append(dst, '}')
}

// AppendJSON appends the whole event as a JSON object (see Event).
func (e *UnknownEvent) AppendJSON(dst []byte) []byte { return appendEventJSON(dst, e) }

// MarshalJSON implements json.Marshaler with AppendJSON.
func (e *UnknownEvent) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

func (e *UnknownEvent) view(m EventMeta, p []byte) error {
	e.EventMeta, e.Payload = m, p
	return nil
}

func (e *UnknownEvent) missingPayload() bool { return false }

// CheckEvent returns a *PayloadError (ErrPayloadShort) when ev is nil or
// lacks the payload struct its kind must have — a hand-made event such as
// &BlockStartEvent{} rather than one from a Decoder, ReadEvent or Clone —
// and nil otherwise.
func CheckEvent(ev Event) error {
	if ev == nil {
		return payloadError(0, 0, 0, ErrPayloadShort, "no event")
	}
	if ev.missingPayload() {
		return payloadError(ev.Type(), 0, 0, ErrPayloadShort, "event value without its payload struct")
	}
	return nil
}

// clonePtr returns a pointer to a copy of *p, nil for nil.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// cloneSlice returns a copy of s, nil for nil.
func cloneSlice[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}
