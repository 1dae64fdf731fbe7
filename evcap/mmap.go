package evcap

import (
	"fmt"
	"os"
	"runtime/debug"
	"unsafe"
)

// mapping is a read-only view of a capture file's bytes as they were when
// it was opened (or last refreshed): Readers take uncompressed contents
// and compressed data from it instead of reading them with pread, which
// copies every byte. Nothing handed to callers points into it (payloads
// are copied out of it), so it is unmapped only when the last File or
// Reader using it is gone (a cleanup), never under a running Reader.
type mapping struct {
	b []byte
}

// slice returns the file bytes [off, off+n) if the mapping holds them.
func (m *mapping) slice(off, n uint64) ([]byte, bool) {
	if m == nil || off > uint64(len(m.b)) || n > uint64(len(m.b))-off {
		return nil, false
	}
	return m.b[off : off+n : off+n], true
}

func (m *mapping) contains(addr uintptr) bool {
	if m == nil || len(m.b) == 0 {
		return false
	}
	return addr >= m.base() && addr < m.base()+uintptr(len(m.b))
}

func (m *mapping) base() uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(m.b))) }

// faultAddr is what a memory fault becomes under debug.SetPanicOnFault.
type faultAddr interface {
	error
	Addr() uintptr
}

// guarded runs fn under guard when the Reader may touch a mapping.
func (r *Reader) guarded(fn func() error) (err error) {
	if r.f.mem.Load() == nil && r.c.m == nil && r.idx.m == nil {
		return fn()
	}
	done := false
	defer r.guard(debug.SetPanicOnFault(true), &done, &err)
	err = fn()
	done = true
	return err
}

// guard is deferred by the Reader's entry points when the file is mapped,
// with debug.SetPanicOnFault(true) as old: a file cut shorter while it is
// read makes accesses to the vanished pages fault (SIGBUS), which this
// turns into a *FormatError wrapping ErrTruncated (sticky on the Reader)
// instead of a crash. Any other panic goes on. The entry point sets *done
// when it returns normally, so that recover is skipped.
func (r *Reader) guard(old bool, done *bool, err *error) {
	debug.SetPanicOnFault(old)
	if *done {
		return
	}
	v := recover()
	if v == nil {
		return
	}
	fe, ok := v.(faultAddr)
	if !ok {
		panic(v)
	}
	m := r.c.m
	if !m.contains(fe.Addr()) {
		m = r.idx.m
	}
	if !m.contains(fe.Addr()) {
		panic(v)
	}
	size := "unknown"
	if st, serr := os.Stat(r.f.path); serr == nil {
		size = fmt.Sprint(st.Size())
	}
	r.have = false
	r.err = &FormatError{Path: r.f.path, Section: -1, Pos: -1, Offset: uint64(fe.Addr() - m.base()),
		Msg: fmt.Sprintf("file cut to %s bytes while it was read", size), Err: ErrTruncated}
	*err = r.err
}
