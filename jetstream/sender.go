package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/semaphore"
)

// msgKind says which counter an acknowledged message goes to.
type msgKind uint8

const (
	kindBlockProposed msgKind = iota
	kindBlockFinalized
	kindCommitMsg
	kindEventMsg
)

// outMsg is a rendered message on its way to the stream.
type outMsg struct {
	msg    *nats.Msg
	weight int64 // bytes held in the queue semaphore until acked or dropped
	kind   msgKind
	number uint64 // block number (block and commit messages)
	// ordered: a subject whose consumers rely on every number once and in
	// order (block.finalized, commit.finalized, commit.verified). Such a
	// message is sent only when everything before it is acknowledged, and
	// is retried until it is, so its subject never has a hole nor a
	// reordering, whatever fails.
	ordered bool
}

// pending is an asynchronous publish awaiting its ack.
type pending struct {
	m        *outMsg
	fut      natsjs.PubAckFuture
	deadline time.Time
}

// errAckTimeout: no ack within Options.AckTimeout.
var errAckTimeout = errors.New("no ack within the ack timeout")

// sender publishes the queued messages in order: asynchronously with at
// most MaxPending acks outstanding, ordered messages synchronously. Any
// failure makes it publish again, one by one and in order, every message
// not yet acknowledged, retrying each (with backoff) until the stream acks
// it: at-least-once, and the msg-id de-duplication makes the copies that
// had been stored after all disappear.
type sender struct {
	js     natsjs.JetStream
	opts   *Options
	log    *slog.Logger
	c      *counters
	sem    *semaphore.Weighted
	window []pending

	failing   bool      // the last attempt failed (for log rate limiting)
	lastWarn  time.Time // when a publish failure was last logged
	failCount int       // failures since the last success
}

func (s *sender) run(ctx context.Context, q <-chan *outMsg) error {
	for {
		var head <-chan *natsjs.PubAck
		var headErr <-chan error
		if len(s.window) > 0 {
			head, headErr = s.window[0].fut.Ok(), s.window[0].fut.Err()
		}
		select {
		case m, ok := <-q:
			if !ok {
				return s.drain(ctx)
			}
			if err := s.send(ctx, m); err != nil {
				return err
			}
		case ack := <-head:
			s.acked(s.window[0].m, ack)
			s.pop()
		case err := <-headErr:
			if err := s.recover(ctx, err); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *sender) pop() {
	s.window[0] = pending{}
	s.window = s.window[1:]
	s.c.pending.Store(uint64(len(s.window)))
}

// send publishes m: asynchronously, or, when ordered, alone after every
// earlier message was acknowledged.
func (s *sender) send(ctx context.Context, m *outMsg) error {
	if s.tooLarge(m) {
		return nil
	}
	if m.ordered {
		if err := s.drain(ctx); err != nil {
			return err
		}
		return s.publishSync(ctx, m)
	}
	for len(s.window) >= s.opts.MaxPending {
		if err := s.settleHead(ctx); err != nil {
			return err
		}
	}
	fut, err := s.js.PublishMsgAsync(m.msg)
	if err != nil {
		// Not even sent (disconnected, connection closed): publish it
		// with the ones outstanding, in order.
		s.window = append(s.window, pending{m: m})
		return s.recover(ctx, err)
	}
	s.window = append(s.window, pending{m: m, fut: fut, deadline: time.Now().Add(s.opts.AckTimeout)})
	s.c.pending.Store(uint64(len(s.window)))
	return nil
}

// drain waits until every outstanding publish is acknowledged.
func (s *sender) drain(ctx context.Context) error {
	for len(s.window) > 0 {
		if err := s.settleHead(ctx); err != nil {
			return err
		}
	}
	return nil
}

// settleHead waits for the oldest outstanding publish.
func (s *sender) settleHead(ctx context.Context) error {
	h := s.window[0]
	timer := time.NewTimer(time.Until(h.deadline))
	defer timer.Stop()
	select {
	case ack := <-h.fut.Ok():
		s.acked(h.m, ack)
		s.pop()
		return nil
	case err := <-h.fut.Err():
		return s.recover(ctx, err)
	case <-timer.C:
		return s.recover(ctx, errAckTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// recover publishes every outstanding message again, in order, each
// synchronously until acknowledged. Those the stream had stored after all
// come back as duplicates.
func (s *sender) recover(ctx context.Context, cause error) error {
	s.failed(s.window[0].m, cause)
	msgs := make([]*outMsg, len(s.window))
	for i, p := range s.window {
		msgs[i] = p.m
	}
	s.window = s.window[:0]
	s.c.pending.Store(0)
	for _, m := range msgs {
		if err := s.publishSync(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// publishSync publishes m and waits for its ack, retrying with backoff
// (100 ms doubling to 5 s) until the stream acknowledges it or ctx ends.
func (s *sender) publishSync(ctx context.Context, m *outMsg) error {
	backoff := 100 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, s.opts.AckTimeout)
		ack, err := s.js.PublishMsg(actx, m.msg)
		cancel()
		if err == nil {
			s.acked(m, ack)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, nats.ErrMaxPayload) && s.tooLarge(m) {
			return nil
		}
		s.failed(m, err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// tooLarge drops m, reporting it, if the server would refuse its size.
func (s *sender) tooLarge(m *outMsg) bool {
	nc := s.js.Conn()
	max := nc.MaxPayload()
	size := len(m.msg.Data)
	for k, v := range m.msg.Header {
		size += len(k) + 4
		for _, x := range v {
			size += len(x) + 2
		}
	}
	if max <= 0 || int64(size) <= max {
		return false
	}
	err := &TooLargeError{Subject: m.msg.Subject, MsgID: m.msg.Header.Get(natsjs.MsgIDHeader), Size: size, Max: max}
	s.log.Error("jetstream: message dropped", "err", err)
	s.c.tooLarge.Add(1)
	s.release(m)
	return true
}

func (s *sender) acked(m *outMsg, ack *natsjs.PubAck) {
	if s.failing {
		s.log.Info("jetstream: publishing again", "failed attempts", s.failCount)
		s.failing, s.failCount = false, 0
	}
	if ack.Duplicate {
		s.c.duplicates.Add(1)
	} else {
		s.c.messages.Add(1)
		switch m.kind {
		case kindBlockProposed:
			s.c.blocksProposed.Add(1)
		case kindBlockFinalized:
			s.c.blocksFinalized.Add(1)
		case kindCommitMsg:
			s.c.commits.Add(1)
		case kindEventMsg:
			s.c.events.Add(1)
		}
	}
	if m.kind == kindBlockFinalized {
		s.c.lastFinalized.Store(m.number)
	}
	s.c.bytes.Add(uint64(len(m.msg.Data)))
	s.release(m)
}

func (s *sender) release(m *outMsg) {
	if m.weight > 0 {
		s.sem.Release(m.weight)
		s.c.queuedBy.Add(^uint64(m.weight - 1))
		m.weight = 0
	}
}

// failed counts a failed attempt and logs it: the first of a series at
// once, then at most every 10 seconds.
func (s *sender) failed(m *outMsg, err error) {
	s.c.publishErrors.Add(1)
	s.failCount++
	if !s.failing || time.Since(s.lastWarn) >= 10*time.Second {
		s.log.Warn("jetstream: publish failed; retrying until the stream acknowledges",
			"subject", m.msg.Subject, "msg id", m.msg.Header.Get(natsjs.MsgIDHeader),
			"failed attempts", s.failCount, "err", fmt.Sprint(err))
		s.lastWarn = time.Now()
	}
	s.failing = true
}
