package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/semaphore"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/ethconv"
	"github.com/monadgo/events/eventjson"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// Commit is the body of a commit-state message (<prefix>.commit.<state>):
// the block's new state, its identity, and on Finalized the competing
// proposals the finalization abandoned. It is the object `monad-events
// blocks --json` prints for a Voted, Finalized or Verified update, with
// the block's hash added.
type Commit struct {
	CommitState string        `json:"commitState"` // "Proposed", "Voted", "Finalized" or "Verified"
	BlockID     common.Hash   `json:"blockId"`
	BlockNumber uint64        `json:"blockNumber"`
	BlockHash   common.Hash   `json:"blockHash"`
	Abandoned   []common.Hash `json:"abandoned"` // block ids; never null
}

// Publisher publishes what a ring's executed blocks go through to a
// JetStream stream (see the package documentation for subjects, bodies,
// ids and guarantees). Create it with [NewPublisher]; Run it on a ring.
// Stats may be called concurrently with Run; Run must not run twice at
// once.
type Publisher struct {
	js   natsjs.JetStream
	opts Options
	log  *slog.Logger
	c    counters
	mu   sync.Mutex // held by Run
}

// NewPublisher returns a Publisher that publishes with js. Invalid
// options give an *OptionError.
func NewPublisher(js natsjs.JetStream, opts Options) (*Publisher, error) {
	if js == nil {
		return nil, &OptionError{Field: "js", Msg: "nil JetStream"}
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Publisher{js: js, opts: o, log: o.Logger}, nil
}

// Run publishes ring with a new Publisher: NewPublisher(js, opts), then
// its Run.
func Run(ctx context.Context, ring *eventring.Ring, js natsjs.JetStream, opts Options) error {
	p, err := NewPublisher(js, opts)
	if err != nil {
		return err
	}
	return p.Run(ctx, ring)
}

// Stats returns the publisher's counters.
func (p *Publisher) Stats() Stats { return p.c.snapshot() }

// Options returns the options in force (defaults filled in).
func (p *Publisher) Options() Options { return p.opts }

// Run sets up the stream, finds where the previous run stopped, and
// publishes what the ring's blocks go through until ctx is done, a live
// ring's writer is gone, or a snapshot ends.
//
// It returns ctx.Err() when ctx ends (after waiting at most DrainTimeout
// for outstanding acks; what was not acknowledged is published again by
// the next run); nil at the end of a snapshot and an error wrapping
// eventring.ErrWriterGone when a live ring's writer exited, both after
// everything read was acknowledged; a *StreamError when the stream cannot
// be set up or read; a *eventring.SchemaError for a ring of another
// schema; eventring.ErrClosed when the ring is closed meanwhile. A NATS
// outage is no error: publishing is retried until the stream acknowledges
// (see the package documentation for what the reader does meanwhile). The
// caller keeps ownership of ring.
func (p *Publisher) Run(ctx context.Context, ring *eventring.Ring) error {
	if !p.mu.TryLock() {
		return errors.New("jetstream: Publisher.Run is already running")
	}
	defer p.mu.Unlock()
	if err := ring.CheckSchema(execevents.RingContentType, execevents.SchemaHash); err != nil {
		return err
	}
	var resume resumeState
	err := p.retryUnavailable(ctx, func() error {
		stream, err := p.setupStream(ctx)
		if err != nil {
			return err
		}
		sctx, cancel := context.WithTimeout(ctx, p.opts.AckTimeout)
		defer cancel()
		resume, err = lastPublished(sctx, stream, p.opts.Prefix)
		if err != nil {
			return &StreamError{Stream: p.opts.Stream, Op: "resume", Err: err}
		}
		return nil
	})
	if err != nil {
		return err
	}

	rd := ring.NewReader()
	r := newReader(p, rd, resume)
	r.position()

	q := make(chan *outMsg, 1024)
	s := &sender{js: p.js, opts: &p.opts, log: p.log, c: &p.c, sem: r.sem}
	sendCtx, cancelSend := context.WithCancel(ctx)
	defer cancelSend()
	sent := make(chan error, 1)
	go func() { sent <- s.run(sendCtx, q) }()

	readErr := r.run(ctx, q)
	close(q)
	var sendErr error
	if ctx.Err() == nil {
		select {
		case sendErr = <-sent:
		case <-ctx.Done():
		}
	}
	if ctx.Err() != nil {
		// Give what is outstanding a last chance to be acknowledged.
		cancelSend()
		<-sent
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.opts.DrainTimeout)
		sendErr = s.drain(dctx)
		cancel()
		p.log.Info("jetstream: publisher stopped", "last seqno", rd.LastSeqno(), "unacknowledged", len(s.window), "drain", errString(sendErr))
		return ctx.Err()
	}
	if sendErr != nil {
		return sendErr
	}
	st := p.Stats()
	p.log.Info("jetstream: publisher done", "reason", errString(readErr), "messages", st.Messages, "duplicates", st.Duplicates, "last finalized", st.LastFinalized)
	return readErr
}

// retryUnavailable runs f until it succeeds, fails for another reason
// than NATS being unreachable (a JetStream API error, a foreign message),
// or ctx ends; it logs each failure and waits between attempts (100 ms
// doubling to 5 s). A server that is down when the publisher starts only
// delays it.
func (p *Publisher) retryUnavailable(ctx context.Context, f func() error) error {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || !unavailable(err) || ctx.Err() != nil {
			if err != nil && ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		p.log.Warn("jetstream: NATS unavailable; retrying", "attempt", attempt, "err", err)
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

// unavailable reports whether err means that NATS or JetStream did not
// answer (as opposed to answering with an error).
func unavailable(err error) bool {
	var api *natsjs.APIError
	if errors.As(err, &api) || errors.Is(err, ErrForeignMessage) || errors.Is(err, nats.ErrConnectionClosed) {
		return false
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, natsjs.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrDisconnected) || errors.Is(err, nats.ErrReconnectBufExceeded) ||
		errors.Is(err, natsjs.ErrJetStreamNotEnabled)
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// setupStream creates or updates the stream (or, with NoStreamSetup, finds
// it and checks that it captures the prefix).
func (p *Publisher) setupStream(ctx context.Context) (natsjs.Stream, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.AckTimeout)
	defer cancel()
	if p.opts.NoStreamSetup {
		s, err := p.js.Stream(ctx, p.opts.Stream)
		if err != nil {
			return nil, &StreamError{Stream: p.opts.Stream, Op: "lookup", Err: err}
		}
		probe := BlockSubject(p.opts.Prefix, blocks.CommitFinalized)
		for _, pat := range s.CachedInfo().Config.Subjects {
			if subjectMatches(pat, probe) {
				return s, nil
			}
		}
		return nil, &StreamError{Stream: p.opts.Stream, Op: "lookup", Err: fmt.Errorf("its subjects %v do not capture %s.>", s.CachedInfo().Config.Subjects, p.opts.Prefix)}
	}
	s, err := p.js.CreateOrUpdateStream(ctx, p.opts.StreamConfig())
	if err != nil {
		return nil, &StreamError{Stream: p.opts.Stream, Op: "create", Err: err}
	}
	return s, nil
}

// subjectMatches reports whether subject matches the pattern pat with the
// NATS wildcards * (one token) and > (the rest).
func subjectMatches(pat, subject string) bool {
	pt, st := splitTokens(pat), splitTokens(subject)
	for i, t := range pt {
		if t == ">" {
			return len(st) > i
		}
		if i >= len(st) || (t != "*" && t != st[i]) {
			return false
		}
	}
	return len(pt) == len(st)
}

func splitTokens(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// reader is the ring side of a run: it reads events, tracks blocks,
// renders messages and queues them.
type reader struct {
	p    *Publisher
	rd   *eventring.Reader
	ring *eventring.Ring
	tr   *blocks.Tracker
	sem  *semaphore.Weighted
	log  *slog.Logger

	// last is, per ordered subject, the block of the last message queued
	// (initially: found in the stream).
	last map[string]blockRef
	// verifyFrom is, while commit.verified has no message, the block whose
	// verification is due first, so that verifications skipped before the
	// first one published are reported too: the first block of
	// block.finalized in the stream (resumeState.verifyFrom), else the
	// first one this run queues there; nil before.
	verifyFrom *blockRef
	// floor: proposals numbered at or below it are settled (finalized
	// before this run, or before a gap), so their proposed and voted
	// messages are not queued again.
	floor uint64
	// reported is, per ordered subject, the highest number reported lost:
	// each number is reported (and counted) once, though the same gap is
	// seen again when the next number is published (or its rendering
	// failed and the subject's last did not move).
	reported map[string]uint64
	// proven is, per ordered subject, the highest number the ring proved
	// lost that is not reported yet: a finalization (or verification) of a
	// block whose proposal the tracker does not hold, or one the reader
	// was positioned past. The report waits while the reader has events
	// to catch up with, so that a gap is reported in one piece, with the
	// next number published; it comes at the latest once the reader has
	// read everything the writer wrote (an idle writer) and when the run
	// ends.
	proven map[string]uint64

	subjFinalizedBlock, subjFinalizedCommit, subjVerified string

	rendered map[execevents.Bytes32]*renderedBlock

	events  [execevents.EventTypeCount]bool // raw event types to publish
	names   eventNamer
	enc     eventjson.Encoder // raw event bodies
	nEvents uint64
}

func newReader(p *Publisher, rd *eventring.Reader, resume resumeState) *reader {
	r := &reader{
		p: p, rd: rd, ring: rd.Ring(), tr: blocks.NewTracker(p.opts.Builder),
		sem: semaphore.NewWeighted(p.opts.QueueBytes), log: p.log, last: resume.last, verifyFrom: resume.verifyFrom,
		rendered:            make(map[execevents.Bytes32]*renderedBlock),
		reported:            make(map[string]uint64),
		proven:              make(map[string]uint64),
		subjFinalizedBlock:  BlockSubject(p.opts.Prefix, blocks.CommitFinalized),
		subjFinalizedCommit: CommitSubject(p.opts.Prefix, blocks.CommitFinalized),
		subjVerified:        CommitSubject(p.opts.Prefix, blocks.CommitVerified),
	}
	r.names.ring = r.ring
	if p.opts.Events {
		for i := range r.events {
			r.events[i] = len(p.opts.EventTypes) == 0
		}
		for _, t := range p.opts.EventTypes {
			r.events[t] = true
		}
	}
	return r
}

// position points the reader where this run starts (see the package
// documentation, "Resuming").
func (r *reader) position() {
	var refs []blockRef
	for _, ref := range r.last {
		refs = append(refs, ref)
	}
	if r.verifyFrom != nil {
		refs = append(refs, *r.verifyFrom)
	}
	r.floor = r.finalizedFloor()
	switch {
	case len(refs) > 0:
		if ref, ok := resumeAt(r.rd, refs); ok {
			r.log.Info("jetstream: resuming at the block start of the oldest block last published (or first due a verification)",
				"block", ref.Number, "id", ref.ID, "seqno", r.rd.LastSeqno()+1, "last finalized", r.last[r.subjFinalizedBlock].Number)
			// A later block than the oldest due (whose proposal is
			// gone): the verifications skipped before it prove losses.
			r.proveSkipped()
			return
		}
		found := rewindOldest(r.rd)
		r.log.Warn("jetstream: the blocks last published are no longer in the ring; resuming at its oldest block: the finalized and verified blocks in between are lost (reported once the ring proves them finalized or verified)",
			"last finalized", r.last[r.subjFinalizedBlock].Number, "found block start", found, "seqno", r.rd.LastSeqno()+1)
		r.proveSkipped()
	case r.p.opts.Backfill || r.ring.IsSnapshot():
		found := rewindOldest(r.rd)
		r.log.Info("jetstream: nothing published yet; starting at the oldest block in the ring", "found block start", found, "seqno", r.rd.LastSeqno()+1)
	default:
		found := blocks.RewindToLatestBlockStart(r.rd) == nil
		r.log.Info("jetstream: nothing published yet; starting at the newest block start", "found block start", found, "seqno", r.rd.LastSeqno()+1)
	}
}

// finalizedFloor is the lowest number the finalized subjects are at.
func (r *reader) finalizedFloor() uint64 {
	a, okA := r.last[r.subjFinalizedBlock]
	b, okB := r.last[r.subjFinalizedCommit]
	switch {
	case okA && okB:
		return min(a.Number, b.Number)
	case okA:
		return a.Number
	case okB:
		return b.Number
	}
	return 0
}

// run reads until the ring ends or ctx is done.
func (r *reader) run(ctx context.Context, q chan<- *outMsg) error {
	defer r.reportProven() // losses proven before the end
	var d eventring.Descriptor
	for {
		if err := r.rd.Next(ctx, &d); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			var gap *eventring.GapError
			if !errors.As(err, &gap) {
				return err
			}
			r.onGap(gap)
			continue
		}
		r.nEvents++
		r.p.c.eventsRead.Add(1)
		r.p.c.lastSeqno.Store(d.Seqno)
		if r.nEvents&4095 == 0 {
			r.sampleLag()
		}
		if t := int(d.EventType); t < len(r.events) && r.events[t] {
			if err := r.emit(ctx, q, r.eventMsg(&d)); err != nil {
				return err
			}
		}
		ups, perr := r.tr.Process(r.ring, &d)
		settled := false // the event moved a tracked proposal to its state
		for _, u := range ups {
			settled = settled || u.State == blocks.CommitFinalized && d.EventType == uint16(execevents.EventTypeBlockFinalized) ||
				u.State == blocks.CommitVerified && d.EventType == uint16(execevents.EventTypeBlockVerified)
			msgs, err := r.updateMsgs(u)
			if err != nil {
				r.notice(err)
			}
			for _, m := range msgs {
				if err := r.emit(ctx, q, m); err != nil {
					return err
				}
			}
		}
		if perr != nil {
			r.notice(perr)
		}
		if !settled {
			r.proveByEvent(&d)
		}
		if len(r.proven) > 0 && r.rd.LastSeqno() >= r.ring.LastSeqno() {
			r.reportProven() // caught up with the writer: report now
		}
	}
}

// proveByEvent notes the numbers a BLOCK_FINALIZED or BLOCK_VERIFIED event
// that settled no tracked proposal proves lost. The tracker does not hold
// the proposal (its BLOCK_START was overwritten before this run or a gap
// read it, or the block was dropped or evicted) and never will: it was
// executed before its finalization, which the reader has now passed for
// good. Consensus settles numbers in increasing order, so every number
// from the one due on the subject up to the event's will never be
// published there either.
func (r *reader) proveByEvent(d *eventring.Descriptor) {
	var subj string
	switch execevents.EventType(d.EventType) {
	case execevents.EventTypeBlockFinalized:
		subj = r.subjFinalizedBlock
	case execevents.EventTypeBlockVerified:
		subj = r.subjVerified
	default:
		return
	}
	if n, err := blocks.BlockNumberOf(r.ring, d); err == nil {
		r.prove(subj, n)
	}
}

// proveSkipped notes the numbers proven lost by the BLOCK_FINALIZED and
// BLOCK_VERIFIED events the ring holds before the reader's new position
// (after repositioning at the oldest block, on start or after a gap): the
// reader will not read them, nor the proposals they settle, which came
// before them. The newest of each kind says it all.
func (r *reader) proveSkipped() {
	var d eventring.Descriptor
	var fin, ver bool
	for s := r.rd.LastSeqno(); s >= 1 && !(fin && ver) && r.ring.TryCopy(s, &d); s-- {
		var subj string
		switch execevents.EventType(d.EventType) {
		case execevents.EventTypeBlockFinalized:
			if fin {
				continue
			}
			subj = r.subjFinalizedBlock
		case execevents.EventTypeBlockVerified:
			if ver {
				continue
			}
			subj = r.subjVerified
		default:
			continue
		}
		n, err := blocks.BlockNumberOf(r.ring, &d)
		if err != nil {
			continue // payload overwritten: an older one may still say it
		}
		r.prove(subj, n)
		fin = fin || subj == r.subjFinalizedBlock
		ver = ver || subj == r.subjVerified
	}
}

func (r *reader) sampleLag() {
	if last, at := r.ring.LastSeqno(), r.rd.LastSeqno(); last > at {
		r.p.c.lag.Store(last - at)
	} else {
		r.p.c.lag.Store(0)
	}
}

// onGap handles the ring lapping the reader: the tracker starts afresh at
// the oldest block the ring still holds (away from its tail), and blocks
// at or below the last finalized one queued are settled.
func (r *reader) onGap(gap *eventring.GapError) {
	r.p.c.gaps.Add(1)
	r.p.c.lostEvents.Add(gap.Lost())
	r.tr.Reset()
	r.names.reset()
	clear(r.rendered)
	r.floor = r.finalizedFloor()
	found := rewindOldest(r.rd)
	r.log.Warn("jetstream: the ring lapped the publisher (NATS too slow or down for too long): events lost; resuming at the oldest block the ring holds",
		"err", gap, "lost events", gap.Lost(), "found block start", found, "resume seqno", r.rd.LastSeqno()+1,
		"last finalized queued", r.last[r.subjFinalizedBlock].Number)
	r.proveSkipped()
}

// notice reports a condition block reassembly went past.
func (r *reader) notice(err error) {
	r.p.c.notices.Add(1)
	var ce *blocks.CommitError
	var lost *LostBlocksError
	switch {
	case errors.As(err, &lost) && lost.State == blocks.CommitVerified:
		r.log.Error("jetstream: commit.verified messages lost", "err", err)
	case errors.As(err, &lost):
		r.log.Error("jetstream: finalized blocks lost", "err", err)
	case errors.As(err, &ce):
		r.log.Warn("jetstream: consensus event ignored", "err", err)
	default:
		r.log.Warn("jetstream: block not published", "err", err)
	}
}

// emit queues m, waiting while the queue is full. The wait is the
// reader's lag: it is logged when long.
func (r *reader) emit(ctx context.Context, q chan<- *outMsg, m *outMsg) error {
	m.weight = min(int64(len(m.msg.Data))+256, r.p.opts.QueueBytes)
	if !r.sem.TryAcquire(m.weight) {
		r.p.c.stalls.Add(1)
		r.sampleLag()
		start := time.Now()
		if err := r.sem.Acquire(ctx, m.weight); err != nil {
			return err
		}
		if d := time.Since(start); d >= 2*time.Second {
			r.sampleLag()
			r.log.Warn("jetstream: the ring reader waited for NATS", "waited", d.Round(time.Millisecond),
				"lag events", r.p.c.lag.Load(), "seqno", r.rd.LastSeqno())
		}
	}
	r.p.c.queuedBy.Add(uint64(m.weight))
	select {
	case q <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// updateMsgs renders the messages of a commit-state update, leaving out
// what an ordered subject already has.
func (r *reader) updateMsgs(u blocks.Update) ([]*outMsg, error) {
	blk := u.Block
	n, id := blk.Number(), blk.ID()
	ref := blockRef{Number: n, ID: id}
	var msgs []*outMsg
	var err error
	fullBlock := func() {
		rb, rerr := r.render(blk)
		if rerr != nil {
			err = rerr
			return
		}
		kind := kindBlockProposed
		if u.State == blocks.CommitFinalized {
			kind = kindBlockFinalized
		}
		body := updateBody(u.State, id, n, ethconv.AbandonedIDs(u.Abandoned), rb)
		msgs = append(msgs, r.blockMsg(BlockSubject(r.p.opts.Prefix, u.State), BlockMsgID(id, u.State), u.State, ref, body, kind))
	}
	commit := func() {
		body, _ := json.Marshal(&Commit{
			CommitState: u.State.String(), BlockID: common.Hash(id), BlockNumber: n,
			BlockHash: common.Hash(blk.End.EthBlockHash), Abandoned: ethconv.AbandonedIDs(u.Abandoned),
		})
		msgs = append(msgs, r.blockMsg(CommitSubject(r.p.opts.Prefix, u.State), CommitMsgID(id, u.State), u.State, ref, body, kindCommitMsg))
	}
	// ordered publishes on subj if n is past what subj has, and notes it.
	ordered := func(subj string, publish func()) {
		last, ok := r.last[subj]
		if ok && n <= last.Number {
			return
		}
		// Numbers skipped here are never published (the check above
		// leaves them out for good): report those not reported yet.
		r.reportLost(subj, n-1)
		if r.proven[subj] < n {
			delete(r.proven, subj) // reported now, or not lost after all
		}
		before := len(msgs)
		publish()
		for _, m := range msgs[before:] {
			m.ordered = true
		}
		if len(msgs) > before {
			r.last[subj] = ref
			if subj == r.subjFinalizedBlock && r.verifyFrom == nil {
				r.verifyFrom = &ref
			}
		} else {
			r.prove(subj, n) // not rendered: lost, reported like the others
		}
	}
	switch u.State {
	case blocks.CommitProposed:
		if n > r.floor {
			if !r.p.opts.NoProposedBlocks {
				fullBlock()
			}
			commit()
		}
	case blocks.CommitVoted:
		if n > r.floor {
			commit()
		}
	case blocks.CommitFinalized:
		ordered(r.subjFinalizedBlock, fullBlock)
		ordered(r.subjFinalizedCommit, commit)
		// Its rendering, and those of the proposals it abandoned, are
		// of no further use.
		delete(r.rendered, id)
		for _, a := range u.Abandoned {
			delete(r.rendered, a.ID())
		}
	case blocks.CommitVerified:
		ordered(r.subjVerified, commit)
	}
	return msgs, err
}

// due returns the number the next message on the ordered subject subj
// should have, if known: the one after its last, or on commit.verified
// before its first message, verifyFrom's.
func (r *reader) due(subj string) (uint64, bool) {
	if last, ok := r.last[subj]; ok {
		return last.Number + 1, true
	}
	if subj == r.subjVerified && r.verifyFrom != nil {
		return r.verifyFrom.Number, true
	}
	return 0, false
}

// prove notes that the numbers due on the ordered subject subj up to n
// will never be published there (reported by reportProven).
func (r *reader) prove(subj string, n uint64) {
	if next, known := r.due(subj); known && n >= next {
		r.proven[subj] = max(r.proven[subj], n)
	}
}

// reportProven reports the losses proven and not reported yet.
func (r *reader) reportProven() {
	for _, subj := range [...]string{r.subjFinalizedBlock, r.subjVerified} {
		if n, ok := r.proven[subj]; ok {
			r.reportLost(subj, n)
			delete(r.proven, subj)
		}
	}
}

// reportLost reports the numbers of the ordered subject subj from the one
// due up to through as lost, but for those reported already.
func (r *reader) reportLost(subj string, through uint64) {
	next, known := r.due(subj)
	if !known {
		return
	}
	from := max(next, r.reported[subj]+1)
	if through < from {
		return
	}
	r.lost(subj, from, through)
	r.reported[subj] = through
}

// lost reports that the messages of blocks from ... to on the ordered
// subject subj will never be published. commit.finalized is not reported
// apart: it is published from the same updates as block.finalized, right
// after it, and loses at most the same numbers (but for one message, should a
// restart find it one behind block.finalized and neither block in the
// ring).
func (r *reader) lost(subj string, from, to uint64) {
	switch subj {
	// Logged before counted: whoever sees the count can find the log line.
	case r.subjFinalizedBlock:
		r.notice(&LostBlocksError{From: from, To: to, State: blocks.CommitFinalized})
		r.p.c.finalizedLost.Add(to - from + 1)
	case r.subjVerified:
		r.notice(&LostBlocksError{From: from, To: to, State: blocks.CommitVerified})
		r.p.c.verifiedLost.Add(to - from + 1)
	}
}

// renderedBlock is a block's JSON as the RPC renders it, kept from its
// execution (Proposed) until its finalization so that the block.finalized
// message needs no second conversion.
type renderedBlock struct {
	number          uint64
	block, receipts []byte
}

// maxRendered bounds the renderings kept: proposals normally wait two or
// three blocks for their finalization; beyond the bound the lowest
// number goes first (it is rendered again if it is finalized after all).
const maxRendered = 32

// render returns blk's rendering, converting it if it is not kept yet.
func (r *reader) render(blk *blocks.ExecutedBlock) (*renderedBlock, error) {
	id := blk.ID()
	if rb := r.rendered[id]; rb != nil {
		return rb, nil
	}
	b, err := ethconv.Convert(blk)
	if err != nil {
		return nil, fmt.Errorf("block %d (id %s) cannot be rendered: %w", blk.Number(), id, err)
	}
	rb := &renderedBlock{number: blk.Number()}
	if rb.block, err = json.Marshal(b.RPCBlock()); err == nil {
		rb.receipts, err = json.Marshal(b.RPCReceipts())
	}
	if err != nil {
		return nil, fmt.Errorf("block %d (id %s): %w", blk.Number(), id, err)
	}
	if len(r.rendered) >= maxRendered {
		var low execevents.Bytes32
		first := true
		for k, v := range r.rendered {
			if first || v.number < r.rendered[low].number {
				low, first = k, false
			}
		}
		delete(r.rendered, low)
	}
	r.rendered[id] = rb
	return rb, nil
}

// updateBody writes the body of a block message: ethconv.UpdateJSON's
// object (what blocks --json prints for a Proposed update), from the
// kept rendering.
func updateBody(state blocks.CommitState, id execevents.Bytes32, n uint64, abandoned []common.Hash, rb *renderedBlock) []byte {
	b := make([]byte, 0, len(rb.block)+len(rb.receipts)+160+70*len(abandoned))
	b = append(b, `{"commitState":"`...)
	b = append(b, state.String()...)
	b = append(b, `","blockId":"`...)
	b = append(b, id.String()...)
	b = append(b, `","blockNumber":`...)
	b = strconv.AppendUint(b, n, 10)
	b = append(b, `,"abandoned":[`...)
	for i, a := range abandoned {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, a.Hex()...)
		b = append(b, '"')
	}
	b = append(b, `],"block":`...)
	b = append(b, rb.block...)
	b = append(b, `,"receipts":`...)
	b = append(b, rb.receipts...)
	return append(b, '}')
}

func (r *reader) blockMsg(subject, msgID string, state blocks.CommitState, ref blockRef, body []byte, kind msgKind) *outMsg {
	m := nats.NewMsg(subject)
	m.Data = body
	m.Header.Set(natsjs.MsgIDHeader, msgID)
	m.Header.Set(HeaderBlockNumber, strconv.FormatUint(ref.Number, 10))
	m.Header.Set(HeaderBlockID, ref.ID.String())
	m.Header.Set(HeaderCommitState, state.String())
	return &outMsg{msg: m, kind: kind, number: ref.Number}
}
