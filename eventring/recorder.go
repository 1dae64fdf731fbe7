package eventring

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"unsafe"
	"weak"
)

// Recorder writes events into a ring file with the daemon's protocol
// (spec §5): lock-free reserve, fill, commit; the sliding payload window;
// RECORD_ERROR stand-ins for payloads too large for the ring. Its methods
// are safe for concurrent use by several goroutines (like the daemon's
// writer threads), Close included: see Close for what happens to events
// racing it.
//
// The Recorder holds an exclusive flock on its file for its lifetime, so
// readers can tell a live ring from a zombie (WriterPIDs, Reader.Next).
type Recorder struct {
	f       *os.File
	path    string
	m       *mapping
	hdr     *ringHeader
	descs   unsafe.Pointer
	payload unsafe.Pointer
	sizes   Sizes
	maskD   uint64
	maskP   uint64
	clock   func() uint64

	closeOnce sync.Once
	closeErr  error
	closed    atomic.Bool
	broken    atomic.Pointer[RingChangedError] // why the recorder was closed under its caller
}

// Create creates a ring file at path and returns a Recorder writing to it.
// Like the daemon (spec §6.3) it refuses a path whose file is locked by a
// live writer (ErrRingInUse), replaces a zombie, initializes the ring in a
// temporary file "<path>.<pid>" under an exclusive flock and publishes it by
// a rename that never replaces. The file is sparse (ftruncate): a minimal
// 140 MB ring costs only the pages actually written.
//
// The sizes must be valid (powers of two within limits; a context area of
// 0 or a power-of-two multiple of 2 MiB); contentType must be TEST or EXEC.
func Create(path string, sizes Sizes, contentType ContentType, schemaHash [32]byte) (*Recorder, error) {
	return CreateWithOptions(path, sizes, contentType, schemaHash, RecorderOptions{})
}

// RecorderOptions tune a Recorder. The zero value gives the daemon's
// behaviour.
type RecorderOptions struct {
	// Clock returns the record_epoch_nanos of each event. Reserve calls it
	// once per event, before taking a sequence number (spec §5.2 step 1);
	// RecordBatch once per batch.
	// It must be safe for concurrent use if the Recorder is used
	// concurrently. nil means CLOCK_REALTIME nanoseconds, as the daemon
	// records; set it for deterministic output (fixtures, or replays that
	// keep the original times).
	Clock func() uint64
	// Populate pre-faults the ring's pages for writing
	// (MADV_POPULATE_WRITE), so that the first lap over the ring takes no
	// page faults. On a sparse ring file it allocates the whole file.
	Populate bool
}

// CreateWithOptions is Create with options.
func CreateWithOptions(path string, sizes Sizes, contentType ContentType, schemaHash [32]byte, opts RecorderOptions) (*Recorder, error) {
	w, err := create(path, sizes, contentType, schemaHash)
	if err != nil {
		return nil, fmt.Errorf("eventring: create %s: %w", path, err)
	}
	if opts.Populate {
		w.m.populateWrite(sizes)
	}
	w.clock = opts.Clock
	if w.clock == nil {
		w.clock = wallClock
	}
	return w, nil
}

func create(path string, sizes Sizes, contentType ContentType, schemaHash [32]byte) (*Recorder, error) {
	if !platformSupported {
		return nil, ErrUnsupported
	}
	if contentType == ContentTypeNone || contentType >= contentTypeCount {
		return nil, fmt.Errorf("content type %d: %w", uint16(contentType), ErrBadContentType)
	}
	if err := sizes.validate(); err != nil {
		return nil, err
	}
	if x := sizes.ContextAreaSize; x != 0 && !isPow2(x) {
		return nil, fmt.Errorf("context area size %d is not a power of two: %w", x, ErrBadSize)
	}
	// Claim the name: a locked file belongs to a live writer; an unlocked
	// one is a zombie from a crashed run.
	if old, err := os.Open(path); err == nil {
		lerr := tryLockExclusive(old)
		old.Close()
		switch {
		case errors.Is(lerr, errWouldBlock):
			return nil, ErrRingInUse
		case lerr != nil:
			return nil, lerr
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	tmp := fmt.Sprintf("%s.%d", path, os.Getpid())
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o664)
	if err != nil {
		return nil, err
	}
	w, err := initRing(f, path, sizes, contentType, schemaHash)
	if err == nil {
		err = renameNoReplace(tmp, path)
		if err != nil {
			w.Close()
		}
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	return w, nil
}

// initRing locks, sizes and maps a brand-new (all-zero) file and writes the
// header (spec §5.1). The descriptor array is zero because the file is new.
func initRing(f *os.File, path string, sizes Sizes, contentType ContentType, schemaHash [32]byte) (*Recorder, error) {
	if err := tryLockExclusive(f); err != nil {
		return nil, fmt.Errorf("locking: %w", err)
	}
	if err := f.Truncate(int64(sizes.Total())); err != nil {
		return nil, err
	}
	m, err := mapRing(f.Fd(), 0, sizes, true, false)
	if err != nil {
		return nil, err
	}
	w := &Recorder{
		f:       f,
		path:    path,
		m:       m,
		hdr:     (*ringHeader)(m.base),
		descs:   unsafe.Add(m.base, HeaderSectionSize),
		payload: unsafe.Add(m.base, HeaderSectionSize+sizes.DescriptorCapacity*DescriptorSize),
		sizes:   sizes,
		maskD:   sizes.DescriptorCapacity - 1,
		maskP:   sizes.PayloadBufSize - 1,
	}
	// Unmap a Recorder dropped without Close, or release the inert image
	// of a closed one, once nothing (no Reservation) can reach it.
	runtime.AddCleanup(w, func(m *mapping) { _ = m.unmap() }, m)
	ww := weak.Make(w)
	m.register(func(addr uintptr) error {
		if w := ww.Value(); w != nil {
			return w.fault(addr)
		}
		return nil
	}, func() bool {
		w := ww.Value()
		return w != nil && w.fileShorter()
	})
	// Written through the mapping: hugetlbfs files do not support write(2).
	copy(w.hdr.Magic[:], Magic)
	w.hdr.ContentType = contentType
	w.hdr.SchemaHash = schemaHash
	w.hdr.Size = sizes
	return w, nil
}

// Path returns the ring file's path.
func (w *Recorder) Path() string { return w.path }

// Sizes returns the ring's section sizes.
func (w *Recorder) Sizes() Sizes { return w.sizes }

// LastSeqno returns the highest sequence number reserved so far.
func (w *Recorder) LastSeqno() uint64 { return atomic.LoadUint64(&w.hdr.Control.LastSeqno) }

// Ring opens an independent read-only view of the recorder's file, as
// another process would see it. Close it separately.
func (w *Recorder) Ring() (*Ring, error) {
	if w.closed.Load() {
		return nil, ErrClosed
	}
	// A new open file description, not w.f: a mapping pins its file
	// description, and with it the recorder's flock, until unmapped.
	f, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", w.f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("eventring: %w", err)
	}
	defer f.Close()
	return openFile(f, w.path, OpenOptions{})
}

// Close releases the ring file's pages and closes the file, releasing the
// writer lock. The file stays in place (readers then see a ring without a
// writer). Close is idempotent.
//
// Like [Ring.Close] it never makes a racing or later use fault: the address
// range stays reserved, filled with a writable inert image, until the
// Recorder and every Reservation are unreachable. Reserve and Record called
// after Close return ErrClosed. A Reservation obtained before Close may
// still be filled and committed, but its event is lost: the writes land in
// the inert image. A Reserve or Record racing Close either records its event
// in the file, returns ErrClosed, or loses its event the same way; the file
// then keeps a reserved slot that is never committed (one per reservation in
// flight, not necessarily the newest; a batch racing Close can leave several),
// which readers treat like the
// reservation of a writer that died (spec §3.3, §3.6).
func (w *Recorder) Close() error {
	w.closeOnce.Do(func() {
		w.closed.Store(true)
		w.closeErr = errors.Join(w.m.retire(true), w.f.Close())
	})
	return w.closeErr
}

// Reservation is an event reserved by Recorder.Reserve: fill Payload, then
// Commit to publish it. Readers see nothing of it before Commit. Payload
// points into the ring's mapping, which the Reservation keeps alive: keep
// the Reservation (or its Recorder) reachable while writing into Payload.
type Reservation struct {
	// Seqno is the event's sequence number.
	Seqno uint64
	// Payload is where the payload goes: a view of the shared buffer, len
	// equal to the requested size. For an oversized event (Oversize !=
	// RecordErrorNone) it is the 8176-byte truncated area that follows the
	// RecordError header instead.
	Payload []byte
	// Oversize is RecordErrorNone, or the kind of RECORD_ERROR that
	// replaced the requested event because its payload cannot fit.
	Oversize RecordErrorType

	slot *Descriptor
	w    *Recorder // keeps the mapping slot and Payload point into alive
}

// Commit publishes the event (release store of its seqno, spec §5.4).
// After the Recorder was closed it does nothing visible (see
// [Recorder.Close]). If the ring file was truncated meanwhile, the store
// faults: Commit then closes the Recorder, whose next call returns the
// *RingChangedError.
func (res *Reservation) Commit() {
	var err error
	done := false
	defer res.w.guardFault(debug.SetPanicOnFault(true), &done, &err)
	res.commit()
	done = true
}

func (res *Reservation) commit() {
	storeRelease(&res.slot.Seqno, res.Seqno)
	runtime.KeepAlive(res.w)
}

// Reserve allocates a sequence number, a descriptor slot and payloadSize
// bytes of payload buffer, exactly as spec §5.2, and fills the descriptor's
// event type and content_ext. A payload whose 16-rounded size exceeds
// 0xFFFFFFFF, or would expire at birth (>= PayloadBufSize - 2·WindowIncr),
// is replaced by a RECORD_ERROR event (spec §5.6): the reservation then has
// Oversize set and an 8176-byte Payload for the truncated beginning of the
// dropped payload. Either way the caller fills Payload and calls Commit.
// The error is ErrClosed once Close was called, or a *RingChangedError
// once the ring file was truncated under the Recorder (which closes it).
//
// The caller's writes into Payload are plain memory writes: if the file is
// truncated they fault (see [FaultError]); [Recorder.Record] catches that.
func (w *Recorder) Reserve(eventType uint16, contentExt [4]uint64, payloadSize uint64) (res Reservation, err error) {
	done := false
	defer w.guardFault(debug.SetPanicOnFault(true), &done, &err)
	res, err = w.reserve(eventType, contentExt, payloadSize)
	done = true
	return res, err
}

func (w *Recorder) reserve(eventType uint16, contentExt [4]uint64, payloadSize uint64) (Reservation, error) {
	if w.closed.Load() {
		return Reservation{}, w.closedErr()
	}
	t := w.clock()
	size, rounded, kind := w.allocSize(payloadSize)
	evType := eventType
	if kind != RecordErrorNone {
		evType = RecordErrorEventType
	}
	c := &w.hdr.Control
	seqno := atomic.AddUint64(&c.LastSeqno, 1)
	begin := atomic.AddUint64(&c.NextPayloadByte, rounded) - rounded
	slot := (*Descriptor)(unsafe.Add(w.descs, ((seqno-1)&w.maskD)*DescriptorSize))
	// Zero seqno before touching anything else so a reader copying the
	// slot's previous occupant sees its re-check fail.
	storeRelease(&slot.Seqno, 0)
	w.moveWindow(begin + rounded)
	storeFence() // the reservation is visible before the new fields (a no-op on amd64)
	slot.PayloadSize = uint32(size)
	slot.PayloadBufOffset = begin
	slot.RecordEpochNanos = t
	slot.EventType = evType
	slot.ContentExt = contentExt
	p := unsafe.Slice((*byte)(unsafe.Add(w.payload, begin&w.maskP)), size)
	res := Reservation{Seqno: seqno, Payload: p, Oversize: kind, slot: slot, w: w}
	if kind != RecordErrorNone {
		res.Payload = writeRecordError(p, kind, eventType, payloadSize)
	}
	return res, nil
}

// moveWindow slides the payload window (spec §5.2 step 6) so that it
// covers an allocation ending at end. The C recorder makes one CAS attempt
// and takes a failure to mean another writer moved the window; but the
// winner may have moved it for a smaller end, leaving this allocation's
// last bytes over payloads still counted valid. So it retries until the
// window covers end, by this writer or another. (The end > ws test, absent
// in C, keeps a writer that fell a whole buffer behind another from moving
// the window backwards.)
func (w *Recorder) moveWindow(end uint64) {
	c := &w.hdr.Control
	width := w.sizes.PayloadBufSize - WindowIncr
	for ws := atomic.LoadUint64(&c.BufferWindowStart); end > ws && end-ws > width; ws = atomic.LoadUint64(&c.BufferWindowStart) {
		if atomic.CompareAndSwapUint64(&c.BufferWindowStart, ws, (end+WindowIncr-1)&^(WindowIncr-1)-width) {
			return
		}
	}
}

// allocSize applies spec §5.2 step 2 and §5.6 to a payload of payloadSize
// bytes: the size the descriptor gets, the 16-rounded size the buffer
// gives it, and the kind of RECORD_ERROR that replaces it (RecordErrorNone
// if it fits: then size is payloadSize).
func (w *Recorder) allocSize(payloadSize uint64) (size, rounded uint64, kind RecordErrorType) {
	rounded = (payloadSize + PayloadAlign - 1) &^ (PayloadAlign - 1)
	switch {
	case rounded > 0xFFFFFFFF || rounded < payloadSize:
		kind = RecordErrorOverflow4GB
	case rounded >= w.sizes.PayloadBufSize-2*WindowIncr:
		kind = RecordErrorOverflowExpire
	default:
		return payloadSize, rounded, RecordErrorNone
	}
	return RecordErrorTruncatedSize, RecordErrorTruncatedSize, kind
}

// writeRecordError zeroes p, the RecordErrorTruncatedSize-byte payload of a
// RECORD_ERROR standing in for an event of eventType and payloadSize bytes,
// writes its RecordError header and returns the truncated area after it,
// where the dropped payload's first bytes go (spec §5.6).
func writeRecordError(p []byte, kind RecordErrorType, eventType uint16, payloadSize uint64) []byte {
	clear(p)
	re := (*RecordError)(unsafe.Pointer(&p[0]))
	re.ErrorType = kind
	re.DroppedEventType = eventType
	re.TruncatedPayloadSize = RecordErrorTruncatedSize - uint32(unsafe.Sizeof(RecordError{}))
	re.RequestedPayloadSize = payloadSize
	return p[unsafe.Sizeof(RecordError{}):]
}

// RecordFunc records one event of payloadSize bytes that fill writes in
// place: it reserves the event as [Recorder.Reserve] does, calls fill with
// its sequence number and its Payload (the ring's buffer itself, len
// payloadSize; for an oversized event the RECORD_ERROR's truncated area),
// commits it when fill returns and returns its sequence number. Use it
// instead of Reserve and Commit when the payload depends on the sequence
// number, or to skip the copy Record makes: it guards the whole event
// against a cut ring file once (Reserve and Commit guard one each: 190 of
// the 576 instructions per event of a writer of 64-byte events, counted
// with cachegrind), and a fault in fill
// is caught too, closing the Recorder with a *RingChangedError as Record
// does. fill must not keep payload. fill must not panic either: the panic
// would go on and leave the event reserved and never committed, and
// readers stop there (NotReady) until the writer laps them, as at the
// reservation of a writer that died (spec §3.6). The error is as Record's.
func (w *Recorder) RecordFunc(eventType uint16, contentExt [4]uint64, payloadSize uint64, fill func(seqno uint64, payload []byte)) (seqno uint64, err error) {
	done := false
	defer w.guardFault(debug.SetPanicOnFault(true), &done, &err)
	res, err := w.reserve(eventType, contentExt, payloadSize)
	if err != nil {
		done = true
		return 0, err
	}
	fill(res.Seqno, res.Payload)
	res.commit()
	done = true
	if res.Oversize != RecordErrorNone {
		return res.Seqno, &OversizeError{Seqno: res.Seqno, EventType: eventType, RequestedSize: payloadSize, Kind: res.Oversize}
	}
	return res.Seqno, nil
}

// Record records one event whose payload is the concatenation of the
// parts, copied straight into the ring (no intermediate buffer), and returns
// its sequence number. If the payload is too large for the ring the event is
// recorded as a RECORD_ERROR (with the payload's first 8176 bytes) and the
// error is an *OversizeError wrapping ErrPayloadTooLarge. If the ring file
// is truncated under it, the error is a *RingChangedError and the Recorder
// is closed.
func (w *Recorder) Record(eventType uint16, contentExt [4]uint64, payload ...[]byte) (seqno uint64, err error) {
	done := false
	defer w.guardFault(debug.SetPanicOnFault(true), &done, &err)
	seqno, err = w.record(eventType, contentExt, payload)
	done = true
	return seqno, err
}

func (w *Recorder) record(eventType uint16, contentExt [4]uint64, payload [][]byte) (seqno uint64, err error) {
	var size uint64
	for _, p := range payload {
		size += uint64(len(p))
	}
	res, err := w.reserve(eventType, contentExt, size)
	if err != nil {
		return 0, err
	}
	dst := res.Payload
	for _, p := range payload {
		n := copy(dst, p)
		dst = dst[n:]
		if len(dst) == 0 {
			break
		}
	}
	res.commit()
	if res.Oversize != RecordErrorNone {
		return res.Seqno, &OversizeError{Seqno: res.Seqno, EventType: eventType, RequestedSize: size, Kind: res.Oversize}
	}
	return res.Seqno, nil
}
