package eventring

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrRingChanged is wrapped by every *RingChangedError: the ring file was
// truncated, replaced or rewritten under a reader or a writer.
var ErrRingChanged = errors.New("eventring: ring file changed under the reader or writer")

// RingChange says how a ring file changed under a reader or writer.
type RingChange uint8

const (
	// RingTruncated: the file shrank below the ring's sections while they
	// were mapped (truncate(1) on a live ring): the pages are gone, and an
	// access to them faults (SIGBUS).
	RingTruncated RingChange = iota + 1
	// RingReplaced: the path now names another file (a new inode) than the
	// one mapped: another writer created a new ring there, or a file was
	// renamed over it.
	RingReplaced
	// RingHeaderChanged: the mapped header no longer describes the ring
	// that was opened (magic, content type, schema hash or sizes were
	// rewritten), or its sequence numbers went back: the file was
	// reinitialized in place.
	RingHeaderChanged
)

// String names the change.
func (c RingChange) String() string {
	switch c {
	case RingTruncated:
		return "ring file truncated"
	case RingReplaced:
		return "ring file replaced by another file"
	case RingHeaderChanged:
		return "ring header rewritten"
	}
	return fmt.Sprintf("RingChange(%d)", uint8(c))
}

// RingChangedError reports that a ring file was changed under a reader or
// writer so that reading or writing it cannot go on. It wraps
// ErrRingChanged. After it the Ring (or Recorder) is closed: its mapping
// was replaced by the inert image of [Ring.Close], so stale payload views
// read zeros instead of faulting.
type RingChangedError struct {
	Path   string     // the ring's path
	Reason RingChange // what happened
	Detail string     // what was seen, e.g. "file is 0 bytes, the ring needs 138412032"
}

// Error names the path, the change and what was seen.
func (e *RingChangedError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("eventring: %s: %v", e.Path, e.Reason)
	}
	return fmt.Sprintf("eventring: %s: %v (%s)", e.Path, e.Reason, e.Detail)
}

// Unwrap returns ErrRingChanged.
func (e *RingChangedError) Unwrap() error { return ErrRingChanged }

// faultAddr is what a fault becomes under debug.SetPanicOnFault: a
// runtime.Error carrying the faulting address.
type faultAddr interface {
	error
	Addr() uintptr
}

// live mappings, for FaultError: a fault address is looked up here.
var mapped struct {
	sync.Mutex
	m map[*mapping]mappedRing
}

// mappedRing is how a live mapping's faults are reported: fail closes its
// Ring or Recorder, shorter says whether its file is now cut (for faults
// reported without their address).
type mappedRing struct {
	fail    func(uintptr) error
	shorter func() bool
}

// register makes faults inside m reported by fail (see FaultError).
func (m *mapping) register(fail func(uintptr) error, shorter func() bool) {
	mapped.Lock()
	defer mapped.Unlock()
	if mapped.m == nil {
		mapped.m = make(map[*mapping]mappedRing)
	}
	mapped.m[m] = mappedRing{fail, shorter}
}

func (m *mapping) unregister() {
	mapped.Lock()
	delete(mapped.m, m)
	mapped.Unlock()
}

func (m *mapping) contains(addr uintptr) bool {
	return addr >= uintptr(m.addr) && addr < uintptr(m.addr)+m.length
}

// FaultError turns a value recovered from a panic into the error it stands
// for if it is a memory fault inside a ring or recorder mapping of this
// process: a *RingChangedError (the ring file was truncated under it), and
// that Ring or Recorder is closed, so that nothing faults there again. For
// anything else it returns nil: re-panic.
//
// [Reader.Next], [Reader.NextBatch], [Reader.Events], the Recorder's
// methods and [Ring.WriteSnapshotContext] catch such faults themselves and
// return the error. Other accesses to the shared memory (TryNext, payload
// views, CopyPayload, a Reservation's Payload) stay as fast as plain memory
// reads: a truncated file makes them fault, which Go turns into a panic
// only in a goroutine that called debug.SetPanicOnFault(true) (otherwise
// the program dies). A program that wants to survive that sets it and
// recovers:
//
//	debug.SetPanicOnFault(true)
//	defer func() {
//		if v := recover(); v != nil {
//			if err := eventring.FaultError(v); err != nil {
//				log.Fatal(err) // or wait for a new ring
//			}
//			panic(v)
//		}
//	}()
//
// Some platforms (emulators such as qemu-user) report a fault without its
// address, and the runtime then panics with the same error as a nil
// pointer dereference: such a value is taken as a cut ring's fault only
// while a mapped ring file is shorter than its ring.
func FaultError(v any) error {
	// Without the fault's address (see cutFault) every mapping of a cut
	// file is taken: each of them faults on its next access anyway.
	mapped.Lock()
	var fails []func(uintptr) error
	var addr uintptr
	for m, r := range mapped.m {
		if a, ok := cutFault(v, m.contains, r.shorter); ok {
			fails, addr = append(fails, r.fail), a
		}
	}
	mapped.Unlock()
	var err error
	for _, fail := range fails {
		if e := fail(addr); err == nil {
			err = e
		}
	}
	return err
}

// guardFault is deferred by the entry points that catch faults, with
// debug.SetPanicOnFault(true) as old: it restores the goroutine's setting
// and turns a fault inside the ring's mapping into its *RingChangedError.
// Any other panic goes on. The entry point sets *done before it returns
// normally: recover is then skipped (it costs more than the rest of a
// fast Next together).
func (r *Ring) guardFault(old bool, done *bool, err *error) {
	debug.SetPanicOnFault(old)
	if *done {
		return
	}
	if v := recover(); v != nil {
		addr, ok := cutFault(v, r.m.contains, func() bool { return fileShorter(r.path, r.ino, r.sizes) })
		if !ok {
			panic(v)
		}
		*err = r.fault(addr)
	}
}

// fault records that the ring's mapping faulted at addr: the file was cut
// under it. The ring is closed (its mapping becomes the inert image) and
// every later Next reports the same error.
func (r *Ring) fault(addr uintptr) error {
	e := &RingChangedError{Path: r.path, Reason: RingTruncated, Detail: r.sizeDetail(addr)}
	r.fail(e)
	return r.failure()
}

// fail closes the ring with err as the reason its readers report.
func (r *Ring) fail(err *RingChangedError) {
	r.broken.CompareAndSwap(nil, err)
	r.Close()
}

// failure is what a closed ring's readers report: the change that broke
// it, or ErrClosed.
func (r *Ring) failure() error {
	if e := r.broken.Load(); e != nil {
		return e
	}
	return ErrClosed
}

// sizeDetail describes a fault at addr and what the path holds now.
func (r *Ring) sizeDetail(addr uintptr) string {
	at := fmt.Sprintf("access at ring offset %d faulted", int64(addr)-int64(uintptr(r.m.base)))
	return at + "; " + statDetail(r.path, r.ino, r.sizes)
}

// cutFault tells whether a recovered panic value v is a memory fault
// caused by a cut ring file: a fault at an address inside the mapping, or,
// when the platform does not report the address (emulators such as
// qemu-user deliver SIGBUS without it, and the runtime then panics with a
// plain memory error), any memory fault while the file is shorter than the
// ring. addr is 0 when not known.
func cutFault(v any, inMapping func(uintptr) bool, shorter func() bool) (addr uintptr, ok bool) {
	if fe, isAddr := v.(faultAddr); isAddr && fe.Addr() != 0 {
		return fe.Addr(), inMapping(fe.Addr()) // the address is known: it decides
	}
	if re, isRT := v.(runtime.Error); isRT && strings.Contains(re.Error(), "invalid memory address") && shorter() {
		return 0, true
	}
	return 0, false
}

// fileShorter reports whether the file at path is still the ring mapped
// (inode ino) and now shorter than the ring (sizes): the cause of a fault
// reported without its address, as emulators such as qemu-user do.
func fileShorter(path string, ino uint64, sizes Sizes) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false
	}
	n, err := fileInode(f)
	return err == nil && n == ino && uint64(st.Size()) < sizes.Total()
}

// fileShorter is the recorder's: its own file descriptor is the ring's.
func (w *Recorder) fileShorter() bool {
	st, err := w.f.Stat()
	return err == nil && uint64(st.Size()) < w.sizes.Total()
}

// statDetail says what the path holds compared with the ring that was
// mapped (inode ino, sizes).
func statDetail(path string, ino uint64, sizes Sizes) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("the path: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("the path: %v", err)
	}
	if n, err := fileInode(f); err == nil && n != ino {
		return fmt.Sprintf("the path now holds another file (inode %d, was %d) of %d bytes", n, ino, st.Size())
	}
	return fmt.Sprintf("file is %d bytes, the ring needs %d", st.Size(), sizes.Total())
}

// checkFile compares the file at the ring's path and the mapped header
// with what was opened: the cheap periodic check of an idle reader. It
// returns nil if nothing changed (or nothing can be told). A file that
// was truncated is reported without touching the mapping.
func (r *Ring) checkFile(lastRead uint64) *RingChangedError {
	h := r.hdr
	var what string
	switch {
	case string(h.Magic[:]) != Magic:
		what = fmt.Sprintf("magic is now %q", h.Magic[:])
	case h.ContentType != r.contentType:
		what = fmt.Sprintf("content type is now %v, was %v", h.ContentType, r.contentType)
	case h.SchemaHash != r.schemaHash:
		what = fmt.Sprintf("schema hash is now %x, was %x", h.SchemaHash[:4], r.schemaHash[:4])
	case h.Size != r.sizes:
		what = fmt.Sprintf("sizes are now %d descriptors, %d payload bytes; were %d, %d",
			h.Size.DescriptorCapacity, h.Size.PayloadBufSize, r.sizes.DescriptorCapacity, r.sizes.PayloadBufSize)
	}
	if what != "" {
		return &RingChangedError{Path: r.path, Reason: RingHeaderChanged, Detail: what}
	}
	if last := atomic.LoadUint64(&r.hdr.Control.LastSeqno); last < lastRead {
		return &RingChangedError{Path: r.path, Reason: RingHeaderChanged,
			Detail: fmt.Sprintf("last seqno went back from %d to %d", lastRead, last)}
	}
	f, err := os.Open(r.path)
	if err != nil {
		// Removed (a writer still writing the unlinked file goes on being
		// read), or cannot tell.
		return nil
	}
	defer f.Close()
	ino, err := fileInode(f)
	if err != nil {
		return nil
	}
	if ino != r.ino {
		return &RingChangedError{Path: r.path, Reason: RingReplaced,
			Detail: fmt.Sprintf("inode %d, was %d", ino, r.ino)}
	}
	if st, err := f.Stat(); err == nil && uint64(st.Size()) < uint64(r.off)+r.sizes.Total() {
		return &RingChangedError{Path: r.path, Reason: RingTruncated,
			Detail: fmt.Sprintf("file is %d bytes, the ring needs %d", st.Size(), uint64(r.off)+r.sizes.Total())}
	}
	return nil
}

// guardFault is Ring.guardFault for the recorder's mapping.
func (w *Recorder) guardFault(old bool, done *bool, err *error) {
	debug.SetPanicOnFault(old)
	if *done {
		return
	}
	if v := recover(); v != nil {
		addr, ok := cutFault(v, w.m.contains, w.fileShorter)
		if !ok {
			panic(v)
		}
		*err = w.fault(addr)
	}
}

// fault closes a recorder whose mapping faulted at addr (its file was cut)
// and returns the *RingChangedError that its calls report from then on.
func (w *Recorder) fault(addr uintptr) error {
	e := &RingChangedError{Path: w.path, Reason: RingTruncated,
		Detail: fmt.Sprintf("write at ring offset %d faulted; %s", int64(addr)-int64(uintptr(w.m.base)), w.statDetail())}
	w.broken.CompareAndSwap(nil, e)
	w.Close()
	return w.broken.Load()
}

func (w *Recorder) statDetail() string {
	st, err := w.f.Stat()
	if err != nil {
		return fmt.Sprintf("the file: %v", err)
	}
	return fmt.Sprintf("file is %d bytes, the ring needs %d", st.Size(), w.sizes.Total())
}

// closedErr is what the recorder's calls return once it is closed.
func (w *Recorder) closedErr() error {
	if e := w.broken.Load(); e != nil {
		return e
	}
	return ErrClosed
}
