package eventring

import (
	"context"
	"io"
	"math"
	"runtime/debug"
	"sync/atomic"
	"unsafe"

	"github.com/klauspost/compress/zstd"
)

// captureChunk is the unit in which a capture copies payload bytes and hands
// the image to the encoder, checking its context in between.
const captureChunk = 4 << 20

// WriteSnapshot writes a snapshot of the ring to w: it is
// [Ring.WriteSnapshotContext] with a context that is never done.
func (r *Ring) WriteSnapshot(w io.Writer) error {
	_, err := r.WriteSnapshotContext(context.Background(), w)
	return err
}

// WriteSnapshotContext writes the ring image (header, descriptors, payload
// buffer and a zeroed context area) to w as one zstd frame that [Open] reads
// back as a snapshot (spec §6.5), and returns the sequence number of the
// newest event the snapshot holds.
//
// A snapshot Ring never changes: it is compressed as it is, and last is its
// last_seqno.
//
// A live ring may be written to while it is captured, so it is captured as
// a reader reads it, into private memory (C×64 + S bytes: the ring's size
// less its header section and context area, released on return), and only
// then compressed. (Compressing straight from the changing mapping is
// unsafe: the encoder reads its input more than once, so the frame's
// checksum could disagree with its content. Copying the sections out
// wholesale is not enough either: a copy that takes longer than the writer
// needs to lap the descriptor array pairs a last_seqno far past the
// descriptors copied, and then no event reads back.) In order:
//
//   - The descriptors, with the reader protocol (spec §3), each event into
//     its slot, from the oldest event to the newest committed one, which is
//     last. A capture lapped by the writer goes on with the oldest event
//     left, so it still holds a run of consecutive events ending at last.
//     A slot holding a sequence number that no writer can have reserved yet
//     (a corrupt ring) is copied as it is, and the capture goes on with the
//     next event: the snapshot shows the same damage as the ring.
//   - The payloads of those events, oldest bytes first: they are the next
//     the writer overwrites.
//   - The control words, last: the payload window start read then marks
//     every payload the writer overwrote during the copy as expired, so that
//     it never reads as valid torn bytes. The snapshot's last_seqno is the
//     one read right after the descriptors: events reserved but not yet
//     committed by then read as not committed, and once the ring has wrapped
//     the snapshot's oldest event is one the capture read.
//
// The capture stops with ctx.Err() once ctx is done (it checks between
// chunks of work), and with [ErrClosed] if the ring is closed meanwhile.
// Nothing is written to w before the copy is complete; callers that want
// progress can count the bytes written to w.
//
// A live ring whose file is truncated during the capture gives a
// *RingChangedError.
func (r *Ring) WriteSnapshotContext(ctx context.Context, w io.Writer) (last uint64, err error) {
	done := false
	defer r.guardFault(debug.SetPanicOnFault(true), &done, &err)
	last, err = r.writeSnapshot(ctx, w)
	done = true
	return last, err
}

func (r *Ring) writeSnapshot(ctx context.Context, w io.Writer) (last uint64, err error) {
	if r.closed.Load() {
		return 0, r.failure()
	}
	var img snapshotImage
	if r.snapshot {
		img = r.snapshotImage()
	} else if img, err = r.captureLive(ctx); err != nil {
		return 0, err
	}
	if err := img.write(ctx, w); err != nil {
		return 0, err
	}
	if r.closed.Load() {
		return 0, ErrClosed // the image may hold the inert mapping's zeros
	}
	return img.last, nil
}

// snapshotImage is a ring image ready to be compressed.
type snapshotImage struct {
	hdr     ringHeader   // the header struct; the rest of its section is zeros
	descs   []Descriptor // the descriptor array, C slots
	payload []byte       // the payload buffer, S bytes
	context uint64       // context area size (written as zeros)
	last    uint64       // newest event held
}

// snapshotImage describes a snapshot Ring's own memory: it never changes.
func (r *Ring) snapshotImage() snapshotImage {
	return snapshotImage{
		hdr:     r.imageHeader(atomic.LoadUint64(&r.hdr.Control.LastSeqno)),
		descs:   unsafe.Slice((*Descriptor)(r.descs), r.sizes.DescriptorCapacity),
		payload: unsafe.Slice((*byte)(r.payload), r.sizes.PayloadBufSize),
		context: r.sizes.ContextAreaSize,
		last:    atomic.LoadUint64(&r.hdr.Control.LastSeqno),
	}
}

// imageHeader returns the ring's header with the given last_seqno and the
// payload window as it is now.
func (r *Ring) imageHeader(lastSeqno uint64) ringHeader {
	var h ringHeader
	h.Magic = r.hdr.Magic
	h.ContentType = r.hdr.ContentType
	h.SchemaHash = r.hdr.SchemaHash
	h.Size = r.sizes
	h.Control.LastSeqno = lastSeqno
	// The writer moves next_payload_byte before the window start (spec
	// §5.2), so the pair can momentarily span more than the buffer: the
	// bytes below next - S are being overwritten by the reservation in
	// progress, so the window starts no lower than that (they read as
	// expired, and Open accepts the header).
	w := atomic.LoadUint64(&r.hdr.Control.BufferWindowStart)
	n := atomic.LoadUint64(&r.hdr.Control.NextPayloadByte)
	if n-w > r.sizes.PayloadBufSize && n >= w {
		w = n - r.sizes.PayloadBufSize
	}
	h.Control.BufferWindowStart, h.Control.NextPayloadByte = w, n
	return h
}

// captureLive copies a live ring into private memory as
// WriteSnapshotContext describes.
func (r *Ring) captureLive(ctx context.Context) (snapshotImage, error) {
	img := snapshotImage{
		descs:   make([]Descriptor, r.sizes.DescriptorCapacity),
		payload: make([]byte, r.sizes.PayloadBufSize),
		context: r.sizes.ContextAreaSize,
	}
	last, lowest, err := r.copyDescriptors(ctx, img.descs)
	if err != nil {
		return img, err
	}
	img.last = last
	// Sequence numbers reserved by now, committed or not: at least last
	// and, once the ring has wrapped, at least a lap past the first event of
	// the run read (copyDescriptors jumps only to the oldest event). So the
	// snapshot's oldest event (reserved - C + 1) is one that was read, unlike
	// the live ring's, whose slot the writer is usually refilling.
	reserved := atomic.LoadUint64(&r.hdr.Control.LastSeqno)

	// Only the bytes from the lowest payload offset of the events read to
	// the end of the payload window can belong to them (once the buffer has
	// wrapped the window is much larger), and the oldest of them are the
	// next the writer overwrites: copy those first. Every event read was
	// committed, so its payload allocated, before `to` is read.
	s := r.sizes.PayloadBufSize
	window := atomic.LoadUint64(&r.hdr.Control.BufferWindowStart)
	to := atomic.LoadUint64(&r.hdr.Control.NextPayloadByte)
	for v := max(window, lowest, to-min(to, s)); v < to; { // from past to: nothing to copy
		if err := ctx.Err(); err != nil {
			return img, err
		}
		i := v & r.maskP // virtual offset → buffer index (spec §4.2)
		n := min(to-v, s-i, captureChunk)
		copy(img.payload[i:i+n], unsafe.Slice((*byte)(unsafe.Add(r.payload, i)), n))
		v += n
	}
	// The control words last: loadFence orders the copies above before
	// them (free on amd64, whose loads are not reordered with older loads;
	// a barrier on arm64).
	loadFence()
	img.hdr = r.imageHeader(reserved)
	return img, nil
}

// copyDescriptors copies every committed event from the oldest to the
// newest into its slot of descs, and returns the newest's sequence number
// and the lowest payload offset of the events read since the capture last
// jumped (math.MaxUint64 if none). A capture lapped by the writer jumps to
// the oldest event left and goes on: it still reads a whole run of
// consecutive events ending at the newest.
func (r *Ring) copyDescriptors(ctx context.Context, descs []Descriptor) (last, lowest uint64, err error) {
	rd := &Reader{descs: r.descs, mask: r.maskD, ring: r}
	rd.SetSeqno(r.OldestSeqno())
	var d Descriptor
	lowest = math.MaxUint64
	for n := 0; ; n++ {
		if n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, 0, err
			}
		}
		res := rd.TryNext(&d)
		if res == Ready {
			descs[(d.Seqno-1)&r.maskD] = d
			last, lowest = d.Seqno, min(lowest, d.PayloadBufOffset)
			continue
		}
		// Event `from` is gone if the writer has reserved its slot's next
		// occupant: a gap, or a slot still being refilled (it reads 0, so
		// NotReady), which is where a live ring's oldest event always is.
		from := rd.LastSeqno() + 1
		switch reserved := atomic.LoadUint64(&r.hdr.Control.LastSeqno); {
		case reserved > from+r.maskD:
			// Everything read so far is older than what the snapshot's
			// last_seqno, read later, leaves in it.
			rd.SetSeqno(r.oldestFrom(from + 1))
			last, lowest = 0, math.MaxUint64
		case res == Gap && from <= reserved:
			// A later sequence number where none can be yet: a corrupt
			// slot. Keep it as it is and go on with the next event.
			descs[(from-1)&r.maskD] = *r.slot(from - 1)
			rd.SetSeqno(from + 1)
		default:
			return last, lowest, nil // the newest committed event
		}
	}
}

// write compresses the image into w as one zstd frame.
func (img *snapshotImage) write(ctx context.Context, w io.Writer) error {
	enc, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
	if err != nil {
		return err
	}
	zeros := make([]byte, 64<<10)
	hdr := unsafe.Slice((*byte)(unsafe.Pointer(&img.hdr)), ringHeaderSize)
	descs := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(img.descs))), len(img.descs)*DescriptorSize)
	for _, part := range []struct {
		b     []byte
		zeros uint64 // written after b
	}{
		{hdr, HeaderSectionSize - ringHeaderSize},
		{descs, 0},
		{img.payload, img.context},
	} {
		if err := writeChunks(ctx, enc, part.b); err != nil {
			enc.Close()
			return err
		}
		if err := writeZeros(ctx, enc, part.zeros, zeros); err != nil {
			enc.Close()
			return err
		}
	}
	return enc.Close()
}

// writeChunks writes b to w in captureChunk pieces, stopping early once ctx
// is done.
func writeChunks(ctx context.Context, w io.Writer, b []byte) error {
	for len(b) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(len(b), captureChunk)
		if _, err := w.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// writeZeros writes n zero bytes to w, len(zeros) at a time.
func writeZeros(ctx context.Context, w io.Writer, n uint64, zeros []byte) error {
	for n > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := min(n, uint64(len(zeros)))
		if _, err := w.Write(zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}
