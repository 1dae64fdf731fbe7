package blocks_test

import (
	"errors"
	"math"
	"runtime"
	"testing"
	"unsafe"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// hostileStream builds events from templates taken out of a reference
// recording, with counts rewritten by edit functions (the decoders return
// pointers into the payload, so editing the decoded struct edits the copy).
type hostileStream struct {
	t     *testing.T
	tmpl  map[execevents.EventType]memEvent
	evs   []memEvent
	start uint64 // seqno of the current BLOCK_START
}

func newHostileStream(t *testing.T) *hostileStream {
	h := &hostileStream{t: t, tmpl: map[execevents.EventType]memEvent{}}
	for _, e := range loadSnapshot(t, snap1) {
		ty := execevents.EventType(e.d.EventType)
		if _, ok := h.tmpl[ty]; !ok {
			h.tmpl[ty] = e
		}
	}
	return h
}

// add appends an event of type ty for transaction txn (-1: none) and
// returns its payload copy for editing.
func (h *hostileStream) add(ty execevents.EventType, txn int) []byte {
	e, ok := h.tmpl[ty]
	if !ok {
		h.t.Fatalf("no template event of type %d", ty)
	}
	e.p = append([]byte(nil), e.p...)
	e.d.Seqno = uint64(len(h.evs) + 1)
	if ty == execevents.EventTypeBlockStart {
		h.start = e.d.Seqno
	}
	e.d.ContentExt = [4]uint64{h.start, uint64(txn + 1), 0, 0}
	h.evs = append(h.evs, e)
	return e.p
}

// must unwraps a decoder result; the templates are real events, so an
// error is a bug in the test.
// viewAs decodes p, a payload taken from the template events, in place as
// an event of type E, so that the test can edit its fields (it panics on
// an error, as must does).
func viewAs[E execevents.Event](p []byte) E {
	var zero E
	d := eventring.Descriptor{EventType: uint16(zero.Type()), PayloadSize: uint32(len(p))}
	var dec execevents.Decoder
	return must(dec.View(&d, p)).(E)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// run feeds the stream to a builder and returns its errors and the bytes
// allocated meanwhile.
func (h *hostileStream) run(opts blocks.BuilderOptions) (errs []error, allocated uint64) {
	src := newMemSource(h.evs)
	b := blocks.NewBuilder(opts)
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for i := range src.evs {
		if _, err := b.Process(src, &src.evs[i].d); err != nil {
			errs = append(errs, err)
		}
	}
	runtime.ReadMemStats(&m1)
	runtime.KeepAlive(b)
	return errs, m1.TotalAlloc - m0.TotalAlloc
}

func wantDrop(t *testing.T, err error, reason blocks.DropReason) *blocks.DropError {
	t.Helper()
	var de *blocks.DropError
	if !errors.As(err, &de) || de.Reason != reason {
		t.Fatalf("error %v, want a drop with reason %v", err, reason)
	}
	return de
}

// TestHostileCounts: counts announced by a hostile or corrupt producer
// (txn_count, log_count, call_frame_count, list lengths) cannot make the
// builder reserve memory beyond its per-block limits; lists filled one event
// at a time grow with the events, not with the announced count.
func TestHostileCounts(t *testing.T) {
	t.Run("txn_count", func(t *testing.T) {
		h := newHostileStream(t)
		viewAs[*execevents.BlockStartEvent](h.add(execevents.EventTypeBlockStart, -1)).EthBlockInput.TxnCount = 1 << 40
		errs, alloc := h.run(blocks.BuilderOptions{})
		if len(errs) != 1 {
			t.Fatalf("errors %v, want one", errs)
		}
		if de := wantDrop(t, errs[0], blocks.DropLimit); de.Actual != 1<<40 || de.Expected != blocks.DefaultMaxTxns {
			t.Errorf("drop says %d over %d, want %d over %d", de.Actual, de.Expected, uint64(1<<40), blocks.DefaultMaxTxns)
		}
		if alloc > 1<<20 {
			t.Errorf("%d bytes allocated for a refused block", alloc)
		}
	})

	// 64 transactions each announcing just over 1/16 of the block's log
	// limit, and absurd list lengths and call-frame counts: the 16th
	// receipt exceeds the block's limit. Before the limit was per block,
	// every transaction could reserve its own maximum.
	t.Run("log_count per block", func(t *testing.T) {
		h := newHostileStream(t)
		const txns = 64
		per := uint32(blocks.DefaultMaxLogs/16 + 1)
		viewAs[*execevents.BlockStartEvent](h.add(execevents.EventTypeBlockStart, -1)).EthBlockInput.TxnCount = txns
		for i := range txns {
			hdr := viewAs[*execevents.TxnHeaderStartEvent](h.add(execevents.EventTypeTxnHeaderStart, i))
			hdr.TxnHeader.AccessListCount, hdr.TxnHeader.AuthListCount = math.MaxUint32, math.MaxUint32
			out := viewAs[*execevents.TxnEVMOutputEvent](h.add(execevents.EventTypeTxnEVMOutput, i))
			out.Receipt.LogCount, out.CallFrameCount = per, math.MaxUint32
		}
		for _, opts := range []blocks.BuilderOptions{{}, {CallFrames: true}} {
			errs, alloc := h.run(opts)
			if len(errs) != 1 {
				t.Fatalf("%+v: errors %v, want one", opts, errs)
			}
			de := wantDrop(t, errs[0], blocks.DropLimit)
			if opts.CallFrames {
				// The first receipt's frames already exceed the limit.
				if de.TxnIndex != 0 || de.Actual != math.MaxUint32 {
					t.Errorf("%+v: drop at transaction %d with %d, want 0 with %d", opts, de.TxnIndex, de.Actual, uint64(math.MaxUint32))
				}
				continue
			}
			if de.TxnIndex != 15 || de.Expected != blocks.DefaultMaxLogs || de.Actual != 16*uint64(per) {
				t.Errorf("drop at transaction %d: %d over %d, want transaction 15: %d over %d",
					de.TxnIndex, de.Actual, de.Expected, 16*uint64(per), blocks.DefaultMaxLogs)
			}
			// Slots for at most one block's limit, plus the transaction
			// array and slack.
			if limit := uint64(blocks.DefaultMaxLogs)*uint64(unsafe.Sizeof(blocks.Log{})) + 8<<20; alloc > limit {
				t.Errorf("%d bytes allocated, want at most %d", alloc, limit)
			}
		}
	})

	// Every scope announces 2^32-1 accounts, and its first account 2^32-1
	// storage and transient slots: nothing is reserved for them.
	t.Run("access counts", func(t *testing.T) {
		h := newHostileStream(t)
		const txns = 2000
		viewAs[*execevents.BlockStartEvent](h.add(execevents.EventTypeBlockStart, -1)).EthBlockInput.TxnCount = txns
		list := func(txn int, ctx execevents.AccountAccessContext) {
			lh := viewAs[*execevents.AccountAccessListHeaderEvent](h.add(execevents.EventTypeAccountAccessListHeader, txn))
			lh.EntryCount, lh.AccessContext = math.MaxUint32, ctx
			a := viewAs[*execevents.AccountAccessEvent](h.add(execevents.EventTypeAccountAccess, txn))
			a.Index, a.AccessContext = 0, ctx
			a.StorageKeyCount, a.TransientCount = math.MaxUint32, math.MaxUint32
		}
		list(-1, execevents.AccountAccessContextBlockPrologue)
		for i := range txns {
			hdr := viewAs[*execevents.TxnHeaderStartEvent](h.add(execevents.EventTypeTxnHeaderStart, i))
			hdr.TxnHeader.AccessListCount, hdr.TxnHeader.AuthListCount = 0, 0
			list(i, execevents.AccountAccessContextTransaction)
		}
		h.add(execevents.EventTypeBlockEnd, -1)
		errs, alloc := h.run(blocks.BuilderOptions{Accesses: true})
		if len(errs) != 1 {
			t.Fatalf("errors %v, want one", errs)
		}
		wantDrop(t, errs[0], blocks.DropMissingTransaction) // no receipts
		// 2 001 lists of one account each; reserving even 1 024 slots per
		// announced list would take hundreds of megabytes.
		if alloc > 16<<20 {
			t.Errorf("%d bytes allocated, want at most 16 MiB", alloc)
		}
	})
}
