package execevents

import (
	"unsafe"

	"github.com/monadgo/events/eventring"
)

// ReadEvent reads the event of descriptor d, whose payload is in src
// (normally the *eventring.Ring d was read from), into memory of its own:
// the returned event owns everything it holds and stays valid however long
// it is kept. The payload is checked valid, copied and checked again (spec
// §4.4): if the writer reclaimed it, the error is an *eventring.ExpiredError
// matching eventring.ErrPayloadExpired. A payload that does not fit its
// event type gives a *PayloadError. ReadEvent allocates the event and the
// payload copy; Decoder.Read is the allocation-free variant.
func ReadEvent(src eventring.PayloadSource, d *eventring.Descriptor) (Event, error) {
	p, _, err := readPayload(src, d, nil)
	if err != nil {
		return nil, err
	}
	e := newEvent(EventType(d.EventType))
	if err := e.view(metaOf(d), p); err != nil {
		return nil, err
	}
	return e, nil
}

// Read is View on a checked copy: it copies the payload of d from src into
// the Decoder's own 8-byte aligned buffer, checking that it is valid before
// and after the copy (spec §4.4), then decodes the copy. Errors are those of
// ReadEvent. The event is the Decoder's own, as View's, and its payload
// fields point into the Decoder's buffer, which its next Read overwrites
// (whatever kind that event is): Clone what you keep. Once the buffer has
// grown to the largest payload read, Read does not allocate.
func (dec *Decoder) Read(src eventring.PayloadSource, d *eventring.Descriptor) (Event, error) {
	p, buf, err := readPayload(src, d, dec.buf)
	dec.buf = buf
	if err != nil {
		return nil, err
	}
	return dec.View(d, p)
}

// readPayload copies the payload of d into buf (grown when too small) with
// the check-copy-check sequence and returns the copy and the buffer.
func readPayload(src eventring.PayloadSource, d *eventring.Descriptor, buf []uint64) ([]byte, []uint64, error) {
	// Check first: the descriptor is untrusted, and the check refuses
	// sizes and offsets no writer allocated before anything is copied.
	if !src.PayloadValid(d) {
		return nil, buf, expiredError(d)
	}
	q := src.Payload(d)
	if uint64(len(q)) != uint64(d.PayloadSize) {
		return nil, buf, &eventring.ExpiredError{Seqno: d.Seqno, EventType: d.EventType, Offset: d.PayloadBufOffset, Size: d.PayloadSize, Err: eventring.ErrBadDescriptor}
	}
	if words := (len(q) + 7) / 8; cap(buf) < words {
		buf = make([]uint64, words)
	}
	p := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(buf[:cap(buf)]))), len(q))
	copy(p, q)
	if !src.PayloadValid(d) {
		return nil, buf, expiredError(d)
	}
	return p, buf, nil
}

// expiredError is eventring's error for a payload the writer reclaimed.
func expiredError(d *eventring.Descriptor) error {
	return &eventring.ExpiredError{Seqno: d.Seqno, EventType: d.EventType, Offset: d.PayloadBufOffset, Size: d.PayloadSize, Err: eventring.ErrPayloadExpired}
}
