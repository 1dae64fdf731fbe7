package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

func runReplay(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "replay")
	rate := fs.Float64("rate", 0, "events per second (0: as fast as possible)")
	realtime := fs.Bool("realtime", false, "keep the original spacing between events")
	loop := fs.Bool("loop", false, "start over at the end of the snapshot, until interrupted")
	descShift := fs.Uint("descriptors-shift", 0, "log2 of the new ring's descriptor capacity (16..32; 0: same as the snapshot)")
	payloadShift := fs.Uint("payload-shift", 0, "log2 of the new ring's payload buffer size (27..40; 0: same as the snapshot; a capture's default is 2^30)")
	start := fs.String("start", "oldest", "the first event to replay: "+positionHelp)
	end := endFlag(fs)
	pos, err := parseArgs(e.stdout, fs, args, 2, 2)
	if err != nil {
		return err
	}
	if *rate < 0 || (*rate > 0 && *realtime) {
		return errors.New("replay: give at most one of --rate N (N > 0) and --realtime")
	}
	src, err := openStream(e, pos[0], *start, *end)
	if err != nil {
		return err
	}
	defer src.Close()
	if src.archive != nil {
		return fmt.Errorf("replay: %s is a finalized-block archive: it holds the blocks' events without the consensus events between them, so a replay would never finalize anything; replay a snapshot or capture", pos[0])
	}
	// Sizes, content type and schema: the source ring's; a capture has no
	// ring sizes, so its replay gets 2^20 descriptors and a 1 GiB payload
	// buffer (sparse: only what is written costs memory) unless told.
	sizes := eventring.Sizes{DescriptorCapacity: 1 << 20, PayloadBufSize: 1 << 30}
	ct, hash := execevents.RingContentType, execevents.SchemaHash // a capture's SCHEMA was checked to be these
	var from string
	if src.capture != nil {
		from = "capture " + src.capture.File().Path()
	} else {
		if !src.ring.snapshot {
			// A ring file nobody writes any more (a zombie, a finished
			// replay) is as static as a snapshot; one being written is not.
			if pids, err := src.ring.WriterPIDs(); err != nil || len(pids) > 0 {
				return fmt.Errorf("replay: %s is a live ring being written (writer pids %v); capture it first: monad-events snapshot %s OUT.zst", src.ring.path, pids, pos[0])
			}
			src.static = true
		}
		h := src.ring.Header()
		sizes = eventring.Sizes{DescriptorCapacity: h.Sizes.DescriptorCapacity, PayloadBufSize: h.Sizes.PayloadBufSize}
		ct, hash, from = h.ContentType, h.SchemaHash, src.ring.path
	}
	if *descShift != 0 {
		sizes.DescriptorCapacity = 1 << min(*descShift, 63)
	}
	if *payloadShift != 0 {
		sizes.PayloadBufSize = 1 << min(*payloadShift, 63)
	}
	// The library's rule: the destination is a path (relative to the
	// current directory), as eventring.Create takes it. To stand in for
	// the daemon, give the ring directory's path (info prints it).
	dst := pos[1]
	rec, err := eventring.Create(dst, sizes, ct, hash)
	if err != nil {
		return err
	}
	defer rec.Close()
	e.log.Info("replay: recording", "from", from, "to", dst, "descriptors", sizes.DescriptorCapacity,
		"payload buffer", size(sizes.PayloadBufSize))

	r := &replayer{
		e: e, src: src, rec: rec, rate: *rate, realtime: *realtime,
		remap: make(map[uint64]uint64),
	}
	r.start = time.Now()
	r.lastReport = r.start
	for pass := 1; ; pass++ {
		before := r.recorded
		if err := r.pass(ctx, pass); err != nil {
			if errors.Is(err, context.Canceled) {
				// What was recorded is a valid ring: keep it.
				e.log.Info("replay: interrupted", "events", r.recorded)
				return err
			}
			// A half-replayed ring of a corrupt source is of no use.
			rec.Close()
			os.Remove(dst)
			return err
		}
		if r.recorded == before {
			if pass == 1 {
				e.log.Warn("replay: the source holds no event that can be replayed", "source", from)
			}
			break // also ends --loop: an empty pass would spin
		}
		if !*loop {
			break
		}
		if err := src.rewind(); err != nil {
			return err
		}
	}
	e.log.Info("replay: done; the ring stays in place with no writer", "ring", dst, "events", r.recorded,
		"skipped", r.skipped, "elapsed", time.Since(r.start).Round(time.Millisecond))
	return rec.Close()
}

type replayer struct {
	e        *env
	src      *stream
	rec      *eventring.Recorder
	rate     float64
	realtime bool

	remap      map[uint64]uint64 // source BLOCK_START seqno → new seqno
	recorded   uint64            // events recorded so far (all passes)
	skipped    uint64            // expired payloads or events of blocks not replayed
	start      time.Time
	lastReport time.Time
}

// pass records every event of the source from --start to --end once.
func (r *replayer) pass(ctx context.Context, pass int) error {
	clear(r.remap)
	var (
		d         eventring.Descriptor
		passStart = time.Now()
		firstNs   uint64
		latestNs  uint64
	)
	for {
		err := r.src.next(ctx, &d)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := r.event(ctx, pass, &d, passStart, &firstNs, &latestNs); err != nil {
			return err
		}
	}
}

// event records one event of the source.
func (r *replayer) event(ctx context.Context, pass int, d *eventring.Descriptor, passStart time.Time, firstNs, latestNs *uint64) error {
	// A snapshot or capture never changes, so one validity check is
	// enough (the stream refused impossible payloads): an expired
	// payload is skipped.
	if !r.src.src.PayloadValid(d) {
		r.skipped++
		return nil
	}
	ext := d.ContentExt
	next := r.recorded + 1 // we are the only writer: seqnos are consecutive
	switch {
	case execevents.EventType(d.EventType) == execevents.EventTypeBlockStart:
		r.remap[d.Seqno] = next
		ext[execevents.FlowTypeBlockSeqno] = next
	case ext[execevents.FlowTypeBlockSeqno] != 0:
		m, ok := r.remap[ext[execevents.FlowTypeBlockSeqno]]
		if !ok {
			// Its BLOCK_START was overwritten before the capture: the
			// event cannot be tagged consistently.
			r.skipped++
			return nil
		}
		ext[execevents.FlowTypeBlockSeqno] = m
	}

	switch {
	case r.rate > 0:
		// Paced from the very first event, across passes, so the rate
		// holds over a long --loop.
		if err := r.waitUntil(ctx, r.start.Add(time.Duration(float64(r.recorded)*1e9/r.rate))); err != nil {
			return err
		}
	case r.realtime:
		// Record times are not monotonic in seqno order (several writer
		// threads); pace by the latest time seen so far.
		if *firstNs == 0 {
			*firstNs, *latestNs = d.RecordEpochNanos, d.RecordEpochNanos
		}
		*latestNs = max(*latestNs, d.RecordEpochNanos)
		if err := r.waitUntil(ctx, passStart.Add(time.Duration(*latestNs-*firstNs))); err != nil {
			return err
		}
	}

	seq, err := r.rec.Record(d.EventType, ext, r.src.src.Payload(d))
	if err != nil {
		return fmt.Errorf("replay: recording event %d (%s): %w", d.Seqno, eventName(d.EventType), err)
	}
	if seq != next {
		return fmt.Errorf("replay: recorder assigned seqno %d, want %d (is another process writing to the ring?)", seq, next)
	}
	r.recorded++
	if now := time.Now(); now.Sub(r.lastReport) >= time.Second {
		r.lastReport = now
		r.e.log.Info("replay: progress", "pass", pass, "source seqno", d.Seqno,
			"recorded", r.recorded, "events/s", int(float64(r.recorded)/now.Sub(r.start).Seconds()))
	}
	return nil
}

// waitUntil sleeps until t, or returns ctx.Err() when ctx ends first.
// Short waits are skipped: the next event catches up.
func (r *replayer) waitUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d < 200*time.Microsecond {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
