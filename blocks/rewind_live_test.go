package blocks_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// liveEvent is what the test wrote for one seqno: the facts the rewind
// helpers must find, kept independently of the ring.
type liveEvent struct {
	typ    execevents.EventType
	owner  uint64 // BLOCK_SEQNO tag
	number uint64 // block number of a consensus event
	id     byte   // last byte of the block id (BLOCK_START, QC, FINALIZED)
}

// TestRewindLiveRing runs the rewind helpers (spec §9.3) on a ring written
// by the project's Recorder that has wrapped: the oldest surviving events
// belong to a block whose BLOCK_START is overwritten, and the newest block
// is still being written. Expected positions come from the test's own log
// of what it recorded.
func TestRewindLiveRing(t *testing.T) {
	evs := loadSnapshot(t, snap1)
	clean := buildAll(t, evs, blocks.BuilderOptions{})[0]
	base := clean.Number()

	rec, ring := newLiveRing(t)

	log := []liveEvent{{}} // indexed by seqno
	record := func(ty execevents.EventType, ext [4]uint64, p []byte, le liveEvent) {
		seqno, err := rec.Record(uint16(ty), ext, p)
		if err != nil || seqno != uint64(len(log)) {
			t.Fatalf("Record: seqno %d, %v; want seqno %d", seqno, err, len(log))
		}
		log = append(log, le)
	}
	// write records events [from, to) of the one-block recording (BLOCK_START
	// ... BLOCK_END, BLOCK_QC, BLOCK_FINALIZED) as proposal k of block
	// base+k; a complete copy is followed by BLOCK_VERIFIED for the block
	// before it.
	var start uint64
	write := func(k byte, from, to int) {
		for _, e := range evs[from:to] {
			ty := execevents.EventType(e.d.EventType)
			ext := e.d.ContentExt
			le := liveEvent{typ: ty}
			p := append([]byte(nil), e.p...)
			switch ty {
			case execevents.EventTypeBlockStart, execevents.EventTypeBlockQC, execevents.EventTypeBlockFinalized:
				p[specTagNumberOffset-1] = k // the last byte of the id
				binary.LittleEndian.PutUint64(p[specTagNumberOffset:], base+uint64(k))
				le.id, le.number = k, base+uint64(k)
			case execevents.EventTypeBlockVerified:
				binary.LittleEndian.PutUint64(p, base+uint64(k))
				le.number = base + uint64(k)
			}
			if ty == execevents.EventTypeBlockStart {
				start = uint64(len(log))
			}
			if ext[execevents.FlowTypeBlockSeqno] != 0 {
				ext[execevents.FlowTypeBlockSeqno] = start
				le.owner = start
			}
			record(ty, ext, p, le)
		}
		if to == len(evs) && k > 1 {
			n := base + uint64(k-1)
			record(execevents.EventTypeBlockVerified, [4]uint64{}, binary.LittleEndian.AppendUint64(nil, n),
				liveEvent{typ: execevents.EventTypeBlockVerified, number: n})
		}
	}
	const copies = 11
	for k := byte(1); k <= copies; k++ {
		write(k, 0, len(evs))
	}
	half := len(evs) / 2
	write(copies+1, 0, half) // block 12 is being written

	last := uint64(len(log) - 1)
	oldest := last - eventring.MinDescriptorCapacity + 1
	if log[oldest].owner == 0 || log[oldest].owner >= oldest {
		t.Fatalf("test setup: the oldest surviving event %d should belong to an overwritten block", oldest)
	}
	// findBefore returns the newest seqno before `before` matching f among
	// the surviving events; find searches them all.
	findBefore := func(before uint64, f func(e liveEvent) bool) uint64 {
		for s := before - 1; s >= oldest; s-- {
			if f(log[s]) {
				return s
			}
		}
		t.Fatal("no such event")
		return 0
	}
	find := func(f func(e liveEvent) bool) uint64 { return findBefore(last+1, f) }
	is := func(ty execevents.EventType, n uint64) func(liveEvent) bool {
		return func(e liveEvent) bool { return e.typ == ty && (n == 0 || e.number == n) }
	}
	num := func(k uint64) uint64 { return base + k }

	rd := ring.NewReader()
	var d eventring.Descriptor
	check := func(name string, err error, want uint64) {
		t.Helper()
		if err != nil || d.Seqno != want || rd.LastSeqno()+1 != want {
			t.Errorf("%s: error %v, found seqno %d (reader next %d), want %d", name, err, d.Seqno, rd.LastSeqno()+1, want)
		}
	}
	// fails checks a failed search that must leave R unchanged and say why
	// (wantErr; nil for a refused filter, which is neither).
	fails := func(name string, err error, r uint64, wantErr error) {
		t.Helper()
		if err == nil || rd.LastSeqno() != r {
			t.Errorf("%s: error %v, reader last seqno %d; want failure with it restored to %d", name, err, rd.LastSeqno(), r)
		}
		if wantErr != nil && !errors.Is(err, wantErr) || wantErr == nil && (errors.Is(err, blocks.ErrNotFound) || errors.Is(err, blocks.ErrOverwritten)) {
			t.Errorf("%s: error %q, want %v", name, err, wantErr)
		}
	}

	start12 := find(is(execevents.EventTypeBlockStart, num(12)))
	check("LatestConsensus(NONE) inside block 12", blocks.LatestConsensus(rd, execevents.EventTypeNone, &d), start12)
	check("LatestConsensus(BLOCK_QC)", blocks.LatestConsensus(rd, execevents.EventTypeBlockQC, &d),
		find(is(execevents.EventTypeBlockQC, 0)))
	check("LatestConsensus(BLOCK_VERIFIED)", blocks.LatestConsensus(rd, execevents.EventTypeBlockVerified, &d),
		find(is(execevents.EventTypeBlockVerified, 0)))

	rd.Reset()
	check("BlockNumberPrev(11, FINALIZED)", blocks.BlockNumberPrev(rd, num(11), execevents.EventTypeBlockFinalized, &d),
		find(is(execevents.EventTypeBlockFinalized, num(11))))
	// From there (not from the newest event): searches continue backwards.
	check("BlockNumberPrev(5, QC) from FINALIZED 11", blocks.BlockNumberPrev(rd, num(5), execevents.EventTypeBlockQC, &d),
		find(is(execevents.EventTypeBlockQC, num(5))))
	qc5 := d.Seqno
	check("BlockNumberPrev(4, NONE) from QC 5", blocks.BlockNumberPrev(rd, num(4), execevents.EventTypeNone, &d),
		findBefore(qc5, func(e liveEvent) bool { return e.number == num(4) }))
	rd.Reset()
	check("BlockNumberPrev(3, VERIFIED)", blocks.BlockNumberPrev(rd, num(3), execevents.EventTypeBlockVerified, &d),
		find(is(execevents.EventTypeBlockVerified, num(3))))
	rd.Reset()
	check("BlockNumberPrev(2, FINALIZED): the block's end survives", blocks.BlockNumberPrev(rd, num(2), execevents.EventTypeBlockFinalized, &d),
		find(is(execevents.EventTypeBlockFinalized, num(2))))

	rd.Reset()
	r := rd.LastSeqno()
	fails("BlockNumberPrev(2, BLOCK_START): overwritten", blocks.BlockNumberPrev(rd, num(2), execevents.EventTypeBlockStart, &d), r, blocks.ErrOverwritten)
	fails("BlockNumberPrev(1, FINALIZED): overwritten", blocks.BlockNumberPrev(rd, num(1), execevents.EventTypeBlockFinalized, &d), r, blocks.ErrOverwritten)
	fails("BlockNumberPrev(5, TXN_LOG): filter not allowed", blocks.BlockNumberPrev(rd, num(5), execevents.EventTypeTxnLog, &d), r, nil)

	// Replay-mode ids are the block number, big-endian; the copies' ids
	// differ in their last byte.
	id7, id2 := clean.ID(), clean.ID()
	id7[31], id2[31] = 7, 2
	check("BlockIDPrev(id 7, NONE)", blocks.BlockIDPrev(rd, id7, execevents.EventTypeNone, &d),
		find(func(e liveEvent) bool { return e.id == 7 }))
	rd.Reset()
	check("BlockIDPrev(id 7, BLOCK_START)", blocks.BlockIDPrev(rd, id7, execevents.EventTypeBlockStart, &d),
		find(func(e liveEvent) bool { return e.typ == execevents.EventTypeBlockStart && e.id == 7 }))
	rd.Reset()
	fails("BlockIDPrev(id 7, VERIFIED): filter not allowed", blocks.BlockIDPrev(rd, id7, execevents.EventTypeBlockVerified, &d), r, nil)
	fails("BlockIDPrev(id 2, BLOCK_START): overwritten", blocks.BlockIDPrev(rd, id2, execevents.EventTypeBlockStart, &d), r, blocks.ErrOverwritten)

	// Replay after finalized block 10: the first consensus event after its
	// BLOCK_START.
	start10 := find(is(execevents.EventTypeBlockStart, num(10)))
	after := start10 + 1
	for log[after].owner != 0 {
		after++
	}
	rd.Reset()
	check("RewindForSimpleReplay(10)", blocks.RewindForSimpleReplay(rd, num(10), &d), after)
	rd.Reset()
	fails("RewindForSimpleReplay(2): its BLOCK_START is overwritten", blocks.RewindForSimpleReplay(rd, num(2), &d), r, blocks.ErrOverwritten)
	fails("RewindForSimpleReplay(12): not finalized", blocks.RewindForSimpleReplay(rd, num(12), &d), r, blocks.ErrNotFound)

	// The oldest surviving event's owner is gone: no consensus event can be
	// found from there.
	rd.SetSeqno(oldest)
	fails("ConsensusPrev from an event whose BLOCK_START is overwritten", blocks.ConsensusPrev(rd, execevents.EventTypeNone, &d), oldest-1, blocks.ErrOverwritten)
	if !ring.TryCopy(oldest, &d) {
		t.Fatalf("event %d: gone", oldest)
	}
	if _, err := blocks.BlockNumberOf(ring, &d); !errors.Is(err, blocks.ErrOverwritten) {
		t.Errorf("BlockNumberOf(event of an overwritten block): %v, want ErrOverwritten", err)
	}
	// A caught-up reader points at nothing.
	rd.SetSeqno(last + 1)
	fails("ConsensusPrev on a caught-up reader", blocks.ConsensusPrev(rd, execevents.EventTypeNone, &d), last, blocks.ErrNotFound)

	// A consumer joining now starts at block 12's BLOCK_START and, once the
	// writer has finished the block, builds it whole.
	if err := blocks.RewindToLatestBlockStart(rd); err != nil || rd.LastSeqno()+1 != start12 {
		t.Fatalf("RewindToLatestBlockStart: %v, reader next %d, want %d", err, rd.LastSeqno()+1, start12)
	}
	write(copies+1, half, len(evs))
	b := blocks.NewBuilder(blocks.BuilderOptions{})
	var blks []*blocks.ExecutedBlock
	for rd.TryNext(&d) == eventring.Ready {
		blk, err := b.Process(ring, &d)
		if err != nil {
			t.Fatalf("seqno %d: %v", d.Seqno, err)
		}
		if blk != nil {
			blks = append(blks, blk)
		}
	}
	if len(blks) != 1 || blks[0].Number() != num(12) || blks[0].ID()[31] != 12 {
		t.Fatalf("joiner built %d blocks, want block 12 alone", len(blks))
	}
	got := *blks[0]
	got.Start.BlockTag = clean.Start.BlockTag
	got.StartSeqno, got.EndSeqno = clean.StartSeqno, clean.EndSeqno
	if !equalBlocks(&got, clean) {
		t.Errorf("joiner's block 12 differs from the recording's block")
	}
}

// TestExpiredPayloadLiveRing: on a Recorder-written ring whose payload
// buffer has wrapped past a BLOCK_START that is still in the descriptor
// array, the helpers that read payloads fail (spec §9.3: an expired payload
// is a failure, checked after reading) with the reader restored, the
// descriptor-only searches still succeed, and the builder and tracker
// report ErrPayloadExpired.
func TestExpiredPayloadLiveRing(t *testing.T) {
	var start memEvent
	for _, e := range loadSnapshot(t, snap1) {
		if e.d.EventType == uint16(execevents.EventTypeBlockStart) {
			start = e
			break
		}
	}
	rec, ring := newLiveRing(t)
	if _, err := rec.Record(start.d.EventType, [4]uint64{1}, start.p); err != nil {
		t.Fatal(err)
	}
	// 150 MiB of block-internal payloads through the 128 MiB buffer.
	filler := make([]byte, 1<<20)
	var last uint64
	for range 150 {
		var err error
		if last, err = rec.Record(uint16(execevents.EventTypeTxnCallFrame), [4]uint64{1, 1}, filler); err != nil {
			t.Fatal(err)
		}
	}
	var d eventring.Descriptor
	if !ring.TryCopy(1, &d) || ring.PayloadValid(&d) {
		t.Fatal("test setup: BLOCK_START descriptor gone or its payload still valid")
	}
	var internal eventring.Descriptor
	if !ring.TryCopy(last, &internal) {
		t.Fatal("test setup: newest event missing")
	}
	if n, err := blocks.BlockNumberOf(ring, &internal); !errors.Is(err, blocks.ErrOverwritten) || !errors.Is(err, eventring.ErrPayloadExpired) {
		t.Errorf("BlockNumberOf(event of a block whose BLOCK_START payload expired) = %d, %v; want ErrOverwritten and ErrPayloadExpired", n, err)
	}
	id := execevents.Bytes32(start.p[:32])
	if blocks.BlockIDMatches(ring, &internal, id) {
		t.Errorf("BlockIDMatches with an expired owner payload = true")
	}

	rd := ring.NewReader()
	if err := blocks.LatestConsensus(rd, execevents.EventTypeNone, &d); err != nil || d.Seqno != 1 {
		t.Errorf("LatestConsensus: found seqno %d, %v; want 1 (descriptors suffice)", d.Seqno, err)
	}
	rd.Reset()
	r := rd.LastSeqno()
	number := binary.LittleEndian.Uint64(start.p[specTagNumberOffset:])
	if err := blocks.BlockNumberPrev(rd, number, execevents.EventTypeBlockStart, &d); !errors.Is(err, blocks.ErrOverwritten) || rd.LastSeqno() != r {
		t.Errorf("BlockNumberPrev over an expired payload: %v, reader at %d (want ErrOverwritten, %d)", err, rd.LastSeqno(), r)
	}
	if err := blocks.BlockIDPrev(rd, id, execevents.EventTypeBlockStart, &d); err == nil || rd.LastSeqno() != r {
		t.Errorf("BlockIDPrev over an expired payload succeeded or moved the reader (%d, want %d)", rd.LastSeqno(), r)
	}

	ring.TryCopy(1, &d)
	if _, err := blocks.NewBuilder(blocks.BuilderOptions{}).Process(ring, &d); !errors.Is(err, eventring.ErrPayloadExpired) {
		t.Errorf("Builder.Process(expired BLOCK_START) error %v, want ErrPayloadExpired", err)
	}
	tr := blocks.NewTracker(blocks.BuilderOptions{})
	var pe *eventring.ExpiredError
	if _, err := tr.Process(ring, &d); !errors.As(err, &pe) || pe.Seqno != 1 || tr.Len() != 0 {
		t.Errorf("Tracker.Process(expired BLOCK_START) error %v, want *eventring.ExpiredError for seqno 1", err)
	}
	if _, ok := tr.Builder().InProgress(); ok {
		t.Errorf("a block is in progress after an expired BLOCK_START")
	}
}
