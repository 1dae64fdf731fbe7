package eventring

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/bits"
	"runtime/debug"
	"time"
)

// ErrWriterRestarted is wrapped by every *WriterRestartError.
var ErrWriterRestarted = errors.New("eventring: a new ring replaced the one followed")

// WriterRestartError is the notice a [Follower] gives, once, when it
// switches to a new ring at its path: the previous ring's writer exited
// (or its file was truncated, replaced or rewritten) and a new writer
// created a ring there. Sequence numbers start over in the new ring, so a
// consumer drops what it built from the previous ring, as after a gap;
// the next Next returns the new ring's first event still present (Oldest).
// It wraps ErrWriterRestarted (and not its Cause: a restart is not the end
// that ErrWriterGone means to a plain Reader's consumer).
type WriterRestartError struct {
	Path      string // the path followed
	LastSeqno uint64 // the last sequence number delivered from the previous ring (0: none)
	Cause     error  // why the previous ring ended: wrapping ErrWriterGone, or a *RingChangedError
	Oldest    uint64 // the sequence number Next delivers next, from the new ring
}

// Error names the path, how the previous ring ended and where reading goes on.
func (e *WriterRestartError) Error() string {
	return fmt.Sprintf("eventring: %s: new ring (the previous one ended after seqno %d: %v); reading it from seqno %d",
		e.Path, e.LastSeqno, e.Cause, e.Oldest)
}

// Unwrap returns ErrWriterRestarted.
func (e *WriterRestartError) Unwrap() error { return ErrWriterRestarted }

// FollowOptions tune a [Follower]. The zero value is valid.
type FollowOptions struct {
	// Open says how each ring is opened.
	Open OpenOptions
	// Wait is how Next waits for events within a ring (the zero value
	// means DefaultWait). Its WriterCheck, which notices a writer's exit
	// or a replaced file, must not be zero.
	Wait WaitStrategy
	// Poll is how often the path is looked at while no ring is readable
	// (missing, or the writer gone and no new ring yet); 0 means 100 ms.
	Poll time.Duration
	// Start creates and positions the reader of the ring found at the
	// path when Follow is called (nil: Ring.NewReader, the newest event of
	// a live ring). Rings found later are all new to the Follower and are
	// read from their oldest event still present.
	Start func(*Ring) (*Reader, error)
	// Check vets every ring before it is read (a schema check, say); its
	// error ends the following: Next returns it.
	Check func(*Ring) error
	// OnWait, if set, is called each time the Follower starts waiting for
	// a ring, with the reason: the path is missing (an error wrapping
	// fs.ErrNotExist) or not yet a whole ring, the writer exited (wrapping
	// ErrWriterGone), or the file changed (a *RingChangedError). It runs in
	// the goroutine calling Next.
	OnWait func(reason error)
}

// Follower reads the ring at a path across writer restarts: an
// [eventring.Source] that does not end when a daemon stops. When the file
// is missing it waits for it to appear; when the ring's writer exits, or
// the file is truncated, replaced or rewritten, it waits for a new ring at
// the path (a file with another inode, or a valid new header on the same
// one) and goes on with it, telling the consumer once through Next with a
// *WriterRestartError. Within one ring it behaves like a [Reader]: Next
// returns a *GapError when lapped (Seek, or the repositioning of
// [Follower.Reader], goes on), ctx.Err() when ctx is done, io.EOF at the
// end of a snapshot (a snapshot has no writer to restart).
//
// Payload copies the payload into a buffer of the Follower's (valid until
// the next Payload call) while catching the fault of a file cut under it,
// so that a consumer reading through the Source never faults; PayloadValid
// checks the current ring. Payload and PayloadValid answer for events of
// the current ring only.
//
// A Follower is used by one goroutine at a time.
type Follower struct {
	path string
	opts FollowOptions

	ring *Ring   // the current ring; nil before the first one
	rd   *Reader // its reader; nil while waiting
	ino  uint64  // the current ring's inode

	started bool  // a ring was read (a new one is a restart)
	cause   error // why the current ring ended, while waiting for the next
	last    uint64
	pending *WriterRestartError // the notice the next Next returns
	failed  error               // a fatal error (Check)

	buf []byte // Payload's copy
}

// Follow returns a Follower of the ring at path. It does not wait: if the
// path is missing, or holds no whole ring yet, the first Next waits for
// one. Other errors opening the file (not a ring, permissions, Check or
// Start failing) are returned.
func Follow(path string, opts FollowOptions) (*Follower, error) {
	if opts.Poll <= 0 {
		opts.Poll = 100 * time.Millisecond
	}
	if opts.Wait == (WaitStrategy{}) {
		opts.Wait = DefaultWait
	}
	if opts.Wait.WriterCheck <= 0 {
		return nil, fmt.Errorf("eventring: follow %s: the wait strategy's WriterCheck is 0: a writer's exit would never be noticed", path)
	}
	f := &Follower{path: path, opts: opts}
	r, err := OpenWithOptions(path, opts.Open)
	switch {
	case err == nil:
	case waitable(err):
		f.cause = err
		return f, nil
	default:
		return nil, err
	}
	if err := f.vet(r); err != nil {
		r.Close()
		return nil, err
	}
	rd := r.NewReader()
	if opts.Start != nil {
		if rd, err = opts.Start(r); err != nil {
			r.Close()
			return nil, err
		}
	}
	rd.SetWaitStrategy(opts.Wait)
	f.ring, f.rd, f.ino, f.started = r, rd, r.ino, true
	f.last = rd.LastSeqno()
	return f, nil
}

// waitable reports whether an error opening the path means "no ring there
// yet": the file is missing or shorter than a ring (being cut, or not yet
// written).
func waitable(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrFileTooShort)
}

func (f *Follower) vet(r *Ring) error {
	if f.opts.Check == nil {
		return nil
	}
	return f.opts.Check(r)
}

// Path returns the path followed.
func (f *Follower) Path() string { return f.path }

// Ring returns the ring being read (nil before the first one appeared).
// It changes when Next reports a *WriterRestartError.
func (f *Follower) Ring() *Ring { return f.ring }

// Reader returns the current ring's reader, for the repositioning
// helpers that need one (after a gap, say); nil while no ring is read.
// It changes when Next reports a *WriterRestartError.
func (f *Follower) Reader() *Reader { return f.rd }

// Next waits for the next event and copies its descriptor into d (see
// [Follower]). Between rings it waits (calling FollowOptions.OnWait),
// then returns the *WriterRestartError of the switch once; the call after
// it returns the new ring's first event.
func (f *Follower) Next(ctx context.Context, d *Descriptor) error {
	for {
		if f.failed != nil {
			return f.failed
		}
		if p := f.pending; p != nil {
			f.pending = nil
			return p
		}
		if f.rd == nil {
			if err := f.waitRing(ctx); err != nil {
				return err
			}
			continue
		}
		err := f.rd.Next(ctx, d)
		if err == nil {
			f.last = d.Seqno
			return nil
		}
		if !errors.Is(err, ErrWriterGone) && !errors.Is(err, ErrRingChanged) {
			return err // a gap, io.EOF, ctx, ErrClosed
		}
		f.cause, f.rd = err, nil
		f.notifyWait()
	}
}

// TryNext is [Reader.TryNext] on the current ring, catching the fault of
// a file cut under it: NotReady then, and while no ring is read (Next
// goes on from there).
func (f *Follower) TryNext(d *Descriptor) (res Result) {
	if f.rd == nil || f.pending != nil || f.failed != nil {
		return NotReady
	}
	var err error
	done := false
	defer f.ring.guardFault(debug.SetPanicOnFault(true), &done, &err)
	res = NotReady // what a fault returns
	r := f.rd.TryNext(d)
	if r == Ready {
		f.last = d.Seqno
	}
	done = true
	return r
}

func (f *Follower) notifyWait() {
	if f.opts.OnWait != nil {
		f.opts.OnWait(f.cause)
	}
}

// waitRing polls the path until it holds a new ring, and switches to it.
func (f *Follower) waitRing(ctx context.Context) error {
	if !f.started && f.ring == nil {
		f.notifyWait() // missing at Follow
	}
	var timer *time.Timer
	for {
		r, err := f.candidate()
		if err != nil {
			return err
		}
		if r != nil {
			return f.switchTo(r)
		}
		if timer == nil {
			timer = time.NewTimer(f.opts.Poll)
			defer timer.Stop()
		} else {
			timer.Reset(f.opts.Poll)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// candidate opens the path if it holds a ring that is new to the
// Follower: nil, nil if not (yet).
func (f *Follower) candidate() (*Ring, error) {
	r, err := OpenWithOptions(f.path, f.opts.Open)
	if err != nil {
		if waitable(err) {
			return nil, nil
		}
		return nil, err
	}
	// The previous ring stays mapped while waiting, so its inode number
	// cannot be reused: the same inode is the same file. After a writer's
	// exit that is the finished ring itself; after a change in place (cut,
	// header rewritten) the file now opens as a whole ring again, so it is
	// a new one.
	if f.ring != nil && r.ino == f.ino && errors.Is(f.cause, ErrWriterGone) {
		r.Close()
		return nil, nil
	}
	return r, nil
}

// switchTo makes r the current ring, read from its oldest event.
func (f *Follower) switchTo(r *Ring) error {
	if err := f.vet(r); err != nil {
		r.Close()
		f.failed = err
		return err
	}
	rd := r.NewReader()
	oldest := r.OldestSeqno()
	rd.SetSeqno(oldest)
	rd.SetWaitStrategy(f.opts.Wait)
	if f.ring != nil {
		f.ring.Close()
	}
	if f.started {
		f.pending = &WriterRestartError{Path: f.path, LastSeqno: f.last, Cause: f.cause, Oldest: oldest}
	}
	f.ring, f.rd, f.ino, f.started, f.cause = r, rd, r.ino, true, nil
	f.last = oldest - 1
	return nil
}

// Seek positions the current ring's reader so that the next Next returns
// event seqno (see [Reader.Seek]). While no ring is read it fails.
func (f *Follower) Seek(seqno uint64) error {
	if f.rd == nil {
		return fmt.Errorf("eventring: %s: no ring to seek in (waiting for a writer)", f.path)
	}
	f.rd.SetSeqno(seqno)
	return nil
}

// Payload copies the payload of d (an event of the current ring) into the
// Follower's buffer and returns it; nil if there is no ring or its file
// was cut (PayloadValid then reports false). The copy is overwritten by
// the next Payload call. Its array is 16-byte aligned, like a payload in
// the ring.
func (f *Follower) Payload(d *Descriptor) (p []byte) {
	if f.ring == nil {
		return nil
	}
	var err error
	done := false
	defer f.ring.guardFault(debug.SetPanicOnFault(true), &done, &err)
	v := f.ring.Payload(d)
	if cap(f.buf) < len(v) {
		f.buf = make([]byte, max(4096, 1<<bits.Len(uint(len(v)))))
	}
	copy(f.buf[:len(v)], v)
	done = true
	return f.buf[:len(v)]
}

// PayloadValid reports whether the payload of d, read by Payload, was
// intact (see [Ring.PayloadValid]); false if the ring's file was cut.
func (f *Follower) PayloadValid(d *Descriptor) (ok bool) {
	if f.ring == nil {
		return false
	}
	var err error
	done := false
	defer f.ring.guardFault(debug.SetPanicOnFault(true), &done, &err)
	ok = f.ring.PayloadValid(d)
	done = true
	return ok
}

// Close closes the current ring. The Follower is not used afterwards.
func (f *Follower) Close() error {
	f.rd = nil
	f.failed = ErrClosed
	if f.ring == nil {
		return nil
	}
	return f.ring.Close()
}

var _ Source = (*Follower)(nil)
