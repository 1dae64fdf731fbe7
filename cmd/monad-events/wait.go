package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"time"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// --wait: following a daemon through restarts. watch, blocks and record
// (and archive, through followRing) read the RING path with an
// eventring.Follower: while the file is missing, or after its writer has
// exited (or the file was cut or replaced), they wait for a new ring at the
// path and go on with it from its oldest event, printing one line on
// stderr each time they start waiting and each time a new ring is found.

// waitFlag defines --wait.
func waitFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("wait", false, "follow the ring through daemon restarts: wait while it is missing or has no writer, then go on with the new ring at the same path (from its oldest event)")
}

// waitPath resolves a RING argument that may not exist yet, with the
// rule of resolveRing: a path where it exists; otherwise a path as given
// (relative to the current directory, as eventring.Create takes it); no
// argument: the daemon's default execution ring.
func waitPath(arg string) (string, error) {
	if p, err := resolveRing(arg); err == nil {
		return p, nil
	}
	if arg == "" {
		p, err := eventring.ResolvePath(eventring.DefaultExecRingName)
		if err != nil {
			return "", &missingRingError{name: eventring.DefaultExecRingName, err: err}
		}
		return p, nil
	}
	return arg, nil
}

// followRing opens a RING argument as an eventring.Follower of execution
// rings of this binary's schema, for --wait. start creates and positions
// the reader of a ring present now (nil: the newest event); rings found
// later are read from their oldest event. The waits are reported on
// stderr. archive uses it too.
func followRing(e *env, arg string, opts eventring.OpenOptions, start func(*eventring.Ring) (*eventring.Reader, error)) (*eventring.Follower, error) {
	path, err := waitPath(arg)
	if err != nil {
		return nil, err
	}
	w := eventring.DefaultWait
	w.WriterCheck = 200 * time.Millisecond // as newStream: notice an exit quickly
	return eventring.Follow(path, eventring.FollowOptions{
		Open:  opts,
		Wait:  w,
		Start: start,
		Check: func(r *eventring.Ring) error {
			if r.IsSnapshot() {
				return fmt.Errorf("%s is a snapshot: --wait follows a live ring's path", path)
			}
			return r.CheckSchema(execevents.RingContentType, execevents.SchemaHash)
		},
		OnWait: func(reason error) { e.log.Warn("waiting for a ring: "+waitReason(reason), "path", path) },
	})
}

// waitReason says in a few words why a follower waits.
func waitReason(err error) string {
	var rc *eventring.RingChangedError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "the ring file does not exist yet"
	case errors.Is(err, eventring.ErrFileTooShort):
		return "the file is not a whole ring yet"
	case errors.Is(err, eventring.ErrWriterGone):
		return "its writer exited"
	case errors.As(err, &rc):
		return rc.Reason.String()
	}
	return err.Error()
}

// restartNotice logs the switch to a new ring.
func restartNotice(e *env, rs *eventring.WriterRestartError) {
	e.log.Warn("new ring: reading it from its oldest event (sequence numbers start over)",
		"path", rs.Path, "previous last seqno", rs.LastSeqno, "first seqno", rs.Oldest)
}

// openFollowing opens the stream of watch and blocks under --wait: a
// stream over a Follower of the RING path, positioned as start says in a
// ring present now and ending as end says.
func openFollowing(e *env, arg, start, end string) (*stream, error) {
	from, err := parsePosition("--start", start)
	if err != nil {
		return nil, err
	}
	to, err := parsePosition("--end", end)
	if err != nil {
		return nil, err
	}
	f, err := followRing(e, arg, eventring.OpenOptions{}, func(r *eventring.Ring) (*eventring.Reader, error) {
		rd, _, err := positionReader(e, &openedRing{Ring: r, path: r.Path(), snapshot: r.IsSnapshot()}, from)
		return rd, err
	})
	if err != nil {
		return nil, err
	}
	o := &openedRing{Ring: f.Ring(), path: f.Path(), follower: f}
	s := &stream{ring: o, rd: f.Reader(), src: f, follower: f, env: e, end: to}
	if rd := f.Reader(); rd != nil {
		s.last = rd.LastSeqno()
	}
	s.first = s.last + 1
	return s, nil
}

// nextFollowing is stream.next over a Follower: a restart notice resets
// the stream (and the command, through onRestart) and reading goes on.
func (s *stream) nextFollowing(ctx context.Context, d *eventring.Descriptor) error {
	f := s.follower
	for {
		res := f.TryNext(d)
		if res != eventring.Ready {
			if s.onIdle != nil {
				s.onIdle()
			}
			err := f.Next(ctx, d)
			var rs *eventring.WriterRestartError
			var gap *eventring.GapError
			switch {
			case err == nil:
			case errors.As(err, &rs):
				s.sync()
				s.last = rs.Oldest - 1
				restartNotice(s.env, rs)
				if s.onRestart != nil {
					s.onRestart()
				}
				continue
			case errors.As(err, &gap):
				s.sync()
				if err := s.recover(); err != nil {
					return err
				}
				continue
			default:
				return err
			}
		}
		s.sync()
		s.last = d.Seqno
		return s.ring.checkDescriptor(d)
	}
}

// sync points the stream at the follower's current ring.
func (s *stream) sync() {
	if r := s.follower.Ring(); r != s.ring.Ring {
		s.ring.Ring, s.rd = r, s.follower.Reader()
	}
}

// Payload, PayloadValid and CopyPayload read through the Follower under
// --wait (its copies survive a file cut under them), else from the ring.

func (o *openedRing) Payload(d *eventring.Descriptor) []byte {
	if o.follower != nil {
		return o.follower.Payload(d)
	}
	return o.Ring.Payload(d)
}

func (o *openedRing) PayloadValid(d *eventring.Descriptor) bool {
	if o.follower != nil {
		return o.follower.PayloadValid(d)
	}
	return o.Ring.PayloadValid(d)
}

func (o *openedRing) CopyPayload(d *eventring.Descriptor, dst []byte) ([]byte, error) {
	if o.follower == nil {
		return o.Ring.CopyPayload(d, dst)
	}
	p := append(dst[:0], o.follower.Payload(d)...)
	if !o.follower.PayloadValid(d) {
		return dst[:0], &eventring.ExpiredError{Seqno: d.Seqno, EventType: d.EventType, Offset: d.PayloadBufOffset,
			Size: d.PayloadSize, Err: eventring.ErrPayloadExpired}
	}
	return p, nil
}

// Close closes the ring, or the Follower under --wait.
func (o *openedRing) Close() error {
	if o.follower != nil {
		return o.follower.Close()
	}
	return o.Ring.Close()
}
