package blocks_test

import (
	"context"
	"errors"
	"testing"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/execevents"
)

// finalizedFacts derives, by a forward scan of the recording's events (spec
// §7.5 offsets), the numbers of the blocks its BLOCK_FINALIZED events
// finalize, in order.
func finalizedFacts(evs []memEvent) []uint64 {
	s := scanFacts{evs}
	var ns []uint64
	for i, e := range evs {
		if execevents.EventType(e.d.EventType) == execevents.EventTypeBlockFinalized {
			ns = append(ns, s.number(i))
		}
	}
	return ns
}

// drain runs a Finalized stream to its end and returns the block numbers
// and the notices it yielded.
func drain(t *testing.T, seq func(func(blocks.Update, error) bool)) (nums []uint64, notices []error, err error) {
	t.Helper()
	for u, e := range seq {
		if e != nil {
			return nums, notices, e
		}
		if u.Notice != nil {
			notices = append(notices, u.Notice)
			continue
		}
		if u.State != blocks.CommitFinalized {
			t.Fatalf("update with state %v", u.State)
		}
		nums = append(nums, u.Block.Number())
	}
	return nums, notices, nil
}

// TestFinalizedSnapshot: on the emn-30b snapshot the stream yields every
// block the recording finalizes, once, in order; with a checkpoint, the
// ones after it; and a consumer stopped at random points and restarted with
// its checkpoint gets the same sequence.
func TestFinalizedSnapshot(t *testing.T) {
	evs := loadSnapshot(t, snap30)
	want := finalizedFacts(evs)
	if len(want) < 10 {
		t.Fatalf("test setup: only %d finalizations", len(want))
	}
	ring := openSnapshotRing(t, snap30)
	ctx := context.Background()
	got, notices, err := drain(t, blocks.Finalized(ctx, ring.NewReader(), blocks.FinalizedOptions{}))
	if err != nil || len(notices) != 0 {
		t.Fatalf("error %v, notices %v", err, notices)
	}
	if !equalNums(got, want) {
		t.Fatalf("blocks %v, want %v", got, want)
	}

	for _, k := range []int{0, 5, len(want) - 2, len(want) - 1} {
		got, notices, err := drain(t, blocks.Finalized(ctx, ring.NewReader(), blocks.FinalizedOptions{After: want[k]}))
		if err != nil || len(notices) != 0 || !equalNums(got, want[k+1:]) {
			t.Errorf("after %d: %v, %v, %v; want %v", want[k], got, notices, err, want[k+1:])
		}
	}

	// Restart after every few blocks from the checkpoint.
	var all []uint64
	after := uint64(0)
	for len(all) < len(want) {
		n := 0
		for u, err := range blocks.Finalized(ctx, ring.NewReader(), blocks.FinalizedOptions{After: after}) {
			if err != nil || u.Notice != nil {
				t.Fatalf("after %d: %v %v", after, err, u.Notice)
			}
			all = append(all, u.Block.Number())
			after = u.Block.Number()
			if n++; n == 3 {
				break
			}
		}
		if n == 0 {
			break
		}
	}
	if !equalNums(all, want) {
		t.Errorf("restarted consumer: %v, want %v", all, want)
	}
}

func equalNums(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestFinalizedLapped: a consumer whose checkpoint the live ring has
// overwritten gets a MissedError naming the lost blocks, then every later
// block (GapOldest), or only the error (GapStop).
func TestFinalizedLapped(t *testing.T) {
	evs := loadSnapshot(t, snap30)
	want := finalizedFacts(evs)
	rec, ring := newLiveRing(t) // MinDescriptorCapacity: the recording wraps it
	for _, e := range evs {
		if _, err := rec.Record(e.d.EventType, e.d.ContentExt, e.p); err != nil {
			t.Fatal(err)
		}
	}
	if ring.OldestSeqno() == 1 {
		t.Fatal("test setup: the ring did not wrap")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopAtEnd := func(seq func(func(blocks.Update, error) bool)) func(func(blocks.Update, error) bool) {
		return func(yield func(blocks.Update, error) bool) {
			for u, err := range seq {
				if !yield(u, err) {
					return
				}
				if u.Block != nil && u.Block.Number() == want[len(want)-1] {
					return // the writer is done: nothing more will come
				}
			}
		}
	}
	after := want[0] // long overwritten
	got, notices, err := drain(t, stopAtEnd(blocks.Finalized(ctx, ring.NewReader(), blocks.FinalizedOptions{After: after})))
	if err != nil || len(notices) != 1 {
		t.Fatalf("error %v, notices %v; want one MissedError", err, notices)
	}
	var missed *blocks.MissedError
	if !errors.As(notices[0], &missed) || missed.After != after || len(got) == 0 || missed.Next != got[0] || got[0] <= after+1 {
		t.Fatalf("notice %v, blocks %v", notices[0], got)
	}
	// Everything from the first block delivered on is there, once.
	i := 0
	for want[i] != got[0] {
		i++
	}
	if !equalNums(got, want[i:]) {
		t.Errorf("blocks %v, want %v", got, want[i:])
	}

	_, _, err = drain(t, blocks.Finalized(ctx, ring.NewReader(), blocks.FinalizedOptions{After: after, OnGap: blocks.GapStop}))
	if !errors.As(err, &missed) || missed.After != after {
		t.Errorf("GapStop: %v, want a MissedError after %d", err, after)
	}
}
