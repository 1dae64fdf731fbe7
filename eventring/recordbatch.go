package eventring

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"unsafe"
)

// BatchEvent is one event of a batch for [Recorder.RecordBatch].
type BatchEvent struct {
	EventType  uint16    // the event's code
	ContentExt [4]uint64 // the descriptor's content_ext words (for EXEC, the flow tags)
	Payload    []byte    // the payload, copied into the ring
}

// RecordBatch records events as one reservation: consecutive sequence
// numbers first, first+1, …, payloads back to back in the buffer, in the
// order given. It reads the clock once (every event of the batch gets the
// same record_epoch_nanos), guards against a cut ring file once and moves
// the header's two counters with one atomic addition each, where
// [Recorder.Record] does each of these per event: the per-event work left
// is the descriptor, the payload copy and the commit. Each event is
// committed as soon as its payload is in place, so a reader following the
// ring sees the first events of a batch while the rest are being copied.
// With no other writer recording meanwhile, the ring holds byte for byte
// what len(events) consecutive Record calls with a clock that did not move
// would leave (spec §5.2–5.4); only the payload window moves once, before
// the first payload, to where the last event needs it.
//
// A batch may take at most a sixteenth of the ring (see
// [Recorder.BatchLimits]): at most DescriptorCapacity/16 events, whose
// payloads need at most (PayloadBufSize − 2·WindowIncr)/16 bytes (16-rounded
// sizes; 8192 for a RECORD_ERROR stand-in). The protocol does not stop
// writers whose reservations are in flight at once from overwriting one
// another once together they exceed the ring; a small share per batch keeps
// that out of reach of any realistic number of concurrent writers. A larger
// batch returns an error wrapping [ErrBatchTooLarge] and records nothing:
// split it.
//
// An event whose payload alone cannot fit becomes a RECORD_ERROR event, as
// with Record, and every event is still recorded; the error is then the
// errors.Join of one *OversizeError per such event (errors.As finds the
// first; errors.Is(err, ErrPayloadTooLarge) holds). The other errors are
// Record's: ErrClosed, or a *RingChangedError when the ring file was cut
// under the batch, which closes the Recorder (first is then still the
// batch's first sequence number if it was reserved). An empty batch records
// nothing and returns 0.
func (w *Recorder) RecordBatch(events []BatchEvent) (first uint64, err error) {
	done := false
	defer w.guardFault(debug.SetPanicOnFault(true), &done, &err)
	err = w.recordBatch(events, &first)
	done = true
	return first, err
}

// BatchLimits returns the most events, and the most payload bytes
// (16-rounded, 8192 for an oversized event), that one RecordBatch call
// takes: a sixteenth of the descriptor array and of the payload buffer less
// two window increments (see RecordBatch).
func (w *Recorder) BatchLimits() (events int, bytes uint64) {
	return int(w.sizes.DescriptorCapacity / 16), (w.sizes.PayloadBufSize - 2*WindowIncr) / 16
}

// recordBatch is RecordBatch; it sets *first as soon as the batch is
// reserved, so that a fault while filling it still reports where it went.
func (w *Recorder) recordBatch(events []BatchEvent, first *uint64) error {
	if w.closed.Load() {
		return w.closedErr()
	}
	if len(events) == 0 {
		return nil
	}
	maxEvents, maxBytes := w.BatchLimits()
	if len(events) > maxEvents {
		return fmt.Errorf("%w: %d events, the limit is %d", ErrBatchTooLarge, len(events), maxEvents)
	}
	var total uint64
	for i := range events {
		_, rounded, _ := w.allocSize(uint64(len(events[i].Payload)))
		if total += rounded; total > maxBytes { // each rounded < 2^32: no overflow
			return fmt.Errorf("%w: the first %d events' payloads need %d bytes, the limit is %d", ErrBatchTooLarge, i+1, total, maxBytes)
		}
	}
	n := uint64(len(events))
	t := w.clock()
	c := &w.hdr.Control
	*first = atomic.AddUint64(&c.LastSeqno, n) - n + 1
	end := atomic.AddUint64(&c.NextPayloadByte, total)
	// Before any payload is written, so every byte the batch overwrites
	// has expired first.
	w.moveWindow(end)
	var errs []error
	begin := end - total
	for i := range events {
		e := &events[i]
		seqno := *first + uint64(i)
		slot := (*Descriptor)(unsafe.Add(w.descs, ((seqno-1)&w.maskD)*DescriptorSize))
		storeRelease(&slot.Seqno, 0) // as in reserve: before any other field
		storeFence()
		size, rounded, kind := w.allocSize(uint64(len(e.Payload)))
		slot.PayloadSize = uint32(size)
		slot.PayloadBufOffset = begin
		slot.RecordEpochNanos = t
		slot.EventType = e.EventType
		slot.ContentExt = e.ContentExt
		p := unsafe.Slice((*byte)(unsafe.Add(w.payload, begin&w.maskP)), size)
		if kind == RecordErrorNone {
			copy(p, e.Payload)
		} else {
			slot.EventType = RecordErrorEventType
			copy(writeRecordError(p, kind, e.EventType, uint64(len(e.Payload))), e.Payload)
			errs = append(errs, &OversizeError{Seqno: seqno, EventType: e.EventType, RequestedSize: uint64(len(e.Payload)), Kind: kind})
		}
		storeRelease(&slot.Seqno, seqno)
		begin += rounded
	}
	return errors.Join(errs...)
}
