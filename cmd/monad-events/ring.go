package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/monadgo/events/archive"
	"github.com/monadgo/events/evcap"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// openedRing is a RING argument resolved and opened.
type openedRing struct {
	*eventring.Ring
	path     string              // resolved path of the file
	snapshot bool                // a decompressed zstd snapshot (no writer, never changes)
	follower *eventring.Follower // under --wait: the ring is its current one (wait.go)
}

// resolveRing turns a RING argument into a file path, with the library's
// rule (eventring.Open takes a path): an argument is a path, relative to the
// current directory. Only a bare name (no '/') that is not a file here is
// then looked up in the daemon's ring directory on the hugetlbfs mount (spec
// §6.2), so "watch monad-exec-events" finds the daemon's ring and "watch
// wrap.ring" the file replay just wrote here. No argument means the
// daemon's default execution ring.
func resolveRing(arg string) (string, error) {
	if arg == "" {
		p, err := eventring.ResolvePath(eventring.DefaultExecRingName)
		if err != nil {
			return "", &missingRingError{name: eventring.DefaultExecRingName, err: err}
		}
		if _, err := os.Stat(p); err != nil {
			return "", &missingRingError{name: eventring.DefaultExecRingName, path: p, err: err}
		}
		return p, nil
	}
	if strings.Contains(arg, "/") {
		return arg, nil
	}
	if _, err := os.Stat(arg); err == nil {
		return arg, nil
	}
	p, perr := eventring.ResolvePath(arg)
	if perr != nil {
		return "", &missingRingError{name: arg, err: perr}
	}
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", &missingRingError{name: arg, path: p, err: fs.ErrNotExist}
}

// missingRingError explains where a ring was looked for and what to do
// instead.
type missingRingError struct {
	name, path string // path: where it was looked for ("" without a hugetlbfs mount)
	err        error
}

func (e *missingRingError) Error() string {
	var msg string
	switch {
	case e.name == eventring.DefaultExecRingName && e.path != "":
		msg = fmt.Sprintf("no default execution ring: %s does not exist (is the daemon running with --exec-event-ring?)", e.path)
	case e.path != "":
		msg = fmt.Sprintf("no event ring %q: neither %s nor ./%s exists", e.name, e.path, e.name)
	default:
		// No ring directory: say why, without repeating the usual reason.
		why := "/proc/mounts lists no accessible hugetlbfs mount with 2 MiB pages"
		if !errors.Is(e.err, eventring.ErrNoHugetlbfs) {
			why = e.err.Error()
		}
		if e.name == eventring.DefaultExecRingName {
			msg = fmt.Sprintf("no default execution ring: it would be %s/%s on the 2 MiB hugetlbfs mount, but %s (is the daemon running with --exec-event-ring?)",
				eventring.DefaultRingDirName, e.name, why)
		} else {
			msg = fmt.Sprintf("no event ring %q: ./%s does not exist, and there is no ring directory to look in (%s)", e.name, e.name, why)
		}
	}
	return msg + "; to try the tool without a node, give a snapshot, e.g. monad-events blocks testdata/demo.snapshot.zst"
}

// defaultRingWhere says, for the usage text, where the default execution
// ring is on this machine and whether it exists.
func defaultRingWhere() string {
	p, err := eventring.ResolvePath(eventring.DefaultExecRingName)
	switch {
	case err != nil:
		return fmt.Sprintf("%s/%s on that mount (this machine has none)", eventring.DefaultRingDirName, eventring.DefaultExecRingName)
	case fileExists(p):
		return p
	default:
		return p + " (absent: no daemon is recording here)"
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (e *missingRingError) Unwrap() error { return e.err }

// openRing resolves and opens a RING argument (a live ring or a snapshot).
func openRing(e *env, arg string) (*openedRing, error) {
	path, err := resolveRing(arg)
	if err != nil {
		return nil, err
	}
	return openRingPath(e, path, eventring.OpenOptions{})
}

// openRingPath opens a resolved ring path.
func openRingPath(e *env, path string, opts eventring.OpenOptions) (*openedRing, error) {
	r, err := eventring.OpenWithOptions(path, opts)
	if err != nil {
		return nil, err
	}
	o := &openedRing{Ring: r, path: path, snapshot: r.IsSnapshot()}
	kind := "live ring"
	if o.snapshot {
		kind = "snapshot"
	}
	e.log.Debug("opened", "path", path, "kind", kind)
	return o, nil
}

// openExecRing opens a RING argument and refuses it unless it carries
// execution events of the schema compiled into this binary.
func openExecRing(e *env, arg string, opts eventring.OpenOptions) (*openedRing, error) {
	path, err := resolveRing(arg)
	if err != nil {
		return nil, err
	}
	return openExecRingPath(e, path, opts)
}

// openExecRingPath is openExecRing for a resolved path.
func openExecRingPath(e *env, path string, opts eventring.OpenOptions) (*openedRing, error) {
	o, err := openRingPath(e, path, opts)
	if err != nil {
		return nil, err
	}
	if err := o.CheckSchema(execevents.RingContentType, execevents.SchemaHash); err != nil {
		o.Close()
		return nil, err // names the file and both hashes
	}
	return o, nil
}

// stream reads the events of a ring or a capture file in order, waiting on
// a live ring, reporting and recovering from gaps, and ending at the end of
// a snapshot or capture (io.EOF), at the --end position, or when a live
// ring's writer is gone (an error wrapping eventring.ErrWriterGone).
type stream struct {
	ring    *openedRing // the ring read, or nil for a capture
	rd      *eventring.Reader
	capture *evcap.Source   // the capture read, or nil
	archive *archive.Source // the archive read, or nil
	src     eventring.Source
	onGap   func(from, to uint64) // lost sequence numbers [from, to]
	onIdle  func()                // called when a live stream has to wait

	end  *position // where to stop (nil: never)
	dec  execevents.Decoder
	done bool // the end position was delivered

	first        uint64 // seqno of the first event (0: a capture's first, whatever it is)
	archiveAfter uint64 // an archive is read from the block after this one
	last         uint64 // seqno of the last event returned
	n            uint64 // events returned, to check for cancellation now and then

	static    bool                // a ring file nobody writes: its end is the end (replay)
	follower  *eventring.Follower // under --wait (wait.go)
	onRestart func()              // a new ring replaced the one read (--wait)
	env       *env
}

// follow opens an execution RING argument (a live ring, a snapshot or a
// capture file) for watch and blocks: a reader positioned as --start says,
// stopping as --end says, and standard output buffered, flushed whenever
// the stream waits for a live writer; with wait, a ring followed through
// writer restarts (wait.go). The caller closes the stream and ends with
// s.finish.
func follow(e *env, arg, start, end string, wait bool) (s *stream, out *bufio.Writer, err error) {
	if wait {
		s, err = openFollowing(e, arg, start, end)
	} else {
		s, err = openStream(e, arg, start, end)
	}
	if err != nil {
		return nil, nil, err
	}
	out = bufio.NewWriterSize(e.stdout, 64<<10)
	s.onIdle = func() { out.Flush() }
	return s, out, nil
}

// openStream opens an execution RING argument (a live ring, a snapshot or
// a capture file) positioned as start says, ending as end says.
func openStream(e *env, arg, start, end string) (s *stream, err error) {
	from, err := parsePosition("--start", start)
	if err != nil {
		return nil, err
	}
	to, err := parsePosition("--end", end)
	if err != nil {
		return nil, err
	}
	path, err := resolveRing(arg)
	if err != nil {
		return nil, err
	}
	if isArchiveDir(path) {
		s, err = openArchiveStream(e, path, from)
	} else if isCapture, cerr := evcap.IsCapture(path); cerr != nil {
		return nil, cerr
	} else if isCapture {
		s, err = openCaptureStream(e, path, from)
	} else {
		s, err = openRingStream(e, path, from)
	}
	if err != nil {
		return nil, err
	}
	s.end, s.first = to, s.last+1
	return s, nil
}

// rewind puts the stream back at the event it started with, for another
// pass over a snapshot or capture.
func (s *stream) rewind() error {
	s.last, s.done = s.first-1, false
	if s.end != nil {
		s.end.startSeqno, s.end.number = 0, 0
	}
	if s.capture != nil {
		return s.capture.Seek(s.first)
	}
	if s.archive != nil {
		return s.archive.Refresh(s.archiveAfter)
	}
	s.rd.SetSeqno(s.first)
	return nil
}

// openRingStream opens an execution ring at path, positioned at from.
func openRingStream(e *env, path string, from *position) (*stream, error) {
	o, err := openExecRingPath(e, path, eventring.OpenOptions{})
	if err != nil {
		return nil, err
	}
	rd, first, err := positionReader(e, o, from)
	if err != nil {
		o.Close()
		return nil, err
	}
	return newStream(o, rd, first), nil
}

// Close releases the ring, capture or archive the stream reads.
func (s *stream) Close() error {
	switch {
	case s.ring != nil:
		return s.ring.Close()
	case s.archive != nil:
		s.archive.Close()
		return s.archive.Dir().Close()
	}
	return s.capture.File().Close()
}

// finish flushes out and turns the normal ends of a stream (the end of a
// snapshot, the exit of a live ring's writer) into success.
func (s *stream) finish(e *env, err error, out *bufio.Writer) error {
	ferr := out.Flush()
	switch {
	case errors.Is(err, eventring.ErrWriterGone):
		e.log.Info("writer exited; end of stream", "last seqno", s.last)
	case err != nil && !errors.Is(err, io.EOF):
		return err
	}
	return ferr
}

// newStream returns a stream whose next event is the reader's next one.
// start is that event's seqno (for gap reports).
func newStream(o *openedRing, rd *eventring.Reader, start uint64) *stream {
	w := eventring.DefaultWait
	// Notice a writer's exit quickly: a replay that ends, a daemon that
	// stops (the check is one read of /proc/locks).
	w.WriterCheck = 200 * time.Millisecond
	rd.SetWaitStrategy(w)
	return &stream{ring: o, rd: rd, src: rd, last: max(start, 1) - 1}
}

// next fills d with the next event.
func (s *stream) next(ctx context.Context, d *eventring.Descriptor) error {
	if s.done {
		return io.EOF
	}
	var err error
	switch {
	case s.capture != nil:
		err = s.nextCaptured(ctx, d)
	case s.archive != nil:
		if err = s.archive.Next(ctx, d); err == nil {
			s.last = d.Seqno
		}
	case s.follower != nil:
		err = s.nextFollowing(ctx, d)
	default:
		err = s.nextInRing(ctx, d)
	}
	if err == nil && s.end != nil {
		var stop bool
		if stop, s.done = s.end.reached(&s.dec, s.src, d); stop {
			return io.EOF
		}
	}
	return err
}

// nextCaptured fills d with the next event of a capture, reporting
// sequence-number jumps (events the recorder lost) as gaps.
func (s *stream) nextCaptured(ctx context.Context, d *eventring.Descriptor) error {
	for {
		err := s.capture.Next(ctx, d)
		var gap *eventring.GapError
		if !errors.As(err, &gap) {
			if err == nil {
				s.last = d.Seqno
			}
			return err
		}
		if s.onGap != nil {
			s.onGap(gap.Expected, gap.Oldest-1)
		}
		if err := s.capture.Seek(gap.Oldest); err != nil {
			return err
		}
	}
}

// nextInRing fills d with the next event of the ring.
func (s *stream) nextInRing(ctx context.Context, d *eventring.Descriptor) error {
	for {
		// A snapshot never waits, so look at ctx here (Ctrl-C in the middle
		// of a large one).
		if s.n++; s.n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		res := s.rd.TryNext(d)
		if res == eventring.NotReady {
			if s.ring.snapshot || s.static {
				return io.EOF
			}
			if s.onIdle != nil {
				s.onIdle()
			}
			err := s.rd.Next(ctx, d)
			var gap *eventring.GapError
			switch {
			case err == nil:
				res = eventring.Ready
			case errors.As(err, &gap):
				res = eventring.Gap
			default:
				return err
			}
		}
		if res == eventring.Ready {
			s.last = d.Seqno
			return s.ring.checkDescriptor(d)
		}
		if err := s.recover(); err != nil {
			return err
		}
	}
}

// recover repositions the reader after a gap and reports the lost range.
func (s *stream) recover() error {
	from := s.last + 1
	var resume uint64
	if s.ring.snapshot {
		// A snapshot never changes: the only legitimate gap is at the start
		// of one whose ring wrapped before the capture (the oldest events
		// are gone); go on with the oldest one still present (OldestSeqno
		// passes over slots that do not hold their own event).
		resume = s.ring.OldestSeqno()
		if from >= resume {
			return s.ring.wrongSlot(from)
		}
		s.rd.SetSeqno(resume)
	} else {
		resume = s.rd.Reset() // the newest event; next TryNext returns it
	}
	if resume <= from {
		// The slot of event `from` holds a later event, yet nothing past
		// `from` is committed: a writer racing far ahead of Reset (retry),
		// or, with no writer at all, a corrupt ring that would make us spin.
		if pids, err := s.ring.WriterPIDs(); err == nil && len(pids) == 0 {
			return fmt.Errorf("%s: corrupt ring: the slot of event %d holds a sequence number past the ring's newest event %d", s.ring.path, from, resume)
		}
		time.Sleep(time.Millisecond)
		s.rd.SetSeqno(from)
		return nil
	}
	if s.onGap != nil {
		s.onGap(from, resume-1)
	}
	s.last = resume - 1
	return nil
}

// scan reads every event of a ring that nobody writes (a snapshot, or a
// ring file whose writer is gone) into d, oldest first, calling each for
// it. It fails at the first event a sane writer cannot have produced: a
// slot holding another sequence number, or a payload outside the bytes
// written (an expired payload is normal). It ends at the newest event, or
// at a reservation whose writer died before committing it.
func (o *openedRing) scan(d *eventring.Descriptor, each func() error) error {
	rd := o.NewReader()
	rd.SetSeqno(o.OldestSeqno())
	for {
		switch rd.TryNext(d) {
		case eventring.Ready:
			if err := o.checkDescriptor(d); err != nil {
				return err
			}
			if err := each(); err != nil {
				return err
			}
		case eventring.Gap:
			return o.wrongSlot(rd.LastSeqno() + 1)
		default:
			return nil
		}
	}
}

func (o *openedRing) wrongSlot(seqno uint64) error {
	return fmt.Errorf("%s: corrupt ring: the slot of event %d holds another sequence number", o.path, seqno)
}

// absPath is for messages only.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// checkDescriptor returns an error if d's payload cannot be explained by a
// sane writer: a size or offset outside what was ever allocated. An expired
// payload (below the window start) is normal and not an error.
func (o *openedRing) checkDescriptor(d *eventring.Descriptor) error {
	if o.PayloadValid(d) {
		return nil
	}
	// The window start only grows: if the offset is at or above it now, it
	// was when PayloadValid looked, so the descriptor itself is impossible.
	if d.PayloadBufOffset >= o.Header().BufferWindowStart {
		return fmt.Errorf("%s: corrupt ring: event %d claims a %d-byte payload at offset %d, outside the payload bytes written",
			o.path, d.Seqno, d.PayloadSize, d.PayloadBufOffset)
	}
	return nil
}
