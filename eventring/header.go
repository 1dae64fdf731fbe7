package eventring

import (
	"fmt"
	"unsafe"
)

// parseHeader decodes and validates the first ringHeaderSize bytes of a ring
// image (spec §1–2): magic, content type and section sizes. The returned
// errors wrap a sentinel and name the offending value; callers prefix them
// with the file name.
func parseHeader(b []byte) (ringHeader, error) {
	var h ringHeader
	if len(b) < ringHeaderSize {
		return h, fmt.Errorf("header is %d bytes, want %d: %w", len(b), ringHeaderSize, ErrFileTooShort)
	}
	// ringHeader mirrors the C struct field for field (zlayout_test checks
	// its offsets against the headers) in the byte order of the writer,
	// little-endian like every supported host: a live header is read in
	// place through the same type.
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&h)), ringHeaderSize), b)
	if string(h.Magic[:]) != Magic {
		return h, fmt.Errorf("magic %q, want %q: %w", h.Magic[:], Magic, ErrBadMagic)
	}
	if h.ContentType == ContentTypeNone || h.ContentType >= contentTypeCount {
		return h, fmt.Errorf("content type %d: %w", uint16(h.ContentType), ErrBadContentType)
	}
	if err := h.Size.validate(); err != nil {
		return h, err
	}
	return h, nil
}

// validate checks the section sizes against the limits of spec §1.2.
func (s Sizes) validate() error {
	if c := s.DescriptorCapacity; !isPow2(c) || c < MinDescriptorCapacity || c > MaxDescriptorCapacity {
		return fmt.Errorf("descriptor capacity %d is not a power of two in [2^16, 2^32]: %w", c, ErrBadSize)
	}
	if p := s.PayloadBufSize; !isPow2(p) || p < MinPayloadBufSize || p > MaxPayloadBufSize {
		return fmt.Errorf("payload buffer size %d is not a power of two in [2^27, 2^40]: %w", p, ErrBadSize)
	}
	if x := s.ContextAreaSize; x%LargePageSize != 0 || x > MaxContextAreaSize {
		return fmt.Errorf("context area size %d is not a multiple of 2 MiB up to %d: %w", x, uint64(MaxContextAreaSize), ErrBadSize)
	}
	return nil
}

// validateSnapshotControl checks the control words of a ring that will never
// change again (a snapshot): a payload window wider than the buffer, or a
// window start beyond the allocation end, cannot come from a real writer and
// would make overwritten bytes look valid.
func validateSnapshotControl(h *ringHeader) error {
	c := &h.Control
	if c.BufferWindowStart > c.NextPayloadByte {
		return fmt.Errorf("buffer window start %d beyond next payload byte %d: %w", c.BufferWindowStart, c.NextPayloadByte, ErrBadHeader)
	}
	if c.NextPayloadByte-c.BufferWindowStart > h.Size.PayloadBufSize {
		return fmt.Errorf("payload window [%d, %d) wider than the %d-byte buffer: %w",
			c.BufferWindowStart, c.NextPayloadByte, h.Size.PayloadBufSize, ErrBadHeader)
	}
	return nil
}

// requiredSnapshotBytes is how many leading bytes of a decompressed snapshot
// must be present: the header, the descriptor array and every payload byte
// ever allocated. Only the never-written tail of the payload buffer (and the
// context area, which readers ignore) may be missing; the reference snapshot
// emn-30b is 8 bytes short there and is zero-padded (spec §6.5).
func requiredSnapshotBytes(h *ringHeader) uint64 {
	used := h.Size.PayloadBufSize
	if n := h.Control.NextPayloadByte; n < used {
		used = n
	}
	return HeaderSectionSize + h.Size.DescriptorCapacity*DescriptorSize + used
}

func isPow2(x uint64) bool { return x != 0 && x&(x-1) == 0 }
