package evcap

import (
	"io"
	"unsafe"
)

// directAlign is the alignment O_DIRECT asks of file offsets, lengths and
// memory: the largest logical block size in common use.
const directAlign = 4096

// directChunk is the size of the writes a direct sink makes.
const directChunk = 2 << 20

// directSink writes section contents through a descriptor of the file
// opened with O_DIRECT (see WriterOptions.DirectIO): bytes are gathered
// in an aligned buffer and written in directChunk pieces straight to the
// device, without the page cache. A section's last piece is padded with
// zeros to directAlign, inside the padding that follows every content
// anyway (contents start on a page of at least directAlign bytes).
type directSink struct {
	f    io.WriterAt // the O_DIRECT descriptor
	buf  []byte      // aligned; len: bytes gathered
	base int64       // file offset of buf[0]
}

func newDirectSink(f io.WriterAt) *directSink {
	b := make([]byte, directChunk+directAlign)
	skip := (directAlign - int(uintptr(unsafe.Pointer(unsafe.SliceData(b)))%directAlign)) % directAlign
	return &directSink{f: f, buf: b[skip : skip : skip+directChunk]}
}

// write gathers b, which belongs at file offset off: right after what was
// gathered, or at an aligned offset that starts a section. It returns how
// much of b it took (all of it unless a write failed).
func (s *directSink) write(b []byte, off int64) (int, error) {
	if len(s.buf) == 0 {
		if off%directAlign == 0 && len(b)%directAlign == 0 && uintptr(unsafe.Pointer(unsafe.SliceData(b)))%directAlign == 0 {
			// An aligned chunk (the stage's plain content): as it is.
			if _, err := s.f.WriteAt(b, off); err != nil {
				s.buf, s.base = s.buf[:0], off // nothing taken
				return 0, err
			}
			return len(b), nil
		}
		s.base = off
	}
	took := 0
	for took < len(b) {
		n := copy(s.buf[len(s.buf):cap(s.buf)], b[took:])
		s.buf, took = s.buf[:len(s.buf)+n], took+n
		if len(s.buf) == cap(s.buf) {
			if _, err := s.f.WriteAt(s.buf, s.base); err != nil {
				return took, err
			}
			s.base += int64(len(s.buf))
			s.buf = s.buf[:0]
		}
	}
	return took, nil
}

// finish writes what is gathered, padded with zeros to directAlign: the
// end of a section.
func (s *directSink) finish() error {
	n := len(s.buf)
	if n == 0 {
		return nil
	}
	padded := (n + directAlign - 1) &^ (directAlign - 1)
	s.buf = s.buf[:padded]
	clear(s.buf[n:])
	if _, err := s.f.WriteAt(s.buf, s.base); err != nil {
		s.buf = s.buf[:n] // still pending
		return err
	}
	s.buf = s.buf[:0]
	return nil
}

// pending returns the bytes gathered and not yet written, and their file
// offset: what a refused direct write leaves for an ordinary one.
func (s *directSink) pending() ([]byte, int64) { return s.buf, s.base }
