package eventring

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Open opens a live event ring file or a zstd snapshot of one, deciding by
// content (spec §6.5), validates its header and maps it read-only. Errors
// wrap the sentinels of this package (ErrBadMagic, ErrBadSize,
// ErrFileTooShort, ErrNotSnapshot, ...) and name the file.
//
// Open does not check the schema: generated bindings call CheckSchema.
func Open(path string) (*Ring, error) {
	return OpenWithOptions(path, OpenOptions{})
}

// OpenWithOptions is Open with options.
func OpenWithOptions(path string, opts OpenOptions) (*Ring, error) {
	if !platformSupported {
		return nil, ErrUnsupported
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eventring: %w", err)
	}
	defer f.Close()
	return openFile(f, path, opts)
}

// OpenFile maps the ring found at opts.Offset in f (a live ring or a
// snapshot). f is not retained: the caller may close it once OpenFile
// returns.
func OpenFile(f *os.File, opts OpenOptions) (*Ring, error) {
	if !platformSupported {
		return nil, ErrUnsupported
	}
	return openFile(f, f.Name(), opts)
}

func openFile(f *os.File, path string, opts OpenOptions) (*Ring, error) {
	r, err := openFile1(f, path, opts)
	if err != nil {
		return nil, fmt.Errorf("eventring: open %s: %w", path, err)
	}
	return r, nil
}

func openFile1(f *os.File, path string, opts OpenOptions) (*Ring, error) {
	if opts.Offset < 0 || opts.Offset%pageSize != 0 {
		return nil, fmt.Errorf("ring offset %d is not a multiple of the page size %d: %w", opts.Offset, pageSize, ErrBadSize)
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%v): %w", st.Mode().Type(), ErrBadMagic)
	}
	size := st.Size() - opts.Offset
	if size <= 0 {
		return nil, fmt.Errorf("file holds %d bytes, ring offset %d: %w", st.Size(), opts.Offset, ErrFileTooShort)
	}
	var head [ringHeaderSize]byte
	n, err := f.ReadAt(head[:], opts.Offset)
	if err != nil && err != io.EOF {
		return nil, err
	}
	if n >= 4 && binary.LittleEndian.Uint32(head[:4]) == zstdMagic {
		return openSnapshot(f, path, opts, size)
	}
	h, err := parseHeader(head[:n])
	if err != nil {
		return nil, err
	}
	if total := h.Size.Total(); uint64(size) < total {
		return nil, fmt.Errorf("file holds %d bytes from offset %d, header declares %d: %w", size, opts.Offset, total, ErrFileTooShort)
	}
	ino, err := fileInode(f)
	if err != nil {
		return nil, err
	}
	m, err := mapRing(f.Fd(), opts.Offset, h.Size, false, opts.Populate)
	if err != nil {
		return nil, err
	}
	r := newRing(m, h.Size, path, false, ino)
	r.off = opts.Offset
	return r, nil
}

// IsSnapshot reports whether the file at path is a zstd snapshot of an event
// ring: a regular file starting with a zstd frame whose first decompressed
// bytes are "RING01" (spec §6.5). "No" is not an error; I/O errors and a
// corrupt zstd stream are.
func IsSnapshot(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("eventring: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("eventring: %w", err)
	}
	if !st.Mode().IsRegular() || st.Size() == 0 {
		return false, nil
	}
	var magic [4]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil && err != io.EOF {
		return false, fmt.Errorf("eventring: %s: %w", path, err)
	}
	if binary.LittleEndian.Uint32(magic[:]) != zstdMagic {
		return false, nil
	}
	dec, err := newSnapshotDecoder(io.NewSectionReader(f, 0, st.Size()))
	if err != nil {
		return false, fmt.Errorf("eventring: %s: %w", path, err)
	}
	defer dec.Close()
	var first [len(Magic)]byte
	if _, err := io.ReadFull(dec, first[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return false, nil
		}
		return false, fmt.Errorf("eventring: %s: %w: %v", path, ErrSnapshotCorrupt, err)
	}
	return bytes.Equal(first[:], []byte(Magic)), nil
}
