package eventring

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// TestFollowerRestarts follows a ring path through four writers: the path
// is missing when following starts; ring 1 is created at the path; ring 2
// is made elsewhere and renamed over it; ring 3 is truncated to 0 bytes
// under the follower; ring 4 is created after that. The follower delivers
// every event of every ring in order (each payload names its ring and
// index), with exactly one *WriterRestartError per switch, naming why the
// previous ring ended. (A writer that comes and goes between two looks at
// the path is missed: each writer here exits once its ring was read.)
func TestFollowerRestarts(t *testing.T) {
	path := t.TempDir() + "/ring"
	const perRing = 3000
	var waits []error
	f, err := Follow(path, FollowOptions{
		Wait:   WaitStrategy{MinSleep: time.Millisecond, MaxSleep: time.Millisecond, WriterCheck: 20 * time.Millisecond},
		Poll:   5 * time.Millisecond,
		Check:  func(r *Ring) error { return r.CheckSchema(ContentTypeTest, testHash) },
		OnWait: func(err error) { waits = append(waits, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	var read atomic.Uint64 // events delivered so far
	writerErr := make(chan error, 1)
	go func() {
		writerErr <- func() error {
			record := func(w *Recorder, ring, from, to int) error {
				for i := from; i < to; i++ {
					var p [8]byte
					binary.LittleEndian.PutUint64(p[:], uint64(ring)<<32|uint64(i))
					if _, err := w.Record(1, [4]uint64{}, p[:]); err != nil {
						return err
					}
				}
				return nil
			}
			time.Sleep(50 * time.Millisecond) // the follower waits for the path
			for ring := 1; ring <= 4; ring++ {
				name := path
				if ring == 2 {
					name = path + ".new"
				}
				w, err := Create(name, minSizes, ContentTypeTest, testHash)
				if err != nil {
					return err
				}
				if err := record(w, ring, 0, perRing/2); err != nil {
					return err
				}
				if ring == 2 {
					if err := os.Rename(name, path); err != nil {
						return err
					}
				}
				if err := record(w, ring, perRing/2, perRing); err != nil {
					return err
				}
				// A ring the follower never saw would be skipped: go on
				// once it has read this one.
				for read.Load() < uint64(ring*perRing) {
					time.Sleep(time.Millisecond)
				}
				if ring == 3 {
					if err := os.Truncate(path, 0); err != nil {
						return err
					}
				}
				w.Close()
			}
			return nil
		}()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var restarts []*WriterRestartError
	var d Descriptor
	for ring, i := 1, 0; ring <= 4; {
		err := f.Next(ctx, &d)
		var rs *WriterRestartError
		switch {
		case errors.As(err, &rs):
			if i != perRing {
				t.Fatalf("restart after %d events of ring %d: %v", i, ring, rs)
			}
			restarts = append(restarts, rs)
			ring, i = ring+1, 0
			continue
		case err != nil:
			t.Fatalf("ring %d, event %d: %v", ring, i, err)
		}
		p := f.Payload(&d)
		if len(p) != 8 || !f.PayloadValid(&d) {
			t.Fatalf("ring %d, event %d: payload %x", ring, i, p)
		}
		want := uint64(ring)<<32 | uint64(i)
		if got := binary.LittleEndian.Uint64(p); got != want || d.Seqno != uint64(i+1) {
			t.Fatalf("event seqno %d holds ring %d index %d, want ring %d index %d (seqno %d)",
				d.Seqno, got>>32, uint32(got), ring, i, i+1)
		}
		i++
		read.Add(1)
		if ring == 4 && i == perRing {
			break
		}
	}
	if err := <-writerErr; err != nil {
		t.Fatal(err)
	}
	if len(restarts) != 3 {
		t.Fatalf("%d restart notices, want 3", len(restarts))
	}
	for k, rs := range restarts {
		var rc *RingChangedError
		switch {
		case rs.Path != path || rs.LastSeqno != perRing || rs.Oldest != 1:
			t.Errorf("restart %d: %+v", k+1, rs)
		case k < 2 && !errors.Is(rs.Cause, ErrWriterGone):
			t.Errorf("restart %d: cause %v, want the writer's exit", k+1, rs.Cause)
		case k == 2 && (!errors.As(rs.Cause, &rc) || rc.Reason != RingTruncated):
			t.Errorf("restart %d: cause %v, want the truncation", k+1, rs.Cause)
		}
		if errors.Is(rs, ErrWriterGone) || !errors.Is(rs, ErrWriterRestarted) {
			t.Errorf("restart %d unwraps wrongly: %v", k+1, rs)
		}
		t.Log(rs)
	}
	if len(waits) != 4 || !errors.Is(waits[0], os.ErrNotExist) {
		t.Errorf("OnWait calls: %v; want 4, the first for the missing path", waits)
	}
}

// TestFollowerSchemaChange: a new ring that Check refuses (another
// schema) ends the following with Check's error.
func TestFollowerSchemaChange(t *testing.T) {
	path := t.TempDir() + "/ring"
	w, err := Create(path, minSizes, ContentTypeTest, testHash)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Record(1, [4]uint64{}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Follow(path, FollowOptions{
		Wait:  WaitStrategy{MinSleep: time.Millisecond, MaxSleep: time.Millisecond, WriterCheck: 10 * time.Millisecond},
		Poll:  5 * time.Millisecond,
		Start: func(r *Ring) (*Reader, error) { rd := r.NewReader(); rd.SetSeqno(1); return rd, nil },
		Check: func(r *Ring) error { return r.CheckSchema(ContentTypeTest, testHash) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var d Descriptor
	if err := f.Next(ctx, &d); err != nil || d.Seqno != 1 {
		t.Fatalf("first event: %v, seqno %d", err, d.Seqno)
	}
	w.Close()
	other := testHash
	other[0] ^= 0xff
	w2, err := Create(path, minSizes, ContentTypeTest, other)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	err = f.Next(ctx, &d)
	if !errors.Is(err, ErrSchemaMismatch) {
		t.Fatalf("Next after a restart with another schema: %v", err)
	}
	if err2 := f.Next(ctx, &d); err2 != err {
		t.Errorf("Next again: %v", err2)
	}
}
