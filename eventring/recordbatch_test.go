package eventring

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
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
	for total := 0; total < 3*MinPayloadBufSize || one.LastSeqno() < 2*minSizes.DescriptorCapacity; batches++ {
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

// TestRecordBatchTooLarge: a batch that the ring cannot hold at once is
// refused whole, at the limits the doc names.
func TestRecordBatchTooLarge(t *testing.T) {
	w, _ := newTestRecorder(t)
	events := make([]BatchEvent, minSizes.DescriptorCapacity+1)
	_, err := w.RecordBatch(events)
	require.ErrorIs(t, err, ErrBatchTooLarge)
	require.Zero(t, w.LastSeqno())

	first, err := w.RecordBatch(events[:minSizes.DescriptorCapacity]) // zero-byte payloads
	require.NoError(t, err)
	require.Equal(t, uint64(1), first)
	require.Equal(t, minSizes.DescriptorCapacity, w.LastSeqno())

	chunk := make([]byte, 1<<20)
	events = events[:96] // S - 2W = 96 MiB
	for i := range events {
		events[i].Payload = chunk
	}
	_, err = w.RecordBatch(events)
	require.ErrorIs(t, err, ErrBatchTooLarge)
	require.Equal(t, minSizes.DescriptorCapacity, w.LastSeqno())
	first, err = w.RecordBatch(events[:95])
	require.NoError(t, err)
	require.Equal(t, minSizes.DescriptorCapacity+1, first)

	first, err = w.RecordBatch(nil)
	require.NoError(t, err)
	require.Zero(t, first)
	require.NoError(t, w.Close())
	_, err = w.RecordBatch(events[:1])
	require.ErrorIs(t, err, ErrClosed)
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
// while a reader follows it and is lapped: every event the reader gets is
// whole (descriptor and payload agree, payload checksum holds) and sits at
// the seqno RecordBatch returned for it; each writer's events appear in
// order. Run it under -race.
func TestRecordBatchConcurrent(t *testing.T) {
	w, _ := newTestRecorder(t)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	// Fewer events under -race, where the reader keeps up anyway.
	const writers, perWriter = 3, 100_000 / (1 + 4*raceEnabledInt)
	seqnos := make([][]uint64, writers) // seqnos[id][k]: where event k of writer id went
	var wg sync.WaitGroup
	for id := range writers {
		seqnos[id] = make([]uint64, perWriter)
		wg.Go(func() {
			buf := make([]byte, 64*4096)
			var events []BatchEvent
			x := uint64(id + 7)
			for k := 0; k < perWriter; {
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
	for rd.LastSeqno() < writers*perWriter {
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
		case Gap:
			gaps++
			rd.Reset()
		case NotReady:
			if rd.LastSeqno()%128 == 0 {
				time.Sleep(time.Microsecond) // let the writers lap us now and then
			}
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
}
