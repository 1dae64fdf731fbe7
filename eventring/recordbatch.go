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
// The result is what len(events) consecutive Record calls with a clock that
// did not move would write (spec §5.2–5.4), except that the payload window
// moves once, before the first payload, to where the last event needs it.
//
// A batch must fit the ring at once: at most DescriptorCapacity events
// whose 16-rounded payload sizes sum to less than PayloadBufSize −
// 2·WindowIncr, the limit beyond which a single payload would expire at
// birth (spec §5.6). Otherwise the error wraps [ErrBatchTooLarge] and
// nothing is recorded. An event whose payload alone cannot fit becomes a
// RECORD_ERROR event, as with Record; the error then joins one
// *OversizeError per such event (errors.As finds the first), and every
// event is still recorded. The other errors are Record's: ErrClosed, or a
// *RingChangedError when the ring file was cut under the batch (which
// closes the Recorder; the events committed before the fault stay in the
// file). An empty batch records nothing and returns 0.
func (w *Recorder) RecordBatch(events []BatchEvent) (first uint64, err error) {
	done := false
	defer w.guardFault(debug.SetPanicOnFault(true), &done, &err)
	first, err = w.recordBatch(events)
	done = true
	return first, err
}

func (w *Recorder) recordBatch(events []BatchEvent) (uint64, error) {
	if w.closed.Load() {
		return 0, w.closedErr()
	}
	n := uint64(len(events))
	if n == 0 {
		return 0, nil
	}
	if n > w.sizes.DescriptorCapacity {
		return 0, fmt.Errorf("%w: %d events, the ring has %d descriptors", ErrBatchTooLarge, n, w.sizes.DescriptorCapacity)
	}
	limit := w.sizes.PayloadBufSize - 2*WindowIncr
	var total uint64
	for i := range events {
		_, rounded, _ := w.allocSize(uint64(len(events[i].Payload)))
		if total += rounded; total >= limit { // each rounded < 2^32: no overflow
			return 0, fmt.Errorf("%w: the first %d events' payloads need %d bytes, the limit is %d", ErrBatchTooLarge, i+1, total, limit)
		}
	}
	t := w.clock()
	c := &w.hdr.Control
	first := atomic.AddUint64(&c.LastSeqno, n) - n + 1
	end := atomic.AddUint64(&c.NextPayloadByte, total)
	if ws, width := atomic.LoadUint64(&c.BufferWindowStart), w.sizes.PayloadBufSize-WindowIncr; end > ws && end-ws > width {
		// As in reserve; moved before any payload is written, so every
		// byte the batch overwrites has expired first.
		atomic.CompareAndSwapUint64(&c.BufferWindowStart, ws, (end+WindowIncr-1)&^(WindowIncr-1)-width)
	}
	var errs []error
	begin := end - total
	for i := range events {
		e := &events[i]
		seqno := first + uint64(i)
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
	return first, errors.Join(errs...)
}
