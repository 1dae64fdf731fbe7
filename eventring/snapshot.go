package eventring

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"unsafe"

	"github.com/klauspost/compress/zstd"
)

const (
	zstdMagic = 0xFD2FB528

	// maxSnapshotWindow caps the zstd window the decoder accepts, so a
	// hostile frame header cannot make it allocate gigabytes of history.
	maxSnapshotWindow = 1 << 28

	// decompChunk is the unit in which decompressed output is read from
	// the decoder and written into the memfd.
	decompChunk = 1 << 20

	// sparseBlock is the granule of the zero check: the smallest page size,
	// the unit in which a memfd allocates memory. An all-zero block is
	// never written, so it stays a hole that costs no memory.
	sparseBlock = 4 << 10
)

// zstdFrameLength walks the block headers of the zstd frame at the start of
// r (without decompressing) and returns the frame's compressed length and
// its declared content size (-1 if absent). It detects truncation and
// malformed headers; the caller compares the length with the input size to
// detect trailing frames.
func zstdFrameLength(r io.ReaderAt, size int64) (frameLen int64, contentSize int64, err error) {
	var b [18]byte
	n, _ := r.ReadAt(b[:], 0)
	if n < 4 || binary.LittleEndian.Uint32(b[:4]) != zstdMagic {
		return 0, 0, ErrNotSnapshot
	}
	if n < 5 {
		return 0, 0, fmt.Errorf("%w: frame header cut short", ErrSnapshotCorrupt)
	}
	fhd := b[4]
	if fhd&0x08 != 0 {
		return 0, 0, fmt.Errorf("%w: reserved frame header bit set", ErrSnapshotCorrupt)
	}
	singleSegment := fhd&0x20 != 0
	hasChecksum := fhd&0x04 != 0
	didSize := [4]int{0, 1, 2, 4}[fhd&3]
	fcsSize := [4]int{0, 2, 4, 8}[fhd>>6]
	if fcsSize == 0 && singleSegment {
		fcsSize = 1
	}
	pos := 5
	if !singleSegment {
		pos++ // window descriptor
	}
	pos += didSize
	hdrEnd := pos + fcsSize
	if n < hdrEnd {
		return 0, 0, fmt.Errorf("%w: frame header cut short", ErrSnapshotCorrupt)
	}
	contentSize = -1
	switch fcsSize {
	case 1:
		contentSize = int64(b[pos])
	case 2:
		contentSize = int64(binary.LittleEndian.Uint16(b[pos:])) + 256
	case 4:
		contentSize = int64(binary.LittleEndian.Uint32(b[pos:]))
	case 8:
		contentSize = int64(binary.LittleEndian.Uint64(b[pos:]) & (1<<63 - 1))
	}
	off := int64(hdrEnd)
	for {
		var bh [3]byte
		if off+3 > size {
			return 0, 0, fmt.Errorf("%w: frame truncated at byte %d of %d", ErrSnapshotCorrupt, off, size)
		}
		if _, err := r.ReadAt(bh[:], off); err != nil {
			return 0, 0, err
		}
		v := uint32(bh[0]) | uint32(bh[1])<<8 | uint32(bh[2])<<16
		last, typ, bsize := v&1 != 0, (v>>1)&3, int64(v>>3)
		off += 3
		switch typ {
		case 0, 2: // raw, compressed
			off += bsize
		case 1: // RLE
			off++
		default:
			return 0, 0, fmt.Errorf("%w: reserved block type at byte %d", ErrSnapshotCorrupt, off-3)
		}
		if off > size {
			return 0, 0, fmt.Errorf("%w: frame truncated at byte %d of %d", ErrSnapshotCorrupt, size, off)
		}
		if last {
			break
		}
	}
	if hasChecksum {
		off += 4
		if off > size {
			return 0, 0, fmt.Errorf("%w: frame checksum truncated", ErrSnapshotCorrupt)
		}
	}
	return off, contentSize, nil
}

func newSnapshotDecoder(r io.Reader) (*zstd.Decoder, error) {
	return zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxSnapshotWindow),
		zstd.WithDecoderLowmem(true))
}

// openSnapshot decompresses the snapshot at opts.Offset in f (size bytes
// long) into a memfd, zero-padded to the header's total, and maps it.
func openSnapshot(f *os.File, path string, opts OpenOptions, size int64) (*Ring, error) {
	src := io.NewSectionReader(f, opts.Offset, size)
	mfd, h, err := decompressSnapshot(src, size, opts.MaxSnapshotSize)
	if err != nil {
		return nil, err
	}
	defer mfd.Close() // the mapping keeps the memory alive
	// MAP_POPULATE would allocate every hole of the memfd (a read fault on
	// shared memory allocates a page), so Populate pre-faults only what
	// readers use: the header, the written descriptors and the payload
	// window.
	m, err := mapRing(mfd.Fd(), 0, h.Size, false, false)
	if err != nil {
		return nil, err
	}
	if opts.Populate {
		prefaultSnapshot(m, h)
	}
	return newRing(m, h.Size, path, true, 0), nil
}

// prefaultSnapshot pre-faults the parts of a snapshot mapping that hold
// events: the header, descriptor slots up to last_seqno and the payload
// window [buffer_window_start, next_payload_byte) (through the second
// mapping where it wraps).
func prefaultSnapshot(m *mapping, h *ringHeader) {
	s, c := h.Size, &h.Control
	m.prefault(0, ringHeaderSize)
	m.prefault(HeaderSectionSize, uintptr(min(c.LastSeqno, s.DescriptorCapacity)*DescriptorSize))
	// validateSnapshotControl guarantees window <= next <= window + S.
	payOff := HeaderSectionSize + s.DescriptorCapacity*DescriptorSize
	m.prefault(uintptr(payOff+c.BufferWindowStart&(s.PayloadBufSize-1)), uintptr(c.NextPayloadByte-c.BufferWindowStart))
}

// decompressSnapshot streams the single zstd frame of src into a new memfd.
// Output is bounded by the header's declared total and by limit (0 means
// DefaultMaxSnapshotSize), so a small hostile file cannot exhaust memory.
func decompressSnapshot(src io.ReaderAt, size int64, limit uint64) (*os.File, *ringHeader, error) {
	if limit == 0 {
		limit = DefaultMaxSnapshotSize
	}
	frameLen, contentSize, err := zstdFrameLength(src, size)
	if err != nil {
		return nil, nil, err
	}
	if frameLen < size {
		return nil, nil, fmt.Errorf("%d bytes after the %d-byte frame: %w", size-frameLen, frameLen, ErrSnapshotTrailingData)
	}
	if contentSize >= 0 && uint64(contentSize) > limit {
		return nil, nil, fmt.Errorf("frame declares %d bytes, limit %d: %w", contentSize, limit, ErrSnapshotTooLarge)
	}
	dec, err := newSnapshotDecoder(io.NewSectionReader(src, 0, frameLen))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrSnapshotCorrupt, err)
	}
	defer dec.Close()

	buf := make([]byte, decompChunk)
	n, err := io.ReadFull(dec, buf[:ringHeaderSize])
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			if n >= len(Magic) && string(buf[:len(Magic)]) != Magic {
				return nil, nil, fmt.Errorf("decompressed magic %q, want %q: %w", buf[:len(Magic)], Magic, ErrBadMagic)
			}
			return nil, nil, fmt.Errorf("snapshot decompresses to only %d bytes: %w", n, ErrFileTooShort)
		}
		return nil, nil, fmt.Errorf("%w: %v", ErrSnapshotCorrupt, err)
	}
	h, err := parseHeader(buf[:ringHeaderSize])
	if err != nil {
		return nil, nil, err
	}
	if err := validateSnapshotControl(&h); err != nil {
		return nil, nil, err
	}
	total := h.Size.Total()
	if total > limit {
		return nil, nil, fmt.Errorf("header declares a %d-byte ring, limit %d: %w", total, limit, ErrSnapshotTooLarge)
	}
	mfd, err := memfdCreate("zstd-ring-decomp")
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*os.File, *ringHeader, error) {
		mfd.Close()
		return nil, nil, err
	}
	// Size the memfd up front and write only non-zero blocks: the holes read
	// as zero without ever being allocated, so a ring that is mostly zeros
	// (a daemon-default ring is 642 MiB, usually far from full) costs only
	// its data in memory, and a snapshot a few bytes short (spec §6.5) is
	// zero-padded for free.
	if err := mfd.Truncate(int64(total)); err != nil {
		return fail(err)
	}
	// The first chunk starts with the header already read, so that every
	// chunk, and thus every zero check, is aligned to sparseBlock.
	written, filled := uint64(0), ringHeaderSize
	for {
		k, rerr := io.ReadFull(dec, buf[filled:])
		k, filled = k+filled, 0
		if k > 0 {
			if written+uint64(k) > total {
				return fail(fmt.Errorf("decompresses past the %d bytes its header declares: %w", total, ErrSnapshotTooLarge))
			}
			if err := writeSparse(mfd, buf[:k], int64(written)); err != nil {
				return fail(err)
			}
			written += uint64(k)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return fail(fmt.Errorf("%w: %v", ErrSnapshotCorrupt, rerr))
		}
	}
	if need := requiredSnapshotBytes(&h); written < need {
		return fail(fmt.Errorf("snapshot decompresses to %d bytes, its header's sections need %d: %w", written, need, ErrFileTooShort))
	}
	return mfd, &h, nil
}

// writeSparse writes b at offset off of f, except its all-zero
// sparseBlock-sized blocks (counted from b's start), which it skips so that
// they stay holes. Runs of non-zero blocks are written with one call each.
func writeSparse(f *os.File, b []byte, off int64) error {
	for len(b) > 0 {
		i := 0
		for i < len(b) && allZero(b[i:min(i+sparseBlock, len(b))]) {
			i += sparseBlock
		}
		if i >= len(b) {
			return nil
		}
		j := i + sparseBlock
		for j < len(b) && !allZero(b[j:min(j+sparseBlock, len(b))]) {
			j += sparseBlock
		}
		j = min(j, len(b))
		if _, err := f.WriteAt(b[i:j], off+int64(i)); err != nil {
			return err
		}
		b, off = b[j:], off+int64(j)
	}
	return nil
}

// zeroBlock is compared against decompressed blocks (bss: never written).
var zeroBlock [sparseBlock]byte

// allZero reports whether b (at most sparseBlock bytes) holds only zeros.
// memequal stops at the first difference, so data blocks cost little.
func allZero(b []byte) bool {
	return bytes.Equal(b, zeroBlock[:len(b)])
}

// WriteSnapshot writes the ring image (header, descriptors, payload buffer
// and a zeroed context area) to w as one zstd frame that Open reads back as
// a snapshot.
//
// A live ring may be written to while it is captured, so its descriptors
// and payload buffer are first copied into private memory (C×64 + S bytes,
// released afterwards) and the control words are read last. The snapshot's
// last_seqno and next_payload_byte then cover everything copied, and a
// payload overwritten during the copy lies below its window start, so it
// reads as expired rather than as valid torn bytes. (Compressing straight
// from a changing mapping is unsafe: the encoder reads its input more than
// once, so the frame checksum could disagree with the content.) A snapshot
// Ring is compressed directly.
func (r *Ring) WriteSnapshot(w io.Writer) error {
	if r.closed.Load() {
		return ErrClosed
	}
	body := unsafe.Slice((*byte)(r.descs), r.sizes.DescriptorCapacity*DescriptorSize+r.sizes.PayloadBufSize)
	if !r.snapshot {
		body = append([]byte(nil), body...)
		loadFence() // the copy is complete before the control words are read
	}
	var hdr ringHeader
	hdr.Magic = r.hdr.Magic
	hdr.ContentType = r.hdr.ContentType
	hdr.SchemaHash = r.hdr.SchemaHash
	hdr.Size = r.sizes
	// Window start before allocation end: both only grow, so the pair read
	// in this order never shows a window wider than the buffer.
	hdr.Control.BufferWindowStart = atomic.LoadUint64(&r.hdr.Control.BufferWindowStart)
	hdr.Control.LastSeqno = atomic.LoadUint64(&r.hdr.Control.LastSeqno)
	hdr.Control.NextPayloadByte = atomic.LoadUint64(&r.hdr.Control.NextPayloadByte)
	hdrBytes := unsafe.Slice((*byte)(unsafe.Pointer(&hdr)), ringHeaderSize)

	enc, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
	if err != nil {
		return err
	}
	zeros := make([]byte, 64<<10)
	if _, err := enc.Write(hdrBytes); err != nil {
		enc.Close()
		return err
	}
	if err := writeZeros(enc, HeaderSectionSize-ringHeaderSize, zeros); err != nil {
		enc.Close()
		return err
	}
	if _, err := enc.Write(body); err != nil {
		enc.Close()
		return err
	}
	if err := writeZeros(enc, r.sizes.ContextAreaSize, zeros); err != nil {
		enc.Close()
		return err
	}
	return enc.Close()
}

func writeZeros(w io.Writer, n uint64, zeros []byte) error {
	for n > 0 {
		k := min(n, uint64(len(zeros)))
		if _, err := w.Write(zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}
