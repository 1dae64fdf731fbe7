package execevents

import (
	"math"
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
	// A size the event type cannot have is refused before anything is
	// copied, so a hostile payload_size costs no memory.
	if err := sizeError(EventType(d.EventType), uint64(d.PayloadSize)); err != nil {
		return nil, buf, err
	}
	q := src.Payload(d)
	if uint64(len(q)) != uint64(d.PayloadSize) {
		return nil, buf, &eventring.ExpiredError{Seqno: d.Seqno, EventType: d.EventType, Offset: d.PayloadBufOffset, Size: d.PayloadSize, Err: eventring.ErrBadDescriptor}
	}
	dst := buf
	if words := (len(q) + 7) / 8; cap(dst) < words {
		dst = make([]uint64, words)
		if words <= keepWords {
			buf = dst // kept for the next Read; larger ones are not pinned
		}
	}
	p := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst[:cap(dst)]))), len(q))
	copy(p, q)
	if !src.PayloadValid(d) {
		return nil, buf, expiredError(d)
	}
	return p, buf, nil
}

// keepWords bounds the buffer a Decoder keeps between Reads (1 MiB, far
// above a typical payload): a larger payload is copied into memory of its
// own, so one huge event does not stay pinned by the Decoder.
const keepWords = 1 << 20 / 8

// sizeError reports, as a *PayloadError, a payload size that events of type
// t cannot have by the Events table: not the fixed size of a payload without
// trailing arrays, shorter than the fixed struct of one with them, or not
// one of the listed sizes. Codes the schema lacks (and 0) decode as
// UnknownEvent, of any size.
func sizeError(t EventType, n uint64) error {
	if t == 0 || int(t) >= len(Events) {
		return nil
	}
	info := &Events[t]
	fixed := uint64(info.Size)
	switch {
	case len(info.Sizes) > 0:
		for _, s := range info.Sizes {
			if uint64(s) == n {
				return nil
			}
		}
		err := ErrPayloadShort
		if n > fixed {
			err = ErrPayloadLong
		}
		return payloadError(t, fixed, int(min(n, math.MaxInt32)), err, "not one of the sizes the event type allows")
	case len(info.Trailing) > 0:
		if n < fixed {
			return payloadError(t, fixed, int(n), ErrPayloadShort, "shorter than the fixed payload struct")
		}
	case n != fixed:
		err := ErrPayloadShort
		if n > fixed {
			err = ErrPayloadLong
		}
		return payloadError(t, fixed, int(min(n, math.MaxInt32)), err, "not the event type's payload size")
	}
	return nil
}

// expiredError is eventring's error for a payload the writer reclaimed.
func expiredError(d *eventring.Descriptor) error {
	return &eventring.ExpiredError{Seqno: d.Seqno, EventType: d.EventType, Offset: d.PayloadBufOffset, Size: d.PayloadSize, Err: eventring.ErrPayloadExpired}
}
