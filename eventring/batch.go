package eventring

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"sync/atomic"
	"unsafe"
)

// TryNextBatch copies the descriptors of up to len(dst) consecutive ready
// events into dst, advances the reader past them and returns how many it
// copied: dst[:n] holds consistent copies, in sequence number order. It is
// TryNext in a loop without a call per event; it never blocks and never
// allocates.
//
// res is the outcome of the first event not copied: NotReady (not committed
// yet, or the end of a snapshot) or Gap (overwritten before it was read; the
// reader stops right before it, as TryNext does, and TryNext or the next
// TryNextBatch reports the Gap again). res is Ready when dst was filled
// (or is empty): the next event was not looked at.
//
// The batch never spans a gap: the events of dst[:n] are exactly
// LastSeqno()-n+1 ... LastSeqno().
func (rd *Reader) TryNextBatch(dst []Descriptor) (n int, res Result) {
	if len(dst) == 0 {
		return 0, Ready
	}
	n, seq, torn := readBatch(rd.descs, rd.mask, rd.last, &dst[0], len(dst))
	rd.last += uint64(n)
	switch {
	case n == len(dst):
		return n, Ready
	case torn:
		return n, Gap
	}
	return n, notReadyOrGap(seq, rd.last)
}

// NextBatch waits like [Reader.Next] until at least one event is ready,
// then copies the descriptors of up to len(dst) consecutive ready events
// into dst (see [Reader.TryNextBatch]) and returns how many. The error is
// nil whenever n > 0; otherwise it is what Next would have returned: a
// *GapError (the reader does not move), io.EOF at the end of a snapshot,
// ErrWriterGone, ErrClosed or ctx.Err(). A batch that stops at a gap returns
// the events before it; the next call reports the gap. NextBatch with an
// empty dst returns (0, nil) at once.
//
// Like Next, it reports a ring file changed under the reader as a
// *RingChangedError.
func (rd *Reader) NextBatch(ctx context.Context, dst []Descriptor) (n int, err error) {
	done := false
	defer rd.ring.guardFault(debug.SetPanicOnFault(true), &done, &err)
	n, err = rd.nextBatch(ctx, dst)
	done = true
	return n, err
}

func (rd *Reader) nextBatch(ctx context.Context, dst []Descriptor) (n int, err error) {
	if len(dst) == 0 {
		return 0, nil
	}
	n, res := rd.TryNextBatch(dst)
	switch {
	case n > 0:
		return n, nil
	case res == Gap:
		return 0, rd.gapError()
	}
	if err := rd.next(ctx, &dst[0]); err != nil {
		return 0, err
	}
	n, _ = rd.TryNextBatch(dst[1:])
	return 1 + n, nil
}

// CopyPayloads copies the payloads of the events descs describes into dst,
// back to back in order, and records where each went in offs: the payload
// of descs[i] is dst[offs[i] : offs[i]+int(descs[i].PayloadSize)], or is
// expired if offs[i] is -1. Every payload starts at a multiple of
// PayloadAlign (16) from the start of dst, as in the ring, so payloads
// keep the alignment their decoders need when dst's array is 16-byte
// aligned (a large make([]byte, n) is). It returns how many of descs it
// handled: descs[:n] and offs[:n] are done, n < len(descs) when dst or
// offs is full; call again with the rest (offs past n, and bytes of dst
// between and after the payloads, may have been written too). dst and
// offs are the caller's:
// CopyPayloads never allocates and keeps no reference to them.
//
// Expiry is checked once per call, after all the copies: the writer's
// buffer window start only grows, so one check of the batch's lowest
// payload offset (its oldest payload: offsets grow with sequence numbers)
// proves every payload of the batch intact (spec §4.3–4.4). If the writer reclaimed some of
// them before or during the copy, exactly those get offs[i] = -1 (their
// bytes in dst are garbage) and the error is a *BatchExpiredError
// wrapping ErrPayloadExpired; every payload with offs[i] >= 0 is intact
// even then. The expired ones are the oldest: with a single writer,
// exactly descs[:Expired].
//
// The other errors leave nothing done (n is 0): io.ErrShortBuffer when
// descs[0]'s payload does not fit dst or offs is empty (copy it with
// [Ring.CopyPayload]); an error wrapping ErrBadDescriptor when descs[0]'s
// size or offset is impossible for this ring (a corrupt ring: a batch
// stops before such a descriptor, and the next call reports it); ErrClosed
// after Close.
func (r *Ring) CopyPayloads(dst []byte, descs []Descriptor, offs []int) (n int, err error) {
	if len(descs) == 0 {
		return 0, nil
	}
	if len(offs) == 0 {
		return 0, io.ErrShortBuffer
	}
	descs = descs[:min(len(descs), len(offs))]
	b := batchCopy{base: unsafe.Pointer(unsafe.SliceData(dst)), dstLen: uint64(len(dst)),
		payload: r.payload, maskP: r.maskP, maxPayload: r.maxPayload, minOff: ^uint64(0)}
	n = b.run(descs, offs[:len(descs)])
	if n == 0 {
		if d := &descs[0]; uint64(d.PayloadSize) > r.maxPayload || d.PayloadBufOffset+uint64(d.PayloadSize) < d.PayloadBufOffset {
			return 0, r.payloadError(d)
		}
		return 0, io.ErrShortBuffer
	}
	minOff, maxEnd := b.minOff, b.maxEnd
	if testHookBatchCopied != nil {
		testHookBatchCopied()
	}
	// The check: the bytes were allocated, and the oldest payload is still
	// inside the window (which only grows), so all of them are.
	loadFence()
	if maxEnd <= r.nextSeen.Load() && minOff >= atomic.LoadUint64(r.window) {
		return n, nil
	}
	return r.copyPayloadsSlow(descs[:n], offs[:n])
}

// batchCopy is the state of CopyPayloads' copy loop.
type batchCopy struct {
	base    unsafe.Pointer // dst's array
	dstLen  uint64
	o       uint64 // where the next payload goes in dst; o <= dstLen
	payload unsafe.Pointer
	maskP   uint64

	maxPayload     uint64
	minOff, maxEnd uint64 // the batch's lowest payload offset and highest end
}

// step copies the payload of d to b.base+b.o, records the offset in *off
// and advances, or reports false, touching nothing, if d's payload is
// impossible for the ring or does not fit in what is left of dst. The
// buffer is mapped twice back to back: every payload is contiguous from
// its physical offset.
func (b *batchCopy) step(d *Descriptor, off *int) bool {
	o, size := b.o, uint64(d.PayloadSize)
	end := d.PayloadBufOffset + size
	if size > b.maxPayload || end < d.PayloadBufOffset || size > b.dstLen-o {
		return false
	}
	copy(unsafe.Slice((*byte)(unsafe.Add(b.base, o)), size),
		unsafe.Slice((*byte)(unsafe.Add(b.payload, d.PayloadBufOffset&b.maskP)), size))
	*off = int(o)
	b.o = min((o+size+PayloadAlign-1)&^(PayloadAlign-1), b.dstLen)
	b.minOff = min(b.minOff, d.PayloadBufOffset)
	b.maxEnd = max(b.maxEnd, end)
	return true
}

// testHookBatchCopied, if set by a test, runs after CopyPayloads copied a
// batch and before it checks the window: the moment a writer overwriting
// the batch is hardest to catch.
var testHookBatchCopied func()

// copyPayloadsSlow finishes a batch whose single check failed: a stale
// cache of next_payload_byte, payloads reclaimed by the writer, or a closed
// ring. It returns the batch's length (or less, stopping before a
// descriptor whose bytes were never allocated) and the error.
//
//go:noinline
func (r *Ring) copyPayloadsSlow(descs []Descriptor, offs []int) (int, error) {
	if r.closed.Load() {
		return 0, ErrClosed
	}
	n := len(descs)
	for i := range descs {
		d := &descs[i]
		if end := d.PayloadBufOffset + uint64(d.PayloadSize); end > r.nextSeen.Load() && !r.refreshNext(end) {
			if i == 0 {
				return 0, r.payloadError(d)
			}
			n = i // a corrupt descriptor: the next call reports it
			break
		}
	}
	ws := atomic.LoadUint64(r.window) // no older than the failed check's: it only grows
	expired, newest := 0, -1
	for i := range descs[:n] {
		if descs[i].PayloadBufOffset < ws {
			offs[i] = -1
			expired++
			newest = i
		}
	}
	if expired == 0 {
		return n, nil
	}
	return n, &BatchExpiredError{Expired: expired, Seqno: descs[newest].Seqno,
		Offset: descs[newest].PayloadBufOffset, WindowStart: ws}
}

// BatchExpiredError reports payloads of a [Ring.CopyPayloads] batch that
// the writer reclaimed before or during the copy; their offs are -1. It
// wraps ErrPayloadExpired.
type BatchExpiredError struct {
	// Expired is how many of the batch's payloads expired. They are the
	// oldest: with a single writer exactly the first Expired events of
	// the batch. With several writer threads payload offsets are only
	// nearly in sequence-number order, so an intact payload may sit among
	// them; offs tells each apart.
	Expired int
	// Seqno is the sequence number of the newest expired event: every
	// event after it in the batch is intact.
	Seqno uint64
	// Offset is that event's payload buffer offset.
	Offset uint64
	// WindowStart is the buffer window start the check saw: every payload
	// whose offset is below it expired.
	WindowStart uint64
}

// Error names the newest expired event and how many expired.
func (e *BatchExpiredError) Error() string {
	return fmt.Sprintf("%v: %d payloads of the batch, up to seqno %d (offset %d, window start %d)",
		ErrPayloadExpired, e.Expired, e.Seqno, e.Offset, e.WindowStart)
}

// Unwrap returns ErrPayloadExpired.
func (e *BatchExpiredError) Unwrap() error { return ErrPayloadExpired }
