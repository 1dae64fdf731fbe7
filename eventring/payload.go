package eventring

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// PayloadSource is where event payloads are read from: a *Ring, or anything
// that hands out payloads the same way (a test double, an in-memory copy of
// events). Payload returns a view of the payload of d that the writer may
// overwrite at any time; PayloadValid reports, after the view was read,
// whether it was still intact (spec §4.4).
type PayloadSource interface {
	Payload(d *Descriptor) []byte
	PayloadValid(d *Descriptor) bool
}

var _ PayloadSource = (*Ring)(nil)

// Payload returns a zero-copy view of the event's payload in shared memory
// (len and cap equal d.PayloadSize). The bytes may be overwritten by the
// writer at any time: anything derived from the view is trustworthy only if
// PayloadValid(d) still returns true after it was derived (spec §4.4).
//
// A descriptor whose payload cannot lie inside the buffer (a corrupt ring)
// yields nil, never a slice outside the mapping.
func (r *Ring) Payload(d *Descriptor) []byte {
	size := uint64(d.PayloadSize)
	if size > r.sizes.PayloadBufSize {
		return nil
	}
	// The buffer is mapped twice back to back, so any payload of at most
	// PayloadBufSize bytes is contiguous from its physical offset.
	p := unsafe.Add(r.payload, d.PayloadBufOffset&r.maskP)
	return unsafe.Slice((*byte)(p), size)
}

// PayloadValid reports whether the event's payload is still intact (spec
// §4.3): its offset is not below the sliding window start, and its offset
// and size describe bytes the writer actually allocated (a corrupt ring's
// impossible descriptors are never valid). Call it after using a Payload
// view to confirm what was read.
func (r *Ring) PayloadValid(d *Descriptor) bool {
	loadFence() // what was read from the view is read before the check
	off, size := d.PayloadBufOffset, uint64(d.PayloadSize)
	end := off + size
	return end >= off && size <= r.maxPayload && (end <= r.nextSeen.Load() || r.refreshNext(end)) &&
		off >= atomic.LoadUint64(r.window)
}

// refreshNext reloads next_payload_byte (which only grows) and reports
// whether end lies within what was allocated. Caching it keeps readers off
// the cache line the writer updates on every event.
func (r *Ring) refreshNext(end uint64) bool {
	n := atomic.LoadUint64(&r.hdr.Control.NextPayloadByte)
	if n > r.nextSeen.Load() {
		r.nextSeen.Store(n) // racing stores all store values the writer published
	}
	return end <= n
}

// CopyPayload copies the event's payload into dst[:0] and returns it, with
// the check-copy-check sequence of spec §4.4. The error is an *ExpiredError
// wrapping ErrPayloadExpired if the writer reclaimed the bytes before or
// during the copy, or ErrBadDescriptor if the descriptor's size or offset
// is impossible for this ring, or is ErrClosed after Close; the returned
// slice is then empty. dst grows
// (like append) when its capacity is too small; with a large enough dst
// CopyPayload does not allocate.
func (r *Ring) CopyPayload(d *Descriptor, dst []byte) ([]byte, error) {
	// The hot path: PayloadValid spelled out (end within the cached
	// allocation end without overflow, a size that can be valid, offset in
	// the window), a copy into dst's capacity, the window checked again.
	// Anything else (a stale cache, a short dst, any failure) goes to
	// copyPayloadSlow, which starts over.
	off, size := d.PayloadBufOffset, uint64(d.PayloadSize)
	if end := off + size; end <= r.nextSeen.Load() && end >= off && size <= r.maxPayload &&
		size <= uint64(cap(dst)) && off >= atomic.LoadUint64(r.window) {
		dst = dst[:size]
		copy(dst, unsafe.Slice((*byte)(unsafe.Add(r.payload, off&r.maskP)), size))
		loadFence()
		if off >= atomic.LoadUint64(r.window) {
			return dst, nil
		}
	}
	return r.copyPayloadSlow(d, dst)
}

// copyPayloadSlow is CopyPayload for everything but the hot path, kept out
// of line so that CopyPayload stays small.
//
//go:noinline
func (r *Ring) copyPayloadSlow(d *Descriptor, dst []byte) ([]byte, error) {
	if !r.PayloadValid(d) {
		return dst[:0], r.payloadError(d)
	}
	dst = append(dst[:0], unsafe.Slice((*byte)(unsafe.Add(r.payload, d.PayloadBufOffset&r.maskP)), d.PayloadSize)...)
	if !r.PayloadValid(d) {
		return dst[:0], r.payloadError(d)
	}
	return dst, nil
}

// ExpiredError describes a payload that could not be read: the writer
// reclaimed its bytes (it wraps ErrPayloadExpired), or the descriptor's size
// or offset is impossible for the ring (it wraps ErrBadDescriptor).
type ExpiredError struct {
	Seqno     uint64 // the event's sequence number
	EventType uint16 // its event type (the descriptor's code)
	Offset    uint64 // its virtual payload offset
	Size      uint32 // its payload size
	Err       error  // ErrPayloadExpired or ErrBadDescriptor
}

// Error names the event and its payload location.
func (e *ExpiredError) Error() string {
	return fmt.Sprintf("%v (seqno %d, event type %d, offset %d, size %d)", e.Err, e.Seqno, e.EventType, e.Offset, e.Size)
}

// Unwrap returns the sentinel.
func (e *ExpiredError) Unwrap() error { return e.Err }

// payloadError explains why PayloadValid(d) failed.
func (r *Ring) payloadError(d *Descriptor) error {
	if r.closed.Load() {
		return ErrClosed
	}
	off, size := d.PayloadBufOffset, uint64(d.PayloadSize)
	err := ErrPayloadExpired
	if size > r.maxPayload || off+size < off || !r.refreshNext(off+size) {
		err = ErrBadDescriptor
	}
	return &ExpiredError{Seqno: d.Seqno, EventType: d.EventType, Offset: off, Size: d.PayloadSize, Err: err}
}
