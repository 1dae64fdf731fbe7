package blocks_test

import (
	"context"
	"errors"
	"iter"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// TestTrackerFollowsRestarts: a Tracker reading an eventring.Follower
// keeps delivering blocks across writer restarts. The ring path is
// missing when following starts; then three writers in turn create a ring
// there (the second by renaming its file over the path), record two
// copies of the emn-1b block and exit. Every copy's updates arrive, equal
// to the snapshot's block, and each switch to a new ring is one
// *eventring.WriterRestartError notice.
func TestTrackerFollowsRestarts(t *testing.T) {
	evs := loadSnapshot(t, snap1)
	var opts blocks.BuilderOptions
	clean := buildAll(t, evs, opts)[0]
	perCopy := 0
	{
		tr := blocks.NewTracker(opts)
		src := newMemSource(evs)
		for i := range src.evs {
			ups, err := tr.Process(src, &src.evs[i].d)
			if err != nil {
				t.Fatal(err)
			}
			perCopy += len(ups)
		}
	}

	path := filepath.Join(t.TempDir(), "exec-ring")
	waits := 0
	f, err := eventring.Follow(path, eventring.FollowOptions{
		Wait: eventring.WaitStrategy{MinSleep: time.Millisecond, MaxSleep: time.Millisecond, WriterCheck: 20 * time.Millisecond},
		Poll: 5 * time.Millisecond,
		Check: func(r *eventring.Ring) error {
			return r.CheckSchema(execevents.RingContentType, execevents.SchemaHash)
		},
		OnWait: func(error) { waits++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	next, stop := iter.Pull2(blocks.NewTracker(opts).Updates(ctx, f))
	defer stop()
	pull := func(k byte) {
		t.Helper()
		for range perCopy {
			u, err, ok := next()
			if !ok || err != nil || u.Notice != nil {
				t.Fatalf("copy %d: ok %v, error %v, notice %v", k, ok, err, u.Notice)
			}
			if u.Block.ID()[31] != k {
				t.Fatalf("copy %d: update for block id ...%02x", k, u.Block.ID()[31])
			}
			b := *u.Block
			b.Start.BlockTag.ID[31] = clean.Start.BlockTag.ID[31]
			b.StartSeqno, b.EndSeqno = clean.StartSeqno, clean.EndSeqno
			if !equalBlocks(&b, clean) {
				t.Fatalf("copy %d: block differs from the snapshot's", k)
			}
		}
	}
	sizes := eventring.Sizes{DescriptorCapacity: eventring.MinDescriptorCapacity, PayloadBufSize: eventring.MinPayloadBufSize}
	for r := byte(1); r <= 3; r++ {
		var rec *eventring.Recorder
		var err error
		if r == 2 {
			// A ring made elsewhere and renamed over the path.
			rec, err = eventring.Create(path+".new", sizes, execevents.RingContentType, execevents.SchemaHash)
			if err == nil {
				err = os.Rename(path+".new", path)
			}
		} else {
			rec, err = eventring.Create(path, sizes, execevents.RingContentType, execevents.SchemaHash)
		}
		if err != nil {
			t.Fatal(err)
		}
		recordCopy(t, rec, evs, 10*r+1)
		recordCopy(t, rec, evs, 10*r+2)
		if r > 1 {
			u, err, ok := next()
			var restart *eventring.WriterRestartError
			if !ok || err != nil || !errors.As(u.Notice, &restart) || u.Block != nil {
				t.Fatalf("ring %d: ok %v, error %v, notice %v; want a *eventring.WriterRestartError", r, ok, err, u.Notice)
			}
			if restart.Oldest != 1 || restart.LastSeqno != uint64(2*len(evs)) || !errors.Is(restart.Cause, eventring.ErrWriterGone) {
				t.Errorf("ring %d: %v", r, restart)
			}
			t.Log(u.Notice)
		}
		pull(10*r + 1)
		pull(10*r + 2)
		rec.Close() // the writer exits
	}
	if waits != 3 { // missing at start, then two writer exits noticed before the next ring
		t.Errorf("OnWait called %d times, want 3", waits)
	}
}
