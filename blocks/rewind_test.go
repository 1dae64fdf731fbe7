package blocks_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// scanFacts derives, by a forward scan of the copied events, what the
// rewind helpers must find: whether each event is a consensus event and the
// block number of consensus events (payload offsets of spec §9.3).
type scanFacts struct {
	evs []memEvent
}

func (s scanFacts) consensus(i int) bool {
	d := &s.evs[i].d
	return d.ContentExt[0] == 0 || d.EventType == uint16(execevents.EventTypeBlockStart)
}

func (s scanFacts) number(i int) uint64 {
	e := s.evs[i]
	switch execevents.EventType(e.d.EventType) {
	case execevents.EventTypeBlockStart, execevents.EventTypeBlockQC, execevents.EventTypeBlockFinalized:
		return binary.LittleEndian.Uint64(e.p[specTagNumberOffset:])
	case execevents.EventTypeBlockVerified:
		return binary.LittleEndian.Uint64(e.p)
	}
	return s.number(int(e.d.ContentExt[0] - 1))
}

// last returns the index of the last event before index `before` matching f.
func (s scanFacts) last(before int, f func(i int) bool) int {
	for i := before - 1; i >= 0; i-- {
		if f(i) {
			return i
		}
	}
	return -1
}

func TestRewind(t *testing.T) {
	evs := loadSnapshot(t, snap30)
	ring := openSnapshotRing(t, snap30)
	rd := ring.NewReader()
	s := scanFacts{evs}
	typ := func(i int) execevents.EventType { return execevents.EventType(evs[i].d.EventType) }
	var d eventring.Descriptor

	// at positions the reader at event index i and checks that a helper
	// found event index want (or failed with the reader restored).
	// A failure's error must match wantErr (if given).
	at := func(name string, i, want int, err error, wantErr ...error) {
		t.Helper()
		ok := err == nil
		if want < 0 {
			if ok {
				t.Errorf("%s: found seqno %d, want failure", name, d.Seqno)
			} else if len(wantErr) > 0 && !errors.Is(err, wantErr[0]) {
				t.Errorf("%s: error %q, want %v", name, err, wantErr[0])
			}
			if rd.LastSeqno() != uint64(i) {
				t.Errorf("%s: reader not restored: last seqno %d, want %d", name, rd.LastSeqno(), i)
			}
			return
		}
		if !ok || d.Seqno != evs[want].d.Seqno || rd.LastSeqno()+1 != d.Seqno {
			t.Errorf("%s: ok %v, found seqno %d (reader next %d), want seqno %d", name, ok, d.Seqno, rd.LastSeqno()+1, evs[want].d.Seqno)
		}
	}

	// From a log in the middle of block 15 000 010.
	logIdx := -1
	for i := range evs {
		if typ(i) == execevents.EventTypeTxnLog && s.number(i) == 15_000_010 {
			logIdx = i
			break
		}
	}
	startIdx := int(evs[logIdx].d.ContentExt[0] - 1)

	rd.SetSeqno(evs[logIdx].d.Seqno)
	at("ConsensusPrev(NONE) from a log", logIdx, startIdx, blocks.ConsensusPrev(rd, execevents.EventTypeNone, &d))

	rd.SetSeqno(evs[logIdx].d.Seqno)
	wantQC := s.last(startIdx, func(i int) bool { return typ(i) == execevents.EventTypeBlockQC })
	at("ConsensusPrev(BLOCK_QC) from a log", logIdx, wantQC, blocks.ConsensusPrev(rd, execevents.EventTypeBlockQC, &d))

	// From a BLOCK_START, "previous" means strictly before it.
	rd.SetSeqno(evs[startIdx].d.Seqno)
	at("ConsensusPrev(NONE) from a BLOCK_START", startIdx, s.last(startIdx, s.consensus),
		blocks.ConsensusPrev(rd, execevents.EventTypeNone, &d))

	if n, err := blocks.BlockNumberOf(ring, &evs[logIdx].d); err != nil || n != 15_000_010 {
		t.Errorf("BlockNumberOf(log) = %d, %v; want 15000010", n, err)
	}
	if !blocks.BlockIDMatches(ring, &evs[logIdx].d, execevents.Bytes32(evs[startIdx].p[:32])) {
		t.Errorf("BlockIDMatches(log, its block's id) = false")
	}

	end := len(evs)
	lastConsensus := s.last(end, s.consensus)
	at("LatestConsensus(NONE)", 0, lastConsensus, blocks.LatestConsensus(rd, execevents.EventTypeNone, &d))
	lastStart := s.last(end, func(i int) bool { return typ(i) == execevents.EventTypeBlockStart })
	at("LatestConsensus(BLOCK_START)", 0, lastStart, blocks.LatestConsensus(rd, execevents.EventTypeBlockStart, &d))
	err := blocks.RewindToLatestBlockStart(rd)
	if err == nil && rd.TryCopy(&d) != eventring.Ready {
		err = errors.New("TryCopy after it failed")
	}
	at("RewindToLatestBlockStart", 0, lastStart, err)

	fin := func(n uint64) int {
		return s.last(end, func(i int) bool { return typ(i) == execevents.EventTypeBlockFinalized && s.number(i) == n })
	}
	rd.Reset()
	at("BlockNumberPrev(15000012, FINALIZED)", 0, fin(15_000_012), blocks.BlockNumberPrev(rd, 15_000_012, execevents.EventTypeBlockFinalized, &d))

	rd.Reset()
	wantVer := s.last(end, func(i int) bool { return typ(i) == execevents.EventTypeBlockVerified && s.number(i) == 15_000_003 })
	at("BlockNumberPrev(15000003, VERIFIED)", 0, wantVer, blocks.BlockNumberPrev(rd, 15_000_003, execevents.EventTypeBlockVerified, &d))

	rd.Reset()
	saved := int(rd.LastSeqno())
	at("BlockNumberPrev(99, FINALIZED) fails", saved, -1, blocks.BlockNumberPrev(rd, 99, execevents.EventTypeBlockFinalized, &d), blocks.ErrNotFound)
	at("BlockNumberPrev with a bad filter fails", saved, -1, blocks.BlockNumberPrev(rd, 15_000_012, execevents.EventTypeTxnLog, &d))

	start5 := s.last(end, func(i int) bool { return typ(i) == execevents.EventTypeBlockStart && s.number(i) == 15_000_005 })
	id5 := execevents.Bytes32(evs[start5].p[:32])
	rd.Reset()
	at("BlockIDPrev(id of 15000005, BLOCK_START)", 0, start5, blocks.BlockIDPrev(rd, id5, execevents.EventTypeBlockStart, &d))
	rd.Reset()
	at("BlockIDPrev(unknown id) fails", saved, -1, blocks.BlockIDPrev(rd, execevents.Bytes32{1}, execevents.EventTypeNone, &d), blocks.ErrNotFound)

	// Replay after finalized block 15 000 010: the consensus event that
	// follows its BLOCK_START.
	start10 := s.last(end, func(i int) bool { return typ(i) == execevents.EventTypeBlockStart && s.number(i) == 15_000_010 })
	next := start10 + 1
	for !s.consensus(next) {
		next++
	}
	rd.Reset()
	at("RewindForSimpleReplay(15000010)", 0, next, blocks.RewindForSimpleReplay(rd, 15_000_010, &d))
	rd.Reset()
	at("RewindForSimpleReplay(unknown) fails", saved, -1, blocks.RewindForSimpleReplay(rd, 14_000_000, &d), blocks.ErrNotFound)

	// A fully caught-up reader points at nothing: the helpers fail.
	rd.SetSeqno(uint64(end) + 1)
	at("ConsensusPrev on a caught-up reader fails", end, -1, blocks.ConsensusPrev(rd, execevents.EventTypeNone, &d), blocks.ErrNotFound)
}

// TestRewindForSimpleReplayFresh: a consumer resuming after the newest
// finalized block finds it with a fresh reader, whatever that reader's
// position: on a live ring whose writer stopped right after BLOCK_FINALIZED
// (the ring's newest event), and on a snapshot (whose new readers point at
// its first event).
func TestRewindForSimpleReplayFresh(t *testing.T) {
	evs := loadSnapshot(t, snap30)
	s := scanFacts{evs}
	typ := func(i int) execevents.EventType { return execevents.EventType(evs[i].d.EventType) }
	// The third BLOCK_FINALIZED of the recording, and what must follow.
	fin, seen := -1, 0
	for i := range evs {
		if typ(i) == execevents.EventTypeBlockFinalized {
			if seen++; seen == 3 {
				fin = i
				break
			}
		}
	}
	n := s.number(fin)
	start := s.last(fin, func(i int) bool { return typ(i) == execevents.EventTypeBlockStart && s.number(i) == n })
	next := start + 1
	for !s.consensus(next) {
		next++
	}

	path := t.TempDir() + "/stopped-ring"
	rec, err := eventring.Create(path, eventring.Sizes{DescriptorCapacity: 1 << 16, PayloadBufSize: 1 << 28},
		execevents.RingContentType, execevents.SchemaHash)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs[:fin+1] {
		if _, err := rec.Record(e.d.EventType, e.d.ContentExt, e.p); err != nil {
			t.Fatal(err)
		}
	}
	if err := rec.Close(); err != nil { // the writer stops
		t.Fatal(err)
	}
	live, err := execevents.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	snap := openSnapshotRing(t, snap30)

	for name, ring := range map[string]*eventring.Ring{"stopped writer": live, "snapshot": snap} {
		rd := ring.NewReader()
		var d eventring.Descriptor
		if err := blocks.RewindForSimpleReplay(rd, n, &d); err != nil {
			t.Errorf("%s: RewindForSimpleReplay(%d): %v", name, n, err)
			continue
		}
		if d.Seqno != evs[next].d.Seqno || rd.LastSeqno()+1 != d.Seqno {
			t.Errorf("%s: at seqno %d (reader next %d), want %d", name, d.Seqno, rd.LastSeqno()+1, evs[next].d.Seqno)
		}
		if err := blocks.RewindForSimpleReplay(rd, n+1000, &d); !errors.Is(err, blocks.ErrNotFound) {
			t.Errorf("%s: RewindForSimpleReplay(a block not finalized yet): %v, want ErrNotFound", name, err)
		}
	}
}
