package evcap

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"iter"
	"runtime/debug"

	"github.com/klauspost/compress/zstd"
	"github.com/monadgo/events/eventring"
)

// Event is one event of a capture: its descriptor, stored unchanged from
// the ring it was recorded from (PayloadBufOffset included, although it
// means nothing inside a capture), the content type of its schema, and
// its payload.
//
// Payload is a view into the Reader's buffer, valid until the Reader
// moves on (its next Next, ReadInto, Seek or SeekBlock, or the next step
// of an Events loop): Clone what you keep.
type Event struct {
	Descriptor  eventring.Descriptor  // a copy, as stored
	ContentType eventring.ContentType // of the record (release) or of its bundle's SCHEMA (preview)
	Payload     []byte                // a view: valid until the Reader moves on
}

// Clone returns e with a payload of its own.
func (e Event) Clone() Event {
	e.Payload = bytes.Clone(e.Payload)
	return e
}

// Reader reads a File's events in bundle order, from one position on. It
// streams each bundle's content (decompressing it when compressed) and
// checks every record as it goes: records inside the content, exactly the
// declared number of them, increasing seqnos from the bundle's
// start_seqno, a SCHEMA for every content type, zero padding, the exact
// decompressed size. A format error is returned again by every later
// call until Seek or SeekBlock moves the Reader elsewhere.
//
// A Reader is also an eventring.PayloadSource for the event it read last:
// execevents' Decoder.Read and ReadEvent decode it straight from the
// Reader.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	f   *File
	lay *layout
	bi  int      // position in lay.bundles of the current bundle, -1 before the first
	sec *Section // the current bundle
	c   content  // its content
	pos uint64   // content position of the next record
	n   uint64   // records read from the bundle
	end bool     // the bundle was read to its end and checked

	last   uint64 // seqno of the previous record of the bundle
	midway bool   // pos came from a SEQNO_INDEX entry, not from the previous record
	err    error  // sticky format error

	ev   eventring.Descriptor // the event read last
	ct   eventring.ContentType
	pay  []byte
	have bool

	own    []byte        // the payload read last, copied out of a mapping
	dec    *zstd.Decoder // bundle decompression
	idx    content       // a SEQNO_INDEX being read
	idxDec *zstd.Decoder
}

var _ eventring.PayloadSource = (*Reader)(nil)

// Next reads the next event into ev (its Payload a view, see Event) and
// advances. It returns io.EOF after the last event of the last bundle
// (in a file being written, Refresh may add more: Next then goes on),
// ErrClosed after the File's Close, or a *FormatError.
func (r *Reader) Next(ev *Event) error {
	if err := r.next(); err != nil {
		return err
	}
	ev.Descriptor, ev.ContentType, ev.Payload = r.ev, r.ct, r.pay
	return nil
}

// ReadInto reads the next event's descriptor into d and copies its
// payload into buf[:0], which grows (like append) when too small; with a
// large enough buf it does not allocate. Errors are those of Next; buf is
// then returned empty.
func (r *Reader) ReadInto(d *eventring.Descriptor, buf []byte) ([]byte, error) {
	if err := r.next(); err != nil {
		return buf[:0], err
	}
	*d = r.ev
	return append(buf[:0], r.pay...), nil
}

// ContentType returns the content type of the event read last.
func (r *Reader) ContentType() eventring.ContentType { return r.ct }

// Bundle returns the EVENT_BUNDLE the Reader is in (the one of the event
// read last, or the one Seek and SeekBlock moved to), and false before
// the first bundle.
func (r *Reader) Bundle() (Section, bool) {
	if r.sec == nil {
		return Section{}, false
	}
	return *r.sec, true
}

// Payload returns the payload of d if d is the descriptor of the event
// read last (a view, as Event.Payload), else nil. With PayloadValid it
// makes the Reader an eventring.PayloadSource.
func (r *Reader) Payload(d *eventring.Descriptor) []byte {
	if !r.PayloadValid(d) {
		return nil
	}
	return r.pay
}

// PayloadValid reports whether d is the descriptor of the event read last,
// whose payload the Reader still holds. A capture's payloads never
// expire, but a Reader holds only the last one.
func (r *Reader) PayloadValid(d *eventring.Descriptor) bool {
	return r.have && *d == r.ev
}

// Events returns an iterator over the events from the Reader's position
// on. It follows the standard library's error rule: an error ends the
// iteration (a *FormatError, ErrClosed, ctx.Err()); the end of the file
// ends it with no error. Each Event's Payload is valid until the next
// step of the loop. Breaking out of the loop leaves the Reader after the
// last event yielded.
func (r *Reader) Events(ctx context.Context) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for i := 0; ; i++ {
			if i&1023 == 0 {
				if err := ctx.Err(); err != nil {
					yield(Event{}, err)
					return
				}
			}
			if err := r.next(); err != nil {
				if err != io.EOF {
					yield(Event{}, err)
				}
				return
			}
			if !yield(Event{Descriptor: r.ev, ContentType: r.ct, Payload: r.pay}, nil) {
				return
			}
		}
	}
}

func (r *Reader) next() (err error) {
	if r.f.mem.Load() == nil && r.c.m == nil {
		return r.nextUnguarded()
	}
	done := false
	defer r.guard(debug.SetPanicOnFault(true), &done, &err)
	err = r.nextUnguarded()
	done = true
	return err
}

// nextUnguarded is next without the guard against faults in the mapping.
func (r *Reader) nextUnguarded() error {
	r.have = false
	if r.f.closed.Load() {
		return ErrClosed
	}
	if r.err != nil {
		return r.err
	}
	for {
		if r.sec != nil && !r.end {
			err := r.step()
			if err == nil {
				r.have = true
				return nil
			}
			if err != io.EOF {
				r.err = err
				return err
			}
			continue
		}
		if r.bi+1 >= len(r.lay.bundles) {
			lay := r.f.lay.Load()
			if r.bi+1 >= len(lay.bundles) {
				return io.EOF
			}
			r.lay = lay
		}
		if err := r.open(r.bi+1, 0, 0, 0); err != nil {
			r.err = err
			return err
		}
	}
}

// open moves the Reader into bundle bi at content position pos, as if n
// records (the last with seqno last) had been read from it.
func (r *Reader) open(bi int, pos, n, last uint64) error {
	s := &r.lay.sections[r.lay.bundles[bi]]
	if r.sec == nil || r.c.sec != s {
		if err := r.c.reset(r.f.ra, r.f.mem.Load(), r.f.path, s, &r.dec, r.f.opts.MaxSectionSize); err != nil {
			return err
		}
	}
	r.bi, r.sec, r.end = bi, s, false
	r.pos, r.n, r.last, r.midway = pos, n, last, false
	return r.c.seek(r.f.ra, &r.dec, r.f.opts.MaxSectionSize, pos)
}

// step reads the record at r.pos and advances past it; at the end of the
// bundle it checks the end and returns io.EOF.
func (r *Reader) step() error {
	s := r.sec
	if r.n == s.EventCount {
		if r.pos != r.c.size {
			return r.c.fail(ErrBadRecord, r.pos, "content goes on after the bundle's event_count of %d records", s.EventCount)
		}
		if err := r.c.finish(); err != nil {
			return err
		}
		r.end = true
		return io.EOF
	}
	if r.pos == r.c.size {
		return r.c.fail(ErrBadRecord, r.pos, "content ends after %d of the bundle's %d records", r.n, s.EventCount)
	}
	next, err := r.record(r.pos)
	if err != nil {
		return err
	}
	if seq := r.ev.Seqno; r.n == 0 && seq != s.StartSeqno || r.n > 0 && seq <= r.last {
		if r.n == 0 {
			return r.c.fail(ErrBadRecord, roundUp(r.pos, recordAlign), "first record has seqno %d, the bundle's start_seqno is %d", seq, s.StartSeqno)
		}
		return r.c.fail(ErrBadRecord, roundUp(r.pos, recordAlign), "record %d has seqno %d, not above the previous %d", r.n, seq, r.last)
	}
	if r.lay.kind == LayoutRelease && !r.lay.hasSchema(r.ct) {
		return r.c.fail(ErrBadRecord, roundUp(r.pos, recordAlign), "record of content type %v, which has no SCHEMA section", r.ct)
	}
	r.pos, r.last, r.midway = next, r.ev.Seqno, false
	r.n++
	return nil
}

// record decodes the record starting at content position pos into r.ev,
// r.ct and r.pay and returns the position after it (spec §7, §12.7).
func (r *Reader) record(pos uint64) (uint64, error) {
	c := &r.c
	size := c.size
	d := roundUp(pos, recordAlign)
	if d > size || size-d < descriptorSize {
		return 0, c.fail(ErrBadRecord, pos, "record %d: its descriptor runs past the content's end (%d bytes)", r.n, size)
	}
	c.keep = pos
	b, err := c.view(pos, d+descriptorSize-pos)
	if err != nil {
		return 0, err
	}
	if !allZero(b[:d-pos]) {
		return 0, c.fail(ErrBadRecord, pos, "record %d: non-zero padding before its descriptor", r.n)
	}
	getDescriptor(b[d-pos:], &r.ev)
	p := d + descriptorSize
	ps := uint64(r.ev.PayloadSize)
	if ps > size-p {
		return 0, c.fail(ErrBadRecord, d, "record %d (seqno %d): payload of %d bytes runs past the content's end (%d bytes)", r.n, r.ev.Seqno, ps, size)
	}
	if ps > r.f.opts.MaxSectionSize {
		// The reader holds a whole record in memory: bound it like a
		// section's decompressed size, also in an uncompressed (perhaps
		// sparse) section.
		return 0, c.fail(ErrTooLarge, d, "record %d (seqno %d): payload of %d bytes exceeds the limit of %d bytes", r.n, r.ev.Seqno, ps, r.f.opts.MaxSectionSize)
	}
	e := p + ps
	align, trailer := uint64(2), uint64(releaseTrailerSize)
	if r.lay.kind == LayoutPreview {
		align, trailer = 8, previewTrailerSize
	}
	t := roundUp(e, align)
	if t > size || size-t < trailer {
		return 0, c.fail(ErrBadRecord, d, "record %d (seqno %d): its trailer runs past the content's end (%d bytes)", r.n, r.ev.Seqno, size)
	}
	b, err = c.view(p, t+trailer-p)
	if err != nil {
		return 0, err
	}
	if !allZero(b[ps : t-p]) {
		return 0, c.fail(ErrBadRecord, e, "record %d (seqno %d): non-zero padding after its payload", r.n, r.ev.Seqno)
	}
	if c.mapped {
		// Never hand out views of the mapping: a caller's access to a
		// file cut meanwhile would fault outside the Reader's guard.
		r.own = append(r.own[:0], b[:ps]...)
		r.pay = r.own[:ps:ps]
	} else {
		r.pay = b[:ps:ps]
	}
	if r.lay.kind == LayoutPreview {
		// After a seek by index, pos is the descriptor's position, not the
		// previous record's end: L also counts up to 63 bytes of padding.
		l, want := binary.LittleEndian.Uint64(b[t-p:]), e-pos+8
		if l != want && (!r.midway || l < want || l-want >= recordAlign) {
			return 0, c.fail(ErrBadRecord, t, "record %d (seqno %d): trailer L = %d, want %d", r.n, r.ev.Seqno, l, want)
		}
		r.ct = r.sec.ContentType
	} else {
		r.ct = eventring.ContentType(binary.LittleEndian.Uint16(b[t-p:]))
	}
	return t + trailer, nil
}

// position is where a Reader is, to go back there when a Seek fails.
type position struct {
	bi           int
	pos, n, last uint64
	end, midway  bool
	err          error
}

func (r *Reader) save() position {
	return position{bi: r.bi, pos: r.pos, n: r.n, last: r.last, end: r.end, midway: r.midway, err: r.err}
}

func (r *Reader) restore(p position) {
	r.have = false
	if p.bi < 0 {
		r.bi, r.sec, r.err = -1, nil, p.err
		return
	}
	if err := r.open(p.bi, p.pos, p.n, p.last); err != nil {
		r.err = err
		return
	}
	r.end, r.midway, r.err = p.end, p.midway, p.err
}

// Seek moves the Reader so that the next event it reads is the one with
// sequence number seqno: through the SEQNO_INDEX of the bundle whose
// range [start_seqno, start_seqno+event_count) holds seqno, or, without
// an index, by reading the bundle up to it. It checks that the record
// found has that seqno (a SEQNO_INDEX entry that points elsewhere is a
// *FormatError wrapping ErrBadIndex). Without such an event the error
// wraps ErrNotFound. On error the Reader stays where it was.
//
// In a compressed bundle, Seek decompresses the bundle up to the event
// (from its start when going backwards).
func (r *Reader) Seek(seqno uint64) error {
	if r.f.closed.Load() {
		return ErrClosed
	}
	return r.guarded(func() error {
		saved := r.save()
		r.lay = r.f.lay.Load()
		if err := r.seek(seqno); err != nil {
			r.restore(saved)
			return err
		}
		r.err, r.have = nil, false
		return nil
	})
}

func (r *Reader) seek(seqno uint64) error {
	for bi, si := range r.lay.bundles {
		s := &r.lay.sections[si]
		if s.EventCount == 0 || seqno < s.StartSeqno || seqno-s.StartSeqno >= s.EventCount {
			continue
		}
		i := seqno - s.StartSeqno
		if s.SeqnoIndexDesc == 0 {
			if err := r.open(bi, 0, 0, 0); err != nil {
				return err
			}
			for r.n < s.EventCount {
				at, n, last := r.pos, r.n, r.last
				if err := r.step(); err != nil {
					return err
				}
				if r.ev.Seqno >= seqno {
					if r.ev.Seqno > seqno {
						break
					}
					return r.open(bi, at, n, last)
				}
			}
			return fmt.Errorf("evcap: %s: seqno %d: %w", r.f.path, seqno, ErrNotFound)
		}
		is := &r.lay.sections[r.lay.byDesc[s.SeqnoIndexDesc]]
		pos, err := r.indexEntry(is, i)
		if err != nil {
			return err
		}
		if pos%recordAlign != 0 || pos >= s.Size() {
			return r.idx.fail(ErrBadIndex, 8*i, "entry %d (seqno %d) is %d, not a record position in the bundle's %d bytes", i, seqno, pos, s.Size())
		}
		if err := r.open(bi, pos, i, seqno-1); err != nil {
			return err
		}
		r.midway = true
		if _, err := r.record(pos); err != nil {
			return err
		}
		if r.ev.Seqno != seqno {
			return r.idx.fail(ErrBadIndex, 8*i, "entry %d (seqno %d) points to position %d, where the record has seqno %d", i, seqno, pos, r.ev.Seqno)
		}
		return nil
	}
	return fmt.Errorf("evcap: %s: seqno %d: %w", r.f.path, seqno, ErrNotFound)
}

// indexEntry returns entry i of SEQNO_INDEX section is.
func (r *Reader) indexEntry(is *Section, i uint64) (uint64, error) {
	if r.idx.sec != is {
		if err := r.idx.reset(r.f.ra, r.f.mem.Load(), r.f.path, is, &r.idxDec, r.f.opts.MaxSectionSize); err != nil {
			return 0, err
		}
	}
	if err := r.idx.seek(r.f.ra, &r.idxDec, r.f.opts.MaxSectionSize, 8*i); err != nil {
		return 0, err
	}
	b, err := r.idx.view(8*i, 8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// SeekBlock moves the Reader to the first event of the bundle that holds
// block number (through the block index, or in a preview block archive
// file the bundle's block_number): the next event read is the block's
// first. Errors wrap ErrNoBlockIndex for a file without blocks and
// ErrNotFound for a block it does not hold; the Reader then stays where
// it was.
func (r *Reader) SeekBlock(number uint64) error {
	if r.f.closed.Load() {
		return ErrClosed
	}
	lay := r.f.lay.Load()
	if len(lay.blocks) == 0 {
		return fmt.Errorf("evcap: %s: block %d: %w", r.f.path, number, ErrNoBlockIndex)
	}
	k, ok := lay.blockNum[number]
	if !ok {
		return fmt.Errorf("evcap: %s: block %d: %w", r.f.path, number, ErrNotFound)
	}
	return r.guarded(func() error {
		saved := r.save()
		r.lay = lay
		if err := r.open(lay.bundlePos[lay.blocks[k].Section], 0, 0, 0); err != nil {
			r.restore(saved)
			return err
		}
		r.err, r.have = nil, false
		return nil
	})
}

// Verify reads the whole file and checks what opening it did not: every
// bundle's records (as a Reader does), that their seqnos are consecutive
// from start_seqno (spec §7, §11.2 item 8), that every SEQNO_INDEX entry
// is the position of its record (§8, §11.2 item 9), and the exact size of
// every compressed section. It returns the first problem, a *FormatError.
func (f *File) Verify(ctx context.Context) error {
	r := f.NewReader()
	return r.guarded(func() error { return r.verify(ctx) })
}

// verify is Verify's reading, with r a new Reader of the File.
func (r *Reader) verify(ctx context.Context) error {
	f := r.f
	for bi, si := range r.lay.bundles {
		if err := ctx.Err(); err != nil {
			return err
		}
		s := &r.lay.sections[si]
		if err := r.open(bi, 0, 0, 0); err != nil {
			return err
		}
		var is *Section
		if s.SeqnoIndexDesc != 0 {
			is = &r.lay.sections[r.lay.byDesc[s.SeqnoIndexDesc]]
			if err := r.idx.reset(f.ra, f.mem.Load(), f.path, is, &r.idxDec, f.opts.MaxSectionSize); err != nil {
				return err
			}
		}
		for i := uint64(0); ; i++ {
			if i&1023 == 1023 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			at := roundUp(r.pos, recordAlign)
			err := r.step()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if r.ev.Seqno != s.StartSeqno+i {
				return r.c.fail(ErrBadRecord, at, "record %d has seqno %d, want start_seqno + %d = %d", i, r.ev.Seqno, i, s.StartSeqno+i)
			}
			if is == nil {
				continue
			}
			r.idx.keep = 8 * i
			b, err := r.idx.view(8*i, 8)
			if err != nil {
				return err
			}
			if got := binary.LittleEndian.Uint64(b); got != at {
				return r.idx.fail(ErrBadIndex, 8*i, "entry %d (seqno %d) is %d, the record is at %d", i, r.ev.Seqno, got, at)
			}
		}
		if is != nil {
			if err := r.idx.finish(); err != nil {
				return err
			}
		}
	}
	if f.closed.Load() {
		return ErrClosed
	}
	return nil
}
