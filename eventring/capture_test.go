package eventring

import (
	"bytes"
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkCapture opens the snapshot in b, written by WriteSnapshotContext
// with the returned last, and checks that it is consistent: it reads from
// its oldest event to exactly last with no gap, every descriptor is whole
// (recordSelfCheck stores the payload size in ContentExt[0]), every payload
// is intact or reads as expired, never as torn bytes, and the header's
// last_seqno is at least last and, once the ring has wrapped, makes an
// event that was captured the oldest. It returns the snapshot and how many
// payloads were valid and expired.
func checkCapture(t *testing.T, b []byte, last uint64) (s *Ring, valid, expired int) {
	t.Helper()
	s, err := Open(writeTemp(t, b, 0))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	h := s.Header()
	require.GreaterOrEqual(t, h.LastSeqno, last, "snapshot last_seqno below the newest event captured")
	oldest := s.OldestSeqno()
	switch c := h.Sizes.DescriptorCapacity; {
	case h.LastSeqno <= c:
		require.Equal(t, uint64(1), oldest)
	case h.LastSeqno-c+1 <= last:
		require.Equal(t, h.LastSeqno-c+1, oldest, "the snapshot's oldest candidate was not captured")
	}
	rd := s.NewReader()
	rd.SetSeqno(oldest)
	var d Descriptor
	buf := make([]byte, 0, 64<<10)
	for {
		res := rd.TryNext(&d)
		if res == NotReady {
			break
		}
		require.Equal(t, Ready, res, "after seqno %d", rd.LastSeqno())
		require.Equal(t, uint64(d.PayloadSize), d.ContentExt[0], "torn descriptor %d", d.Seqno)
		buf, err = s.CopyPayload(&d, buf)
		if err != nil {
			require.ErrorIs(t, err, ErrPayloadExpired, "seqno %d", d.Seqno)
			expired++
			continue
		}
		require.NoError(t, checkSelf(&d, buf), "seqno %d", d.Seqno)
		valid++
	}
	if last == 0 {
		require.Equal(t, oldest-1, rd.LastSeqno(), "an empty capture holds events")
	} else {
		require.Equal(t, last, rd.LastSeqno(), "the snapshot's newest event is not the one returned")
	}
	return s, valid, expired
}

// TestWriteSnapshotContextWhileRecording captures a ring again and again
// while a Recorder fills it from another goroutine: small events lap the
// descriptor array, large ones wrap the payload buffer. Each capture opens,
// holds a consistent run of events ending at the last seqno it returned,
// and none of its payloads reads as torn bytes.
func TestWriteSnapshotContextWhileRecording(t *testing.T) {
	w, _ := newTestRecorder(t)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	var committed atomic.Uint64 // newest committed seqno
	// Once both arrays have wrapped, the writer adds at most a quarter of
	// the payload buffer per capture: on a loaded machine (or under -race)
	// an unbounded writer can slide the window past everything while a
	// capture runs, leaving no valid payload to check.
	var budget atomic.Int64
	budget.Store(math.MaxInt64)
	refill := make(chan int64)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			size := uint64(16 + i%64)
			if i%64 == 0 {
				size = uint64(16 + (i*131)%60000)
			}
			for budget.Add(-int64(size)) < 0 {
				select {
				case b := <-refill:
					budget.Store(b)
				case <-stop:
					return
				}
			}
			committed.Store(recordSelfCheck(t, w, size))
		}
	})
	defer func() {
		close(stop)
		wg.Wait()
	}()
	waitUntil(t, func() bool {
		h := ring.Header()
		return h.LastSeqno > MinDescriptorCapacity && h.NextPayloadByte > MinPayloadBufSize // both wrapped
	})
	budget.Store(0)

	var valid, expired, raced int
	for range 3 - raceEnabledInt { // -race makes each capture ten times slower
		refill <- MinPayloadBufSize / 4 // the writer starts again now
		before := committed.Load()
		var b bytes.Buffer
		last, err := ring.WriteSnapshotContext(context.Background(), &b)
		require.NoError(t, err)
		after := ring.LastSeqno()
		require.GreaterOrEqual(t, last, before, "a capture misses events committed before it started")
		require.LessOrEqual(t, last, after)
		if after > before+1 {
			raced++
		}
		s, v, e := checkCapture(t, b.Bytes(), last)
		require.LessOrEqual(t, s.LastSeqno(), after)
		valid, expired = valid+v, expired+e
	}
	t.Logf("valid=%d expired=%d captures raced by the writer=%d", valid, expired, raced)
	require.Positive(t, valid)
	require.Positive(t, raced, "the writer never wrote during a capture")
}

// hookCtx is a context whose Err calls hook with the number of calls so
// far: the capture checks its context at known points (every 4096th
// descriptor, every captureChunk bytes of payload), where a test writes.
type hookCtx struct {
	context.Context
	calls int
	hook  func(call int)
}

func (c *hookCtx) Err() error {
	c.calls++
	c.hook(c.calls)
	return c.Context.Err()
}

// TestWriteSnapshotContextLapped: a writer that laps the capture while it
// copies descriptors makes it go on with the oldest event left; the
// snapshot then holds the newest whole window of events, consecutive and
// intact, and none of those read before the lap.
func TestWriteSnapshotContextLapped(t *testing.T) {
	const (
		C = MinDescriptorCapacity
		N = 70_000 // wrapped: events N-C+1.. are left
		L = N + C + 10
	)
	w, _ := newTestRecorder(t)
	for range N {
		recordSelfCheck(t, w, 32)
	}
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	ctx := &hookCtx{Context: context.Background(), hook: func(call int) {
		if call == 2 { // 4096 descriptors read: lap the capture
			for range L - N {
				recordSelfCheck(t, w, 32)
			}
		}
	}}
	var b bytes.Buffer
	last, err := ring.WriteSnapshotContext(ctx, &b)
	require.NoError(t, err)
	require.Equal(t, uint64(L), last)
	s, valid, expired := checkCapture(t, b.Bytes(), last)
	require.Equal(t, uint64(L-C+1), s.OldestSeqno())
	require.Equal(t, C, valid)
	require.Zero(t, expired)
}

// TestWriteSnapshotContextOverwritten: payload bytes the writer overwrites
// while the capture copies them are copied torn, and the window start read
// after the copy makes those events read as expired.
func TestWriteSnapshotContextOverwritten(t *testing.T) {
	const events, size = 40, 256 << 10 // 10 MiB: three captureChunks
	w, _ := newTestRecorder(t)
	for range events {
		recordSelfCheck(t, w, size)
	}
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	big := make([]byte, 1<<20)
	ctx := &hookCtx{Context: context.Background(), hook: func(call int) {
		if call == 3 { // the first payload chunk copied: overwrite the whole buffer
			for range MinPayloadBufSize/len(big) + 8 {
				_, err := w.Record(9, [4]uint64{}, big)
				require.NoError(t, err)
			}
		}
	}}
	var b bytes.Buffer
	last, err := ring.WriteSnapshotContext(ctx, &b)
	require.NoError(t, err)
	require.Equal(t, uint64(events), last)
	s, valid, expired := checkCapture(t, b.Bytes(), last)
	require.Zero(t, valid)
	require.Equal(t, events, expired)
	// The scenario happened: some payloads were copied torn.
	torn := 0
	for i := uint64(1); i <= events; i++ {
		var d Descriptor
		require.True(t, s.TryCopy(i, &d))
		if checkSelf(&d, s.Payload(&d)) != nil {
			torn++
		}
	}
	require.Positive(t, torn)
}

// TestWriteSnapshotContextStops: a done context stops a capture before it
// writes anything, and a closed ring refuses one.
func TestWriteSnapshotContextStops(t *testing.T) {
	w, _ := newTestRecorder(t)
	for range 100 {
		recordSelfCheck(t, w, 64)
	}
	ring, err := w.Ring()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var b bytes.Buffer
	_, err = ring.WriteSnapshotContext(ctx, &b)
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, b.Len())

	// Cancelled while compressing.
	n := 0
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	_, err = ring.WriteSnapshotContext(ctx2, writerFunc(func(p []byte) (int, error) {
		if n++; n == 2 {
			cancel2()
		}
		return len(p), nil
	}))
	require.ErrorIs(t, err, context.Canceled)

	require.NoError(t, ring.Close())
	_, err = ring.WriteSnapshotContext(context.Background(), &b)
	require.True(t, errors.Is(err, ErrClosed))
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestWriteSnapshotContextOfSnapshot: a snapshot is compressed as it is,
// and its last_seqno is returned.
func TestWriteSnapshotContextOfSnapshot(t *testing.T) {
	w, _ := newTestRecorder(t)
	for range 1000 {
		recordSelfCheck(t, w, 100)
	}
	live, err := w.Ring()
	require.NoError(t, err)
	defer live.Close()
	var b bytes.Buffer
	last, err := live.WriteSnapshotContext(context.Background(), &b)
	require.NoError(t, err)
	require.Equal(t, uint64(1000), last)
	s, valid, _ := checkCapture(t, b.Bytes(), last)
	require.Equal(t, 1000, valid)
	var again bytes.Buffer
	last, err = s.WriteSnapshotContext(context.Background(), &again)
	require.NoError(t, err)
	require.Equal(t, uint64(1000), last)
	s2, valid, _ := checkCapture(t, again.Bytes(), last)
	require.Equal(t, 1000, valid)
	require.Equal(t, s.Header(), s2.Header())
}
