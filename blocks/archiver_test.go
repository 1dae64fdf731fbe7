package blocks_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/monadgo/events/archive"
	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/evcap"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/internal/testdata"
)

// The README's checksums of the daemon-written sample files
// (../shared/testdata/evcap/README.md): events, first seqno, checksum_desc,
// checksum_payload per block.
var archiveSample = map[uint64][4]uint64{
	15000001: {6595, 1, 0xf9d95b0acc1296e8, 0xddab2b2a50106c4f},
	15000002: {3431, 6599, 0xb329e3af0fd28cdc, 0xaae765ded0a43232},
	15000003: {4766, 10033, 0xd18dfb1621a0b58f, 0x203e300493d30a35},
}

// snap30Events caches the emn-30b events for the archiver tests.
var snap30Events struct {
	sync.Mutex
	evs []memEvent
}

func loadSnap30(t testing.TB) []memEvent {
	snap30Events.Lock()
	defer snap30Events.Unlock()
	if snap30Events.evs == nil {
		snap30Events.evs = loadSnapshot(t, snap30)
	}
	return snap30Events.evs
}

func checksum(evs []evcap.Event) (desc, pay uint64) {
	for _, ev := range evs {
		d := &ev.Descriptor
		desc += d.Seqno ^ uint64(d.EventType) ^ uint64(d.PayloadSize) ^ d.RecordEpochNanos ^ d.PayloadBufOffset ^
			d.ContentExt[0] ^ d.ContentExt[1] ^ d.ContentExt[2] ^ d.ContentExt[3]
		if len(ev.Payload) >= 8 {
			pay += binary.LittleEndian.Uint64(ev.Payload)
		}
	}
	return desc, desc + pay
}

func archivedEvents(t testing.TB, dir *archive.Dir, n uint64) []evcap.Event {
	t.Helper()
	f, err := dir.OpenBlock(n)
	require.NoError(t, err)
	defer f.Close()
	var evs []evcap.Event
	for ev, err := range f.Events(context.Background()) {
		require.NoError(t, err)
		evs = append(evs, ev.Clone())
	}
	return evs
}

// finalizedOf returns the blocks blocks.Updates reports Finalized, in order.
func finalizedOf(t testing.TB, ring *eventring.Ring) []*blocks.ExecutedBlock {
	var out []*blocks.ExecutedBlock
	for u, err := range blocks.Updates(context.Background(), ring, blocks.BuilderOptions{}) {
		require.NoError(t, err)
		if u.Notice == nil && u.State == blocks.CommitFinalized {
			out = append(out, u.Block)
		}
	}
	return out
}

// TestArchiverSnapshot archives the emn-30b snapshot: the archive holds
// exactly the blocks Updates reports Finalized; each file holds the
// finalized proposal's BLOCK_START..BLOCK_END events that carry its block
// seqno, as in the source; the files of blocks 15000001..15000003 have the
// README's checksums and decode to the same events as the daemon's own
// archive files; and each file rebuilds into the block Updates reported.
func TestArchiverSnapshot(t *testing.T) {
	src := loadSnap30(t)
	ring := openSnapshotRing(t, snap30)
	want := finalizedOf(t, ring)
	require.NotEmpty(t, want)

	// Uncompressed and unsynced to keep the test fast under -race; the
	// archive package's tests and the end-to-end tests cover the defaults.
	dir, err := archive.Create(t.TempDir(), archive.Options{Uncompressed: true, NoSync: true})
	require.NoError(t, err)
	defer dir.Close()
	var got []blocks.ArchivedBlock
	var notices []error
	a, err := blocks.NewArchiver(dir, blocks.ArchiverOptions{
		OnBlock:  func(b blocks.ArchivedBlock) { got = append(got, b) },
		OnNotice: func(err error) { notices = append(notices, err) },
	})
	require.NoError(t, err)
	require.NoError(t, a.Run(context.Background(), ring.NewReader()))
	for _, n := range notices {
		var missed *blocks.MissedBlocksError
		var un *blocks.UnarchivedError
		require.False(t, errors.As(n, &missed) || errors.As(n, &un), "notice %v", n)
	}

	nums, err := dir.Blocks()
	require.NoError(t, err)
	require.Len(t, nums, len(want))
	require.Len(t, got, len(want))
	sample, err := archive.Open(testdata.Shared(t, "evcap/archive-preview"), archive.Options{})
	require.NoError(t, err)
	for i, blk := range want {
		n := blk.Number()
		require.Equal(t, n, nums[i])
		require.Equal(t, blocks.ArchivedBlock{Number: n, ID: blk.ID(), StartSeqno: blk.StartSeqno, Events: got[i].Events}, got[i])
		// The source's events of the proposal, by the §12.9 selection.
		var sel []evcap.Event
		for s := blk.StartSeqno; s <= blk.EndSeqno; s++ {
			e := src[s-1]
			require.Equal(t, s, e.d.Seqno)
			if e.d.ContentExt[execevents.FlowTypeBlockSeqno] == blk.StartSeqno {
				sel = append(sel, evcap.Event{Descriptor: e.d, ContentType: eventring.ContentTypeExec, Payload: e.p})
			}
		}
		evs := archivedEvents(t, dir, n)
		require.Equal(t, len(sel), len(evs), "block %d", n)
		for j := range sel {
			require.Equal(t, sel[j].Descriptor, evs[j].Descriptor)
			require.True(t, bytes.Equal(sel[j].Payload, evs[j].Payload))
		}
		require.Equal(t, len(sel), got[i].Events)
		if facts, ok := archiveSample[n]; ok {
			desc, pay := checksum(evs)
			require.Equal(t, facts, [4]uint64{uint64(len(evs)), evs[0].Descriptor.Seqno, desc, pay}, "block %d", n)
			require.Equal(t, archivedEvents(t, sample, n), evs, "block %d: the daemon's file", n)
		}
		if i < 3 || i%4 == 0 { // a sample: rebuilding is slow under -race
			rebuilt, err := blocks.ReadArchivedBlock(dir, n, blocks.BuilderOptions{})
			require.NoError(t, err)
			require.True(t, equalBlocks(blk, rebuilt), "block %d rebuilt", n)
		}
	}
	p, _ := a.Held()
	require.LessOrEqual(t, p, a.Tracker().Len()+1)

	// A second pass (over the first third of the ring) finds the blocks
	// archived and writes nothing.
	var again []blocks.ArchivedBlock
	a2, err := blocks.NewArchiver(dir, blocks.ArchiverOptions{OnBlock: func(b blocks.ArchivedBlock) { again = append(again, b) }})
	require.NoError(t, err)
	require.Equal(t, want[len(want)-1].Number(), a2.Last())
	ms := newMemSource(src[:len(src)/3])
	for i := range ms.evs {
		require.NoError(t, a2.Process(ms, &ms.evs[i].d))
	}
	require.NotEmpty(t, again)
	for i, b := range again {
		require.Equal(t, want[i].Number(), b.Number)
		require.True(t, b.Existed)
		require.Zero(t, b.Events)
	}
}

// TestArchiverGapAndFill: a reader that loses events (here: the events of
// a stretch of blocks are skipped, as a lapped reader loses them, and the
// Archiver is reset as Run resets it after a gap) reports the finalized
// blocks it missed; the archive shows them missing, and Fill from a
// complete archive restores them.
func TestArchiverGapAndFill(t *testing.T) {
	evs := loadSnap30(t)
	src := newMemSource(evs)
	scratch := archive.Options{Uncompressed: true, NoSync: true}
	full, err := archive.Create(t.TempDir(), scratch)
	require.NoError(t, err)
	defer full.Close()
	runAll := func(dir *archive.Dir, skip func(seqno uint64) bool, reset uint64) []error {
		var notices []error
		a, err := blocks.NewArchiver(dir, blocks.ArchiverOptions{OnNotice: func(err error) { notices = append(notices, err) }})
		require.NoError(t, err)
		for i := range src.evs {
			d := src.evs[i].d
			if skip(d.Seqno) {
				continue
			}
			if d.Seqno == reset {
				a.Reset()
			}
			require.NoError(t, a.Process(src, &d))
		}
		return notices
	}
	runAll(full, func(uint64) bool { return false }, 0)
	all, err := full.Blocks()
	require.NoError(t, err)
	require.Len(t, all, 30) // the README: 30 BLOCK_FINALIZED events

	// Lose seqnos [from, to): from inside block all[5]'s events to a
	// BLOCK_START well after.
	from := uint64(0)
	var starts []uint64
	for _, e := range evs {
		if execevents.EventType(e.d.EventType) == execevents.EventTypeBlockStart {
			starts = append(starts, e.d.Seqno)
		}
	}
	from, to := starts[6]+10, starts[12]
	lapped, err := archive.Create(t.TempDir(), scratch)
	require.NoError(t, err)
	defer lapped.Close()
	notices := runAll(lapped, func(s uint64) bool { return s >= from && s < to }, to)
	var missed *blocks.MissedBlocksError
	for _, n := range notices {
		if errors.As(n, &missed) {
			break
		}
	}
	require.NotNil(t, missed, "notices %v", notices)
	have, err := lapped.Blocks()
	require.NoError(t, err)
	gaps, err := lapped.Missing(have[0], have[len(have)-1])
	require.NoError(t, err)
	require.NotEmpty(t, gaps)
	require.Equal(t, gaps, missed.Missing)
	for _, g := range gaps {
		for n := g.From; n <= g.To; n++ {
			require.True(t, slices.Contains(all, n), "block %d missing but never finalized", n)
		}
	}
	res, err := archive.Fill(context.Background(), lapped, full)
	require.NoError(t, err)
	require.Empty(t, res.Refused)
	require.Equal(t, len(all)-len(have), res.Copied)
	after, err := lapped.Blocks()
	require.NoError(t, err)
	require.Equal(t, all, after)
}

// finalizedIn counts the BLOCK_FINALIZED events of evs.
func finalizedIn(evs []memEvent) int {
	n := 0
	for _, e := range evs {
		if execevents.EventType(e.d.EventType) == execevents.EventTypeBlockFinalized {
			n++
		}
	}
	return n
}

// TestArchiverBounded: with small limits the Archiver never holds more
// than MaxTracked+1 proposals of at most MaxBlockBytes each. Without
// consensus events nothing is finalized and every proposal is evicted and
// freed; with them, a finalized block over the byte limit is reported, not
// written.
func TestArchiverBounded(t *testing.T) {
	evs := loadSnap30(t)
	evs = evs[:len(evs)/2] // 15 blocks are enough
	var noConsensus []memEvent
	for _, e := range evs {
		switch execevents.EventType(e.d.EventType) {
		case execevents.EventTypeBlockQC, execevents.EventTypeBlockFinalized, execevents.EventTypeBlockVerified:
		default:
			noConsensus = append(noConsensus, e)
		}
	}
	const maxBytes = 1 << 20
	run := func(evs []memEvent) (*archive.Dir, []error, int) {
		src := newMemSource(evs)
		dir, err := archive.Create(t.TempDir(), archive.Options{Uncompressed: true, NoSync: true})
		require.NoError(t, err)
		t.Cleanup(func() { dir.Close() })
		var notices []error
		a, err := blocks.NewArchiver(dir, blocks.ArchiverOptions{
			BuilderOptions: blocks.BuilderOptions{MaxTracked: 3, MaxBlockBytes: maxBytes},
			OnNotice:       func(err error) { notices = append(notices, err) },
		})
		require.NoError(t, err)
		peak := 0
		for i := range src.evs {
			d := src.evs[i].d
			require.NoError(t, a.Process(src, &d))
			p, b := a.Held()
			peak = max(peak, p)
			require.LessOrEqual(t, p, 4)
			require.LessOrEqual(t, b, uint64(4*maxBytes))
		}
		return dir, notices, peak
	}

	dir, notices, peak := run(noConsensus)
	require.Equal(t, 4, peak, "MaxTracked complete proposals and the one being copied")
	nums, err := dir.Blocks()
	require.NoError(t, err)
	require.Empty(t, nums)
	evicted := 0
	for _, n := range notices {
		var ev *blocks.EvictedError
		var drop *blocks.DropError
		if errors.As(n, &ev) {
			evicted++
		} else if !errors.As(n, &drop) || drop.Reason != blocks.DropByteLimit {
			t.Fatalf("unexpected notice %v", n)
		}
	}
	require.Positive(t, evicted)

	dir, notices, _ = run(evs)
	nums, err = dir.Blocks()
	require.NoError(t, err)
	handled := len(nums)
	un := 0
	for _, n := range notices {
		var u *blocks.UnarchivedError
		var drop *blocks.DropError
		var missed *blocks.MissedBlocksError
		switch {
		case errors.As(n, &u):
			un++
			require.False(t, slices.Contains(nums, u.Number))
		case errors.As(n, &drop) && drop.Reason == blocks.DropByteLimit:
			handled++ // never executed whole, so never finalized
		case errors.As(n, &missed):
			// The dropped blocks: finalized, but never seen whole.
		default:
			t.Fatalf("unexpected notice %v", n)
		}
	}
	require.Positive(t, un)
	require.Equal(t, finalizedIn(evs), handled+un)
}

// TestArchiverHostile feeds the Archiver the first blocks of emn-30b with
// seeded random corruption (descriptor fields, flow tags, payload bytes):
// it never panics, never fails, and every block it archives reads back as
// the block the tracker finalized.
func TestArchiverHostile(t *testing.T) {
	all := loadSnap30(t)[:24000] // blocks 15000001..15000004, 2 finalized
	rng := rand.New(rand.NewPCG(1, 9))
	total := 0
	for round := range 6 {
		evs := slices.Clone(all)
		for range 8 {
			i := rng.IntN(len(evs))
			e := &evs[i]
			switch rng.IntN(5) {
			case 0:
				e.d.EventType = uint16(rng.IntN(30))
			case 1:
				e.d.ContentExt[execevents.FlowTypeBlockSeqno] = [3]uint64{0, 1, e.d.Seqno}[rng.IntN(3)]
			case 2:
				e.d.Seqno += uint64(rng.IntN(3)) - 1
			case 3:
				if len(e.p) > 0 {
					p := bytes.Clone(e.p)
					p[rng.IntN(len(p))] ^= byte(1 + rng.IntN(255))
					e.p = p
				}
			case 4:
				e.p = e.p[:rng.IntN(len(e.p)+1)]
			}
		}
		src := newMemSource(evs)
		dir, err := archive.Create(t.TempDir(), archive.Options{Uncompressed: true, NoSync: true})
		require.NoError(t, err)
		finalized := map[uint64]*blocks.ExecutedBlock{}
		a, err := blocks.NewArchiver(dir, blocks.ArchiverOptions{})
		require.NoError(t, err)
		tr := blocks.NewTracker(blocks.BuilderOptions{})
		for i := range src.evs {
			d := src.evs[i].d
			require.NoError(t, a.Process(src, &d), "round %d event %d", round, i)
			ups, _ := tr.Process(src, &d)
			for _, u := range ups {
				if u.State == blocks.CommitFinalized {
					finalized[u.Block.Number()] = u.Block
				}
			}
		}
		nums, err := dir.Blocks()
		require.NoError(t, err)
		total += len(nums)
		for _, n := range nums {
			blk, err := blocks.ReadArchivedBlock(dir, n, blocks.BuilderOptions{})
			require.NoError(t, err, "round %d block %d", round, n)
			require.NotNil(t, finalized[n])
			require.True(t, equalBlocks(blk, finalized[n]), "round %d block %d", round, n)
		}
		dir.Close()
	}
	t.Logf("%d blocks archived in 6 corrupted rounds", total)
	require.GreaterOrEqual(t, total, 6, "the corruption left too few blocks to check")
}
