package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/monadgo/events/eventring"
)

func runSnapshot(ctx context.Context, e *env, args []string) error {
	flags := newFlagSet(e, "snapshot")
	force := flags.Bool("force", false, "overwrite OUT.zst if it exists")
	pos, err := parseArgs(e.stdout, flags, args, 2, 2)
	if err != nil {
		return err
	}
	o, err := openRing(e, pos[0])
	if err != nil {
		return err
	}
	defer o.Close()

	out := pos[1]
	if _, err := os.Stat(out); err == nil && !*force {
		return fmt.Errorf("%s already exists (use --force to overwrite)", out)
	}
	// Write next to the destination and rename at the end, so a failed or
	// interrupted capture never leaves a truncated snapshot under OUT.
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".tmp-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the temporary name would only confuse
		}
		return fmt.Errorf("snapshot: cannot create %s: %w", out, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename

	cw := &countingWriter{w: tmp}
	start := time.Now()
	// Progress and Ctrl-C are handled aside; the capture itself runs here,
	// on the goroutine whose faults main turns into an error line.
	stop := make(chan struct{})
	watcherDone := make(chan struct{})
	go func() {
		defer close(watcherDone)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				e.log.Info("snapshot: writing", "compressed", size(cw.n.Load()), "elapsed", time.Since(start).Round(time.Second))
			case <-ctx.Done():
				tmp.Close() // the capture's next write fails: it stops soon
				return
			case <-stop:
				return
			}
		}
	}()
	if pids, perr := o.WriterPIDs(); o.snapshot || perr == nil && len(pids) == 0 {
		// Nobody writes the ring: eventring's capture is exact.
		err = o.WriteSnapshot(cw)
	} else {
		err = captureLive(ctx, o, cw)
	}
	close(stop)
	<-watcherDone
	if ctx.Err() != nil {
		tmp.Close()
		return ctx.Err()
	}
	if err != nil {
		tmp.Close()
		return fmt.Errorf("snapshot of %s: %w", o.path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	h := o.Header()
	e.log.Info("snapshot: done", "out", out, "events", h.LastSeqno, "compressed", size(cw.n.Load()),
		"elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

// captureLive writes a snapshot of a ring that a writer is filling. The
// ring's sections are first copied out of the file into private memory and
// the header is read last, then everything is compressed: its control words
// then cover every descriptor and payload byte copied (no seqno past
// last_seqno, no payload past next_payload_byte), and any payload the writer
// overwrote during the copy lies below its window start, so readers of the
// snapshot see it as expired rather than as valid torn bytes. (Compressing
// straight from the shared mapping is not safe while it changes: the
// encoder reads its input more than once, so the frame's checksum can
// disagree with its content, and descriptors copied after the header can
// point past its next_payload_byte.)
func captureLive(ctx context.Context, o *openedRing, w io.Writer) error {
	f, err := os.Open(o.path) // no lock: readers never lock ring files
	if err != nil {
		return err
	}
	defer f.Close()
	sz := o.Sizes()
	body := make([]byte, sz.DescriptorCapacity*eventring.DescriptorSize+sz.PayloadBufSize)
	const chunk = 4 << 20
	for off := 0; off < len(body); off += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(off+chunk, len(body))
		if _, err := f.ReadAt(body[off:end], eventring.HeaderSectionSize+int64(off)); err != nil {
			return fmt.Errorf("reading %s: %w", o.path, err)
		}
	}
	// The header section: the 192-byte header struct (spec §2.2), then
	// zeros.
	hdr := make([]byte, eventring.HeaderSectionSize)
	if _, err := f.ReadAt(hdr[:192], 0); err != nil {
		return fmt.Errorf("reading %s: %w", o.path, err)
	}
	enc, err := zstd.NewWriter(w)
	if err != nil {
		return err
	}
	for _, part := range [][]byte{hdr, body, make([]byte, sz.ContextAreaSize)} {
		if _, err := enc.Write(part); err != nil {
			enc.Close()
			return err
		}
	}
	return enc.Close()
}

// countingWriter counts bytes for progress reports.
type countingWriter struct {
	w io.Writer
	n atomic.Uint64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(uint64(n))
	return n, err
}
