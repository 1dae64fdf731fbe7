package eventring

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"runtime"
	"runtime/debug"
	"time"
)

// WaitStrategy says how [Reader.Next] waits for the next event: busy-spin
// for Spin polls, then yield the processor for Yield polls, then sleep with
// exponential backoff from MinSleep to MaxSleep between polls.
type WaitStrategy struct {
	// Spin is the number of back-to-back polls (with a CPU pause hint)
	// before yielding. A negative value spins forever: lowest latency, one
	// core at 100 %.
	Spin int
	// Yield is the number of polls separated by runtime.Gosched before
	// sleeping.
	Yield int
	// MinSleep and MaxSleep bound the sleep between polls once spinning and
	// yielding are exhausted; the sleep doubles from MinSleep up to MaxSleep.
	// Zero MinSleep means 1 µs; MaxSleep below MinSleep means MinSleep.
	MinSleep, MaxSleep time.Duration
	// WriterCheck is how long a live ring may stay idle before Next checks
	// whether its writer still holds its lock (spec §6.4), and how often it
	// checks again. Zero disables the check.
	WriterCheck time.Duration
}

// Predefined wait strategies.
var (
	// BusySpin never gives up the CPU: for latency-critical consumers with
	// a core to spare.
	BusySpin = WaitStrategy{Spin: -1, WriterCheck: time.Second}
	// DefaultWait spins briefly, yields, then sleeps up to 1 ms: a few
	// microseconds of latency under load, near-zero CPU when idle.
	DefaultWait = WaitStrategy{Spin: 2000, Yield: 100, MinSleep: 5 * time.Microsecond,
		MaxSleep: time.Millisecond, WriterCheck: time.Second}
)

// SetWaitStrategy sets how Next waits. New readers use DefaultWait.
func (rd *Reader) SetWaitStrategy(w WaitStrategy) { rd.wait = &w }

// Next waits for the next event, copies its descriptor into d and advances.
// It returns nil on success; a *GapError if the reader was lapped, or if it
// asks a snapshot for an event overwritten before the capture (the reader
// does not move: call Reset or SetSeqno(gap.Oldest) to go on); io.EOF at the end
// of a snapshot; an error wrapping ErrWriterGone when a live ring stays idle
// and no process holds its writer lock; ErrClosed once the Ring is closed
// (also while Next waits); or ctx.Err() when ctx is done.
//
// A live ring whose file is changed under the reader gives a
// *RingChangedError (wrapping ErrRingChanged) naming the change: the file
// was truncated (the access to the vanished pages faulted; Next catches
// the fault, see [FaultError]), or, noticed while idle at the WriterCheck
// interval, replaced by another file, removed, or its header rewritten.
// The Ring is then closed and every later Next returns the same error.
func (rd *Reader) Next(ctx context.Context, d *Descriptor) (err error) {
	done := false
	defer rd.ring.guardFault(debug.SetPanicOnFault(true), &done, &err)
	err = rd.next(ctx, d)
	done = true
	return err
}

// next is Next without the fault guard.
func (rd *Reader) next(ctx context.Context, d *Descriptor) error {
	switch rd.TryNext(d) {
	case Ready:
		return nil
	case Gap:
		return rd.gapError()
	}
	if rd.ring.closed.Load() {
		return rd.ring.failure()
	}
	if rd.ring.snapshot {
		return io.EOF
	}
	w := rd.wait
	if w == nil {
		w = &DefaultWait
	}
	return w.wait(ctx, rd, d)
}

func (w *WaitStrategy) wait(ctx context.Context, rd *Reader, d *Descriptor) error {
	spin := w.Spin
	if spin < 0 {
		spin = math.MaxInt
	}
	done := ctx.Done()
	var nextCheck time.Time // zero until the first idle check point
	sleep := w.MinSleep
	if sleep <= 0 {
		sleep = time.Microsecond
	}
	var timer *time.Timer
	for i := 0; ; i++ {
		switch rd.TryNext(d) {
		case Ready:
			if timer != nil {
				timer.Stop()
			}
			return nil
		case Gap:
			return rd.gapError()
		}
		if rd.ring.closed.Load() {
			return rd.ring.failure()
		}
		// Spin phase: poll the clock and the context only every 1024 polls.
		if i < spin {
			cpuPause()
			if i&1023 != 1023 {
				continue
			}
		}
		select {
		case <-done:
			return ctx.Err()
		default:
		}
		if w.WriterCheck > 0 {
			now := time.Now()
			if nextCheck.IsZero() {
				nextCheck = now.Add(w.WriterCheck)
			} else if now.After(nextCheck) {
				nextCheck = now.Add(w.WriterCheck)
				if stop, err := rd.checkWriter(d); stop {
					return err
				}
			}
		}
		switch {
		case i < spin:
		case i-spin < w.Yield:
			runtime.Gosched()
		default:
			if timer == nil {
				timer = time.NewTimer(sleep)
			} else {
				timer.Reset(sleep)
			}
			select {
			case <-done:
				timer.Stop()
				return ctx.Err()
			case <-timer.C:
			}
			if sleep *= 2; sleep > w.MaxSleep {
				sleep = max(w.MaxSleep, w.MinSleep, time.Microsecond)
			}
		}
	}
}

// checkWriter reports done with an ErrWriterGone error if no process holds
// a flock on the ring file, or with a *RingChangedError if the writer
// lives but the path now names another file or the header was rewritten. A writer may commit its last event and exit
// between the failed poll and the lock check, so one more poll decides: an
// event found then is returned (done, nil error, reader advanced).
func (rd *Reader) checkWriter(d *Descriptor) (done bool, err error) {
	r := rd.ring
	pids, err := lockHolders(r.ino)
	if err != nil || len(pids) > 0 {
		// Alive, or cannot tell: keep waiting, unless the file at the
		// path is no longer the ring mapped (replaced, cut or rewritten).
		e := r.checkFile(rd.last)
		if e == nil {
			return false, nil
		}
		// Events committed before the change are still readable (the
		// mapping is intact): deliver them first.
		switch rd.TryNext(d) {
		case Ready:
			return true, nil
		case Gap:
			return true, rd.gapError()
		}
		r.fail(e)
		return true, r.failure()
	}
	switch rd.TryNext(d) {
	case Ready:
		return true, nil
	case Gap:
		return true, rd.gapError()
	}
	return true, fmt.Errorf("eventring: %s: waiting for seqno %d: %w", r.path, rd.last+1, ErrWriterGone)
}

// gapError describes the gap at the reader's position (or reports a Ring
// closed during the copy, which a concurrent Close can make look like a gap).
func (rd *Reader) gapError() error {
	r := rd.ring
	if r.closed.Load() {
		return r.failure()
	}
	exp := rd.last + 1
	// The slot of exp holds another event, so exp itself is lost.
	return &GapError{Expected: exp, Oldest: r.oldestFrom(exp + 1)}
}

// Item is one step of [Reader.Events]: an event's descriptor, or a gap.
// It is a value: keeping it keeps a copy of the descriptor (the payload
// still lives in the ring, see [Ring.Payload]).
type Item struct {
	// Descriptor is the event's descriptor; zero when Gap is set.
	Descriptor
	// Gap, when non-nil, reports events lost before the next item: the
	// sequence numbers in [Gap.Expected, Gap.Oldest) were overwritten
	// before they were read.
	Gap *GapError
}

// Events returns an iterator over the reader's events, waiting for each like
// [Reader.Next]. It yields every event as an [Item] holding a copy of its
// descriptor, with a nil error.
//
// A gap is not an error: it is yielded as an Item with Gap set (and a zero
// Descriptor), and reading goes on past the lost range, so the consumer must
// drop state built across it:
//
//   - on a live ring it continues from the newest event (Reset): a lapped
//     consumer is too slow, and catching up with the oldest survivor would
//     only be lapped again;
//   - on a snapshot, which never changes, it continues from the oldest
//     event still present (GapError.Oldest, see [Ring.OldestSeqno]). A
//     snapshot whose ring wrapped therefore yields one gap for the events
//     overwritten before the capture, then every event that survived.
//
// An error ends the iteration: it is yielded once, with a zero Item, when
// ctx is done (ctx.Err()), when a live ring's writer is gone (an error
// wrapping ErrWriterGone) or when the Ring is closed (ErrClosed). The end of
// a snapshot ends the iteration with no error.
func (rd *Reader) Events(ctx context.Context) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		var it Item
		for {
			err := rd.Next(ctx, &it.Descriptor)
			var gap *GapError
			switch {
			case err == nil:
				if !yield(it, nil) {
					return
				}
			case err == io.EOF:
				return
			case errors.As(err, &gap):
				if !yield(Item{Gap: gap}, nil) {
					return
				}
				if rd.ring.snapshot {
					rd.SetSeqno(gap.Oldest)
				} else if err := rd.resetGuarded(); err != nil {
					yield(Item{}, err)
					return
				}
			default:
				yield(Item{}, err)
				return
			}
		}
	}
}

// resetGuarded is Reset, catching a fault of a ring truncated under it.
func (rd *Reader) resetGuarded() (err error) {
	done := false
	defer rd.ring.guardFault(debug.SetPanicOnFault(true), &done, &err)
	rd.Reset()
	done = true
	return nil
}
