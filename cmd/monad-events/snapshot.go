package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
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
	last := o.Header().LastSeqno
	if pids, perr := o.WriterPIDs(); o.snapshot || perr == nil && len(pids) == 0 {
		// Nobody writes the ring: eventring's capture is exact.
		err = o.WriteSnapshot(cw)
	} else {
		last, err = captureLive(ctx, e, o, cw)
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
	e.log.Info("snapshot: done", "out", out, "last seqno", last, "compressed", size(cw.n.Load()),
		"elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

// captureLive writes a snapshot of a ring that a writer is filling, and
// returns the sequence number of its newest event. Compressing straight
// from the shared mapping is not safe while it changes (the encoder reads
// its input more than once, so the frame's checksum can disagree with its
// content), and copying the sections out as raw bytes is not enough either:
// a copy that takes longer than the writer needs to lap the descriptor array
// holds a header whose last_seqno is far past the descriptors copied, and
// then no event reads back. So the descriptors are copied first with the
// reader protocol, each event in its slot, from the oldest to the newest
// committed one (N); then the payloads of those events, oldest bytes first
// (they were written before their events were committed); then the header,
// read last so that its payload window start marks every payload the writer
// overwrote meanwhile as expired. Its last_seqno is the one read right after
// the descriptors (see below).
func captureLive(ctx context.Context, e *env, o *openedRing, w io.Writer) (uint64, error) {
	sz := o.Sizes()
	descs := make([]byte, sz.DescriptorCapacity*eventring.DescriptorSize)
	last, lowest, err := copyDescriptors(ctx, o, descs)
	if err != nil {
		return 0, err
	}
	// Sequence numbers reserved by now, committed or not: at least N and,
	// once the ring has wrapped, at least a lap past the first event of the
	// run read (copyDescriptors jumps only to the oldest event then). So the
	// snapshot's oldest event (reserved - capacity + 1) is one that was
	// read, unlike the live ring's, whose slot the writer is usually
	// refilling; events reserved past N read as not yet committed.
	reserved := o.Header().LastSeqno
	e.log.Debug("snapshot: descriptors copied", "newest", last, "reserved", reserved, "lowest payload offset", lowest)
	f, err := os.Open(o.path) // no lock: readers never lock ring files
	if err != nil {
		return 0, err
	}
	defer f.Close()
	// Only the bytes from the lowest payload offset of the events read to
	// the end of the payload window can belong to them (once the buffer has
	// wrapped, the window is much larger), and the oldest of them are the
	// next the writer overwrites: copy those first.
	payload := make([]byte, sz.PayloadBufSize)
	base := eventring.HeaderSectionSize + int64(len(descs))
	h := o.Header()
	to := h.NextPayloadByte
	from := max(h.BufferWindowStart, lowest, to-min(to, sz.PayloadBufSize)) // past to: nothing to copy
	const chunk = 4 << 20
	for v := from; v < to; {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		i := v & (sz.PayloadBufSize - 1) // virtual offset → buffer index (spec §4.2)
		n := min(to-v, sz.PayloadBufSize-i, chunk)
		if _, err := f.ReadAt(payload[i:i+n], base+int64(i)); err != nil {
			return 0, fmt.Errorf("reading %s: %w", o.path, err)
		}
		v += n
	}
	// The header section: the 192-byte header struct (spec §2.2), then
	// zeros; last_seqno is at offset 64.
	hdr := make([]byte, eventring.HeaderSectionSize)
	if _, err := f.ReadAt(hdr[:192], 0); err != nil {
		return 0, fmt.Errorf("reading %s: %w", o.path, err)
	}
	binary.LittleEndian.PutUint64(hdr[64:], reserved)
	e.log.Debug("snapshot: payloads copied", "from", from, "to", to,
		"window start now", binary.LittleEndian.Uint64(hdr[128:]), "next payload byte now", binary.LittleEndian.Uint64(hdr[72:]))
	enc, err := zstd.NewWriter(w)
	if err != nil {
		return 0, err
	}
	for _, part := range [][]byte{hdr, descs, payload, make([]byte, sz.ContextAreaSize)} {
		if _, err := enc.Write(part); err != nil {
			enc.Close()
			return 0, err
		}
	}
	return last, enc.Close()
}

// copyDescriptors copies every committed event from the oldest to the
// newest into its slot of descs (the 64-byte layout of spec §2.3) and
// returns the newest's sequence number and the lowest payload offset of the
// events read since the last gap. A reader lapped during the copy
// jumps to the oldest event left and goes on: it still reads a whole
// window of consecutive events ending at the newest.
func copyDescriptors(ctx context.Context, o *openedRing, descs []byte) (last, lowest uint64, err error) {
	mask := o.Sizes().DescriptorCapacity - 1
	rd := o.NewReader()
	rd.SetSeqno(o.OldestSeqno())
	var d eventring.Descriptor
	lowest = math.MaxUint64
	for n := 0; ; n++ {
		if n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, 0, err
			}
		}
		res := rd.TryNext(&d)
		if res == eventring.Ready {
			b := descs[((d.Seqno-1)&mask)*eventring.DescriptorSize:]
			binary.LittleEndian.PutUint64(b[0:], d.Seqno)
			binary.LittleEndian.PutUint16(b[8:], d.EventType)
			binary.LittleEndian.PutUint32(b[12:], d.PayloadSize)
			binary.LittleEndian.PutUint64(b[16:], d.RecordEpochNanos)
			binary.LittleEndian.PutUint64(b[24:], d.PayloadBufOffset)
			for i, x := range d.ContentExt {
				binary.LittleEndian.PutUint64(b[32+8*i:], x)
			}
			last, lowest = d.Seqno, min(lowest, d.PayloadBufOffset)
			continue
		}
		// Event `from` is gone if the writer has reserved its slot's next
		// occupant: a gap, or a slot still being refilled (it reads 0, so
		// NotReady) — which is where a live ring's oldest event always is.
		from := rd.LastSeqno() + 1
		switch {
		case o.Header().LastSeqno > from+mask:
			rd.SetSeqno(max(from+1, o.OldestSeqno()))
			lowest = math.MaxUint64
		case res == eventring.Gap:
			return 0, 0, o.wrongSlot(from) // a later event where none can be yet
		default:
			return last, lowest, nil // the newest committed event
		}
	}
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
