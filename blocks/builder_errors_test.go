package blocks_test

import (
	"errors"
	"testing"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/execevents"
)

// TestBuilderErrorsFullOptions damages the parts of a block that only a
// builder keeping call frames and accesses checks, and the access and
// authorization lists: each damage gives exactly one drop with the expected
// reason, naming the block, and the same block fed again intact is rebuilt
// identically.
func TestBuilderErrorsFullOptions(t *testing.T) {
	evs := loadSnapshot(t, snap30)
	full := blocks.BuilderOptions{CallFrames: true, Accesses: true}
	clean := buildAll(t, evs, full)
	// blockEvents returns the events of the first block holding an event of
	// type ty, the block, and the index of that event within the slice.
	blockEvents := func(ty execevents.EventType) ([]memEvent, *blocks.ExecutedBlock, int) {
		for _, blk := range clean {
			s := evs[blk.StartSeqno-1 : blk.EndSeqno]
			for i, e := range s {
				if execevents.EventType(e.d.EventType) == ty {
					return s, blk, i
				}
			}
		}
		t.Fatalf("no block with an event of type %d", ty)
		return nil, nil, 0
	}
	// without removes the events matching f.
	without := func(s []memEvent, f func(e memEvent) bool) []memEvent {
		var out []memEvent
		for _, e := range s {
			if !f(e) {
				out = append(out, e)
			}
		}
		if len(out) == len(s) {
			t.Fatal("test setup: nothing removed")
		}
		return out
	}
	is := func(e memEvent, ty execevents.EventType) bool { return execevents.EventType(e.d.EventType) == ty }
	flow := func(e memEvent) execevents.Flow { return execevents.FlowOf(&e.d) }

	cases := []struct {
		name   string
		ty     execevents.EventType // the block chosen holds such an event (index i)
		edit   func(s []memEvent, i int) []memEvent
		reason blocks.DropReason
	}{
		{"missing call frame", execevents.EventTypeTxnCallFrame, func(s []memEvent, i int) []memEvent {
			return append(s[:i:i], s[i+1:]...)
		}, blocks.DropMissingCallFrame},
		{"duplicate call frame", execevents.EventTypeTxnCallFrame, func(s []memEvent, i int) []memEvent {
			return append(s[:i+1:i+1], s[i:]...)
		}, blocks.DropBadIndex},
		{"missing access-list entries", execevents.EventTypeTxnAccessListEntry, func(s []memEvent, i int) []memEvent {
			txn := flow(s[i]).TxnID
			return without(s, func(e memEvent) bool {
				return is(e, execevents.EventTypeTxnAccessListEntry) && flow(e).TxnID == txn
			})
		}, blocks.DropMissingListEntry},
		{"missing storage accesses of an account", execevents.EventTypeStorageAccess, func(s []memEvent, i int) []memEvent {
			f := flow(s[i])
			return without(s, func(e memEvent) bool {
				g := flow(e)
				return is(e, execevents.EventTypeStorageAccess) && g.TxnID == f.TxnID && g.AccountIndex == f.AccountIndex
			})
		}, blocks.DropMissingAccess},
		{"missing accounts of a transaction", execevents.EventTypeStorageAccess, func(s []memEvent, i int) []memEvent {
			txn := flow(s[i]).TxnID
			return without(s, func(e memEvent) bool {
				return (is(e, execevents.EventTypeAccountAccess) || is(e, execevents.EventTypeStorageAccess)) && flow(e).TxnID == txn
			})
		}, blocks.DropMissingAccess},
		{"second access list for a scope", execevents.EventTypeAccountAccessListHeader, func(s []memEvent, i int) []memEvent {
			return append(s[:i+1:i+1], s[i:]...)
		}, blocks.DropBadIndex},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, blk, i := blockEvents(c.ty)
			damaged := c.edit(append([]memEvent(nil), s...), i)
			src := newMemSource(append(damaged, s...))
			b := blocks.NewBuilder(full)
			var errs []error
			var blks []*blocks.ExecutedBlock
			for k := range src.evs {
				got, err := b.Process(src, &src.evs[k].d)
				if err != nil {
					errs = append(errs, err)
				}
				if got != nil {
					blks = append(blks, got)
				}
			}
			if len(errs) != 1 {
				t.Fatalf("errors %v, want exactly one", errs)
			}
			var de *blocks.DropError
			if !errors.As(errs[0], &de) || de.Reason != c.reason || !errors.Is(errs[0], blocks.ErrImplicitDrop) {
				t.Fatalf("error %v, want a drop with reason %v", errs[0], c.reason)
			}
			if de.Block != blk.Start.BlockTag || de.StartSeqno != blk.StartSeqno {
				t.Errorf("drop names block %v start %d, want %v start %d", de.Block, de.StartSeqno, blk.Start.BlockTag, blk.StartSeqno)
			}
			if len(blks) != 1 || !equalBlocks(blks[0], blk) {
				t.Fatalf("%d blocks after the damage, want the intact block once", len(blks))
			}
			t.Log(errs[0])
		})
	}
}
