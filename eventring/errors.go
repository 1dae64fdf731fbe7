package eventring

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of these (test
// with errors.Is) and name the file and the offending value.
var (
	// ErrUnsupported: the platform cannot map event rings (not linux/amd64
	// or linux/arm64).
	ErrUnsupported = errors.New("eventring: unsupported platform (linux/amd64 and linux/arm64 only)")
	// ErrBadMagic: the first 6 bytes are not "RING01".
	ErrBadMagic = errors.New("eventring: not an event ring (bad magic)")
	// ErrBadContentType: the content type is NONE or out of range.
	ErrBadContentType = errors.New("eventring: invalid content type")
	// ErrBadSize: a section size is not a power of two or is out of range.
	ErrBadSize = errors.New("eventring: invalid ring size")
	// ErrFileTooShort: the file (or decompressed snapshot) is shorter than
	// the sections its header declares.
	ErrFileTooShort = errors.New("eventring: file shorter than the ring's sections")
	// ErrBadHeader: the header's control words contradict its sizes.
	ErrBadHeader = errors.New("eventring: inconsistent ring header")
	// ErrNotSnapshot: the input is not zstd-compressed.
	ErrNotSnapshot = errors.New("eventring: not an event ring snapshot (no zstd frame)")
	// ErrSnapshotCorrupt: the zstd stream is malformed or truncated.
	ErrSnapshotCorrupt = errors.New("eventring: corrupt or truncated zstd snapshot")
	// ErrSnapshotTrailingData: bytes follow the snapshot's single zstd frame.
	ErrSnapshotTrailingData = errors.New("eventring: snapshot has data after its zstd frame (more than one frame)")
	// ErrSnapshotTooLarge: the snapshot decompresses to more than its header
	// declares or more than the configured maximum.
	ErrSnapshotTooLarge = errors.New("eventring: snapshot too large")
	// ErrSchemaMismatch: the ring's content type or schema hash differs from
	// the one the caller was built for.
	ErrSchemaMismatch = errors.New("eventring: event ring schema mismatch")
	// ErrClosed: the Ring or Recorder was closed.
	ErrClosed = errors.New("eventring: closed")
	// ErrPayloadExpired: the writer reclaimed the payload's bytes.
	ErrPayloadExpired = errors.New("eventring: payload expired")
	// ErrBadDescriptor: a descriptor's payload size or offset is impossible
	// for this ring.
	ErrBadDescriptor = errors.New("eventring: impossible payload size or offset in descriptor")
	// ErrWriterGone: waiting for events on a live ring whose writer no
	// longer holds its lock (crashed or exited).
	ErrWriterGone = errors.New("eventring: ring has no live writer")
	// ErrRingInUse: Create found the path locked by a live writer.
	ErrRingInUse = errors.New("eventring: ring file is owned by a live writer")
	// ErrNoHugetlbfs: no accessible 2 MiB hugetlbfs mount was found.
	ErrNoHugetlbfs = errors.New("eventring: no accessible hugetlbfs mount with 2 MiB pages")
	// ErrPayloadTooLarge: Record was given a payload the ring cannot hold;
	// the event was recorded as a RECORD_ERROR instead. Record returns it
	// wrapped in an *OversizeError; Reserve reports the same case through
	// Reservation.Oversize, without an error.
	ErrPayloadTooLarge = errors.New("eventring: payload too large, recorded as RECORD_ERROR")
	// ErrBatchTooLarge: RecordBatch was given more than Recorder.BatchLimits
	// allows; nothing was recorded. Split the batch.
	ErrBatchTooLarge = errors.New("eventring: batch too large for one reservation")
)

// SchemaError reports a ring whose content type or schema hash differs from
// what the caller's generated bindings expect. It wraps ErrSchemaMismatch.
type SchemaError struct {
	Path              string      // the ring's file
	WantType, GotType ContentType // expected and found content type
	WantHash, GotHash [32]byte    // expected (compiled-in) and found schema hash
}

// Error names the ring and both content types or schema hashes.
func (e *SchemaError) Error() string {
	if e.WantType != e.GotType {
		return fmt.Sprintf("eventring: %s: content type is %v, want %v", e.Path, e.GotType, e.WantType)
	}
	return fmt.Sprintf("eventring: %s: schema hash %s does not match the compiled-in %s; "+
		"the ring was written by a different daemon version: regenerate the bindings (cmd/eventgen) "+
		"for that version or use a matching daemon",
		e.Path, hex.EncodeToString(e.GotHash[:]), hex.EncodeToString(e.WantHash[:]))
}

// Unwrap returns ErrSchemaMismatch.
func (e *SchemaError) Unwrap() error { return ErrSchemaMismatch }

// GapError reports events lost to a reader: the writer overwrote them before
// they were read (on a snapshot: before the capture). Sequence numbers in
// [Expected, Oldest) are gone; Oldest is the oldest event after Expected
// that was still in the ring when the gap was detected (see
// [Ring.OldestSeqno]; on a live ring it too may be overwritten by the time
// the caller reacts).
//
// The reader is left unmoved: call [Reader.Reset] to jump to the newest
// event, or [Reader.SetSeqno](Oldest) to resume with the oldest survivor
// ([Reader.Events] does the former on a live ring, the latter on a
// snapshot).
type GapError struct {
	Expected uint64 // the sequence number the reader wanted
	Oldest   uint64 // the first sequence number believed still readable
}

// Error names the lost range.
func (e *GapError) Error() string {
	return fmt.Sprintf("eventring: gap: events %d..%d lost (reader lapped by the writer)", e.Expected, e.Oldest-1)
}

// Lost returns the number of events lost.
func (e *GapError) Lost() uint64 { return e.Oldest - e.Expected }

// OversizeError reports that Record, RecordFunc or RecordBatch replaced an
// event whose payload cannot fit the ring by a RECORD_ERROR event (spec
// §5.6). It wraps ErrPayloadTooLarge.
type OversizeError struct {
	Seqno         uint64          // sequence number of the RECORD_ERROR event
	EventType     uint16          // the dropped event's code
	RequestedSize uint64          // the dropped event's payload size
	Kind          RecordErrorType // OVERFLOW_4GB or OVERFLOW_EXPIRE
}

// Error describes the replaced event.
func (e *OversizeError) Error() string {
	return fmt.Sprintf("eventring: event type %d with a %d-byte payload recorded as RECORD_ERROR %v (seqno %d)",
		e.EventType, e.RequestedSize, e.Kind, e.Seqno)
}

// Unwrap returns ErrPayloadTooLarge.
func (e *OversizeError) Unwrap() error { return ErrPayloadTooLarge }
