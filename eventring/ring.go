package eventring

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
	"weak"
)

// DefaultMaxSnapshotSize is the default cap on the decompressed size of a
// snapshot (OpenOptions.MaxSnapshotSize): large enough for the daemon's
// default 642 MiB ring, small enough to refuse absurd headers.
const DefaultMaxSnapshotSize = 4 << 30

// OpenOptions tune how a ring is opened. The zero value is valid.
type OpenOptions struct {
	// Offset is the ring's byte offset inside the file (the "ring_offset"
	// of the C library); it must be a multiple of the page size. 0 for
	// every file the daemon writes.
	Offset int64
	// Populate pre-faults the mapping (MAP_POPULATE), so the first pass
	// over the ring does not take page faults. On a sparse live ring file it
	// also allocates the holes' pages. On a snapshot it pre-faults only the
	// header, the written descriptors and the payload window, so that its
	// all-zero regions still cost no memory.
	Populate bool
	// MaxSnapshotSize caps the decompressed size of a snapshot; 0 means
	// DefaultMaxSnapshotSize. Decompression also never exceeds the total
	// size the snapshot's own header declares.
	MaxSnapshotSize uint64
}

// Ring is a read-only mapping of an event ring: a live ring file or a
// decompressed snapshot. Its methods are safe for concurrent use; Readers
// are not (one goroutine per Reader).
//
// Payload views returned by [Ring.Payload] point into the mapping: keep the
// Ring reachable and open while they are in use. A Ring that becomes
// unreachable without Close is unmapped by a cleanup.
//
// After [Ring.Close] the Ring reads as an empty ring whose payloads are all
// expired; it never faults.
type Ring struct {
	hdr     *ringHeader    // header at ring offset 0 (shared memory)
	descs   unsafe.Pointer // descriptor array
	payload unsafe.Pointer // payload buffer, mapped twice back to back
	window  *uint64        // &hdr.Control.BufferWindowStart
	maskD   uint64
	maskP   uint64
	sizes   Sizes

	// maxPayload is the largest payload that can be valid: one of
	// PayloadBufSize - WindowIncr bytes or more expires as it is reserved.
	maxPayload uint64

	// nextSeen caches a recent value of control.next_payload_byte: it only
	// grows, so an offset+size below it is known to be allocated without
	// touching the writer's hot cache line.
	nextSeen atomic.Uint64

	snapshot bool
	path     string
	ino      uint64 // inode of a live ring file, for writer detection
	off      int64  // the ring's offset in its file

	// What the header said at open, to notice a file rewritten in place.
	contentType ContentType
	schemaHash  [32]byte

	broken atomic.Pointer[RingChangedError] // why the ring was closed under its readers

	m         *mapping
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// newRing builds a Ring over a mapping laid out by mapRing.
func newRing(m *mapping, sizes Sizes, path string, snapshot bool, ino uint64) *Ring {
	r := &Ring{
		hdr:     (*ringHeader)(m.base),
		descs:   unsafe.Add(m.base, HeaderSectionSize),
		payload: unsafe.Add(m.base, HeaderSectionSize+sizes.DescriptorCapacity*DescriptorSize),
		maskD:   sizes.DescriptorCapacity - 1,
		maskP:   sizes.PayloadBufSize - 1,
		sizes:   sizes,

		maxPayload: sizes.PayloadBufSize - WindowIncr,
		snapshot:   snapshot,
		path:       path,
		ino:        ino,
		m:          m,
	}
	r.window = &r.hdr.Control.BufferWindowStart
	r.contentType, r.schemaHash = r.hdr.ContentType, r.hdr.SchemaHash
	r.nextSeen.Store(atomic.LoadUint64(&r.hdr.Control.NextPayloadByte))
	// A weak pointer: the registry must not keep the Ring from its cleanup.
	wr := weak.Make(r)
	m.register(func(addr uintptr) error {
		if r := wr.Value(); r != nil {
			return r.fault(addr)
		}
		return nil
	}, func() bool {
		r := wr.Value()
		return r != nil && r.path != "" && fileShorter(r.path, r.ino, r.sizes)
	})
	runtime.AddCleanup(r, func(m *mapping) { _ = m.unmap() }, m)
	return r
}

// Close releases the ring file's pages (or a snapshot's memory) at once. It
// is idempotent.
//
// The address range stays reserved until the Ring is unreachable, filled
// with an inert image, so that a Reader or payload view used after Close
// (even by another goroutine, concurrently) cannot fault: TryNext reports
// NotReady, Payload views read zeros, PayloadValid reports false, and Next,
// CopyPayload, WriteSnapshot and WriterPIDs return ErrClosed.
func (r *Ring) Close() error {
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		r.closeErr = r.m.retire(false)
	})
	return r.closeErr
}

// Path returns the name the ring was opened with.
func (r *Ring) Path() string { return r.path }

// IsSnapshot reports whether the ring was decompressed from a snapshot
// (and therefore never changes).
func (r *Ring) IsSnapshot() bool { return r.snapshot }

// Sizes returns the ring's section sizes.
func (r *Ring) Sizes() Sizes { return r.sizes }

// Header holds the facts of a ring header. The control words are a sample
// taken at the time of the call.
type Header struct {
	ContentType       ContentType // schema namespace of the ring
	ContentTypeName   string      // ContentType.String()
	SchemaHash        [32]byte    // fingerprint of the schema
	Sizes             Sizes       // section sizes
	LastSeqno         uint64      // highest reserved sequence number
	NextPayloadByte   uint64      // virtual offset of the next payload allocation
	BufferWindowStart uint64      // lowest virtual payload offset still valid
}

// Header returns the ring's header facts.
func (r *Ring) Header() Header {
	h := r.hdr
	return Header{
		ContentType:       h.ContentType,
		ContentTypeName:   h.ContentType.String(),
		SchemaHash:        h.SchemaHash,
		Sizes:             r.sizes,
		LastSeqno:         atomic.LoadUint64(&h.Control.LastSeqno),
		NextPayloadByte:   atomic.LoadUint64(&h.Control.NextPayloadByte),
		BufferWindowStart: atomic.LoadUint64(&h.Control.BufferWindowStart),
	}
}

// CheckSchema returns a *SchemaError (wrapping ErrSchemaMismatch) unless the
// ring carries contentType with exactly the given schema hash (spec §10.2).
// Generated bindings call it with their compiled-in values.
func (r *Ring) CheckSchema(contentType ContentType, hash [32]byte) error {
	h := r.hdr
	if h.ContentType != contentType || h.SchemaHash != hash {
		return &SchemaError{Path: r.path, WantType: contentType, GotType: h.ContentType,
			WantHash: hash, GotHash: h.SchemaHash}
	}
	return nil
}

// LastSeqno returns the highest sequence number the writer has reserved
// (it may not be committed yet).
func (r *Ring) LastSeqno() uint64 { return atomic.LoadUint64(&r.hdr.Control.LastSeqno) }

// OldestSeqno returns the sequence number of the oldest event still in the
// ring. While the ring has not wrapped (LastSeqno at most the descriptor
// capacity C) nothing was overwritten and it is 1. Otherwise it is the first
// of LastSeqno-C+1, ..., LastSeqno whose slot holds that very event: slots
// that fail the check (a reservation never committed, or on a live ring one
// the writer is refilling, or a snapshot's slot copied before its event was
// committed) are skipped. It is LastSeqno+1 if no slot passes (a corrupt
// ring). On a live ring the answer is a sample: the writer may overwrite
// that event at any time.
//
// A reader of a wrapped snapshot starts at sequence number 1 (spec §3.6),
// which is gone; SetSeqno(OldestSeqno()) starts it at the oldest survivor
// instead.
func (r *Ring) OldestSeqno() uint64 { return r.oldestFrom(1) }

// oldestFrom returns the first sequence number s >= from that is still in
// the ring (see OldestSeqno), probing at most one lap of slots.
func (r *Ring) oldestFrom(from uint64) uint64 {
	from = max(from, 1)
	last := atomic.LoadUint64(&r.hdr.Control.LastSeqno)
	c := r.sizes.DescriptorCapacity
	if last <= c {
		return from // never wrapped: no event was overwritten
	}
	s := max(from, last-c+1)
	for ; s <= last; s++ {
		if atomic.LoadUint64(&r.slot(s-1).Seqno) == s {
			break
		}
	}
	return s
}

// slot returns the descriptor slot for sequence number seqno+1 (that is,
// slot index seqno & mask).
func (r *Ring) slot(i uint64) *Descriptor {
	return (*Descriptor)(unsafe.Add(r.descs, (i&r.maskD)*DescriptorSize))
}

// TryCopy copies the descriptor of event seqno into d, succeeding only if
// the slot still holds exactly that event after the copy (spec §3.5).
// It fails for seqno 0.
func (r *Ring) TryCopy(seqno uint64, d *Descriptor) bool {
	if seqno == 0 {
		return false
	}
	s := r.slot(seqno - 1)
	*d = *s
	loadFence()
	d.Seqno = atomic.LoadUint64(&s.Seqno)
	return d.Seqno == seqno
}
