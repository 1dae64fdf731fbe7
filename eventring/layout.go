package eventring

import (
	"strconv"
	"structs"
)

// Format constants from the ring ABI (spec §1, §4, §5).
const (
	// Magic is the 6-byte tag at ring offset 0 ("RING" + format version "01").
	Magic = "RING01"

	// HeaderSectionSize is the size of the header section; the descriptor
	// array starts right after it. Every section is 2 MiB aligned.
	HeaderSectionSize = 2 << 20

	// DescriptorSize is the size of one descriptor slot.
	DescriptorSize = 64

	// PayloadAlign is the allocation granule of current producers. Older
	// rings used 8; readers must not rely on either.
	PayloadAlign = 16

	// WindowIncr is the step (16 MiB) by which the payload buffer window
	// slides (spec §4.3).
	WindowIncr = 1 << 24

	// MinDescriptorCapacity and MaxDescriptorCapacity bound the number of
	// descriptor slots (2^16 … 2^32, powers of two).
	MinDescriptorCapacity = 1 << 16
	MaxDescriptorCapacity = 1 << 32

	// MinPayloadBufSize and MaxPayloadBufSize bound the payload buffer
	// (128 MiB … 1 TiB, powers of two).
	MinPayloadBufSize = 1 << 27
	MaxPayloadBufSize = 1 << 40

	// LargePageSize is the unit of the context area size (2 MiB).
	LargePageSize = 2 << 20

	// MaxContextAreaSize is the largest context area: a uint16 count of
	// large pages.
	MaxContextAreaSize = 0xFFFF * LargePageSize

	// RecordErrorEventType is the event code every content type reserves
	// for RECORD_ERROR events (spec §5.6).
	RecordErrorEventType = 1

	// RecordErrorTruncatedSize is the payload size of a RECORD_ERROR that
	// stands in for an oversized event: the 16-byte RecordError followed by
	// the first 8176 bytes of the dropped payload (spec §5.6, "RECORD_ERROR
	// events": the recorder's rule; the daemon's C headers define no
	// constant for it, so unlike RecordErrorEventType it is not checked
	// against the headers by the generated layout test).
	RecordErrorTruncatedSize = 8192
)

// Descriptor is one event descriptor, the 64-byte C struct
// monad_event_descriptor (spec §2.3). Readers receive private copies.
type Descriptor struct {
	_ structs.HostLayout

	// Seqno is the event's sequence number (>= 1).
	Seqno uint64
	// EventType is the event code in the namespace of the ring's content type.
	EventType uint16
	_         uint16
	// PayloadSize is the exact (unrounded) payload length in bytes.
	PayloadSize uint32
	// RecordEpochNanos is CLOCK_REALTIME in nanoseconds, sampled when the
	// event was reserved (not monotonic across sequence numbers).
	RecordEpochNanos uint64
	// PayloadBufOffset is the virtual (never wrapped) offset of the
	// payload's first byte in the payload buffer.
	PayloadBufOffset uint64
	// ContentExt holds four words whose meaning belongs to the content type
	// (EXEC: flow tags).
	ContentExt [4]uint64
}

// ContentType says which event schema a ring carries
// (enum monad_event_content_type, header offset 6).
type ContentType uint16

// Content types. ContentTypeNone never appears in a valid ring.
const (
	ContentTypeNone ContentType = 0
	ContentTypeTest ContentType = 1
	ContentTypeExec ContentType = 2

	contentTypeCount = 3
)

// String returns the C enumerator's suffix ("NONE", "TEST", "EXEC"), or
// "ContentType(N)" for values outside the enumeration.
func (t ContentType) String() string {
	switch t {
	case ContentTypeNone:
		return "NONE"
	case ContentTypeTest:
		return "TEST"
	case ContentTypeExec:
		return "EXEC"
	}
	return "ContentType(" + strconv.Itoa(int(t)) + ")"
}

// Sizes are the sizes of the sections that follow the header
// (struct monad_event_ring_size, 24 bytes).
type Sizes struct {
	_ structs.HostLayout

	// DescriptorCapacity is the number of descriptor slots, a power of two
	// in [MinDescriptorCapacity, MaxDescriptorCapacity].
	DescriptorCapacity uint64
	// PayloadBufSize is the payload buffer size in bytes, a power of two
	// in [MinPayloadBufSize, MaxPayloadBufSize].
	PayloadBufSize uint64
	// ContextAreaSize is the opaque context area size, a multiple of 2 MiB
	// (0 for EXEC rings).
	ContextAreaSize uint64
}

// Total returns the size of the whole ring image: header section,
// descriptor array, payload buffer and context area. Meaningful only for
// sizes that passed validation.
func (s Sizes) Total() uint64 {
	return HeaderSectionSize + s.DescriptorCapacity*DescriptorSize + s.PayloadBufSize + s.ContextAreaSize
}

// RecordErrorType is the kind of recording failure a RECORD_ERROR event
// reports (enum monad_event_record_error_type).
type RecordErrorType uint16

// Record error kinds (spec §5.6).
const (
	RecordErrorNone           RecordErrorType = 0 // no error; never emitted
	RecordErrorOverflow4GB    RecordErrorType = 1 // rounded payload size above 0xFFFFFFFF
	RecordErrorOverflowExpire RecordErrorType = 2 // payload would expire at birth (>= S - 2·WindowIncr)
	RecordErrorMissingEvent   RecordErrorType = 3 // reserved; never emitted by the daemon
)

// String returns the C enumerator's suffix ("OVERFLOW_4GB", ...).
func (t RecordErrorType) String() string {
	switch t {
	case RecordErrorNone:
		return "NONE"
	case RecordErrorOverflow4GB:
		return "OVERFLOW_4GB"
	case RecordErrorOverflowExpire:
		return "OVERFLOW_EXPIRE"
	case RecordErrorMissingEvent:
		return "MISSING_EVENT"
	}
	return "RecordErrorType(" + strconv.Itoa(int(t)) + ")"
}

// RecordError is the 16-byte payload prefix of a RECORD_ERROR event
// (struct monad_event_record_error). For the overflow kinds it is followed
// by TruncatedPayloadSize bytes of the dropped event's payload.
type RecordError struct {
	_ structs.HostLayout

	ErrorType            RecordErrorType // kind of failure
	DroppedEventType     uint16          // event code that could not be recorded
	TruncatedPayloadSize uint32          // bytes of the dropped payload kept after this struct
	RequestedPayloadSize uint64          // unrounded payload size the dropped event asked for
}

// ringHeader is struct monad_event_ring_header (192 bytes), the first bytes
// of every ring.
type ringHeader struct {
	_ structs.HostLayout

	Magic       [6]byte
	ContentType ContentType
	SchemaHash  [32]byte
	Size        Sizes
	Control     ringControl
}

// ringControl is struct monad_event_ring_control (128 bytes): the writer's
// allocation state. BufferWindowStart sits alone on its own cache line.
type ringControl struct {
	_ structs.HostLayout

	LastSeqno         uint64
	NextPayloadByte   uint64
	_                 [48]byte
	BufferWindowStart uint64
	_                 [56]byte
}

const ringHeaderSize = 192
