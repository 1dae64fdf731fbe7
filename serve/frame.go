package serve

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// errFrameTooLarge ends the read side of a connection whose client sent a
// frame larger than Options.MaxFrameSize.
var errFrameTooLarge = errors.New("serve: incoming frame too large")

// The WebSocket library limits whole messages only. The frame limit is
// enforced below it: the hijacked connection's reads are scanned for frame
// headers (client frames: 2 bytes, 2 or 8 bytes of extended length, 4
// bytes of mask), and a header announcing a payload over the limit stops
// the read side before the frame reaches the library. The connection is
// then closed from above with status 1009 and a reason, which the read
// side waits for so that the close frame can still be written.

// limitWriter wraps the ResponseWriter given to websocket.Accept so that
// the hijacked connection is a frameLimiter.
type limitWriter struct {
	http.ResponseWriter
	max      int64
	tooLarge func(size uint64) // called once, from the reading goroutine
	conn     *frameLimiter
}

func (w *limitWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("serve: the ResponseWriter cannot be hijacked")
	}
	c, brw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &frameLimiter{Conn: c, max: uint64(w.max), tooLarge: w.tooLarge, closed: make(chan struct{})}
	// Bytes the HTTP server already buffered reach the library without
	// passing through the wrapper's Read: scan them now.
	if b, err := brw.Reader.Peek(brw.Reader.Buffered()); err == nil {
		if size, ok := w.conn.scan(b); !ok {
			w.conn.pending = size
		}
	}
	// The library writes through brw.Writer: point it at the wrapper too,
	// so that writes can be corked (see frameLimiter.cork).
	if err := brw.Writer.Flush(); err != nil {
		c.Close()
		return nil, nil, err
	}
	brw.Writer = bufio.NewWriterSize(w.conn, 4096)
	return w.conn, brw, nil
}

// frameLimiter is a net.Conn whose reads are scanned for frame headers
// and whose writes can be corked: the writer loop corks the connection,
// hands the library every message it has queued, then uncorks, so that a
// burst of notifications costs one system call instead of one per message.
type frameLimiter struct {
	net.Conn

	wmu     sync.Mutex
	corked  bool
	wbuf    []byte
	timeout time.Duration // for writing what was corked

	max      uint64
	tooLarge func(size uint64)

	hdr       [14]byte
	hn        int    // header bytes collected
	remaining uint64 // payload bytes of the current frame still to come
	failed    bool
	pending   uint64 // an oversized frame found in the bytes buffered before the hijack

	closeOnce sync.Once
	closed    chan struct{}
}

func (f *frameLimiter) Read(p []byte) (int, error) {
	if f.failed {
		<-f.closed
		return 0, errFrameTooLarge
	}
	if f.pending > 0 {
		f.failed = true
		f.tooLarge(f.pending)
		<-f.closed
		return 0, errFrameTooLarge
	}
	n, err := f.Conn.Read(p)
	if size, ok := f.scan(p[:n]); !ok {
		f.failed = true
		f.tooLarge(size)
		// Hold the library's reader until the connection is closed, so
		// that the close frame with the reason goes out first.
		<-f.closed
		return 0, errFrameTooLarge
	}
	return n, err
}

// maxCorked bounds the bytes held while corked.
const maxCorked = 256 << 10

func (f *frameLimiter) Write(p []byte) (int, error) {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	if !f.corked {
		return f.Conn.Write(p)
	}
	f.wbuf = append(f.wbuf, p...)
	if len(f.wbuf) >= maxCorked {
		if err := f.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// cork holds writes back until uncork.
func (f *frameLimiter) cork() {
	f.wmu.Lock()
	f.corked = true
	f.wmu.Unlock()
}

// uncork writes what was held back.
func (f *frameLimiter) uncork() error {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	f.corked = false
	if len(f.wbuf) == 0 {
		return nil
	}
	return f.flushLocked()
}

// flushLocked writes what was corked, giving up after f.timeout.
func (f *frameLimiter) flushLocked() error {
	if f.timeout > 0 {
		f.Conn.SetWriteDeadline(time.Now().Add(f.timeout))
		defer f.Conn.SetWriteDeadline(time.Time{})
	}
	_, err := f.Conn.Write(f.wbuf)
	if cap(f.wbuf) > 64<<10 { // keep a small buffer only: there may be thousands of connections
		f.wbuf = nil
	} else {
		f.wbuf = f.wbuf[:0]
	}
	return err
}

func (f *frameLimiter) Close() error {
	f.closeOnce.Do(func() { close(f.closed) })
	return f.Conn.Close()
}

// scan follows the frame structure over p; it reports false, with the
// announced size, at a header over the limit.
func (f *frameLimiter) scan(p []byte) (uint64, bool) {
	for len(p) > 0 {
		if f.remaining > 0 {
			k := min(uint64(len(p)), f.remaining)
			f.remaining -= k
			p = p[k:]
			continue
		}
		f.hdr[f.hn] = p[0]
		f.hn++
		p = p[1:]
		if f.hn < 2 {
			continue
		}
		need := 2
		l7 := f.hdr[1] & 0x7f
		switch l7 {
		case 126:
			need += 2
		case 127:
			need += 8
		}
		if f.hdr[1]&0x80 != 0 {
			need += 4
		}
		if f.hn < need {
			continue
		}
		size := uint64(l7)
		switch l7 {
		case 126:
			size = uint64(binary.BigEndian.Uint16(f.hdr[2:4]))
		case 127:
			size = binary.BigEndian.Uint64(f.hdr[2:10])
		}
		f.hn = 0
		if size > f.max {
			return size, false
		}
		f.remaining = size
	}
	return 0, true
}
