package evcap

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// chunkSize is the unit in which section contents are read from the file
// or the decompressor.
const chunkSize = 256 << 10

// atReader reads n bytes of ra from off on, sequentially.
type atReader struct {
	ra  io.ReaderAt
	off int64
	n   int64
}

// Read reads the next bytes, io.EOF after the n-th.
func (a *atReader) Read(b []byte) (int, error) {
	if a.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > a.n {
		b = b[:a.n]
	}
	k, err := a.ra.ReadAt(b, a.off)
	a.off += int64(k)
	a.n -= int64(k)
	if k == len(b) {
		err = nil
	}
	return k, err
}

// content streams the (decompressed) content of one section through a
// window: view returns bytes at increasing positions; bytes before keep
// may be dropped. Memory grows only as bytes arrive, up to the largest
// span asked for (the largest record).
type content struct {
	path string
	sec  *Section
	size uint64 // content size (Section.Size)

	at     atReader
	mem    *mapping      // the file's mapping offered to reset, or nil
	m      *mapping      // the mapping the section is read from, nil: pread
	mapped bool          // buf is the whole content, in m (uncompressed)
	mr     bytes.Reader  // compressed data in m
	dec    *zstd.Decoder // non-nil when the section is compressed
	src    io.Reader
	buf    []byte // content [start, end)
	own    []byte // buf's memory when not mapped
	keep   uint64 // content before keep may be dropped
	n      uint64 // window start: content position of buf[0]
	done   bool   // finish succeeded
}

func (c *content) fail(sentinel error, pos uint64, format string, args ...any) error {
	return &FormatError{Path: c.path, Section: c.sec.Index, Type: c.sec.Type, Offset: c.fileOffset(pos), Pos: int64(pos),
		Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

// fileOffset is the file offset of content position pos when the section
// is stored uncompressed, else the offset of its compressed data.
func (c *content) fileOffset(pos uint64) uint64 {
	if c.sec.Compression == CompressionNone {
		return c.sec.ContentOffset + pos
	}
	return c.sec.ContentOffset
}

func (c *content) end() uint64 { return c.n + uint64(len(c.buf)) }

// reset points c at the start of section s. Its bytes are read from m
// when m maps them, else from ra. A compressed section is read through
// *dec, created on first use (one per Reader and kind of section).
func (c *content) reset(ra io.ReaderAt, m *mapping, path string, s *Section, dec **zstd.Decoder, maxWindow uint64) error {
	c.path, c.sec, c.size = path, s, s.Size()
	c.buf, c.n, c.keep, c.done = c.own[:0], 0, 0, false
	c.mem, c.m, c.mapped = m, nil, false
	c.at = atReader{ra: ra, off: int64(s.ContentOffset), n: int64(s.FileLength)}
	if s.Compression == CompressionNone {
		if b, ok := m.slice(s.ContentOffset, c.size); ok {
			c.m, c.mapped, c.buf = m, true, b
			c.dec, c.src = nil, nil
			return nil
		}
		c.at.n = int64(c.size)
		c.dec, c.src = nil, &c.at
		return nil
	}
	if *dec == nil {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(min(max(maxWindow, zstd.MinWindowSize), maxZstdWindow)))
		if err != nil {
			return err
		}
		*dec = d
	}
	c.dec, c.src = *dec, *dec
	var in io.Reader = &c.at
	if b, ok := m.slice(s.ContentOffset, s.FileLength); ok {
		c.m = m
		c.mr.Reset(b)
		in = &c.mr
	}
	if err := c.dec.Reset(in); err != nil {
		return c.fail(ErrBadCompression, 0, "zstd: %v", err)
	}
	return nil
}

// seek makes pos the next position to be viewed.
func (c *content) seek(ra io.ReaderAt, dec **zstd.Decoder, maxWindow, pos uint64) error {
	if pos >= c.n && pos <= c.end() {
		c.keep = pos
		return nil
	}
	if c.sec.Compression == CompressionNone {
		c.buf, c.n, c.keep, c.done = c.buf[:0], pos, pos, false
		c.at = atReader{ra: ra, off: int64(c.sec.ContentOffset + pos), n: int64(c.size - pos)}
		return nil
	}
	if pos < c.n || c.done {
		if err := c.reset(ra, c.mem, c.path, c.sec, dec, maxWindow); err != nil {
			return err
		}
	}
	// Decompress and drop up to pos.
	c.keep = c.end()
	for c.end() < pos {
		c.keep = c.end()
		if _, err := c.view(c.end(), min(pos-c.end(), chunkSize)); err != nil {
			return err
		}
	}
	c.keep = pos
	return nil
}

// view returns content [pos, pos+n); pos >= keep, pos+n <= size.
func (c *content) view(pos, n uint64) ([]byte, error) {
	e := pos + n
	if e > c.end() {
		if err := c.fill(e); err != nil {
			return nil, err
		}
	}
	return c.buf[pos-c.n : e-c.n : e-c.n], nil
}

// fill reads until the window reaches e, first dropping what lies before
// keep, rounded down to a record boundary: records, and so payloads, start
// 64-byte aligned in the content, and keeping the window's start aligned
// keeps them 8-byte aligned in memory too (decoders view payloads in place).
func (c *content) fill(e uint64) error {
	if drop := min(c.keep, c.end()) &^ (recordAlign - 1); drop > c.n {
		c.buf = c.buf[:copy(c.buf, c.buf[drop-c.n:])]
		c.n = drop
	}
	for zero := 0; c.end() < e; {
		if len(c.buf) == cap(c.buf) {
			// Grow geometrically, as bytes actually arrive, never past
			// the content's end.
			nc := min(max(2*uint64(cap(c.buf)), chunkSize), max(e-c.n, chunkSize), c.size-c.n)
			nb := make([]byte, len(c.buf), nc)
			copy(nb, c.buf)
			c.buf, c.own = nb, nb
		}
		lim := min(uint64(cap(c.buf)), c.size-c.n)
		m, err := c.src.Read(c.buf[len(c.buf):lim])
		c.buf = c.buf[:len(c.buf)+m]
		if c.end() >= e {
			break
		}
		switch {
		case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) && c.dec == nil:
			if c.dec != nil {
				return c.fail(ErrBadCompression, c.end(), "decompresses to only %d bytes, content_length is %d", c.end(), c.size)
			}
			return c.fail(ErrTruncated, c.end(), "file ends %d bytes into the section's %d bytes of content", c.end(), c.size)
		case err != nil && c.dec != nil:
			return c.fail(ErrBadCompression, c.end(), "zstd: %v", err)
		case err != nil:
			return fmt.Errorf("evcap: %s: %w", c.path, err)
		case m == 0:
			if zero++; zero > 100 {
				return fmt.Errorf("evcap: %s: %w", c.path, io.ErrNoProgress)
			}
		}
	}
	return nil
}

// finish checks, once the whole content was read, that a compressed
// section decompresses to nothing more.
func (c *content) finish() error {
	if c.dec == nil || c.done {
		return nil
	}
	var one [1]byte
	m, err := io.ReadFull(c.dec, one[:])
	if m > 0 {
		return c.fail(ErrBadCompression, c.size, "decompresses to more than its content_length of %d bytes", c.size)
	}
	if err != io.EOF {
		return c.fail(ErrBadCompression, c.size, "zstd after the last byte: %v", err)
	}
	c.done = true
	return nil
}
