package blocks_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monadgo/events/archive"
	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// recordRemapped records events into rec with their BLOCK_SEQNO flow tags
// remapped to the new sequence numbers of their BLOCK_STARTs (events whose
// BLOCK_START was not recorded are skipped).
func recordRemapped(t *testing.T, rec *eventring.Recorder, evs []memEvent) {
	t.Helper()
	remap := map[uint64]uint64{}
	for _, e := range evs {
		ext := e.d.ContentExt
		if s := ext[execevents.FlowTypeBlockSeqno]; s != 0 {
			if execevents.EventType(e.d.EventType) == execevents.EventTypeBlockStart {
				remap[e.d.Seqno] = rec.LastSeqno() + 1
			}
			n, ok := remap[s]
			if !ok {
				continue
			}
			ext[execevents.FlowTypeBlockSeqno] = n
		}
		if _, err := rec.Record(e.d.EventType, ext, e.p); err != nil {
			t.Fatal(err)
		}
	}
}

// archiveOf archives the finalized blocks of the emn-30b snapshot.
func archiveOf(t *testing.T) *archive.Dir {
	t.Helper()
	dir, err := archive.Create(t.TempDir(), archive.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	a, err := blocks.NewArchiver(dir, blocks.ArchiverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(context.Background(), openSnapshotRing(t, snap30).NewReader()); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestFinalizedArchiveThenRing: a consumer restarted with checkpoint
// 15000003 and an archive holding blocks up to 15000020 gets 15000004 ..
// 15000020 from the archive and the rest from a ring that holds only the
// recording's blocks from 15000018 on: every block once, in order, nothing
// reported missed.
func TestFinalizedArchiveThenRing(t *testing.T) {
	evs := loadSnapshot(t, snap30)
	want := finalizedFacts(evs)
	dir := archiveOf(t)
	for _, n := range want {
		if n > 15000020 {
			if err := os.Remove(dir.BlockPath(n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := scanFacts{evs}
	from := s.last(len(evs), func(i int) bool {
		return execevents.EventType(evs[i].d.EventType) == execevents.EventTypeBlockStart && s.number(i) == 15000018
	})
	rec, ring := newLiveRing(t)
	recordRemapped(t, rec, evs[from:])

	var got []uint64
	for u, err := range blocks.Finalized(context.Background(), ring.NewReader(), blocks.FinalizedOptions{After: 15000003, Archive: dir}) {
		if err != nil || u.Notice != nil {
			t.Fatalf("error %v, notice %v after %v", err, u.Notice, got)
		}
		got = append(got, u.Block.Number())
		if u.Block.Number() == want[len(want)-1] {
			break
		}
	}
	var wantAfter []uint64
	for _, n := range want {
		if n > 15000003 {
			wantAfter = append(wantAfter, n)
		}
	}
	if !equalNums(got, wantAfter) {
		t.Errorf("blocks %v, want %v", got, wantAfter)
	}

	// The archive's own Source: every block in it is finalized.
	src, err := dir.NewSource(0)
	if err != nil {
		t.Fatal(err)
	}
	got, notices, err := drain(t, blocks.Finalized(context.Background(), src, blocks.FinalizedOptions{After: 15000010}))
	if err != nil || len(notices) != 0 || len(got) != 10 || got[0] != 15000011 || got[9] != 15000020 {
		t.Errorf("the archive as a source: %v, %v, %v", got, notices, err)
	}
}

// TestFinalizedLappedRecoversFromArchive: an Archiver keeps up with the
// writer while a consumer of finalized blocks falls behind and is lapped
// by the ring; with the archive, the consumer still delivers every
// finalized block once and in order, nothing missed.
func TestFinalizedLappedRecoversFromArchive(t *testing.T) {
	evs := loadSnapshot(t, snap30)
	want := finalizedFacts(evs)
	last := want[len(want)-1]
	rec, ring := newLiveRing(t) // 65 536 descriptors: the recording laps it twice
	dir, err := archive.Create(t.TempDir(), archive.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var wg sync.WaitGroup
	defer wg.Wait()
	var archivedLast atomic.Uint64
	a, err := blocks.NewArchiver(dir, blocks.ArchiverOptions{OnBlock: func(b blocks.ArchivedBlock) { archivedLast.Store(b.Number) }})
	if err != nil {
		t.Fatal(err)
	}
	archRd := ring.NewReader()
	archRd.SetSeqno(1)
	actx, stopArchiver := context.WithCancel(ctx)
	defer stopArchiver()
	wg.Add(2)
	go func() { // the archiver, its own reader
		defer wg.Done()
		if err := a.Run(actx, archRd); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("archiver: %v", err)
		}
	}()
	perEvent := 20 * time.Microsecond // about 50 000 events/s, which the archiver keeps up with
	if raceEnabled {
		perEvent *= 5
	}
	writerDone := make(chan struct{})
	go func() { // the writer
		defer wg.Done()
		defer close(writerDone)
		t0 := time.Now()
		finalized := 0 // BLOCK_FINALIZED events written
		for i, e := range evs {
			if i%1000 == 0 {
				time.Sleep(time.Until(t0.Add(time.Duration(i) * perEvent)))
			}
			// The scenario needs an archiver that keeps up: on a machine
			// too loaded for the pace above, wait for it (never for the
			// consumers) while it is more than three blocks behind.
			for finalized > 3 && archivedLast.Load() < want[finalized-4] && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			if execevents.EventType(e.d.EventType) == execevents.EventTypeBlockFinalized {
				finalized++
			}
			if _, err := rec.Record(e.d.EventType, e.d.ContentExt, e.p); err != nil {
				t.Error(err)
				return
			}
		}
	}()

	// Two consumers that fall behind the same way: one with the archive,
	// and, as a control that blocks were really lost from the ring, one
	// without.
	consume := func(dir *archive.Dir) (got []uint64, gaps int, missed []error) {
		rd := ring.NewReader()
		rd.SetSeqno(1)
		for u, err := range blocks.Finalized(ctx, rd, blocks.FinalizedOptions{Archive: dir}) {
			if err != nil {
				t.Error(err)
				return
			}
			var gap *eventring.GapError
			switch {
			case errors.As(u.Notice, &gap):
				gaps++
				continue
			case errors.Is(u.Notice, blocks.ErrMissed):
				missed = append(missed, u.Notice)
				continue
			case u.Notice != nil:
				continue
			}
			got = append(got, u.Block.Number())
			if len(got) == 2 {
				// Fall behind until the writer is done (it laps this
				// reader) and the archiver has archived everything.
				<-writerDone
				for archivedLast.Load() != last && ctx.Err() == nil {
					time.Sleep(10 * time.Millisecond)
				}
			}
			if u.Block.Number() == last {
				return
			}
		}
		return
	}
	var control struct {
		gaps   int
		missed []error
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, control.gaps, control.missed = consume(nil)
	}()
	got, gaps, missed := consume(dir)
	stopArchiver()
	wg.Wait()
	if gaps == 0 || control.gaps == 0 || len(control.missed) == 0 {
		t.Errorf("lapped %d times (the control %d times, missing %v): the scenario was not exercised", gaps, control.gaps, control.missed)
	}
	if len(missed) != 0 {
		t.Errorf("missed %v although the archive holds them", missed)
	}
	if !equalNums(got, want) {
		t.Errorf("blocks %v, want %v", got, want)
	}
}
