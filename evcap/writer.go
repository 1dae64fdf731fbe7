package evcap

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync/atomic"
	"syscall"

	"github.com/klauspost/compress/zstd"
	"github.com/monadgo/events/eventring"
)

// WriterOptions say how a Writer encodes sections. The zero value writes
// what the daemon SDK's plain recorder (`event-cli record`) writes:
// uncompressed bundles whose content_length is 0, each followed by an
// uncompressed SEQNO_INDEX.
type WriterOptions struct {
	// Layout is the layout written: LayoutRelease (LayoutAuto, the zero
	// value, means the same) or LayoutPreview, the older layout whose
	// block archive files (`<block>.bcap`, spec §12.9, §12.10) the preview
	// tools still write and read. A preview file has section tables of 32
	// entries (shift 5, what `event-cli record` and the block archive
	// writer use), the preview type codes and record framing (§12.7), and
	// bundles whose content_length is always their uncompressed size; all
	// records of one bundle have one content type (its SCHEMA's), so Write
	// refuses another one until the bundle ends. EndBlock numbers the open
	// bundle (block_number) and ends it; the preview's PACK_INDEX is not
	// written (BlockIndex is refused), nor is BundleContentLength needed.
	Layout Layout
	// Compression of EVENT_BUNDLE contents: CompressionNone,
	// CompressionZstdStreaming (compressed while written, as the v1.1
	// writers do: one frame whose header does not carry the content size)
	// or CompressionZstdSinglePass (the bundle is kept in memory and
	// compressed in one call when it ends: one frame that carries its
	// size). Readers treat both zstd codes alike.
	Compression Compression
	// IndexCompression is the same for SEQNO_INDEX contents.
	IndexCompression Compression
	// Level is the zstd compression level (1..22); 0 means 3, the level of
	// the daemon SDK's tools.
	Level int
	// NoSeqnoIndex leaves bundles without a SEQNO_INDEX.
	NoSeqnoIndex bool
	// BundleContentLength sets an uncompressed bundle's content_length to
	// its size, as the block recorder (`event-cli recordexec`) does,
	// instead of 0 as the plain recorder does (spec §4).
	BundleContentLength bool
	// DirectIO writes section contents (Create's files on Linux) with
	// O_DIRECT, from the Writer's memory to the device without the page
	// cache: for a recorder that must keep up with a fast ring, copying
	// into the page cache costs most of its time (on the 2-vCPU VM of the
	// README's figures, about 250 of the 370 ns an event took). The header,
	// tables and descriptors are written as usual. Where the file system
	// refuses O_DIRECT the Writer writes as usual; DirectIO reports which.
	DirectIO bool
	// BlockIndex writes a BLOCK_INDEX of BlockIndexCapacity entries after
	// the SCHEMA sections, as the block recorder does (spec §9), and makes
	// the file active (is_active) until Close. Bundles ended with EndBlock
	// are entered in it.
	BlockIndex bool
}

// wfile is what a Writer writes to: an *os.File, or memory in tests.
type wfile interface {
	io.WriterAt
	Truncate(size int64) error
	Close() error
}

// Writer writes a release-layout capture file, following spec §10: the
// header and the first section table at creation, then sections appended
// at the end of the file, each content starting on a page and followed by
// zero padding to the next, section tables chained with LINK descriptors
// when one fills up. Without compression the result is byte for byte what
// the daemon SDK's C writer produces from the same events (spec §10.7).
//
// Events go into an open EVENT_BUNDLE; EndBundle (or EndBlock) closes it
// and writes its SEQNO_INDEX; the next Write opens a new one. While a
// bundle is open, a goroutine of the Writer compresses and writes its
// content as it fills (at most 4 MiB of it waiting); ending the bundle
// waits for it, so an ended bundle is in the file. A Writer is not safe
// for concurrent use. After an I/O error every call returns it (an error
// writing a bundle's content comes from a later Write, at the latest from
// the call that ends the bundle).
type Writer struct {
	f       wfile
	direct  io.Closer // f opened again with O_DIRECT (WriterOptions.DirectIO), or nil
	path    string
	opts    WriterOptions
	page    uint64 // P
	entries uint64 // descriptors per section table

	end   uint64 // file length (a multiple of page, except inside an open section)
	tab   uint64 // current section table
	next  uint64 // its next free entry
	count uint64 // section_count
	cts   []eventring.ContentType

	// BLOCK_INDEX.
	blkCap              uint64
	blkDesc, blkContent uint64
	blkCount            uint32
	blkLast             uint64

	// The open bundle.
	open          bool
	bundleC       Compression // of bundles opened from now on (SetCompression)
	bDesc, bStart uint64
	bContent      uint64
	bEvents       uint64
	bPos          uint64   // uncompressed content size so far
	bBlock        uint64   // preview: block_number of the bundle being ended
	idx           []uint64 // record positions

	// Content on its way to the file: raw collects the (uncompressed)
	// bytes of the open section; each full chunk goes to the sink (file,
	// encoder or single-pass buffer), through the stage for bundles.
	raw     []byte
	stage   stage
	staged  bool        // the stage runs for the open section
	sinkC   Compression // the open section's compression
	app     appender
	out     *bufio.Writer
	enc     *zstd.Encoder
	single  bytes.Buffer
	scratch []byte
	first   []byte // WriteFrom: the payload of a bundle's first event
	carry   []byte // flushRaw: raw content kept back for the next chunk

	// Preview layout (spec §12.2, §12.3): the table directory, the open
	// bundle's content type and SCHEMA descriptor offsets per content type.
	preview    bool
	dir        []uint64
	bCT        eventring.ContentType
	schemaDesc map[eventring.ContentType]uint64

	err    error
	closed bool
}

// appender writes sequentially at an offset of a file, counting bytes.
type appender struct {
	f      io.WriterAt
	off    int64
	n      uint64
	direct *directSink // nil: ordinary writes (see WriterOptions.DirectIO)
	// dropped is set when the file system refused a direct write (the
	// stage's goroutine writes; Writer.DirectIO may ask meanwhile).
	dropped atomic.Bool
}

// Write writes b at the offset and moves past it.
func (a *appender) Write(b []byte) (int, error) {
	if a.direct != nil {
		k, err := a.direct.write(b, a.off)
		if err != nil {
			if err = a.refused(err); err == nil {
				_, err = a.f.WriteAt(b[k:], a.off+int64(k))
			}
		}
		if err != nil {
			return 0, err
		}
		a.off += int64(len(b))
		a.n += uint64(len(b))
		return len(b), nil
	}
	k, err := a.f.WriteAt(b, a.off)
	a.off += int64(k)
	a.n += uint64(k)
	return k, err
}

// finish ends a section's content: the direct sink's last piece.
func (a *appender) finish() error {
	if a.direct == nil {
		return nil
	}
	if err := a.direct.finish(); err != nil {
		return a.refused(err)
	}
	return nil
}

// refused handles a failed direct write: when the file system refused it
// (EINVAL: an alignment it requires beyond directAlign, or no O_DIRECT for
// this file after all), the bytes gathered are written the ordinary way
// and so is everything after them; any other error is returned.
func (a *appender) refused(err error) error {
	if !errors.Is(err, syscall.EINVAL) {
		return err
	}
	b, off := a.direct.pending()
	a.direct = nil
	a.dropped.Store(true)
	_, err = a.f.WriteAt(b, off)
	return err
}

// Create creates (or truncates) the capture file at path and writes its
// header, its first section table and one SCHEMA section per schema, in
// order (and the BLOCK_INDEX if opts ask for it).
func Create(path string, schemas []Schema, opts WriterOptions) (*Writer, error) {
	fh, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("evcap: %w", err)
	}
	var direct *os.File
	if opts.DirectIO && defaultGeometry.page%directAlign == 0 {
		direct = openDirect(fh)
	}
	w, err := newWriter(fh, path, schemas, opts, defaultGeometry)
	if err != nil {
		fh.Close()
		if direct != nil {
			direct.Close()
		}
		return nil, err
	}
	if direct != nil {
		// After newWriter: the header and first tables are written the
		// ordinary way; contents from here on.
		w.direct = direct
		w.app.direct = newDirectSink(direct)
	}
	return w, nil
}

// DirectIO reports whether section contents are written with O_DIRECT
// (WriterOptions.DirectIO, and the file system accepted it).
func (w *Writer) DirectIO() bool { return w.direct != nil && !w.app.dropped.Load() }

// geometry is what a Writer's files are made of: the page size P, the
// entries of a section table and of the BLOCK_INDEX. Tests shrink them.
type geometry struct {
	page, entries, blockCap uint64
}

var defaultGeometry = geometry{page: PageSize, entries: SectionTableEntries, blockCap: BlockIndexCapacity}

// previewShift is log2 of the entries of a preview section table the
// Writer uses: 5, the minimum on 4 KiB pages, as `event-cli record` and
// the block archive writer do (spec §12.2).
const previewShift = previewMinShift

// previewMaxTables is the most tables a preview header's directory holds
// (spec §12.2).
const previewMaxTables = 255

func newWriter(f wfile, path string, schemas []Schema, opts WriterOptions, g geometry) (*Writer, error) {
	page, entries := g.page, g.entries
	for _, c := range []Compression{opts.Compression, opts.IndexCompression} {
		if c > CompressionZstdStreaming {
			return nil, fmt.Errorf("evcap: unknown compression %v", c)
		}
	}
	if opts.Level == 0 {
		opts.Level = 3
	}
	switch opts.Layout {
	case LayoutAuto, LayoutRelease:
	case LayoutPreview:
		if opts.BlockIndex {
			return nil, fmt.Errorf("evcap: %s: the preview layout's PACK_INDEX is not written (WriterOptions.BlockIndex): %w", path, ErrBadEvent)
		}
		entries = 1 << previewShift
	default:
		return nil, fmt.Errorf("evcap: unknown layout %v", opts.Layout)
	}
	w := &Writer{f: f, path: path, opts: opts, page: page, entries: entries, blkCap: g.blockCap}
	w.app.f = f
	w.out = bufio.NewWriterSize(&w.app, chunkSize)
	w.stage = stage{in: make(chan []byte, stageBuffers), free: make(chan []byte, stageBuffers), done: make(chan error)}
	w.raw = make([]byte, 0, stageChunk+recordAlign)
	if opts.Compression != CompressionNone || opts.IndexCompression != CompressionNone {
		if err := w.newEncoder(); err != nil {
			return nil, err
		}
	}
	w.bundleC = opts.Compression
	if opts.Layout == LayoutPreview {
		return w.createPreview(schemas)
	}
	// Spec §10.1: the header, then table 1 at round_up(32, P) = P.
	var h [fileHeaderSize]byte
	copy(h[:], Magic)
	binary.LittleEndian.PutUint64(h[8:], page)
	binary.LittleEndian.PutUint64(h[16:], entries*SectionDescSize)
	w.writeAt(h[:], 0)
	w.tab = page
	w.extend(page + entries*SectionDescSize)
	for _, s := range schemas {
		if err := w.AddSchema(s); err != nil {
			return nil, err
		}
	}
	if opts.BlockIndex {
		w.blkDesc = w.alloc()
		w.blkContent = w.end
		fileLen := roundUp(w.blkCap*BlockIndexEntrySize, page)
		w.extend(w.end + fileLen)
		var d [SectionDescSize]byte
		binary.LittleEndian.PutUint16(d[0:], uint16(SectionBlockIndex))
		binary.LittleEndian.PutUint64(d[8:], w.blkDesc)
		binary.LittleEndian.PutUint64(d[16:], w.blkContent)
		binary.LittleEndian.PutUint64(d[32:], fileLen)
		binary.LittleEndian.PutUint32(d[52:], uint32(w.blkCap))
		d[56] = 1 // is_active
		w.writeAt(d[:], w.blkDesc)
	}
	if w.err != nil {
		return nil, w.err
	}
	return w, nil
}

// newEncoder makes the zstd encoder every compressed section goes
// through (one at a time, reset for each).
func (w *Writer) newEncoder() error {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(w.opts.Level)),
		zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false))
	if err != nil {
		return fmt.Errorf("evcap: %w", err)
	}
	w.enc = enc
	return nil
}

// SetCompression changes the compression of the EVENT_BUNDLE sections
// opened from now on (the open bundle keeps its own): spec §6 decides it
// per section. A recorder falling behind its ring can so trade file size
// for speed, writing plain bundles until it has caught up.
func (w *Writer) SetCompression(c Compression) error {
	if err := w.usable(); err != nil {
		return err
	}
	if c > CompressionZstdStreaming {
		return fmt.Errorf("evcap: unknown compression %v", c)
	}
	if c != CompressionNone && w.enc == nil {
		if err := w.newEncoder(); err != nil {
			return err
		}
	}
	w.bundleC = c
	return nil
}

func (w *Writer) writeAt(b []byte, off uint64) {
	if w.err != nil {
		return
	}
	if _, err := w.f.WriteAt(b, int64(off)); err != nil {
		w.err = fmt.Errorf("evcap: %s: %w", w.path, err)
	}
}

// extend grows the file with zeros (a hole) to n bytes.
func (w *Writer) extend(n uint64) {
	if w.err != nil {
		return
	}
	if err := w.f.Truncate(int64(n)); err != nil {
		w.err = fmt.Errorf("evcap: %s: %w", w.path, err)
	}
	w.end = n
}

// alloc takes the next descriptor (spec §10.2), chaining a new table when
// only the current table's last entry is free, and returns its offset.
func (w *Writer) alloc() uint64 {
	if w.preview {
		return w.allocPreview()
	}
	if w.next == w.entries-1 {
		link := w.tab + w.next*SectionDescSize
		next := w.end
		w.extend(w.end + w.entries*SectionDescSize)
		var d [SectionDescSize]byte
		binary.LittleEndian.PutUint16(d[0:], uint16(SectionLink))
		binary.LittleEndian.PutUint64(d[8:], link)
		binary.LittleEndian.PutUint64(d[16:], next)
		binary.LittleEndian.PutUint64(d[32:], w.entries*SectionDescSize)
		w.writeAt(d[:], link)
		w.bumpCount()
		w.tab, w.next = next, 0
	}
	at := w.tab + w.next*SectionDescSize
	w.next++
	w.bumpCount()
	return at
}

func (w *Writer) bumpCount() {
	w.count++
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], w.count)
	w.writeAt(b[:], 24)
}

// AddSchema writes a SCHEMA section for s.ContentType (s.DescriptorOffset
// is ignored). A file has one per content type; Write refuses events of a
// content type without one.
func (w *Writer) AddSchema(s Schema) error {
	if err := w.usable(); err != nil {
		return err
	}
	if s.ContentType == eventring.ContentTypeNone || slices.Contains(w.cts, s.ContentType) {
		return fmt.Errorf("evcap: %s: SCHEMA for content type %v: %w (none, or a second one)", w.path, s.ContentType, ErrBadEvent)
	}
	if w.open {
		return fmt.Errorf("evcap: %s: SCHEMA while a bundle is open: %w", w.path, ErrBadEvent)
	}
	at := w.alloc()
	if w.err != nil {
		return w.err
	}
	var d [SectionDescSize]byte
	w.putType(d[:], SectionSchema)
	binary.LittleEndian.PutUint64(d[8:], at)
	w.putIndex(d[:], at)
	if w.preview {
		w.schemaDesc[s.ContentType] = at
	}
	copy(d[40:], RingMagic)
	binary.LittleEndian.PutUint16(d[46:], uint16(s.ContentType))
	copy(d[48:80], s.Hash[:])
	w.writeAt(d[:], at)
	w.cts = append(w.cts, s.ContentType)
	return w.err
}

func (w *Writer) usable() error {
	if w.closed {
		return ErrClosed
	}
	return w.err
}

// Write appends an event to the open bundle, opening one if needed. The
// descriptor is stored unchanged; payload must be d.PayloadSize bytes,
// contentType must have a SCHEMA, and within a bundle seqnos must be
// consecutive (so that its SEQNO_INDEX holds): refused events wrap
// ErrBadEvent and change nothing. End the bundle to go on after a gap.
func (w *Writer) Write(d *eventring.Descriptor, contentType eventring.ContentType, payload []byte) error {
	if err := w.check(d, contentType, uint64(len(payload))); err != nil {
		return err
	}
	w.append(d, contentType, payload)
	return w.commit()
}

// WriteFrom is Write with the payload read from src, typically the live
// ring the event comes from, whose writer may reuse the payload's bytes
// at any time: the payload is copied straight into the bundle (with no
// copy of its own by the caller), and the event is kept only if
// src.PayloadValid(d) still holds after the copy. Otherwise, or if src has
// no payload for d, nothing is written and WriteFrom returns false: the
// event is lost, and the open bundle goes on as if it had not been
// offered (its next event must still follow the last one written).
func (w *Writer) WriteFrom(d *eventring.Descriptor, contentType eventring.ContentType, src eventring.PayloadSource) (bool, error) {
	p := src.Payload(d)
	if p == nil && d.PayloadSize > 0 {
		return false, nil
	}
	if err := w.check(d, contentType, uint64(len(p))); err != nil {
		return false, err
	}
	if !w.open {
		// A bundle's first event: copied aside first, so that a payload
		// found expired opens no (empty) bundle.
		w.first = append(w.first[:0], p...)
		if !src.PayloadValid(d) {
			return false, nil
		}
		w.append(d, contentType, w.first)
		return true, w.commit()
	}
	rawLen, pos, events := len(w.raw), w.bPos, w.bEvents
	w.append(d, contentType, p)
	if !src.PayloadValid(d) {
		// Take the record back: it is still in raw (commit hands raw on).
		w.raw, w.bPos, w.bEvents = w.raw[:rawLen], pos, events
		w.idx = w.idx[:len(w.idx)-1]
		return false, nil
	}
	return true, w.commit()
}

// check validates an event for Write and WriteFrom.
func (w *Writer) check(d *eventring.Descriptor, contentType eventring.ContentType, size uint64) error {
	if err := w.usable(); err != nil {
		return err
	}
	switch {
	case size != uint64(d.PayloadSize):
		return fmt.Errorf("evcap: %s: seqno %d: %d payload bytes for payload_size %d: %w", w.path, d.Seqno, size, d.PayloadSize, ErrBadEvent)
	case !slices.Contains(w.cts, contentType):
		return fmt.Errorf("evcap: %s: seqno %d: content type %v has no SCHEMA: %w", w.path, d.Seqno, contentType, ErrBadEvent)
	case d.Seqno == 0:
		return fmt.Errorf("evcap: %s: seqno 0: %w", w.path, ErrBadEvent)
	case w.open && d.Seqno != w.bStart+w.bEvents:
		return fmt.Errorf("evcap: %s: seqno %d does not follow the bundle's %d; end the bundle first: %w", w.path, d.Seqno, w.bStart+w.bEvents-1, ErrBadEvent)
	case w.preview && w.open && contentType != w.bCT:
		return fmt.Errorf("evcap: %s: seqno %d: content type %v in a preview bundle of %v; end the bundle first: %w", w.path, d.Seqno, contentType, w.bCT, ErrBadEvent)
	}
	return nil
}

// append formats a checked event's record into raw (spec §7): padding to
// 64, the descriptor, the payload, padding to 2, the content type.
func (w *Writer) append(d *eventring.Descriptor, contentType eventring.ContentType, payload []byte) {
	if !w.open {
		w.bCT = contentType
		w.openBundle()
	}
	if w.bEvents == 0 {
		w.bStart = d.Seqno
	}
	if w.preview {
		w.appendPreview(d, payload)
		w.bEvents++
		return
	}
	pad := int(roundUp(w.bPos, recordAlign) - w.bPos)
	w.idx = append(w.idx, w.bPos+uint64(pad))
	raw := slices.Grow(w.raw, pad+descriptorSize+len(payload)+1+releaseTrailerSize)
	n0 := len(raw)
	raw = raw[:n0+pad+descriptorSize]
	clear(raw[n0 : n0+pad])
	putDescriptor(raw[n0+pad:], d)
	raw = append(raw, payload...)
	if (w.bPos+uint64(len(raw)-n0))&1 != 0 {
		raw = append(raw, 0)
	}
	raw = binary.LittleEndian.AppendUint16(raw, uint16(contentType))
	w.bPos += uint64(len(raw) - n0)
	w.raw = raw
	w.bEvents++
}

// commit hands a full chunk of raw content on.
func (w *Writer) commit() error {
	if len(w.raw) >= stageChunk {
		w.flushRaw(false)
	}
	return w.err
}

// stageChunk is the size of the chunks of raw bundle content a Writer
// hands to its stage.
const stageChunk = 1 << 20

// stageBuffers is the number of chunks of raw content a Writer has at
// most (in the stage or being filled): what it may hold in memory beside
// the encoder's window.
const stageBuffers = 4

// stage compresses and writes the chunks of an open bundle on a goroutine
// of its own, so that the caller of Write (a ring reader that must keep
// up with the ring's writer) only formats records. One goroutine runs per
// bundle, from its first chunk to endContent, which waits for it: a
// bundle's file_length, and so everything EndBundle writes after it, is
// known only once its content is written.
type stage struct {
	in   chan []byte // chunks to write; nil: stop
	free chan []byte // written chunks, to fill again
	done chan error  // the goroutine's first error, when it stops
	made int         // chunk buffers allocated

	failed atomic.Bool // the goroutine met an error (then it only drains)
}

// run writes the chunks sent on in to the sink of compression c until a
// nil chunk, then reports its first error on done.
func (w *Writer) runStage(c Compression) {
	var err error
	for b := range w.stage.in {
		if b == nil {
			break
		}
		if err == nil {
			if err = w.sinkWrite(c, b); err != nil {
				w.stage.failed.Store(true)
			}
		}
		w.stage.free <- b[:0]
	}
	w.stage.done <- err
}

// sinkWrite sends raw content to the open section's sink: the file, the
// streaming encoder, or the single-pass buffer.
func (w *Writer) sinkWrite(c Compression, b []byte) error {
	var err error
	switch c {
	case CompressionNone:
		_, err = w.app.Write(b)
	case CompressionZstdStreaming:
		_, err = w.enc.Write(b)
	case CompressionZstdSinglePass:
		w.single.Write(b)
	}
	return err
}

// flushRaw hands the raw content collected so far to the sink, through
// the stage when it runs (then raw becomes another chunk buffer). For a
// plain section written with O_DIRECT, all but the last content (final)
// hand on a multiple of directAlign and keep the rest, so that the stage
// writes the chunk itself instead of copying it into the direct sink.
func (w *Writer) flushRaw(final bool) {
	if len(w.raw) == 0 || w.err != nil {
		w.raw = w.raw[:0]
		return
	}
	if !w.staged {
		if err := w.sinkWrite(w.sinkC, w.raw); err != nil {
			w.err = fmt.Errorf("evcap: %s: %w", w.path, err)
		}
		w.raw = w.raw[:0]
		return
	}
	if w.stage.failed.Load() {
		w.raw = w.raw[:0]
		w.stopStage() // sets w.err: Write and the rest return it from now on
		return
	}
	w.carry = w.carry[:0]
	// w.direct, not w.app.direct: the stage's goroutine may drop the sink
	// meanwhile (a refused write); keeping a tail back is harmless then.
	if !final && w.direct != nil && w.sinkC == CompressionNone {
		k := len(w.raw) &^ (directAlign - 1)
		w.carry = append(w.carry, w.raw[k:]...)
		w.raw = w.raw[:k]
	}
	w.stage.in <- w.raw
	select {
	case w.raw = <-w.stage.free:
	default:
		if w.stage.made < stageBuffers {
			w.stage.made++
			w.raw = make([]byte, 0, stageChunk+recordAlign)
		} else {
			w.raw = <-w.stage.free
		}
	}
	w.raw = append(w.raw, w.carry...)
}

// stopStage waits until the stage has written everything handed to it.
func (w *Writer) stopStage() {
	if !w.staged {
		return
	}
	w.staged = false
	w.stage.in <- nil
	if err := <-w.stage.done; err != nil && w.err == nil {
		w.err = fmt.Errorf("evcap: %s: %w", w.path, err)
	}
	w.stage.failed.Store(false)
}

// BundleEvents returns the number of events in the open bundle (0 when
// none is open), for callers that end bundles every N events.
func (w *Writer) BundleEvents() uint64 { return w.bEvents }

// openBundle allocates the bundle's descriptor and starts its content at
// the end of the file (spec §10.3, dynamic sections).
func (w *Writer) openBundle() {
	w.open = true
	w.opts.Compression = w.bundleC
	w.bDesc = w.alloc()
	w.bContent, w.bStart, w.bEvents, w.bPos = w.end, 0, 0, 0
	w.idx = w.idx[:0]
	w.startContent(w.opts.Compression)
	w.staged = true
	go w.runStage(w.opts.Compression)
	w.writeBundleDesc(0, 0, 0, 0)
}

// startContent points the sink at the end of the file.
func (w *Writer) startContent(c Compression) {
	w.app.off, w.app.n = int64(w.end), 0
	w.out.Reset(&w.app)
	w.raw, w.sinkC = w.raw[:0], c
	switch c {
	case CompressionZstdStreaming:
		w.enc.Reset(w.out)
	case CompressionZstdSinglePass:
		w.single.Reset()
	}
}

// endContent finishes the content written since startContent and pads
// the file to a page; it returns the stored length (file_length).
func (w *Writer) endContent(c Compression) uint64 {
	w.flushRaw(true)
	w.stopStage()
	if w.err != nil {
		return 0
	}
	var err error
	switch c {
	case CompressionZstdStreaming:
		err = w.enc.Close()
	case CompressionZstdSinglePass:
		w.scratch = w.enc.EncodeAll(w.single.Bytes(), w.scratch[:0])
		_, err = w.out.Write(w.scratch)
		if w.single.Cap() > 64<<20 {
			w.single = bytes.Buffer{}
		}
	}
	if err == nil {
		err = w.out.Flush()
	}
	if err == nil {
		err = w.app.finish()
	}
	if err != nil {
		w.err = fmt.Errorf("evcap: %s: %w", w.path, err)
		return 0
	}
	n := w.app.n
	w.extend(roundUp(w.end+n, w.page))
	return n
}

func (w *Writer) writeBundleDesc(fileLen, contentLen, blockID, index uint64) {
	if w.preview {
		w.writePreviewBundleDesc(fileLen, contentLen, index)
		return
	}
	var d [SectionDescSize]byte
	binary.LittleEndian.PutUint16(d[0:], uint16(SectionEventBundle))
	d[2] = byte(w.opts.Compression)
	binary.LittleEndian.PutUint64(d[8:], w.bDesc)
	binary.LittleEndian.PutUint64(d[16:], w.bContent)
	binary.LittleEndian.PutUint64(d[24:], contentLen)
	binary.LittleEndian.PutUint64(d[32:], fileLen)
	binary.LittleEndian.PutUint64(d[40:], w.bEvents)
	if w.bEvents > 0 {
		binary.LittleEndian.PutUint64(d[48:], w.bStart)
	}
	binary.LittleEndian.PutUint32(d[56:], uint32(blockID))
	binary.LittleEndian.PutUint64(d[64:], index)
	w.writeAt(d[:], w.bDesc)
}

// EndBundle closes the open bundle and writes its SEQNO_INDEX (spec
// §10.5). Without an open bundle it does nothing.
func (w *Writer) EndBundle() error {
	if err := w.usable(); err != nil {
		return err
	}
	if w.open {
		w.endBundle(0, 0)
	}
	return w.err
}

// endBundle ends the open bundle as entry blockID of the BLOCK_INDEX
// (release; 0: none) or as block number blockNumber (preview; 0: none).
func (w *Writer) endBundle(blockID uint32, blockNumber uint64) {
	w.open = false
	fileLen := w.endContent(w.opts.Compression)
	contentLen := uint64(0)
	if w.opts.Compression != CompressionNone || w.opts.BundleContentLength || w.preview {
		contentLen = w.bPos
	}
	w.bBlock = blockNumber
	w.writeBundleDesc(fileLen, contentLen, uint64(blockID), 0)
	if !w.opts.NoSeqnoIndex {
		at := w.alloc()
		content := w.end
		c := w.opts.IndexCompression
		w.startContent(c)
		for _, pos := range w.idx {
			w.raw = binary.LittleEndian.AppendUint64(w.raw, pos)
			if len(w.raw) >= chunkSize {
				w.flushRaw(false)
			}
		}
		n := uint64(len(w.idx)) * 8
		flen := w.endContent(c)
		var d [SectionDescSize]byte
		w.putType(d[:], SectionSeqnoIndex)
		d[2] = byte(c)
		w.putIndex(d[:], at)
		binary.LittleEndian.PutUint64(d[8:], at)
		binary.LittleEndian.PutUint64(d[16:], content)
		binary.LittleEndian.PutUint64(d[24:], n)
		binary.LittleEndian.PutUint64(d[32:], flen)
		binary.LittleEndian.PutUint64(d[40:], w.bDesc)
		w.writeAt(d[:], at)
		w.writeBundleDesc(fileLen, contentLen, uint64(blockID), at)
	}
	w.bEvents, w.bPos, w.bBlock = 0, 0, 0
}

// EndBlock closes the open bundle as the events of finalized block number
// and enters it in the BLOCK_INDEX, following the live update protocol of
// spec §9: bundle, its SEQNO_INDEX, the entry, start_block for the first
// block, then block_count, so that a reader of the growing file sees only
// complete blocks. It needs WriterOptions.BlockIndex, an open bundle, and
// a number above the previous block's (else ErrBadEvent).
//
// In the preview layout it sets the bundle's block_number instead, as the
// block archive writer does (spec §12.5.2, §12.9); there it needs an open
// bundle and a number that is not 0 (0 means "no block") and above the
// previous block's.
func (w *Writer) EndBlock(number uint64) error {
	if err := w.usable(); err != nil {
		return err
	}
	if w.preview {
		switch {
		case !w.open:
			return fmt.Errorf("evcap: %s: block %d has no events: %w", w.path, number, ErrBadEvent)
		case number == 0:
			return fmt.Errorf("evcap: %s: block number 0 (means no block in the preview layout): %w", w.path, ErrBadEvent)
		case w.blkCount > 0 && number <= w.blkLast:
			return fmt.Errorf("evcap: %s: block %d is not above the previous block %d: %w", w.path, number, w.blkLast, ErrBadEvent)
		}
		w.endBundle(0, number)
		w.blkCount++
		w.blkLast = number
		return w.err
	}
	switch {
	case !w.opts.BlockIndex:
		return fmt.Errorf("evcap: %s: EndBlock without WriterOptions.BlockIndex: %w", w.path, ErrBadEvent)
	case !w.open:
		return fmt.Errorf("evcap: %s: block %d has no events: %w", w.path, number, ErrBadEvent)
	case w.blkCount > 0 && number <= w.blkLast:
		return fmt.Errorf("evcap: %s: block %d is not above the previous block %d: %w", w.path, number, w.blkLast, ErrBadEvent)
	case uint64(w.blkCount) >= w.blkCap:
		return fmt.Errorf("evcap: %s: block index full (%d blocks): %w", w.path, w.blkCount, ErrBadEvent)
	}
	content := w.bContent
	w.endBundle(w.blkCount+1, 0)
	var e [BlockIndexEntrySize]byte
	binary.LittleEndian.PutUint64(e[0:], number)
	binary.LittleEndian.PutUint64(e[8:], content)
	w.writeAt(e[:], w.blkContent+uint64(w.blkCount)*BlockIndexEntrySize)
	if w.blkCount == 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], number)
		w.writeAt(b[:], w.blkDesc+40)
	}
	w.blkCount++
	w.blkLast = number
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], w.blkCount)
	w.writeAt(b[:], w.blkDesc+48)
	return w.err
}

// Close ends the open bundle (as a plain bundle, outside the block index),
// marks the block index inactive and closes the file. It returns the
// first error the Writer met. It is idempotent.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	if w.open && w.err == nil {
		w.endBundle(0, 0)
	}
	w.stopStage() // after an error inside a bundle
	if w.opts.BlockIndex {
		w.writeAt([]byte{0}, w.blkDesc+56)
	}
	w.closed = true
	if w.direct != nil {
		if err := w.direct.Close(); err != nil && w.err == nil {
			w.err = fmt.Errorf("evcap: %s: %w", w.path, err)
		}
	}
	if err := w.f.Close(); err != nil && w.err == nil {
		w.err = fmt.Errorf("evcap: %s: %w", w.path, err)
	}
	return w.err
}
