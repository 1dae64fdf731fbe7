package eventring

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRecordBatchEqualsRecord: batches write exactly the bytes that the
// same events recorded one by one with Record write (spec §5.2–5.4 applied
// per event), with a clock that does not move: header control words,
// descriptors and payload buffer, over several laps of the payload buffer
// and the descriptor array, with RECORD_ERROR stand-ins; Record is the path
// the daemon's recordings verify. The clock runs once per batch.
func TestRecordBatchEqualsRecord(t *testing.T) {
	dir := t.TempDir()
	var perEventClock, batchClock atomic.Int64
	open := func(name string, calls *atomic.Int64) *Recorder {
		w, err := CreateWithOptions(filepath.Join(dir, name), minSizes, ContentTypeTest, testHash,
			RecorderOptions{Clock: func() uint64 { calls.Add(1); return 1_700_000_000_123_456_789 }})
		require.NoError(t, err)
		t.Cleanup(func() { w.Close() })
		return w
	}
	one, batch := open("one", &perEventClock), open("batch", &batchClock)

	data := make([]byte, 1<<20)
	x := uint64(88172645463325252)
	for i := range data {
		data[i] = byte(xorshift(&x))
	}
	expire := make([]byte, MinPayloadBufSize-2*WindowIncr) // the smallest payload that expires at birth
	copy(expire, data)
	var events []BatchEvent
	var batches int
	payloadLaps := 3 - raceEnabledInt // -race makes each lap four times slower
	for total := 0; total < payloadLaps*MinPayloadBufSize || one.LastSeqno() < 2*minSizes.DescriptorCapacity; batches++ {
		events = events[:0]
		n := 1 + int(xorshift(&x)%300)
		for i := range n {
			size := int(xorshift(&x) % 2000)
			switch i % 97 {
			case 5:
				size = int(xorshift(&x) % uint64(len(data))) // up to 1 MiB
			case 11:
				size = 0
			}
			off := int(xorshift(&x) % uint64(len(data)-size+1))
			events = append(events, BatchEvent{EventType: uint16(2 + i%20), ContentExt: [4]uint64{uint64(batches), uint64(i), x, ^x}, Payload: data[off : off+size]})
			total += size
		}
		if batches%7 == 3 {
			events = append(events, BatchEvent{EventType: 9, ContentExt: [4]uint64{1, 2, 3, 4}, Payload: expire})
		}
		first, err := batch.RecordBatch(events)
		var oversize []*OversizeError
		for i, e := range events {
			seqno, err := one.Record(e.EventType, e.ContentExt, e.Payload)
			if i == 0 {
				require.Equal(t, seqno, first, "batch %d: first seqno", batches)
			}
			var oe *OversizeError
			if errors.As(err, &oe) {
				oversize = append(oversize, oe)
			} else {
				require.NoError(t, err)
			}
		}
		if len(oversize) == 0 {
			require.NoError(t, err)
			continue
		}
		var got *OversizeError
		require.ErrorAs(t, err, &got)
		require.ErrorIs(t, err, ErrPayloadTooLarge)
		require.Equal(t, oversize[0], got)
		require.Len(t, err.(interface{ Unwrap() []error }).Unwrap(), len(oversize))
	}
	require.Greater(t, one.LastSeqno(), minSizes.DescriptorCapacity, "the descriptor array lapped")
	require.Equal(t, int64(batches), batchClock.Load(), "clock reads of the batch recorder")
	require.Equal(t, int64(one.LastSeqno()), perEventClock.Load(), "clock reads of the per-event recorder")

	a, err := os.ReadFile(one.Path())
	require.NoError(t, err)
	b, err := os.ReadFile(batch.Path())
	require.NoError(t, err)
	require.Equal(t, len(a), len(b))
	if i := firstDifference(a, b); i >= 0 {
		t.Fatalf("the files differ at offset %d (%s)", i, ringRegion(int64(i)))
	}
}

func firstDifference(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// ringRegion names the section of a minSizes ring file an offset lies in.
func ringRegion(off int64) string {
	descs := int64(HeaderSectionSize)
	payload := descs + int64(minSizes.DescriptorCapacity)*DescriptorSize
	switch {
	case off < descs:
		return "header"
	case off < payload:
		return "descriptor array"
	default:
		return "payload buffer"
	}
}

// TestRecordBatchTooLarge: a batch over a sixteenth of the ring is
// refused whole, at the limits the doc names: for the minimal ring 4096
// events and (2^27 - 2·2^24)/16 = 6 MiB of payload.
func TestRecordBatchTooLarge(t *testing.T) {
	w, _ := newTestRecorder(t)
	maxEvents, maxBytes := w.BatchLimits()
	require.Equal(t, 4096, maxEvents)
	require.Equal(t, uint64(6<<20), maxBytes)

	events := make([]BatchEvent, 4097)
	_, err := w.RecordBatch(events)
	require.ErrorIs(t, err, ErrBatchTooLarge)
	require.Zero(t, w.LastSeqno())
	first, err := w.RecordBatch(events[:4096]) // zero-byte payloads
	require.NoError(t, err)
	require.Equal(t, uint64(1), first)
	require.Equal(t, uint64(4096), w.LastSeqno())

	chunk := make([]byte, 1<<20)
	events = events[:7]
	for i := range events {
		events[i].Payload = chunk
	}
	_, err = w.RecordBatch(events)
	require.ErrorIs(t, err, ErrBatchTooLarge)
	require.Equal(t, uint64(4096), w.LastSeqno())
	events[6].Payload = chunk[:1] // 6 MiB + 16 bytes
	_, err = w.RecordBatch(events)
	require.ErrorIs(t, err, ErrBatchTooLarge)
	first, err = w.RecordBatch(events[:6])
	require.NoError(t, err)
	require.Equal(t, uint64(4097), first)

	first, err = w.RecordBatch(nil)
	require.NoError(t, err)
	require.Zero(t, first)
	require.NoError(t, w.Close())
	_, err = w.RecordBatch(events[:1])
	require.ErrorIs(t, err, ErrClosed)
}

// TestOldOccupantsStayWhole: a reader copying, with TryCopy, the old
// occupants of the slots a writer is about to reuse gets each either whole
// or not at all: the writer zeroes a slot's seqno before it touches the
// slot's other fields (spec §5.2 step 5), so a copy that raced the rewrite
// fails its re-check. content_ext carries the event's own seqno and size,
// so a torn copy shows. Both writer paths, per event and in batches.
func TestOldOccupantsStayWhole(t *testing.T) {
	t.Run("Reserve", func(t *testing.T) {
		oldOccupantsStayWhole(t, func(w *Recorder, next uint64) uint64 {
			size := 1024 + next%1024
			res, err := w.Reserve(7, [4]uint64{size, next}, size)
			if err != nil || res.Seqno != next {
				t.Errorf("Reserve: seqno %d, want %d, error %v", res.Seqno, next, err)
			}
			res.Commit()
			return 1
		})
	})
	t.Run("RecordBatch", func(t *testing.T) {
		payload := make([]byte, 2048)
		events := make([]BatchEvent, 64)
		oldOccupantsStayWhole(t, func(w *Recorder, next uint64) uint64 {
			for j := range events {
				seqno := next + uint64(j)
				size := 1024 + seqno%1024
				events[j] = BatchEvent{EventType: 7, ContentExt: [4]uint64{size, seqno}, Payload: payload[:size]}
			}
			first, err := w.RecordBatch(events)
			if err != nil || first != next {
				t.Errorf("RecordBatch: seqno %d, want %d, error %v", first, next, err)
			}
			return uint64(len(events))
		})
	})
}

// oldOccupantsStayWhole runs TestOldOccupantsStayWhole with a writer that
// records, with record, events from seqno next on, returning how many.
func oldOccupantsStayWhole(t *testing.T, record func(w *Recorder, next uint64) uint64) {
	defer runtime.GOMAXPROCS(max(4, runtime.GOMAXPROCS(0))) // writer and reader interleave even on one CPU
	w, _ := newTestRecorder(t)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	const laps = 6
	capacity := minSizes.DescriptorCapacity
	done := make(chan struct{})
	go func() {
		defer close(done)
		for next := uint64(1); next <= laps*capacity && !t.Failed(); {
			next += record(w, next)
		}
	}()
	var d Descriptor
	var copies, refused int
	for running := true; running && !t.Failed(); {
		select {
		case <-done:
			running = false
		default:
		}
		// The newest reserved seqnos, up to a batch of them, are being
		// written now; their slots' old occupants are capacity earlier.
		// Copy those, and the 64 after them, which the writer is about to
		// reach (whole until it does): the race is at the boundary.
		s := w.LastSeqno()
		if s <= capacity+64 {
			continue
		}
		for j := range uint64(128) {
			old := s + 64 - j - capacity
			if !ring.TryCopy(old, &d) {
				refused++
				continue
			}
			copies++
			if d.ContentExt[1] != old || uint64(d.PayloadSize) != d.ContentExt[0] {
				t.Fatalf("torn copy of seqno %d: payload size %d, content_ext %v", old, d.PayloadSize, d.ContentExt)
			}
		}
	}
	<-done
	t.Logf("%d whole copies, %d refused", copies, refused)
	require.Positive(t, copies)
	require.Positive(t, refused)
}

// batchPayload fills p for event k of writer id: [id u32][crc32 u32][k
// u64][data], checkable without the seqno (concurrent batches learn their
// seqnos only when recorded).
func batchPayload(p []byte, id uint32, k uint64) {
	binary.LittleEndian.PutUint32(p, id)
	binary.LittleEndian.PutUint64(p[8:], k)
	x := k*0x9E3779B97F4A7C15 + uint64(id) + 1
	for i := 16; i < len(p); i++ {
		p[i] = byte(xorshift(&x))
	}
	binary.LittleEndian.PutUint32(p[4:], crc32.ChecksumIEEE(p[8:]))
}

// TestRecordBatchConcurrent: three goroutines record batches into one ring
// while a reader follows it, lapped at its start and now and then: every
// event the reader gets is whole (descriptor and payload agree, payload
// checksum holds) and sits at the seqno RecordBatch returned for it; each
// writer's events appear in order. Run it under -race too.
func TestRecordBatchConcurrent(t *testing.T) {
	defer runtime.GOMAXPROCS(max(4, runtime.GOMAXPROCS(0))) // writers and reader interleave even on one CPU
	w, _ := newTestRecorder(t)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	// Fewer events under -race (together still more than the descriptor
	// array, so that the reader is lapped).
	const writers, perWriter = 3, 100_000 / (1 + 3*raceEnabledInt)
	seqnos := make([][]uint64, writers) // seqnos[id][k]: where event k of writer id went
	var wg sync.WaitGroup
	defer wg.Wait() // the writers stop before the ring closes, even after a failure
	stop := make(chan struct{})
	defer close(stop)
	for id := range writers {
		seqnos[id] = make([]uint64, perWriter)
		wg.Go(func() {
			buf := make([]byte, 64*4096)
			var events []BatchEvent
			x := uint64(id + 7)
			for k := 0; k < perWriter; {
				select {
				case <-stop:
					return
				default:
				}
				events, buf := events[:0], buf
				n := min(1+int(xorshift(&x)%64), perWriter-k)
				for i := range n {
					size := 16 + int(xorshift(&x)%4000)
					p := buf[:size]
					buf = buf[size:]
					batchPayload(p, uint32(id), uint64(k+i))
					events = append(events, BatchEvent{EventType: 3, ContentExt: [4]uint64{uint64(id), uint64(k + i), uint64(size)}, Payload: p})
				}
				first, err := w.RecordBatch(events)
				if err != nil {
					t.Error(err)
					return
				}
				for i := range n {
					seqnos[id][k+i] = first + uint64(i)
				}
				k += n
			}
		})
	}
	type seen struct{ seqno, k uint64 }
	got := make([][]seen, writers)
	rd := ring.NewReader()
	var d Descriptor
	buf := make([]byte, 0, 4096)
	var gaps, expired int
	deadline := time.Now().Add(time.Minute)
	// lapped waits until the writers are a whole descriptor array ahead.
	lapped := func() {
		for w.LastSeqno() < rd.LastSeqno()+minSizes.DescriptorCapacity+1 && w.LastSeqno() < writers*perWriter && !t.Failed() {
			time.Sleep(100 * time.Microsecond)
		}
	}
	lapped()
	for rd.LastSeqno() < writers*perWriter && !t.Failed() {
		require.True(t, time.Now().Before(deadline), "reader stuck at seqno %d, writers at %d", rd.LastSeqno(), w.LastSeqno())
		switch rd.TryNext(&d) {
		case Ready:
			id, k := d.ContentExt[0], d.ContentExt[1]
			require.Less(t, id, uint64(writers))
			require.Equal(t, uint64(d.PayloadSize), d.ContentExt[2], "torn descriptor")
			buf, err = ring.CopyPayload(&d, buf)
			if err != nil {
				require.ErrorIs(t, err, ErrPayloadExpired)
				expired++
				continue
			}
			require.Equal(t, uint32(id), binary.LittleEndian.Uint32(buf))
			require.Equal(t, k, binary.LittleEndian.Uint64(buf[8:]))
			require.Equal(t, crc32.ChecksumIEEE(buf[8:]), binary.LittleEndian.Uint32(buf[4:]), "payload checksum")
			got[id] = append(got[id], seen{d.Seqno, k})
			if d.Seqno%50_000 == 0 {
				lapped()
			}
		case Gap:
			gaps++
			rd.Reset()
		}
	}
	wg.Wait()
	var read int
	for id := range writers {
		for i, s := range got[id] {
			require.Equal(t, seqnos[id][s.k], s.seqno, "writer %d event %d", id, s.k)
			if i > 0 {
				require.Greater(t, s.k, got[id][i-1].k)
			}
		}
		read += len(got[id])
	}
	t.Logf("read %d of %d events, gaps %d, expired %d", read, writers*perWriter, gaps, expired)
	require.Positive(t, read)
	require.Positive(t, gaps, "the reader was never lapped")
}
