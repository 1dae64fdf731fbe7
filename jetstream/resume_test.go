package jetstream_test

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/internal/testdata"
	"github.com/monadgo/events/jetstream"
)

// verifyLag is how many blocks after its finalization the live chain of
// these tests verifies a block: a Monad node verifies block n when it
// finalizes block n+3, whose proposal carries n's execution result
// (execution runs three blocks behind consensus). The spec (§7.3) fixes
// only the order: BLOCK_VERIFIED follows the BLOCK_FINALIZED that settles
// it, between block scopes.
const verifyLag = 3

// liveChain is the emn-30b recording re-sequenced into the order of a
// live node (spec §7.3): the recording, made in Ethereum-replay mode, has
// each block's BLOCK_QC, BLOCK_FINALIZED and BLOCK_VERIFIED right after
// its BLOCK_END; here the BLOCK_QC of a proposal's parent precedes the
// proposal's BLOCK_START, a block is finalized two blocks later (before
// the BLOCK_START of block k come QC(k-1), FINALIZED(k-2) and
// VERIFIED(k-2-verifyLag)) and verified verifyLag blocks after that. The
// block scopes, payloads included, are the daemon's, with their
// BLOCK_SEQNO flow tags renumbered. Event i is recorded as seqno i+1 in a
// fresh ring.
type liveChain struct {
	events []liveEvent
	blocks []liveBlock // in execution order
}

type liveEvent struct {
	typ     uint16
	ext     [4]uint64
	payload []byte
}

// liveBlock is what the chain holds about a block, from the recording's
// own events.
type liveBlock struct {
	number uint64
	id     execevents.Bytes32
	// start, finalizedAt and verifiedAt are the seqnos of its BLOCK_START,
	// BLOCK_FINALIZED and BLOCK_VERIFIED (0: not in the chain).
	start, finalizedAt, verifiedAt uint64
}

func newLiveChain(t testing.TB, evs []testdata.Event) *liveChain {
	t.Helper()
	type recorded struct {
		number       uint64
		id           execevents.Bytes32
		first, end   int    // its scope, BLOCK_START ... BLOCK_END, is evs[first:end]
		qc, fin, ver []byte // consensus payloads
	}
	var recs []*recorded
	byNumber := make(map[uint64]*recorded)
	consensus := func(n uint64) *recorded {
		b := byNumber[n]
		if b == nil {
			t.Fatalf("emn-30b: consensus event for block %d before its BLOCK_START", n)
		}
		return b
	}
	var dec execevents.Decoder
	for i := range evs {
		e := &evs[i]
		var ev execevents.Event // only the block's and consensus events are decoded
		switch execevents.EventType(e.Descriptor.EventType) {
		case execevents.EventTypeBlockStart, execevents.EventTypeBlockQC, execevents.EventTypeBlockFinalized, execevents.EventTypeBlockVerified:
			var err error
			if ev, err = dec.View(&e.Descriptor, e.Payload); err != nil {
				t.Fatalf("emn-30b seqno %d: %v", e.Descriptor.Seqno, err)
			}
		}
		switch ev := ev.(type) {
		case *execevents.BlockStartEvent:
			n := ev.BlockTag.BlockNumber
			if byNumber[n] != nil {
				t.Fatalf("emn-30b: block %d proposed twice (the chain assumes no forks)", n)
			}
			b := &recorded{number: n, id: ev.BlockTag.ID, first: i, end: i + 1}
			recs, byNumber[n] = append(recs, b), b
		case *execevents.BlockQCEvent:
			consensus(ev.BlockTag.BlockNumber).qc = e.Payload
		case *execevents.BlockFinalizedEvent:
			consensus(ev.BlockNumber).fin = e.Payload
		case *execevents.BlockVerifiedEvent:
			consensus(ev.BlockNumber).ver = e.Payload
		default:
			var b *recorded
			if len(recs) > 0 {
				b = recs[len(recs)-1]
			}
			// The recording's scopes are contiguous: consensus events
			// follow BLOCK_END.
			if b == nil || i != b.end || e.Descriptor.ContentExt[execevents.FlowTypeBlockSeqno] != evs[b.first].Descriptor.Seqno {
				t.Fatalf("emn-30b seqno %d: %s outside the scope of the last BLOCK_START", e.Descriptor.Seqno, execevents.EventType(e.Descriptor.EventType))
			}
			b.end++
		}
	}
	c := &liveChain{events: make([]liveEvent, 0, len(evs))}
	add := func(typ execevents.EventType, ext [4]uint64, p []byte) uint64 {
		c.events = append(c.events, liveEvent{uint16(typ), ext, p})
		return uint64(len(c.events))
	}
	for k, b := range recs {
		if k >= 1 && recs[k-1].qc != nil {
			add(execevents.EventTypeBlockQC, [4]uint64{}, recs[k-1].qc)
		}
		if j := k - 2; j >= 0 && recs[j].fin != nil {
			c.blocks[j].finalizedAt = add(execevents.EventTypeBlockFinalized, [4]uint64{}, recs[j].fin)
		}
		if j := k - 2 - verifyLag; j >= 0 && recs[j].ver != nil {
			c.blocks[j].verifiedAt = add(execevents.EventTypeBlockVerified, [4]uint64{}, recs[j].ver)
		}
		start := uint64(len(c.events)) + 1
		for _, e := range evs[b.first:b.end] {
			ext := e.Descriptor.ContentExt
			ext[execevents.FlowTypeBlockSeqno] = start
			add(execevents.EventType(e.Descriptor.EventType), ext, e.Payload)
		}
		c.blocks = append(c.blocks, liveBlock{number: b.number, id: b.id, start: start})
	}
	return c
}

// record writes the chain's events [from, to) into rec, a ring written
// only by this chain.
func (c *liveChain) record(t testing.TB, rec *eventring.Recorder, from, to uint64) {
	t.Helper()
	for i := from; i < to; i++ {
		e := &c.events[i]
		seq, err := rec.Record(e.typ, e.ext, e.payload)
		if err != nil || seq != i+1 {
			t.Fatalf("Record: seqno %d, %v; want seqno %d", seq, err, i+1)
		}
	}
}

// errorLog is a slog.Handler that hands records on to next and keeps the
// errors they carry: what the publisher reported, as values.
type errorLog struct {
	next slog.Handler
	mu   *sync.Mutex
	errs *[]error
}

func newErrorLog(next slog.Handler) errorLog {
	return errorLog{next: next, mu: new(sync.Mutex), errs: new([]error)}
}

func (h errorLog) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h errorLog) Handle(ctx context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok {
			h.mu.Lock()
			*h.errs = append(*h.errs, err)
			h.mu.Unlock()
		}
		return true
	})
	return h.next.Handle(ctx, r)
}

func (h errorLog) WithAttrs(as []slog.Attr) slog.Handler {
	h.next = h.next.WithAttrs(as)
	return h
}

func (h errorLog) WithGroup(name string) slog.Handler {
	h.next = h.next.WithGroup(name)
	return h
}

// lostReports returns the *LostBlocksError values logged so far.
func (h errorLog) lostReports() []*jetstream.LostBlocksError {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*jetstream.LostBlocksError
	for _, err := range *h.errs {
		var lost *jetstream.LostBlocksError
		if errors.As(err, &lost) {
			out = append(out, lost)
		}
	}
	return out
}

// lastOn returns the block number of the last message on subject (false:
// none).
func lastOn(t testing.TB, js natsjs.JetStream, subject string) (uint64, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, jetstream.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, natsjs.ErrMsgNotFound) {
		return 0, false
	}
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(m.Header.Get(jetstream.HeaderBlockNumber), 10, 64)
	if err != nil {
		t.Fatalf("last message on %s: %v", subject, err)
	}
	return n, true
}

// resumeRun is a publisher run of the resume tests on ring.
type resumeRun struct {
	p    *jetstream.Publisher
	log  errorLog
	done chan error // Run's result
	stop context.CancelFunc
}

func startRun(t *testing.T, ring *eventring.Ring, js natsjs.JetStream, who string) *resumeRun {
	t.Helper()
	log := newErrorLog(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	p, err := jetstream.NewPublisher(js, jetstream.Options{
		Backfill: true, NoProposedBlocks: true, Logger: slog.New(log).With("who", who),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	r := &resumeRun{p: p, log: log, done: make(chan error, 1), stop: cancel}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		r.done <- p.Run(ctx, ring)
	}()
	// A test that fails early still waits for the run: it logs to t.
	t.Cleanup(func() {
		cancel()
		<-ended
	})
	return r
}

// stopWhen stops the run once the stream's last messages on the ordered
// subjects are at the given numbers (-1: no message), i.e. once it has
// published everything up to there.
func (r *resumeRun) stopWhen(t *testing.T, js natsjs.JetStream, finalized, verified int64) {
	t.Helper()
	waitStream(t, js, jetstream.DefaultStream)
	at := func(subject string, want int64) bool {
		n, ok := lastOn(t, js, subject)
		if want < 0 {
			return !ok
		}
		return ok && n == uint64(want)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !at("monad.exec.block.finalized", finalized) || !at("monad.exec.commit.finalized", finalized) ||
		!at("monad.exec.commit.verified", verified) {
		if time.Now().After(deadline) {
			t.Fatalf("the first run did not publish finalized %d / verified %d in 30 s", finalized, verified)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.stop()
	if err := <-r.done; !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want it cancelled", err)
	}
}

// numbersOn reads subject whole and returns its block numbers in stream
// order, checking that each message names the chain's block of that
// number.
func numbersOn(t *testing.T, js natsjs.JetStream, c *liveChain, durable, subject string, want int) []uint64 {
	t.Helper()
	ids := make(map[uint64]execevents.Bytes32)
	for _, b := range c.blocks {
		ids[b.number] = b.id
	}
	var out []uint64
	for _, m := range fetchAll(t, js, jetstream.DefaultStream, durable, subject, want, 20*time.Second) {
		n, err := strconv.ParseUint(m.Headers().Get(jetstream.HeaderBlockNumber), 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", subject, err)
		}
		if id, ok := ids[n]; !ok || m.Headers().Get(jetstream.HeaderBlockID) != id.String() {
			t.Errorf("%s: block %d with id %s, the chain's is %s", subject, n, m.Headers().Get(jetstream.HeaderBlockID), id)
		}
		out = append(out, n)
	}
	return out
}

// numbersWritten returns the numbers of the blocks the chain finalized
// (or verified) at seqnos up to last, in the chain's order.
func (c *liveChain) numbersWritten(last uint64, verified bool) []uint64 {
	var out []uint64
	for _, b := range c.blocks {
		at := b.finalizedAt
		if verified {
			at = b.verifiedAt
		}
		if at != 0 && at <= last {
			out = append(out, b.number)
		}
	}
	return out
}

// TestResumeBeforeFirstVerified: the first run of a publisher on a fresh
// stream stops after publishing three finalized blocks and before any
// verification (a live node verifies a block some blocks after finalizing
// it); the ring still holds everything. The restarted run must publish the
// commit.verified messages of all those blocks: commit.verified ends up
// holding every block the chain verified, once and in order, and
// block.finalized every block it finalized, with nothing reported lost.
// (Resuming at the last finalized block alone skips the verifications of
// the blocks before it: the tracker never sees those proposals.)
func TestResumeBeforeFirstVerified(t *testing.T) {
	r := loadReference(t)
	c := newLiveChain(t, r.events)
	const f = 2                                // the first run stops after FINALIZED(f) ...
	phase1 := c.blocks[f].finalizedAt          // ... before any VERIFIED
	end := c.blocks[f+2+verifyLag+1].start - 1 // the chain up to the BLOCK_START of block f+2+verifyLag+1
	if v := c.blocks[0].verifiedAt; v <= phase1 || v > end || end >= eventring.MinDescriptorCapacity {
		t.Fatalf("test setup: first verification at seqno %d, phase 1 ends at %d, the chain at %d", v, phase1, end)
	}

	dir := t.TempDir()
	_, url := startServer(t, dir+"/js", 0)
	_, js := connect(t, url)
	rec, path := newRing(t, dir, eventring.MinDescriptorCapacity)
	ring := openRing(t, path)

	c.record(t, rec, 0, phase1)
	first := startRun(t, ring, js, "first run")
	first.stopWhen(t, js, int64(c.blocks[f].number), -1)

	c.record(t, rec, phase1, end)
	rec.Close()
	second := startRun(t, ring, js, "second run")
	if err := <-second.done; !errors.Is(err, eventring.ErrWriterGone) {
		t.Fatalf("second run: %v, want the writer gone", err)
	}
	st := second.p.Stats()
	t.Logf("second run: %+v", st)

	wantFin, wantVer := c.numbersWritten(end, false), c.numbersWritten(end, true)
	if fin := numbersOn(t, js, c, "fin", "monad.exec.block.finalized", len(wantFin)); !slices.Equal(fin, wantFin) {
		t.Errorf("block.finalized holds blocks %v, want %v", fin, wantFin)
	}
	if ver := numbersOn(t, js, c, "ver", "monad.exec.commit.verified", len(wantVer)); !slices.Equal(ver, wantVer) {
		t.Errorf("commit.verified holds blocks %v, want %v (every block the chain verified, once, in order)", ver, wantVer)
	}
	if lost := append(first.log.lostReports(), second.log.lostReports()...); len(lost) != 0 || st.FinalizedLost != 0 || st.VerifiedLost != 0 {
		t.Errorf("losses reported (%v, FinalizedLost %d, VerifiedLost %d) though the ring held every block", lost, st.FinalizedLost, st.VerifiedLost)
	}
}

// TestResumeVerifiedProposalOverwritten: the first run stops right after
// publishing the finalization of block f, when the last verified block
// is v = f-verifyLag-1 (verifications lag finalizations); while the
// publisher is down the ring laps so far that the oldest block it still
// holds is f: the proposals of v ... f-1 are overwritten. The restarted
// run resumes at f and can no longer publish the commit.verified messages
// of v+1 ... f-1
// (their BLOCK_VERIFIED events are in the ring, but nothing says which
// proposals they verify): it must report them as lost, as it reports lost
// finalized blocks (a *LostBlocksError of state Verified, logged, and
// Stats.VerifiedLost), and publish every other verification once and in
// order. Nothing finalized is lost.
func TestResumeVerifiedProposalOverwritten(t *testing.T) {
	r := loadReference(t)
	c := newLiveChain(t, r.events)
	const capacity = eventring.MinDescriptorCapacity
	// The first run stops after FINALIZED(f), before VERIFIED(v+1) ...
	const f, v = verifyLag + 1, 0
	phase1 := c.blocks[f].finalizedAt
	// ... and at the end the ring's oldest event is among the last of
	// f-1's scope, a little before f's BLOCK_START: the BLOCK_STARTs of
	// v ... f-1 are overwritten.
	end := c.blocks[f].start + capacity - 1 - 16
	oldest := end - capacity + 1
	if c.blocks[v].verifiedAt == 0 || c.blocks[v].verifiedAt > phase1 || c.blocks[v+1].verifiedAt <= phase1 ||
		oldest <= c.blocks[f-1].start || oldest > c.blocks[f].start || end > uint64(len(c.events)) {
		t.Fatalf("test setup: chain of %d events, blocks %+v", len(c.events), c.blocks[:f+1])
	}

	dir := t.TempDir()
	_, url := startServer(t, dir+"/js", 0)
	_, js := connect(t, url)
	rec, path := newRing(t, dir, capacity)
	ring := openRing(t, path)

	c.record(t, rec, 0, phase1)
	first := startRun(t, ring, js, "first run")
	first.stopWhen(t, js, int64(c.blocks[f].number), int64(c.blocks[v].number))

	c.record(t, rec, phase1, end)
	rec.Close()
	if got := ring.OldestSeqno(); got != oldest {
		t.Fatalf("test setup: the ring's oldest seqno is %d, want %d", got, oldest)
	}
	second := startRun(t, ring, js, "second run")
	if err := <-second.done; !errors.Is(err, eventring.ErrWriterGone) {
		t.Fatalf("second run: %v, want the writer gone", err)
	}
	st := second.p.Stats()
	t.Logf("second run: %+v", st)

	wantFin := c.numbersWritten(end, false)
	if fin := numbersOn(t, js, c, "fin", "monad.exec.block.finalized", len(wantFin)); !slices.Equal(fin, wantFin) {
		t.Errorf("block.finalized holds blocks %v, want %v", fin, wantFin)
	}
	// Every verification the chain wrote is published or reported lost;
	// the lost ones are exactly those of the overwritten proposals after
	// the last one published.
	lostFrom, lostTo := c.blocks[v+1].number, c.blocks[f-1].number
	var wantVer []uint64
	for _, n := range c.numbersWritten(end, true) {
		if n < lostFrom || n > lostTo {
			wantVer = append(wantVer, n)
		}
	}
	if ver := numbersOn(t, js, c, "ver", "monad.exec.commit.verified", len(wantVer)); !slices.Equal(ver, wantVer) {
		t.Errorf("commit.verified holds blocks %v, want %v", ver, wantVer)
	}
	var verifiedLost []*jetstream.LostBlocksError
	for _, l := range second.log.lostReports() {
		if l.From == lostFrom && l.To == lostTo && l.State == blocks.CommitVerified {
			verifiedLost = append(verifiedLost, l)
		} else {
			t.Errorf("unexpected loss reported: %v", l)
		}
	}
	if len(verifiedLost) != 1 {
		t.Errorf("the loss of the verifications of blocks %d..%d was reported %d times, want once (reports: %v)",
			lostFrom, lostTo, len(verifiedLost), second.log.lostReports())
	}
	if st.FinalizedLost != 0 || st.VerifiedLost != lostTo-lostFrom+1 {
		t.Errorf("FinalizedLost %d, VerifiedLost %d; want 0 and %d", st.FinalizedLost, st.VerifiedLost, lostTo-lostFrom+1)
	}
}

// recordNewRing writes the chain's events [from, to) into rec, a ring
// that a daemon restarted at the chain's event base writes: event i is
// recorded as seqno i-base+1, block scopes' flow tags renumbered alike.
func (c *liveChain) recordNewRing(t testing.TB, rec *eventring.Recorder, base, from, to uint64) {
	t.Helper()
	for i := from; i < to; i++ {
		e := &c.events[i]
		ext := e.ext
		if s := ext[execevents.FlowTypeBlockSeqno]; s != 0 {
			ext[execevents.FlowTypeBlockSeqno] = s - base
		}
		seq, err := rec.Record(e.typ, ext, e.payload)
		if err != nil || seq != i-base+1 {
			t.Fatalf("Record: seqno %d, %v; want seqno %d", seq, err, i-base+1)
		}
	}
}

// lostNumbers returns the numbers the reports name, in report order,
// and those of the given state that overlap (named twice).
func lostNumbers(reports []*jetstream.LostBlocksError, state blocks.CommitState) (all, twice []uint64) {
	seen := make(map[uint64]bool)
	for _, l := range reports {
		if l.State != state {
			continue
		}
		for n := l.From; n <= l.To; n++ {
			if seen[n] {
				twice = append(twice, n)
			}
			seen[n] = true
			all = append(all, n)
		}
	}
	return all, twice
}

// TestNewRingLostReportedWhileIdle: the first run publishes the
// finalizations up to block f (and the verifications up to v); the
// daemon then restarts with a new ring at block x, far later: the
// proposals of f+1 ... x-1 are in no ring the publisher reads. The new
// ring's writer stays idle before finalizing x, the first block the
// restarted run can publish. The restarted run must report the lost
// numbers at once, while the writer is idle (before, nothing was reported
// until the next number was published): block.finalized f+1 ... and
// commit.verified v+1 ... up to the last the new ring finalized
// (verified), derived from the chain (what it finalized and verified up
// to there, after the last numbers published, whose proposal precedes the
// new ring). Two rings: one that begins at BLOCK_START(x) and is idle
// after block x+1, with the finalization of x-1 and the verification of
// x-1-verifyLag read after x's proposal; and one that begins with the
// consensus events before BLOCK_START(x) (the finalization of x-2 and the
// verification of x-2-verifyLag), which the run skips as it starts at the
// block's start, and is idle inside block x. When the writer goes on
// until x is verified, the run publishes the rest; then every number the
// chain finalized (verified) is in the stream or reported lost, exactly
// once, and the counters equal the numbers missing from the stream.
// A third run is "read" with block x unrenderable (its BLOCK_START says
// its extra data is 33 bytes long, of 32): x is missing from
// block.finalized and counted lost once, the numbers before it not again
// (before, they were reported with x and again with x+1).
func TestNewRingLostReportedWhileIdle(t *testing.T) {
	r := loadReference(t)
	c := newLiveChain(t, r.events)
	const f, x = 4, 9
	for _, tc := range []struct {
		name       string
		from, idle uint64 // the new ring holds the chain's events [from, idle) while the writer is idle
		unrendered bool   // block x cannot be rendered
	}{
		{"read", c.blocks[x].start - 1, c.blocks[x].finalizedAt - 1, false},
		{"skipped", c.blocks[x].start - 1 - 3, c.blocks[x].start - 1 + 100, false},
		{"unrendered", c.blocks[x].start - 1, c.blocks[x].finalizedAt - 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := c
			if tc.unrendered {
				c = unrenderable(t, c, x)
			}
			lostWhileIdle(t, c, f, x, tc.from, tc.idle, tc.unrendered)
		})
	}
}

// unrenderable returns a copy of c whose block k cannot be rendered: its
// BLOCK_START says the extra data is 33 bytes long (the field holds 32),
// which ethconv rejects; block reassembly does not look at it.
func unrenderable(t *testing.T, c *liveChain, k int) *liveChain {
	const extraDataLength = 184 + 152 // offsets of EthBlockInput in BLOCK_START and of the field in it
	cc := &liveChain{events: slices.Clone(c.events), blocks: c.blocks}
	e := &cc.events[c.blocks[k].start-1]
	if execevents.EventType(e.typ) != execevents.EventTypeBlockStart || len(e.payload) < extraDataLength+8 {
		t.Fatalf("test setup: event %d is a %v of %d bytes", c.blocks[k].start, execevents.EventType(e.typ), len(e.payload))
	}
	e.payload = slices.Clone(e.payload)
	binary.LittleEndian.PutUint64(e.payload[extraDataLength:], 33)
	return cc
}

func lostWhileIdle(t *testing.T, c *liveChain, f, x int, from, idle uint64, unrendered bool) {
	phase1 := c.blocks[f].finalizedAt        // the first run stops after FINALIZED(f)
	end := c.blocks[x+verifyLag+3].start - 1 // the writer goes on to VERIFIED(x) and stops
	if idle > from+eventring.MinDescriptorCapacity || idle >= c.blocks[x].finalizedAt || from >= c.blocks[x].start ||
		from < c.blocks[x-1].start || c.blocks[x].verifiedAt > end {
		t.Fatalf("test setup: blocks %+v", c.blocks[:x+verifyLag+4])
	}
	for s := from + 1; s < c.blocks[x].start; s++ {
		if typ := execevents.EventType(c.events[s-1].typ); typ != execevents.EventTypeBlockQC &&
			typ != execevents.EventTypeBlockFinalized && typ != execevents.EventTypeBlockVerified {
			t.Fatalf("test setup: the new ring begins with a %v", typ)
		}
	}
	var v uint64 // the last block verified in the first run
	for _, b := range c.blocks {
		if b.verifiedAt != 0 && b.verifiedAt <= phase1 {
			v = b.number
		}
	}
	fNum := c.blocks[f].number

	dir := t.TempDir()
	_, url := startServer(t, dir+"/js", 0)
	_, js := connect(t, url)
	rec1, path1 := newRing(t, t.TempDir(), eventring.MinDescriptorCapacity)
	ring1 := openRing(t, path1)
	c.record(t, rec1, 0, phase1)
	first := startRun(t, ring1, js, "first run")
	first.stopWhen(t, js, int64(fNum), int64(v))
	rec1.Close()

	// Lost: what the chain finalized (verified) after the last number
	// published, up to the new ring's last event, whose proposal came
	// before the new ring (the chain's seqnos are from+1 ... idle there).
	lostBy := func(last uint64, verified bool) []uint64 {
		var out []uint64
		for _, b := range c.blocks {
			at := b.finalizedAt
			if verified {
				at = b.verifiedAt
			}
			if b.number > last && at != 0 && at <= idle && b.start <= from {
				out = append(out, b.number)
			}
		}
		return out
	}
	wantFinLost, wantVerLost := lostBy(fNum, false), lostBy(v, true)
	if len(wantFinLost) == 0 || len(wantVerLost) == 0 {
		t.Fatalf("test setup: nothing lost (finalized %v, verified %v)", wantFinLost, wantVerLost)
	}

	rec2, path2 := newRing(t, t.TempDir(), eventring.MinDescriptorCapacity)
	ring2 := openRing(t, path2)
	c.recordNewRing(t, rec2, from, from, idle)
	second := startRun(t, ring2, js, "second run")
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := second.p.Stats()
		if st.FinalizedLost == uint64(len(wantFinLost)) && st.VerifiedLost == uint64(len(wantVerLost)) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("writer idle: FinalizedLost %d, VerifiedLost %d after 20 s; want %d (blocks %v) and %d (blocks %v) reported while the writer is idle",
				st.FinalizedLost, st.VerifiedLost, len(wantFinLost), wantFinLost, len(wantVerLost), wantVerLost)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	reports := second.log.lostReports()
	if got, _ := lostNumbers(reports, blocks.CommitFinalized); !slices.Equal(got, wantFinLost) {
		t.Errorf("writer idle: finalized blocks reported lost %v, want %v", got, wantFinLost)
	}
	if got, _ := lostNumbers(reports, blocks.CommitVerified); !slices.Equal(got, wantVerLost) {
		t.Errorf("writer idle: verifications reported lost %v, want %v", got, wantVerLost)
	}
	if n, _ := lastOn(t, js, "monad.exec.block.finalized"); n != fNum {
		t.Errorf("writer idle: block.finalized at %d, want still %d", n, fNum)
	}

	// The writer goes on until block x is verified.
	c.recordNewRing(t, rec2, from, idle, end)
	rec2.Close()
	if err := <-second.done; !errors.Is(err, eventring.ErrWriterGone) {
		t.Fatalf("second run: %v, want the writer gone", err)
	}
	st := second.p.Stats()
	t.Logf("second run: %+v", st)
	starts := make(map[uint64]uint64) // block number -> its BLOCK_START's seqno in the chain
	for _, b := range c.blocks {
		starts[b.number] = b.start
	}
	for _, tc := range []struct {
		subject, durable string
		state            blocks.CommitState
		verified         bool
		counted          uint64
	}{
		{"monad.exec.block.finalized", "fin", blocks.CommitFinalized, false, st.FinalizedLost},
		{"monad.exec.commit.verified", "ver", blocks.CommitVerified, true, st.VerifiedLost},
	} {
		last := fNum // the last number the first run published
		if tc.verified {
			last = v
		}
		// Published: those of the first run, and those whose proposal
		// the new ring holds; lost: the others.
		var wantPub, wantLost []uint64
		for _, n := range c.numbersWritten(end, tc.verified) {
			if n > last && starts[n] <= from || unrendered && !tc.verified && n == c.blocks[x].number {
				wantLost = append(wantLost, n)
			} else {
				wantPub = append(wantPub, n)
			}
		}
		if got := numbersOn(t, js, c, tc.durable, tc.subject, len(wantPub)); !slices.Equal(got, wantPub) {
			t.Errorf("%s holds blocks %v, want %v", tc.subject, got, wantPub)
		}
		got, twice := lostNumbers(second.log.lostReports(), tc.state)
		if !slices.Equal(got, wantLost) || len(twice) != 0 {
			t.Errorf("%s: reported lost %v (twice: %v), want %v, each once", tc.subject, got, twice, wantLost)
		}
		if tc.counted != uint64(len(wantLost)) {
			t.Errorf("%s: %d counted lost, want %d (blocks %v)", tc.subject, tc.counted, len(wantLost), wantLost)
		}
	}
	if lost := first.log.lostReports(); len(lost) != 0 {
		t.Errorf("first run reported losses: %v", lost)
	}
}
