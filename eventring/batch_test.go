package eventring

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// payloadOf returns the payload of descs[i] that CopyPayloads put in dst,
// or nil if it expired.
func payloadOf(dst []byte, descs []Descriptor, offs []int, i int) []byte {
	if offs[i] < 0 {
		return nil
	}
	return dst[offs[i] : offs[i]+int(descs[i].PayloadSize)]
}

// checkBatch verifies a CopyPayloads result against the ring: every
// payload reported intact passes its self-check, every one reported expired
// is below the window start the call saw (or that the ring shows now: it
// only grows).
func checkBatch(t testing.TB, ring *Ring, dst []byte, descs []Descriptor, offs []int, err error) (valid, expired int) {
	t.Helper()
	var be *BatchExpiredError
	if err != nil {
		require.ErrorAs(t, err, &be)
		require.ErrorIs(t, err, ErrPayloadExpired)
	}
	ws := ring.Header().BufferWindowStart
	newest := -1
	for i := range descs {
		d := &descs[i]
		if offs[i] < 0 {
			expired++
			newest = i
			require.Less(t, d.PayloadBufOffset, ws, "seqno %d reported expired", d.Seqno)
			require.NotNil(t, be, "an expired payload needs an error")
			require.Less(t, d.PayloadBufOffset, be.WindowStart)
			continue
		}
		valid++
		require.Zero(t, offs[i]%PayloadAlign)
		require.NoError(t, checkSelf(d, payloadOf(dst, descs, offs, i)), "seqno %d reported intact", d.Seqno)
		if be != nil {
			require.GreaterOrEqual(t, d.PayloadBufOffset, be.WindowStart)
		}
	}
	if be != nil {
		require.Equal(t, expired, be.Expired)
		require.Equal(t, descs[newest].Seqno, be.Seqno)
		require.Equal(t, descs[newest].PayloadBufOffset, be.Offset)
	}
	return valid, expired
}

// TestBatchMatchesPerEvent reads a ring with TryNextBatch and CopyPayloads
// in batches of many sizes and short buffers: the same events and bytes as
// TryNext and CopyPayload, aligned, without overlaps.
func TestBatchMatchesPerEvent(t *testing.T) {
	w, _ := newTestRecorder(t)
	const events = 5000
	for i := range events {
		size := uint64(16 + (i*7919)%3000)
		if i%7 == 3 {
			size = uint64(i % 16) // short payloads too; below 16 they do not self-check
			if _, err := w.Record(9, [4]uint64{size}, make([]byte, size)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		recordSelfCheck(t, w, size)
	}
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()

	var want []Descriptor
	var wantPayloads [][]byte
	rd := ring.NewReader()
	rd.SetSeqno(1)
	var d Descriptor
	for rd.TryNext(&d) == Ready {
		want = append(want, d)
		p, err := ring.CopyPayload(&d, nil)
		require.NoError(t, err)
		wantPayloads = append(wantPayloads, p)
	}
	require.Len(t, want, events)

	for _, bs := range []int{1, 2, 3, 7, 64, 1000, 6000} {
		for _, dstLen := range []int{0, 15, 3000, 5000, 1 << 16, 16 << 20} {
			t.Run("batch="+strconv.Itoa(bs)+"/dst="+strconv.Itoa(dstLen), func(t *testing.T) {
				rd := ring.NewReader()
				rd.SetSeqno(1)
				descs := make([]Descriptor, bs)
				offs := make([]int, bs)
				dst := make([]byte, dstLen)
				got := 0
				for {
					n, res := rd.TryNextBatch(descs)
					require.Equal(t, uint64(got+n), rd.LastSeqno())
					require.Equal(t, want[got:got+n], descs[:n])
					if n < bs {
						require.Equal(t, NotReady, res)
					} else {
						require.Equal(t, Ready, res)
					}
					batch := descs[:n]
					for len(batch) > 0 {
						k, err := ring.CopyPayloads(dst, batch, offs)
						if errors.Is(err, io.ErrShortBuffer) {
							require.Zero(t, k)
							require.Greater(t, int(batch[0].PayloadSize), dstLen)
							p, err := ring.CopyPayload(&batch[0], nil)
							require.NoError(t, err)
							require.Equal(t, string(wantPayloads[got]), string(p))
							got++
							batch = batch[1:]
							continue
						}
						require.NoError(t, err)
						require.Positive(t, k)
						end := 0
						for i := range k {
							require.Zero(t, offs[i]%PayloadAlign)
							require.GreaterOrEqual(t, offs[i], end, "payloads overlap")
							p := payloadOf(dst, batch, offs, i)
							require.Equal(t, string(wantPayloads[got+i]), string(p), "seqno %d", batch[i].Seqno)
							end = offs[i] + len(p)
						}
						if k < len(batch) {
							// Stopped because the next one does not fit.
							next := (end + PayloadAlign - 1) &^ (PayloadAlign - 1)
							require.Greater(t, next+int(batch[k].PayloadSize), dstLen)
						}
						got += k
						batch = batch[k:]
					}
					if n < bs {
						break
					}
				}
				require.Equal(t, events, got)
			})
		}
	}
}

// TestCopyPayloadsEdgeCases: empty inputs, a short offs, a corrupt
// descriptor inside a batch, a closed ring.
func TestCopyPayloadsEdgeCases(t *testing.T) {
	w, _ := newTestRecorder(t)
	for range 10 {
		recordSelfCheck(t, w, 100)
	}
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	rd := ring.NewReader()
	rd.SetSeqno(1)
	descs := make([]Descriptor, 10)
	n, res := rd.TryNextBatch(descs)
	require.Equal(t, 10, n)
	require.Equal(t, Ready, res)
	n, res = rd.TryNextBatch(descs[:0])
	require.Equal(t, 0, n)
	require.Equal(t, Ready, res)
	n, res = rd.TryNextBatch(descs)
	require.Equal(t, 0, n)
	require.Equal(t, NotReady, res)
	rd.SetSeqno(1)
	n, _ = rd.TryNextBatch(descs)
	require.Equal(t, 10, n)

	dst := make([]byte, 4096)
	offs := make([]int, 10)
	n, err = ring.CopyPayloads(dst, nil, offs)
	require.Equal(t, 0, n)
	require.NoError(t, err)
	n, err = ring.CopyPayloads(dst, descs, nil)
	require.Equal(t, 0, n)
	require.ErrorIs(t, err, io.ErrShortBuffer)
	n, err = ring.CopyPayloads(dst, descs, offs[:3])
	require.Equal(t, 3, n)
	require.NoError(t, err)
	n, err = ring.CopyPayloads(dst[:99], descs, offs)
	require.Equal(t, 0, n)
	require.ErrorIs(t, err, io.ErrShortBuffer)
	n, err = ring.CopyPayloads(dst[:100], descs, offs)
	require.Equal(t, 1, n, "100 bytes, then the next payload would start at 112")
	require.NoError(t, err)

	// A corrupt descriptor stops the batch before it; the next call
	// reports it.
	bad := append([]Descriptor(nil), descs...)
	bad[4].PayloadSize = math32
	n, err = ring.CopyPayloads(dst, bad, offs)
	require.Equal(t, 4, n)
	require.NoError(t, err)
	n, err = ring.CopyPayloads(dst, bad[4:], offs)
	require.Equal(t, 0, n)
	require.ErrorIs(t, err, ErrBadDescriptor)
	// A descriptor pointing past what the writer allocated, likewise.
	bad[4].PayloadSize = descs[4].PayloadSize
	bad[6].PayloadBufOffset = ring.Header().NextPayloadByte
	n, err = ring.CopyPayloads(dst, bad, offs)
	require.Equal(t, 6, n)
	require.NoError(t, err)
	_, err = ring.CopyPayloads(dst, bad[6:], offs)
	require.ErrorIs(t, err, ErrBadDescriptor)
	// Offsets whose end overflows, or that lie 2^63 bytes on, with small
	// payloads (the ones the amd64 loop copies on its fast path).
	for _, off := range []uint64{math.MaxUint64 - 10, 1 << 63, 1<<63 - 1} {
		bad = append(bad[:0], descs...)
		bad[5].PayloadBufOffset = off
		n, err = ring.CopyPayloads(dst, bad, offs)
		require.Equal(t, 5, n, "offset %#x", off)
		require.NoError(t, err)
		_, err = ring.CopyPayloads(dst, bad[5:], offs)
		require.ErrorIs(t, err, ErrBadDescriptor, "offset %#x", off)
	}

	require.NoError(t, ring.Close())
	n, err = ring.CopyPayloads(dst, descs, offs)
	require.ErrorIs(t, err, ErrClosed)
	require.Zero(t, n)
	n, res = rd.TryNextBatch(descs)
	require.Equal(t, 0, n)
	require.Equal(t, NotReady, res)
}

const math32 = 1<<32 - 1

// TestCopyPayloadsSmallPayloadsNearDstEnd copies payloads of 0 to 300
// bytes (the sizes the amd64 copy loop moves in whole 256-byte blocks while
// dst has room for them, and copies exactly near its end) into destinations
// of many lengths: every payload equals the ring's own bytes (Ring.Payload)
// and nothing past len(dst) is ever written.
func TestCopyPayloadsSmallPayloadsNearDstEnd(t *testing.T) {
	w, _ := newTestRecorder(t)
	const events = 400
	x := uint64(99)
	for range events {
		p := make([]byte, xorshift(&x)%301)
		for j := range p {
			p[j] = byte(x>>(j%56)) ^ byte(j)
		}
		_, err := w.Record(3, [4]uint64{}, p)
		require.NoError(t, err)
	}
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	descs := make([]Descriptor, events)
	rd := ring.NewReader()
	rd.SetSeqno(1)
	n, _ := rd.TryNextBatch(descs)
	require.Equal(t, events, n)

	const maxDst, guard, canary = 8192, 512, 0xA5
	mem := make([]byte, maxDst+guard)
	offs := make([]int, events)
	for dstLen := 0; dstLen <= maxDst; dstLen += 37 {
		for i := range mem {
			mem[i] = canary
		}
		dst := mem[:dstLen]
		for first := 0; first < events; {
			batch := descs[first:]
			k, err := ring.CopyPayloads(dst, batch, offs)
			if err != nil {
				require.ErrorIs(t, err, io.ErrShortBuffer)
				require.Greater(t, int(batch[0].PayloadSize), dstLen)
				first++
				continue
			}
			require.Positive(t, k)
			for i := range k {
				if got := payloadOf(dst, batch, offs, i); !bytes.Equal(got, ring.Payload(&batch[i])) {
					t.Fatalf("dst %d bytes, seqno %d (%d bytes): copied payload differs from the ring's",
						dstLen, batch[i].Seqno, batch[i].PayloadSize)
				}
			}
			for i, b := range mem[dstLen:] {
				if b != canary {
					t.Fatalf("dst %d bytes: byte %d past its end was written", dstLen, i)
				}
			}
			first += k
		}
	}
}

// TestTryNextBatchStopsAtGapAndUncommitted: a batch ends right before an
// overwritten slot (Gap, reported again by the next call and by NextBatch)
// and before an uncommitted reservation (NotReady).
func TestTryNextBatchStopsAtGapAndUncommitted(t *testing.T) {
	w, _ := newTestRecorder(t)
	for range 100 {
		recordSelfCheck(t, w, 32)
	}
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	// Event 50's slot now holds event 50+C: as if the writer lapped the
	// reader right there.
	(*Descriptor)(unsafe.Add(w.descs, 49*DescriptorSize)).Seqno = 50 + MinDescriptorCapacity
	rd := ring.NewReader()
	rd.SetSeqno(1)
	descs := make([]Descriptor, 64)
	n, res := rd.TryNextBatch(descs)
	require.Equal(t, 49, n)
	require.Equal(t, Gap, res)
	require.Equal(t, uint64(49), rd.LastSeqno())
	require.Equal(t, uint64(49), descs[48].Seqno)
	n, res = rd.TryNextBatch(descs)
	require.Equal(t, 0, n)
	require.Equal(t, Gap, res)
	rd.SetSeqno(1)
	ctx := context.Background()
	n, err = rd.NextBatch(ctx, descs)
	require.NoError(t, err)
	require.Equal(t, 49, n)
	n, err = rd.NextBatch(ctx, descs)
	require.Equal(t, 0, n)
	var ge *GapError
	require.ErrorAs(t, err, &ge)
	require.Equal(t, uint64(50), ge.Expected)

	// An uncommitted reservation after event 100.
	res101, err := w.Reserve(7, [4]uint64{}, 32)
	require.NoError(t, err)
	recordSelfCheck(t, w, 32) // 102, committed
	rd.SetSeqno(51)
	n, res = rd.TryNextBatch(descs)
	require.Equal(t, 50, n)
	require.Equal(t, NotReady, res)
	fillSelfCheck(res101.Payload, res101.Seqno)
	res101.Commit()
	n, res = rd.TryNextBatch(descs)
	require.Equal(t, 2, n)
	require.Equal(t, NotReady, res)
	require.Equal(t, []uint64{101, 102}, []uint64{descs[0].Seqno, descs[1].Seqno})
}

// TestNextBatchWaits: NextBatch blocks until an event arrives, returns it
// with whatever followed, and ends a snapshot with io.EOF.
func TestNextBatchWaits(t *testing.T) {
	w, _ := newTestRecorder(t)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	rd := ring.NewReader()
	rd.SetWaitStrategy(WaitStrategy{Spin: 10, MinSleep: time.Microsecond, MaxSleep: time.Millisecond})
	go func() {
		time.Sleep(20 * time.Millisecond)
		for range 3 {
			recordSelfCheck(t, w, 64)
		}
	}()
	descs := make([]Descriptor, 8)
	got := 0
	for got < 3 {
		n, err := rd.NextBatch(context.Background(), descs)
		require.NoError(t, err)
		require.Positive(t, n)
		for i := range n {
			require.Equal(t, uint64(got+i+1), descs[i].Seqno)
		}
		got += n
	}
	n, err := rd.NextBatch(context.Background(), nil)
	require.Zero(t, n)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = rd.NextBatch(ctx, descs)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	s := snapshotOf(t, ring)
	srd := s.NewReader()
	n, err = srd.NextBatch(context.Background(), descs)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	_, err = srd.NextBatch(context.Background(), descs)
	require.ErrorIs(t, err, io.EOF)
}

// TestCopyPayloadsOverwrittenDuringCopy: between the copy of a batch and
// its check, the writer slides the window into the middle of the batch and
// overwrites its oldest payloads. The batch reports exactly the events
// below the new window start as expired and every other one intact, and
// the overwritten bytes are never returned as valid.
func TestCopyPayloadsOverwrittenDuringCopy(t *testing.T) {
	const S, W = MinPayloadBufSize, WindowIncr
	const size = 1<<20 + 48
	for _, tc := range []struct {
		name      string
		newWindow uint64 // window start to reach during the copy; 0: none
	}{
		{"partly", 3 * W},
		{"all", 4 * W},
		{"none", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := newTestRecorder(t)
			ring, err := w.Ring()
			require.NoError(t, err)
			defer ring.Close()
			for ring.Header().NextPayloadByte < 60<<20 {
				recordSelfCheck(t, w, size)
			}
			// The batch: every event whose payload starts in [8, 56) MiB.
			rd := ring.NewReader()
			rd.SetSeqno(1)
			all := make([]Descriptor, 100)
			n, _ := rd.TryNextBatch(all)
			var descs []Descriptor
			for _, d := range all[:n] {
				if d.PayloadBufOffset >= 8<<20 && d.PayloadBufOffset < 56<<20 {
					descs = append(descs, d)
				}
			}
			require.Greater(t, len(descs), 40)
			dst := make([]byte, 64<<20)
			offs := make([]int, len(descs))
			calls := 0
			testHookBatchCopied = func() {
				calls++
				for ring.Header().BufferWindowStart < tc.newWindow {
					recordSelfCheck(t, w, size)
				}
			}
			defer func() { testHookBatchCopied = nil }()
			k, err := ring.CopyPayloads(dst, descs, offs)
			testHookBatchCopied = nil
			require.Equal(t, 1, calls)
			require.Equal(t, len(descs), k)
			ws := ring.Header().BufferWindowStart
			require.Equal(t, tc.newWindow, ws)
			valid, expired := checkBatch(t, ring, dst, descs, offs, err)
			want := 0
			for i, d := range descs {
				if d.PayloadBufOffset < ws {
					want++
					require.Equal(t, -1, offs[i], "seqno %d", d.Seqno)
				}
			}
			require.Equal(t, want, expired)
			require.Equal(t, len(descs)-want, valid)
			switch tc.name {
			case "partly":
				require.Positive(t, valid)
				require.Positive(t, expired)
				var be *BatchExpiredError
				require.ErrorAs(t, err, &be)
				// With one writer the expired ones are a prefix.
				require.Equal(t, descs[expired-1].Seqno, be.Seqno)
				require.GreaterOrEqual(t, descs[expired].PayloadBufOffset, ws)
			case "all":
				require.Zero(t, valid)
			case "none":
				require.NoError(t, err)
				require.Zero(t, expired)
			}
			if tc.newWindow > 0 {
				// The test is meaningful: the oldest payloads of the batch
				// were really overwritten in the ring, and the copy in dst
				// of the first one is torn or stale.
				require.Error(t, checkSelf(&descs[0], ring.Payload(&descs[0])))
				require.Less(t, descs[0].PayloadBufOffset+S, ring.Header().NextPayloadByte)
			}
		})
	}
}

// TestBatchConcurrentWriter races a writer goroutine against a batch reader
// that falls behind on purpose: whenever a batch straddles a step of the
// window, it waits between the copy of the batch and its check until the
// writer has slid the window to that step, reclaiming the batch's oldest
// payloads. Every payload reported intact passes its self-check, every one
// reported expired really is, and gaps end batches.
func TestBatchConcurrentWriter(t *testing.T) {
	w, _ := newTestRecorder(t)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	events := 200_000
	if testing.Short() {
		events = 50_000
	}
	var done atomic.Bool
	var readerAt atomic.Uint64 // the reader's position, to keep the writer within reach
	var wg sync.WaitGroup
	wg.Go(func() {
		defer done.Store(true)
		for i := range events {
			// Lapping the reader is the point, but finishing while it is
			// still at the start is not: stay within 40 000 events (less
			// than a lap of descriptors, well over a lap of payloads).
			for uint64(i) > readerAt.Load()+40_000 {
				runtime.Gosched()
			}
			size := uint64(16 + (i*37)%4000)
			if i%500 == 499 {
				size = 1<<20 + 48 // keep the window moving
			}
			recordSelfCheck(t, w, size)
		}
	})
	rd := ring.NewReader()
	rd.SetSeqno(1)
	descs := make([]Descriptor, 64)
	offs := make([]int, len(descs))
	dst := make([]byte, 8<<20)
	var batches, valid, expired, gaps, overlapped int
	var waitFor uint64 // the hook's target window start
	testHookBatchCopied = func() {
		deadline := time.Now().Add(10 * time.Second)
		for waitFor > 0 && ring.Header().BufferWindowStart < waitFor && !done.Load() && time.Now().Before(deadline) {
			time.Sleep(50 * time.Microsecond)
		}
	}
	defer func() { testHookBatchCopied = nil }()
	for !done.Load() || rd.LastSeqno() < uint64(events) {
		n, res := rd.TryNextBatch(descs)
		readerAt.Store(rd.LastSeqno())
		if res == Gap && n == 0 {
			gaps++
			rd.Reset()
			continue
		}
		if n == 0 {
			runtime.Gosched()
			continue
		}
		for i := range n {
			require.Equal(t, rd.LastSeqno()-uint64(n-1-i), descs[i].Seqno)
			require.Equal(t, uint64(descs[i].PayloadSize), descs[i].ContentExt[0], "torn descriptor")
		}
		batch := descs[:n]
		for len(batch) > 0 {
			batches++
			waitFor = windowStepInside(batch)
			k, err := ring.CopyPayloads(dst, batch, offs)
			require.Positive(t, k)
			v, e := checkBatch(t, ring, dst, batch[:k], offs[:k], err)
			if v > 0 && e > 0 {
				overlapped++
			}
			valid += v
			expired += e
			batch = batch[k:]
		}
	}
	wg.Wait()
	t.Logf("batches=%d valid=%d expired=%d partly expired batches=%d gaps=%d", batches, valid, expired, overlapped, gaps)
	require.Positive(t, valid)
	require.Positive(t, expired)
	require.Positive(t, overlapped)
}

// windowStepInside returns the first multiple of WindowIncr above the
// batch's first payload offset if a later payload of the batch starts at or
// beyond it, else 0. Waiting for the window to reach it between the copy
// and the check expires part of the batch, not all of it.
func windowStepInside(batch []Descriptor) uint64 {
	step := (batch[0].PayloadBufOffset/WindowIncr + 1) * WindowIncr
	if batch[len(batch)-1].PayloadBufOffset >= step {
		return step
	}
	return 0
}

// TestBatchReadingDoesNotAllocate: TryNextBatch, NextBatch and
// CopyPayloads never allocate, expiry included.
func TestBatchReadingDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	w, _ := newTestRecorder(t)
	for i := range 1000 {
		recordSelfCheck(t, w, uint64(16+i%200))
	}
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	rd := ring.NewReader()
	descs := make([]Descriptor, 100)
	offs := make([]int, 100)
	dst := make([]byte, 64<<10)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		rd.SetSeqno(1)
		for {
			n, _ := rd.TryNextBatch(descs)
			if n == 0 {
				break
			}
			if k, err := ring.CopyPayloads(dst, descs[:n], offs); err != nil || k != n {
				panic(err)
			}
		}
		rd.SetSeqno(1)
		if n, err := rd.NextBatch(ctx, descs); err != nil || n != len(descs) {
			panic(err)
		}
	})
	require.Zero(t, allocs)
}

// FuzzCopyPayloadsBookkeeping: for any window of a ring with varied
// payload sizes, any batch length and any dst and offs sizes, CopyPayloads
// handles a maximal prefix, places every payload 16-aligned, in order,
// without overlap, inside dst, with the ring's bytes.
func FuzzCopyPayloadsBookkeeping(f *testing.F) {
	f.Add(uint16(1), uint16(10), uint32(4096), uint16(10))
	f.Add(uint16(100), uint16(300), uint32(100000), uint16(64))
	f.Add(uint16(7), uint16(1), uint32(0), uint16(1))
	f.Add(uint16(500), uint16(3), uint32(17), uint16(0))
	f.Add(uint16(1), uint16(1000), uint32(1<<20), uint16(1000))
	f.Fuzz(func(t *testing.T, start, count uint16, dstLen uint32, offsLen uint16) {
		ring := batchFuzzRing(t)
		first := uint64(start)%batchFuzzEvents + 1
		descs := make([]Descriptor, min(uint64(count), batchFuzzEvents-first+1))
		rd := ring.NewReader()
		rd.SetSeqno(first)
		n, _ := rd.TryNextBatch(descs)
		require.Equal(t, len(descs), n)
		dst := make([]byte, dstLen%(1<<20))
		offs := make([]int, offsLen)
		for i := range offs {
			offs[i] = -2
		}
		k, err := ring.CopyPayloads(dst, descs, offs)
		switch {
		case len(descs) == 0:
			require.Zero(t, k)
			require.NoError(t, err)
			return
		case len(offs) == 0:
			require.Zero(t, k)
			require.ErrorIs(t, err, io.ErrShortBuffer)
			return
		case err != nil:
			require.Zero(t, k)
			require.ErrorIs(t, err, io.ErrShortBuffer)
			require.Greater(t, int(descs[0].PayloadSize), len(dst))
			return
		}
		require.LessOrEqual(t, k, min(len(descs), len(offs)))
		end := 0
		for i := range k {
			size := int(descs[i].PayloadSize)
			require.Zero(t, offs[i]%PayloadAlign)
			require.GreaterOrEqual(t, offs[i], end)
			require.LessOrEqual(t, offs[i]+size, len(dst))
			require.Equal(t, ring.Payload(&descs[i]), dst[offs[i]:offs[i]+size])
			end = offs[i] + size
		}
		for _, o := range offs[k:] {
			require.Equal(t, -2, o, "offs past n untouched")
		}
		if k < min(len(descs), len(offs)) {
			next := (end + PayloadAlign - 1) &^ (PayloadAlign - 1)
			require.Greater(t, next+int(descs[k].PayloadSize), len(dst), "stopped although the next payload fits")
		}
	})
}

const batchFuzzEvents = 3000

var (
	batchFuzzOnce    sync.Once
	batchFuzzRingVal *Ring
)

// batchFuzzRing records batchFuzzEvents events with payloads of 0 to ~5000 bytes
// once per process and returns a reader view of them.
func batchFuzzRing(t *testing.T) *Ring {
	batchFuzzOnce.Do(func() {
		dir, err := os.MkdirTemp("", "eventring-fuzz")
		require.NoError(t, err)
		defer os.RemoveAll(dir) // the Ring's mapping outlives the file's name
		w, err := Create(dir+"/ring", minSizes, ContentTypeTest, testHash)
		require.NoError(t, err)
		x := uint64(12345)
		for range batchFuzzEvents {
			p := make([]byte, xorshift(&x)%5000)
			for j := range p {
				p[j] = byte(x >> (j % 56))
			}
			_, err := w.Record(3, [4]uint64{}, p)
			require.NoError(t, err)
		}
		batchFuzzRingVal, err = w.Ring()
		require.NoError(t, err)
		// The Ring keeps its own mapping: the writer can go.
		require.NoError(t, w.Close())
	})
	if batchFuzzRingVal == nil {
		t.Fatal("fuzz ring not created")
	}
	return batchFuzzRingVal
}

// TestCrossProcessBatchStream follows a writer process with NextBatch and
// CopyPayloads until it exits. Whenever a batch straddles a step of the
// window, the reader waits between the copy of the batch and its check until
// the writer has slid the window to that step, reclaiming part of the batch: those events, and only those, are reported expired; every payload
// reported intact passes its self-check.
func TestCrossProcessBatchStream(t *testing.T) {
	const n = 150_000
	_, path, _, start := startWriter(t, "stream", "EVENTRING_TEST_N="+strconv.Itoa(n))
	waitForFile(t, path)
	ring, err := Open(path)
	require.NoError(t, err)
	defer ring.Close()
	rd := ring.NewReader()
	rd.SetWaitStrategy(WaitStrategy{Spin: 1000, Yield: 10, MinSleep: time.Microsecond, MaxSleep: 100 * time.Microsecond, WriterCheck: 50 * time.Millisecond})
	require.NoError(t, start.Close())
	descs := make([]Descriptor, 128)
	offs := make([]int, len(descs))
	dst := make([]byte, 4<<20)
	var waitFor uint64
	testHookBatchCopied = func() {
		deadline := time.Now().Add(10 * time.Second)
		for waitFor > 0 && ring.Header().BufferWindowStart < waitFor && time.Now().Before(deadline) {
			if pids, _ := ring.WriterPIDs(); len(pids) == 0 {
				return
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	defer func() { testHookBatchCopied = nil }()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var batches, valid, expired, gaps, partly int
	for {
		k, err := rd.NextBatch(ctx, descs)
		var ge *GapError
		switch {
		case err == nil:
		case errors.As(err, &ge):
			gaps++
			rd.Reset()
			continue
		case errors.Is(err, ErrWriterGone):
			t.Logf("batches=%d valid=%d expired=%d partly expired batches=%d gaps=%d", batches, valid, expired, partly, gaps)
			require.Equal(t, uint64(n), rd.LastSeqno(), "read up to the writer's last event")
			require.Positive(t, valid)
			require.Positive(t, expired)
			if partly == 0 {
				// Only if the writer finished before the reader met a
				// step of the window inside a batch (a starved reader);
				// TestCopyPayloadsOverwrittenDuringCopy covers the case.
				t.Log("no batch was partly expired")
			}
			return
		default:
			require.NoError(t, err)
		}
		for i := range k {
			require.Equal(t, uint64(descs[i].PayloadSize), descs[i].ContentExt[0], "torn descriptor at seqno %d", descs[i].Seqno)
		}
		for batch := descs[:k]; len(batch) > 0; {
			batches++
			waitFor = windowStepInside(batch)
			c, err := ring.CopyPayloads(dst, batch, offs)
			if errors.Is(err, io.ErrShortBuffer) {
				batch = batch[1:] // a payload larger than dst: not this test's concern
				continue
			}
			v, e := checkBatch(t, ring, dst, batch[:c], offs[:c], err)
			if v > 0 && e > 0 {
				partly++
			}
			valid += v
			expired += e
			batch = batch[c:]
		}
	}
}

// TestCopyPayloadsLongRun: one call copies thousands of small payloads
// (more than one chunk of the copy loop).
func TestCopyPayloadsLongRun(t *testing.T) {
	w, _ := newTestRecorder(t)
	const events = 3000
	for i := range events {
		recordSelfCheck(t, w, uint64(16+i%200))
	}
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	rd := ring.NewReader()
	rd.SetSeqno(1)
	descs := make([]Descriptor, events)
	n, _ := rd.TryNextBatch(descs)
	require.Equal(t, events, n)
	offs := make([]int, events)
	dst := make([]byte, 1<<20)
	k, err := ring.CopyPayloads(dst, descs, offs)
	require.NoError(t, err)
	require.Equal(t, events, k)
	valid, expired := checkBatch(t, ring, dst, descs, offs, err)
	require.Equal(t, events, valid)
	require.Zero(t, expired)
}

// TestCopyPayloadsSmallOldestExpire: a batch of 64 small payloads (the
// ones the amd64 loop copies on its fast path) straddling a window
// boundary; the writer moves the window start onto the boundary while the
// batch is copied. Exactly the 32 below it expire (offs -1, a
// BatchExpiredError naming the 32nd) and the 32 above are intact. The
// batch's single check relies on its lowest offset, which only the copy
// loop's bookkeeping knows here.
func TestCopyPayloadsSmallOldestExpire(t *testing.T) {
	const W, small, each = WindowIncr, 200, 208 // each: small rounded up to PayloadAlign
	boundary := uint64(3 * W)
	w, _ := newTestRecorder(t)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	first := boundary - 32*each
	for ring.Header().NextPayloadByte+(1<<20)+16 < first {
		recordSelfCheck(t, w, 1<<20)
	}
	recordSelfCheck(t, w, first-ring.Header().NextPayloadByte) // lands the next payload on first
	var descs [64]Descriptor
	start := recordSelfCheck(t, w, small)
	for range 63 {
		recordSelfCheck(t, w, small)
	}
	rd := ring.NewReader()
	rd.SetSeqno(start)
	n, _ := rd.TryNextBatch(descs[:])
	require.Equal(t, 64, n)
	require.Equal(t, first, descs[0].PayloadBufOffset)
	require.Equal(t, boundary, descs[32].PayloadBufOffset)

	dst := make([]byte, 1<<20)
	offs := make([]int, 64)
	// A first copy, intact, also refreshes the ring's cached end of the
	// allocated bytes, so that the second one's check is the single
	// window check and not the slow path.
	k, err := ring.CopyPayloads(dst, descs[:], offs)
	require.NoError(t, err)
	require.Equal(t, 64, k)
	testHookBatchCopied = func() {
		for ring.Header().BufferWindowStart < boundary {
			recordSelfCheck(t, w, 1<<20)
		}
	}
	defer func() { testHookBatchCopied = nil }()
	k, err = ring.CopyPayloads(dst, descs[:], offs)
	testHookBatchCopied = nil
	require.Equal(t, 64, k)
	require.Equal(t, boundary, ring.Header().BufferWindowStart)
	var be *BatchExpiredError
	require.ErrorAs(t, err, &be)
	require.Equal(t, 32, be.Expired)
	require.Equal(t, descs[31].Seqno, be.Seqno)
	for i := range descs {
		if i < 32 {
			require.Equal(t, -1, offs[i], "event %d", i)
			continue
		}
		require.NoError(t, checkSelf(&descs[i], payloadOf(dst, descs[:], offs, i)), "event %d", i)
	}
}

// TestTryNextBatchTornCopies: a reader batches the slots a writer is
// overwriting at full speed, so that copies are torn mid-way. Every
// descriptor it returns is whole (its fields all belong to one event),
// and the loop's torn exit, when taken, returns only the events before.
func TestTryNextBatchTornCopies(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two CPUs: the writer must run while the reader copies")
	}
	w, _ := newTestRecorder(t)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	capacity := ring.maskD + 1
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := uint64(0); !stop.Load(); i++ {
			// Single writer, fresh ring: event i has seqno i+1.
			if _, err := w.Record(5, [4]uint64{i, ^i, i * 3, 42}, nil); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	defer func() { stop.Store(true); wg.Wait() }()

	var descs [64]Descriptor
	var read, gaps, torn int
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && torn < 20 {
		newest := ring.Header().LastSeqno
		if newest < capacity {
			continue
		}
		// The oldest slots: the writer is overwriting them now.
		last := newest - capacity + 2
		k, _, isTorn := readBatch(ring.descs, ring.maskD, last, &descs[0], len(descs))
		for i, d := range descs[:k] {
			want := last + uint64(i) + 1
			require.Equal(t, want, d.Seqno)
			i := want - 1
			require.Equal(t, [4]uint64{i, ^i, i * 3, 42}, d.ContentExt, "seqno %d: fields of another event", d.Seqno)
			require.Equal(t, uint16(5), d.EventType)
		}
		read += k
		if k < len(descs) {
			gaps++
		}
		if isTorn {
			torn++
		}
	}
	t.Logf("%d descriptors read whole, %d batches stopped early, %d of them at a torn copy", read, gaps, torn)
	require.Positive(t, gaps, "the reader never met the writer")
}
