package main

import (
	"context"
	"errors"
	"fmt"
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
	payloadShift := fs.Uint("payload-shift", 0, "log2 of the new ring's payload buffer size (27..40; 0: same as the snapshot)")
	pos, err := parseArgs(e.stdout, fs, args, 2, 2)
	if err != nil {
		return err
	}
	if *rate < 0 || (*rate > 0 && *realtime) {
		return errors.New("replay: give at most one of --rate N (N > 0) and --realtime")
	}
	src, err := openExecRing(e, pos[0])
	if err != nil {
		return err
	}
	defer src.Close()
	if !src.snapshot {
		// A ring file nobody writes any more (a zombie, a finished replay)
		// is as static as a snapshot; one being written is not.
		if pids, err := src.WriterPIDs(); err != nil || len(pids) > 0 {
			return fmt.Errorf("replay: %s is a live ring being written (writer pids %v); capture it first: monad-events snapshot %s OUT.zst", src.path, pids, pos[0])
		}
	}
	h := src.Header()
	sizes := eventring.Sizes{DescriptorCapacity: h.Sizes.DescriptorCapacity, PayloadBufSize: h.Sizes.PayloadBufSize}
	if *descShift != 0 {
		sizes.DescriptorCapacity = 1 << min(*descShift, 63)
	}
	if *payloadShift != 0 {
		sizes.PayloadBufSize = 1 << min(*payloadShift, 63)
	}
	dst, err := resolveNewRing(pos[1])
	if err != nil {
		return err
	}
	rec, err := eventring.Create(dst, sizes, h.ContentType, h.SchemaHash)
	if err != nil {
		return err
	}
	defer rec.Close()
	e.log.Info("replay: recording", "from", src.path, "to", dst, "descriptors", sizes.DescriptorCapacity,
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
				e.log.Warn("replay: the source holds no event that can be replayed", "source", src.path)
			}
			break // also ends --loop: an empty pass would spin
		}
		if !*loop {
			break
		}
	}
	e.log.Info("replay: done; the ring stays in place with no writer", "ring", dst, "events", r.recorded,
		"skipped", r.skipped, "elapsed", time.Since(r.start).Round(time.Millisecond))
	return rec.Close()
}

// resolveNewRing resolves the destination of replay: a path as given, or a
// bare name in the default ring directory (spec §6.2).
func resolveNewRing(arg string) (string, error) {
	p, err := eventring.ResolvePath(arg)
	if err != nil {
		return "", fmt.Errorf("replay: cannot place ring %q in the default ring directory (%w); give a path such as ./%s", arg, err, arg)
	}
	return p, nil
}

type replayer struct {
	e        *env
	src      *openedRing
	rec      *eventring.Recorder
	rate     float64
	realtime bool

	remap      map[uint64]uint64 // source BLOCK_START seqno → new seqno
	recorded   uint64            // events recorded so far (all passes)
	skipped    uint64            // expired payloads or events of blocks not replayed
	start      time.Time
	lastReport time.Time
}

// pass records every event of the snapshot once.
func (r *replayer) pass(ctx context.Context, pass int) error {
	clear(r.remap)
	var (
		d         eventring.Descriptor
		n         int
		passStart = time.Now()
		firstNs   uint64
		latestNs  uint64
	)
	return r.src.scan(&d, func() error {
		if n&255 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		n++
		// A snapshot never changes, so one validity check is enough (scan
		// refused impossible payloads): an expired payload is skipped.
		if !r.src.PayloadValid(&d) {
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
			r.waitUntil(ctx, r.start.Add(time.Duration(float64(r.recorded)*1e9/r.rate)))
		case r.realtime:
			// Record times are not monotonic in seqno order (several writer
			// threads); pace by the latest time seen so far.
			if firstNs == 0 {
				firstNs, latestNs = d.RecordEpochNanos, d.RecordEpochNanos
			}
			latestNs = max(latestNs, d.RecordEpochNanos)
			r.waitUntil(ctx, passStart.Add(time.Duration(latestNs-firstNs)))
		}

		seq, err := r.rec.Record(d.EventType, ext, r.src.Payload(&d))
		if err != nil {
			return fmt.Errorf("replay: recording event %d (%s): %w", d.Seqno, eventName(d.EventType), err)
		}
		if seq != next {
			return fmt.Errorf("replay: recorder assigned seqno %d, want %d (is another process writing to the ring?)", seq, next)
		}
		r.recorded++
		if now := time.Now(); now.Sub(r.lastReport) >= time.Second {
			r.lastReport = now
			r.e.log.Info("replay: progress", "pass", pass, "source seqno", d.Seqno, "of", r.src.Header().LastSeqno,
				"recorded", r.recorded, "events/s", int(float64(r.recorded)/now.Sub(r.start).Seconds()))
		}
		return nil
	})
}

// waitUntil sleeps until t (or until ctx ends; the caller notices at its
// next check). Short waits are skipped: the next event catches up.
func (r *replayer) waitUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d < 200*time.Microsecond {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}
