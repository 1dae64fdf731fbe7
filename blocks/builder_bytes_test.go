package blocks_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// specBlockStartSize is BLOCK_START's payload size (spec §7.1, §8.4).
const specBlockStartSize = 528

// countingSource wraps a PayloadSource and counts Payload calls per seqno,
// so a test can tell whether the builder read a payload at all.
type countingSource struct {
	eventring.PayloadSource
	reads map[uint64]int
}

func (c *countingSource) Payload(d *eventring.Descriptor) []byte {
	c.reads[d.Seqno]++
	return c.PayloadSource.Payload(d)
}

// lyingSource claims every payload is valid and hands out, for seqno
// long, a slice of n bytes whatever the descriptor says.
type lyingSource struct {
	*memSource
	reads map[uint64]int
	long  uint64
	n     int
}

func (l *lyingSource) PayloadValid(*eventring.Descriptor) bool { return true }

func (l *lyingSource) Payload(d *eventring.Descriptor) []byte {
	l.reads[d.Seqno]++
	if d.Seqno == l.long {
		return make([]byte, l.n)
	}
	return l.memSource.Payload(d)
}

// allocated returns the bytes f allocated.
func allocated(f func()) uint64 {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	f()
	runtime.ReadMemStats(&m1)
	return m1.TotalAlloc - m0.TotalAlloc
}

// TestBuilderCorruptDescriptorRing: on a real ring, a descriptor whose
// payload_size or offset no writer allocated (corruption) is rejected by
// PayloadValid before the builder reads it: *eventring.ExpiredError, the block
// discarded, the payload never read and nothing allocated for it.
func TestBuilderCorruptDescriptorRing(t *testing.T) {
	h := newHostileStream(t)
	viewAs[*execevents.BlockStartEvent](h.add(execevents.EventTypeBlockStart, -1)).EthBlockInput.TxnCount = 1
	h.add(execevents.EventTypeTxnHeaderStart, 0)

	path := filepath.Join(t.TempDir(), "exec-ring")
	rec, err := eventring.Create(path, eventring.Sizes{
		DescriptorCapacity: eventring.MinDescriptorCapacity,
		PayloadBufSize:     eventring.MinPayloadBufSize,
	}, execevents.RingContentType, execevents.SchemaHash)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	for _, e := range h.evs {
		if _, err := rec.Record(e.d.EventType, e.d.ContentExt, e.p); err != nil {
			t.Fatal(err)
		}
	}
	ring, err := execevents.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	var start, hdr eventring.Descriptor
	if !ring.TryCopy(1, &start) || !ring.TryCopy(2, &hdr) {
		t.Fatal("test setup: recorded events missing")
	}

	for _, c := range []struct {
		name    string
		corrupt func(d *eventring.Descriptor)
	}{
		// Just under 4 GiB: more than the payload buffer can hold.
		{"payload_size 4 GiB", func(d *eventring.Descriptor) { d.PayloadSize = 0xffff_fff0 }},
		// 64 MiB fits the 128 MiB buffer, but the writer has not
		// allocated that far.
		{"payload_size beyond the allocation", func(d *eventring.Descriptor) { d.PayloadSize = 64 << 20 }},
		{"offset beyond the allocation", func(d *eventring.Descriptor) { d.PayloadBufOffset += 1 << 40 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := &countingSource{PayloadSource: ring, reads: map[uint64]int{}}
			b := blocks.NewBuilder(blocks.BuilderOptions{})
			if _, err := b.Process(src, &start); err != nil {
				t.Fatalf("BLOCK_START: %v", err)
			}
			d := hdr
			c.corrupt(&d)
			var err error
			alloc := allocated(func() { _, err = b.Process(src, &d) })
			var pe *eventring.ExpiredError
			if !errors.As(err, &pe) || pe.Seqno != 2 || pe.EventType != uint16(execevents.EventTypeTxnHeaderStart) ||
				pe.Offset != d.PayloadBufOffset || pe.Size != d.PayloadSize || !errors.Is(err, eventring.ErrPayloadExpired) {
				t.Fatalf("error %v, want *eventring.ExpiredError for seqno 2 at offset %d", err, d.PayloadBufOffset)
			}
			if n := src.reads[2]; n != 0 {
				t.Errorf("corrupt descriptor's payload read %d times, want 0", n)
			}
			if _, ok := b.InProgress(); ok {
				t.Error("block still in progress after the corrupt descriptor")
			}
			if alloc > 64<<10 {
				t.Errorf("%d bytes allocated for a corrupt descriptor", alloc)
			}
		})
	}
}

// TestBuilderByteLimitLyingSource: a PayloadSource that vouches for every
// payload cannot make the builder read, decode or copy more than
// MaxBlockBytes for one block: a descriptor claiming almost 4 GiB drops the
// block with DropByteLimit, and the next block is built as usual; a source
// handing out more bytes than its descriptor claims is a corrupt descriptor.
func TestBuilderByteLimitLyingSource(t *testing.T) {
	h := newHostileStream(t)
	viewAs[*execevents.BlockStartEvent](h.add(execevents.EventTypeBlockStart, -1)).EthBlockInput.TxnCount = 1
	h.add(execevents.EventTypeTxnHeaderStart, 0)
	if got := len(h.evs[0].p); got != specBlockStartSize {
		t.Fatalf("test setup: BLOCK_START template has %d bytes, spec says %d", got, specBlockStartSize)
	}

	t.Run("4 GiB claim", func(t *testing.T) {
		src := &lyingSource{memSource: newMemSource(h.evs), reads: map[uint64]int{}}
		src.evs[1].d.PayloadSize = 0xffff_fff0
		b := blocks.NewBuilder(blocks.BuilderOptions{})
		if _, err := b.Process(src, &src.evs[0].d); err != nil {
			t.Fatalf("BLOCK_START: %v", err)
		}
		var err error
		alloc := allocated(func() { _, err = b.Process(src, &src.evs[1].d) })
		de := wantDrop(t, err, blocks.DropByteLimit)
		if want := uint64(specBlockStartSize + 0xffff_fff0); de.Actual != want || de.Expected != blocks.DefaultMaxBlockBytes ||
			de.Seqno != 2 || de.TxnIndex != 0 || de.StartSeqno != 1 {
			t.Errorf("drop %+v, want %d bytes over %d at seqno 2, transaction 0, block from seqno 1", de, want, blocks.DefaultMaxBlockBytes)
		}
		if src.reads[2] != 0 {
			t.Errorf("payload claiming 4 GiB read %d times, want 0", src.reads[2])
		}
		if alloc > 64<<10 {
			t.Errorf("%d bytes allocated for a refused payload", alloc)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("%d payload bytes over limit %d", specBlockStartSize+0xffff_fff0, 1<<30)) {
			t.Errorf("message %q does not name the byte count and the limit", err)
		}
		// The builder goes on: the same block, honest this time, starts.
		good := newMemSource(h.evs)
		if _, err := b.Process(good, &good.evs[0].d); err != nil {
			t.Fatalf("next BLOCK_START: %v", err)
		}
		if _, err := b.Process(good, &good.evs[1].d); err != nil {
			t.Fatalf("next TXN_HEADER_START: %v", err)
		}
	})

	t.Run("slice longer than the descriptor", func(t *testing.T) {
		// A source handing out more bytes than the descriptor claims is
		// a corrupt descriptor: nothing of it is read into the block.
		src := &lyingSource{memSource: newMemSource(h.evs), reads: map[uint64]int{}, long: 2, n: 2 << 20}
		b := blocks.NewBuilder(blocks.BuilderOptions{MaxBlockBytes: 1 << 20})
		if _, err := b.Process(src, &src.evs[0].d); err != nil {
			t.Fatalf("BLOCK_START: %v", err)
		}
		var err error
		alloc := allocated(func() { _, err = b.Process(src, &src.evs[1].d) })
		var ee *eventring.ExpiredError
		if !errors.As(err, &ee) || !errors.Is(err, eventring.ErrBadDescriptor) || ee.Seqno != 2 {
			t.Fatalf("error %v, want an *eventring.ExpiredError (ErrBadDescriptor) for seqno 2", err)
		}
		if alloc > uint64(src.n)+64<<10 { // the source's own slice, nothing more
			t.Errorf("%d bytes allocated for a refused payload of %d", alloc, src.n)
		}
		if _, ok := b.InProgress(); ok {
			t.Error("the block is still in progress after its payload was refused")
		}
	})

	t.Run("default", func(t *testing.T) {
		if got := blocks.NewBuilder(blocks.BuilderOptions{}).Options().MaxBlockBytes; got != 1<<30 {
			t.Errorf("default MaxBlockBytes %d, want 1 GiB", got)
		}
	})
}

// TestBuilderByteLimitReference: MaxBlockBytes counts the payload_size of
// every event of the block that the builder reads, BLOCK_START to
// BLOCK_END. For each emn-30b block that sum is computed from the
// descriptors alone; with exactly that limit the block is built, one byte
// less drops it at its BLOCK_END.
func TestBuilderByteLimitReference(t *testing.T) {
	evs := loadSnapshot(t, snap30)
	// What the builder reads (Builder doc, spec §9.1), per option set.
	kept := map[execevents.EventType]bool{
		execevents.EventTypeBlockStart: true, execevents.EventTypeBlockEnd: true, execevents.EventTypeBlockReject: true,
		execevents.EventTypeEVMError: true, execevents.EventTypeRecordError: true, execevents.EventTypeTxnHeaderStart: true,
		execevents.EventTypeTxnAccessListEntry: true, execevents.EventTypeTxnAuthListEntry: true,
		execevents.EventTypeTxnReject: true, execevents.EventTypeTxnEVMOutput: true, execevents.EventTypeTxnLog: true,
	}
	// One source for every run: the builder only reads it. evs holds
	// seqnos 1..n in order (testdata.Events checks), so a block's
	// BLOCK_START seqno s is at index s-1 and each run starts there.
	src := newMemSource(evs)
	for _, frames := range []bool{false, true} {
		kept[execevents.EventTypeTxnCallFrame] = frames
		// Sum per block, keyed by BLOCK_START seqno.
		sums := map[uint64]uint64{}
		var order []uint64
		for _, e := range evs {
			ty := execevents.EventType(e.d.EventType)
			s := e.d.ContentExt[execevents.FlowTypeBlockSeqno]
			if !kept[ty] || s == 0 {
				continue
			}
			if ty == execevents.EventTypeBlockStart {
				order = append(order, s)
			}
			sums[s] += uint64(e.d.PayloadSize)
		}
		if len(order) != 30 {
			t.Fatalf("emn-30b: %d BLOCK_STARTs, want 30", len(order))
		}
		var largest uint64
		for _, s := range order {
			largest = max(largest, sums[s])
		}
		for _, s := range order {
			for _, limit := range []uint64{sums[s], sums[s] - 1} {
				b := blocks.NewBuilder(blocks.BuilderOptions{CallFrames: frames, MaxBlockBytes: limit})
				var got *blocks.ExecutedBlock
				var gotErr error
				for i := int(s - 1); i < len(src.evs); i++ {
					blk, err := b.Process(src, &src.evs[i].d)
					if blk != nil || err != nil {
						got, gotErr = blk, err
						break
					}
				}
				if limit == sums[s] {
					if gotErr != nil || got == nil || got.StartSeqno != s {
						t.Fatalf("frames=%v block at seqno %d with limit = its %d bytes: %v, %v", frames, s, limit, got, gotErr)
					}
					continue
				}
				de := wantDrop(t, gotErr, blocks.DropByteLimit)
				if de.EventType != execevents.EventTypeBlockEnd || de.StartSeqno != s || de.Actual != sums[s] || de.Expected != limit {
					t.Fatalf("frames=%v block at seqno %d, limit %d: drop %v, want at its BLOCK_END with %d bytes", frames, s, limit, gotErr, sums[s])
				}
			}
		}
		t.Logf("frames=%v: largest block reads %d payload bytes", frames, largest)
	}
}

// hugeBlock feeds b, through AddEvent, the start of a one-transaction block
// whose calldata is n bytes, and returns the events that would complete it.
func hugeBlock(t *testing.T, b *blocks.Builder, n int) (rest []execevents.Event) {
	t.Helper()
	meta := func(seqno uint64, ty execevents.EventType, txn uint64) execevents.EventMeta {
		return execevents.EventMeta{Seqno: seqno, EventType: ty, Flow: execevents.Flow{BlockSeqno: 1, TxnID: txn}}
	}
	start := &execevents.BlockStartEvent{EventMeta: meta(1, execevents.EventTypeBlockStart, 0), BlockStart: &execevents.BlockStart{}}
	start.EthBlockInput.TxnCount = 1
	hdr := &execevents.TxnHeaderStartEvent{EventMeta: meta(2, execevents.EventTypeTxnHeaderStart, 1)}
	hdr.TxnHeaderStart = &execevents.TxnHeaderStart{}
	hdr.Data = make([]byte, n)
	for _, ev := range []execevents.Event{start, hdr} {
		if _, err := b.AddEvent(ev); err != nil {
			t.Fatalf("%v: %v", ev.Type(), err)
		}
	}
	return []execevents.Event{
		&execevents.TxnEVMOutputEvent{EventMeta: meta(3, execevents.EventTypeTxnEVMOutput, 1), TxnEVMOutput: &execevents.TxnEVMOutput{}},
		&execevents.BlockEndEvent{EventMeta: meta(4, execevents.EventTypeBlockEnd, 0), BlockEnd: &execevents.BlockEnd{}},
	}
}

// TestBuilderReleasesHugeScratch: a block that made the builder's scratch
// memory grow far past a real block's needs (here 64 MiB of calldata,
// within MaxBlockBytes) does not stay pinned by the builder once it ends,
// whether it was emitted, dropped or discarded by Reset.
func TestBuilderReleasesHugeScratch(t *testing.T) {
	const huge = 64 << 20
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for _, c := range []struct {
		name string
		end  func(t *testing.T, b *blocks.Builder, n int, rest []execevents.Event)
	}{
		{"emitted", func(t *testing.T, b *blocks.Builder, n int, rest []execevents.Event) {
			var blk *blocks.ExecutedBlock
			var err error
			for _, ev := range rest {
				if blk, err = b.AddEvent(ev); err != nil {
					t.Fatal(err)
				}
			}
			if blk == nil || len(blk.Txns) != 1 || len(blk.Txns[0].Input) != n {
				t.Fatalf("no block with one transaction of %d input bytes", n)
			}
		}},
		{"dropped", func(t *testing.T, b *blocks.Builder, _ int, rest []execevents.Event) {
			_, err := b.AddEvent(rest[1]) // BLOCK_END without the receipt
			wantDrop(t, err, blocks.DropMissingTransaction)
		}},
		{"Reset", func(t *testing.T, b *blocks.Builder, _ int, _ []execevents.Event) { b.Reset() }},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := blocks.NewBuilder(blocks.BuilderOptions{})
			c.end(t, b, 1<<10, hugeBlock(t, b, 1<<10)) // warm up with a small block
			h0 := heap()
			c.end(t, b, huge, hugeBlock(t, b, huge))
			h1 := heap()
			runtime.KeepAlive(b)
			if h1 > h0+8<<20 {
				t.Errorf("heap grew by %d MiB after a %d MiB block ended: the builder keeps its scratch", (h1-h0)>>20, huge>>20)
			}
		})
	}
}
