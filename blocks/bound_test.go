package blocks_test

import (
	"errors"
	"testing"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/execevents"
)

// TestTrackerBoundDefault: executed blocks with no consensus events at all
// keep the tracker at DefaultMaxTracked; every block past the bound evicts
// the oldest one (lowest number) and says so with an *EvictedError, while
// the new block is still reported as Proposed.
func TestTrackerBoundDefault(t *testing.T) {
	tr := blocks.NewTracker(blocks.BuilderOptions{})
	if got := tr.Builder().Options().MaxTracked; got != blocks.DefaultMaxTracked {
		t.Fatalf("Options().MaxTracked = %d, want DefaultMaxTracked %d", got, blocks.DefaultMaxTracked)
	}
	const extra = 100
	evicted := 0
	for i := range uint64(blocks.DefaultMaxTracked + extra) {
		b := block(1000+i, 0)
		b.Start.BlockTag.ID[0], b.Start.BlockTag.ID[1] = byte(i), byte(i>>8) // distinct ids
		b.StartSeqno, b.EndSeqno = 10*i+1, 10*i+9
		ups, err := tr.AddBlock(b)
		if len(ups) != 1 || ups[0].State != blocks.CommitProposed || ups[0].Block != b {
			t.Fatalf("block %d: updates %v, want it Proposed", b.Number(), ups)
		}
		if i < blocks.DefaultMaxTracked {
			if err != nil {
				t.Fatalf("block %d: %v before the bound", b.Number(), err)
			}
			continue
		}
		var ev *blocks.EvictedError
		if !errors.As(err, &ev) || !errors.Is(err, blocks.ErrEvicted) || errors.Is(err, blocks.ErrInconsistent) {
			t.Fatalf("block %d: error %v, want an *EvictedError (ErrEvicted only)", b.Number(), err)
		}
		wantOld := 1000 + i - blocks.DefaultMaxTracked
		if ev.Block.Number() != wantOld || ev.State != blocks.CommitProposed || ev.Limit != blocks.DefaultMaxTracked ||
			ev.Next != b.Start.BlockTag || ev.Seqno != b.EndSeqno {
			t.Fatalf("block %d: evicted %d (state %s, limit %d, next %d, seqno %d); want %d Proposed, limit %d, next %d, seqno %d",
				b.Number(), ev.Block.Number(), ev.State, ev.Limit, ev.Next.BlockNumber, ev.Seqno,
				wantOld, blocks.DefaultMaxTracked, b.Number(), b.EndSeqno)
		}
		if _, ok := tr.State(ev.Block.ID()); ok {
			t.Fatalf("evicted block %d is still tracked", wantOld)
		}
		evicted++
		if tr.Len() != blocks.DefaultMaxTracked {
			t.Fatalf("after block %d: %d tracked, want %d", b.Number(), tr.Len(), blocks.DefaultMaxTracked)
		}
	}
	if evicted != extra {
		t.Errorf("%d evictions, want %d", evicted, extra)
	}
}

// TestTrackerBoundOrder: the evicted proposal is the one with the lowest
// number, the earliest executed among competing proposals for it; its last
// state is reported; its later consensus events are ignored; and the bound
// leaves the rules for the proposals still tracked alone.
func TestTrackerBoundOrder(t *testing.T) {
	tr := blocks.NewTracker(blocks.BuilderOptions{MaxTracked: 3})
	add := func(n uint64, id byte) error {
		t.Helper()
		ups, err := tr.AddBlock(block(n, id))
		if len(ups) != 1 || ups[0].State != blocks.CommitProposed || ups[0].Block.ID()[31] != id {
			t.Fatalf("%d/%x: updates %v, want it Proposed", n, id, ups)
		}
		if tr.Len() > 3 {
			t.Fatalf("%d/%x: %d tracked, bound is 3", n, id, tr.Len())
		}
		return err
	}
	wantEvicted := func(err error, n uint64, id byte, state blocks.CommitState) {
		t.Helper()
		var ev *blocks.EvictedError
		if !errors.As(err, &ev) || ev.Block.Number() != n || ev.Block.ID()[31] != id || ev.State != state || ev.Limit != 3 {
			t.Fatalf("error %v; want %d/%x evicted in state %s", err, n, id, state)
		}
	}
	for _, p := range []struct {
		n  uint64
		id byte
	}{{10, 0xa}, {10, 0xb}, {9, 0xc}} {
		if err := add(p.n, p.id); err != nil {
			t.Fatal(err)
		}
	}
	if ups, err := tr.AddEvent(qc(10, 0xa)); err != nil || len(ups) != 1 {
		t.Fatalf("qc 10/a: %v, %v", ups, err)
	}
	// 9 is the lowest number even though it was executed last.
	wantEvicted(add(11, 0xd), 9, 0xc, blocks.CommitProposed)
	// Of the two proposals for 10, the earlier one goes first.
	wantEvicted(add(12, 0xe), 10, 0xa, blocks.CommitVoted)
	// An evicted proposal's consensus events are those of an unknown one.
	if ups, err := tr.AddEvent(finalized(10, 0xa)); len(ups) != 0 || err != nil {
		t.Fatalf("finalizing evicted 10/a: %v, %v; want it ignored", ups, err)
	}
	// Finalizing 10/b abandons nothing: its competitor was evicted and
	// reported as such already.
	if ups, err := tr.AddEvent(finalized(10, 0xb)); err != nil || len(ups) != 1 || ups[0].State != blocks.CommitFinalized || ups[0].Abandoned != nil {
		t.Fatalf("finalize 10/b: %v, %v", ups, err)
	}
	if ups, err := tr.AddEvent(verified(10)); err != nil || len(ups) != 1 || ups[0].State != blocks.CommitVerified {
		t.Fatalf("verify 10: %v, %v", ups, err)
	}
	// Verification made room: no eviction.
	if err := add(13, 0xf); err != nil {
		t.Fatalf("13/f after a verification: %v", err)
	}
	wantEvicted(add(14, 0x1), 11, 0xd, blocks.CommitProposed)
}

// TestTrackerBoundReference: the emn-30b recording (blocks 15 000 001 …
// 15 000 030, testdata/README.md) with its consensus events removed. With
// MaxTracked 5 the tracker reports all 30 blocks as Proposed and evicts
// 15 000 001 … 15 000 025 in order, one per block past the fifth, never
// holding more than 5.
func TestTrackerBoundReference(t *testing.T) {
	var evs []memEvent
	for _, e := range loadSnapshot(t, snap30) {
		switch execevents.EventType(e.d.EventType) {
		case execevents.EventTypeBlockQC, execevents.EventTypeBlockFinalized, execevents.EventTypeBlockVerified:
			continue
		}
		evs = append(evs, e)
	}
	src := newMemSource(evs)
	tr := blocks.NewTracker(blocks.BuilderOptions{MaxTracked: 5})
	var proposed, evicted []uint64
	for i := range src.evs {
		ups, err := tr.Process(src, &src.evs[i].d)
		for _, u := range ups {
			if u.State != blocks.CommitProposed {
				t.Fatalf("seqno %d: %s update without consensus events", src.evs[i].d.Seqno, u.State)
			}
			proposed = append(proposed, u.Block.Number())
		}
		var ev *blocks.EvictedError
		switch {
		case err == nil:
		case errors.As(err, &ev):
			if len(ups) != 1 || ev.Next != ups[0].Block.Start.BlockTag || ev.Seqno != src.evs[i].d.Seqno {
				t.Fatalf("seqno %d: eviction %v does not name the block executed here", src.evs[i].d.Seqno, err)
			}
			evicted = append(evicted, ev.Block.Number())
		default:
			t.Fatalf("seqno %d: %v", src.evs[i].d.Seqno, err)
		}
		if tr.Len() > 5 {
			t.Fatalf("seqno %d: %d tracked, bound is 5", src.evs[i].d.Seqno, tr.Len())
		}
	}
	if len(proposed) != 30 || len(evicted) != 25 || tr.Len() != 5 {
		t.Fatalf("%d proposed, %d evicted, %d still tracked; want 30, 25, 5", len(proposed), len(evicted), tr.Len())
	}
	for i := range 30 {
		if proposed[i] != 15_000_001+uint64(i) || (i < 25 && evicted[i] != 15_000_001+uint64(i)) {
			t.Fatalf("proposed %v\nevicted %v\nwant 15000001… in order", proposed, evicted)
		}
	}
}
