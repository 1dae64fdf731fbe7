package evcap

import (
	"context"

	"github.com/monadgo/events/eventring"
)

// Source reads a capture as an [eventring.Source], so that whatever reads
// a ring (the block builder and commit tracker, the commands) reads a
// capture the same way: the same descriptors, flow tags and payloads as
// the ring it was recorded from.
//
// Next returns io.EOF after the last event (for a file still being
// written: the last one committed so far; [File.Refresh] and Next go on),
// and a *eventring.GapError when sequence numbers jump: the capture lost
// events (a recorder that was lapped). As on a ring, the source then does
// not move until Seek(gap.Oldest). Format errors are *FormatError values.
//
// The payload of the event read last is valid until the next Next or Seek.
// A Source is not safe for concurrent use.
type Source struct {
	r    *Reader
	ev   Event
	last uint64 // seqno of the event delivered last; 0 before the first
	held bool   // ev was read but not delivered (a gap precedes it)
}

// NewSource returns a Source positioned at the capture's first event.
func (f *File) NewSource() *Source { return &Source{r: f.NewReader()} }

// Next reads the next event's descriptor into d (see [Source]).
func (s *Source) Next(ctx context.Context, d *eventring.Descriptor) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !s.held {
		if err := s.r.Next(&s.ev); err != nil {
			return err
		}
		s.held = true
	}
	if s.last != 0 && s.ev.Descriptor.Seqno > s.last+1 {
		return &eventring.GapError{Expected: s.last + 1, Oldest: s.ev.Descriptor.Seqno}
	}
	s.held = false
	*d = s.ev.Descriptor
	s.last = d.Seqno
	return nil
}

// Seek positions the source so that the next Next returns the event with
// sequence number seqno: after a gap, Seek(gap.Oldest) goes on with the
// event after the gap. The error wraps ErrNotFound when the capture does
// not hold seqno.
func (s *Source) Seek(seqno uint64) error {
	if s.held && seqno == s.ev.Descriptor.Seqno {
		s.last = seqno - 1 // the held event comes next
		return nil
	}
	if err := s.r.Seek(seqno); err != nil {
		return err
	}
	s.held = false
	s.last = seqno - 1
	return nil
}

// Payload returns the payload of d if d is the event read last, else nil
// (see [Reader.Payload]).
func (s *Source) Payload(d *eventring.Descriptor) []byte { return s.r.Payload(d) }

// PayloadValid reports whether d is the event read last, whose payload
// the source still holds.
func (s *Source) PayloadValid(d *eventring.Descriptor) bool { return s.r.PayloadValid(d) }

// File returns the capture the source reads.
func (s *Source) File() *File { return s.r.f }

var _ eventring.Source = (*Source)(nil)
