package blocks_test

import (
	"encoding/binary"
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
	at := func(name string, i, want int, ok bool) {
		t.Helper()
		if want < 0 {
			if ok {
				t.Errorf("%s: found seqno %d, want failure", name, d.Seqno)
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

	if n, ok := blocks.BlockNumberOf(ring, &evs[logIdx].d); !ok || n != 15_000_010 {
		t.Errorf("BlockNumberOf(log) = %d, %v; want 15000010", n, ok)
	}
	if !blocks.BlockIDMatches(ring, &evs[logIdx].d, execevents.Bytes32(evs[startIdx].p[:32])) {
		t.Errorf("BlockIDMatches(log, its block's id) = false")
	}

	end := len(evs)
	lastConsensus := s.last(end, s.consensus)
	ok := blocks.LatestConsensus(rd, execevents.EventTypeNone, &d)
	at("LatestConsensus(NONE)", 0, lastConsensus, ok)
	lastStart := s.last(end, func(i int) bool { return typ(i) == execevents.EventTypeBlockStart })
	at("LatestConsensus(BLOCK_START)", 0, lastStart, blocks.LatestConsensus(rd, execevents.EventTypeBlockStart, &d))
	at("RewindToLatestBlockStart", 0, lastStart, blocks.RewindToLatestBlockStart(rd) && rd.TryCopy(&d) == eventring.Ready)

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
	at("BlockNumberPrev(99, FINALIZED) fails", saved, -1, blocks.BlockNumberPrev(rd, 99, execevents.EventTypeBlockFinalized, &d))
	at("BlockNumberPrev with a bad filter fails", saved, -1, blocks.BlockNumberPrev(rd, 15_000_012, execevents.EventTypeTxnLog, &d))

	start5 := s.last(end, func(i int) bool { return typ(i) == execevents.EventTypeBlockStart && s.number(i) == 15_000_005 })
	id5 := execevents.Bytes32(evs[start5].p[:32])
	rd.Reset()
	at("BlockIDPrev(id of 15000005, BLOCK_START)", 0, start5, blocks.BlockIDPrev(rd, id5, execevents.EventTypeBlockStart, &d))
	rd.Reset()
	at("BlockIDPrev(unknown id) fails", saved, -1, blocks.BlockIDPrev(rd, execevents.Bytes32{1}, execevents.EventTypeNone, &d))

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
	at("RewindForSimpleReplay(unknown) fails", saved, -1, blocks.RewindForSimpleReplay(rd, 14_000_000, &d))

	// A fully caught-up reader points at nothing: the helpers fail.
	rd.SetSeqno(uint64(end) + 1)
	at("ConsensusPrev on a caught-up reader fails", end, -1, blocks.ConsensusPrev(rd, execevents.EventTypeNone, &d))
}
