package eventring

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// minSizes is the smallest legal ring (spec §1.2): 140 509 184 bytes,
// created sparse so it costs nothing.
var minSizes = Sizes{DescriptorCapacity: MinDescriptorCapacity, PayloadBufSize: MinPayloadBufSize}

var testHash = [32]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}

func newTestRecorder(t testing.TB) (*Recorder, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ring")
	w, err := Create(path, minSizes, ContentTypeTest, testHash)
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	return w, path
}

// Self-checking payloads: [seqno u64][crc32 of the rest u32][length u32][data].
const selfCheckHeader = 16

// fillSelfCheck writes a payload for seqno into p (len(p) >= 16).
func fillSelfCheck(p []byte, seqno uint64) {
	binary.LittleEndian.PutUint64(p, seqno)
	binary.LittleEndian.PutUint32(p[12:], uint32(len(p)))
	x := seqno*0x9E3779B97F4A7C15 + 1
	for i := selfCheckHeader; i < len(p); i++ {
		p[i] = byte(xorshift(&x))
	}
	binary.LittleEndian.PutUint32(p[8:], crc32.ChecksumIEEE(p[12:]))
}

// xorshift advances the xorshift64 generator *x (cheap, deterministic test
// data) and returns its new state.
func xorshift(x *uint64) uint64 {
	*x ^= *x << 13
	*x ^= *x >> 7
	*x ^= *x << 17
	return *x
}

// checkSelf verifies a payload produced by fillSelfCheck for d.
func checkSelf(d *Descriptor, p []byte) error {
	switch {
	case len(p) < selfCheckHeader || len(p) != int(d.PayloadSize):
		return errors.New("bad length")
	case binary.LittleEndian.Uint64(p) != d.Seqno:
		return errors.New("payload seqno differs from descriptor")
	case binary.LittleEndian.Uint32(p[12:]) != uint32(len(p)):
		return errors.New("payload length field differs")
	case binary.LittleEndian.Uint32(p[8:]) != crc32.ChecksumIEEE(p[12:]):
		return errors.New("payload checksum mismatch")
	}
	return nil
}

// recordSelfCheck records one self-checking event of the given size.
func recordSelfCheck(t testing.TB, w *Recorder, size uint64) uint64 {
	res, err := w.Reserve(7, [4]uint64{size, 0, 0, 42}, size)
	if err != nil {
		t.Fatal(err)
	}
	fillSelfCheck(res.Payload, res.Seqno)
	res.Commit()
	return res.Seqno
}

func TestLayoutMatchesSpec(t *testing.T) {
	// Offsets and sizes from spec §2 (produced there by a C compiler).
	require.Equal(t, uintptr(64), unsafe.Sizeof(Descriptor{}))
	require.Equal(t, uintptr(8), unsafe.Offsetof(Descriptor{}.EventType))
	require.Equal(t, uintptr(12), unsafe.Offsetof(Descriptor{}.PayloadSize))
	require.Equal(t, uintptr(16), unsafe.Offsetof(Descriptor{}.RecordEpochNanos))
	require.Equal(t, uintptr(24), unsafe.Offsetof(Descriptor{}.PayloadBufOffset))
	require.Equal(t, uintptr(32), unsafe.Offsetof(Descriptor{}.ContentExt))
	require.Equal(t, uintptr(192), unsafe.Sizeof(ringHeader{}))
	require.Equal(t, uintptr(6), unsafe.Offsetof(ringHeader{}.ContentType))
	require.Equal(t, uintptr(8), unsafe.Offsetof(ringHeader{}.SchemaHash))
	require.Equal(t, uintptr(40), unsafe.Offsetof(ringHeader{}.Size))
	require.Equal(t, uintptr(64), unsafe.Offsetof(ringHeader{}.Control))
	require.Equal(t, uintptr(128), unsafe.Sizeof(ringControl{}))
	require.Equal(t, uintptr(8), unsafe.Offsetof(ringControl{}.NextPayloadByte))
	require.Equal(t, uintptr(64), unsafe.Offsetof(ringControl{}.BufferWindowStart))
	require.Equal(t, uintptr(24), unsafe.Sizeof(Sizes{}))
	require.Equal(t, uintptr(16), unsafe.Sizeof(RecordError{}))
	require.Equal(t, uintptr(8), unsafe.Offsetof(RecordError{}.RequestedPayloadSize))
	require.Equal(t, uint64(140509184), minSizes.Total())
	require.Equal(t, uint64(673185792), Sizes{DescriptorCapacity: 1 << 21, PayloadBufSize: 1 << 29}.Total())
}

func TestCreateWritesSpecHeader(t *testing.T) {
	w, path := newTestRecorder(t)
	raw := make([]byte, 192)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.ReadAt(raw, 0)
	require.NoError(t, err)
	require.Equal(t, []byte("RING01"), raw[:6])
	require.Equal(t, uint16(1), binary.LittleEndian.Uint16(raw[6:]))
	require.Equal(t, testHash[:], raw[8:40])
	require.Equal(t, uint64(1<<16), binary.LittleEndian.Uint64(raw[40:]))
	require.Equal(t, uint64(1<<27), binary.LittleEndian.Uint64(raw[48:]))
	require.Equal(t, uint64(0), binary.LittleEndian.Uint64(raw[56:]))
	st, err := f.Stat()
	require.NoError(t, err)
	require.Equal(t, int64(140509184), st.Size())
	// Sparse: a fresh minimal ring allocates almost nothing.
	require.Less(t, allocatedBytes(t, st), int64(8<<20))

	seq, err := w.Record(3, [4]uint64{9, 8, 7, 6}, []byte("hello "), []byte("world"))
	require.NoError(t, err)
	require.Equal(t, uint64(1), seq)
	_, err = f.ReadAt(raw, 0)
	require.NoError(t, err)
	require.Equal(t, uint64(1), binary.LittleEndian.Uint64(raw[64:]))  // last_seqno
	require.Equal(t, uint64(16), binary.LittleEndian.Uint64(raw[72:])) // next_payload_byte: 11 rounded to 16
	desc := make([]byte, 64)
	_, err = f.ReadAt(desc, HeaderSectionSize)
	require.NoError(t, err)
	require.Equal(t, uint64(1), binary.LittleEndian.Uint64(desc[0:]))
	require.Equal(t, uint16(3), binary.LittleEndian.Uint16(desc[8:]))
	require.Equal(t, uint32(11), binary.LittleEndian.Uint32(desc[12:]))
	require.InDelta(t, float64(time.Now().UnixNano()), float64(binary.LittleEndian.Uint64(desc[16:])), float64(time.Minute))
	require.Equal(t, uint64(0), binary.LittleEndian.Uint64(desc[24:]))
	require.Equal(t, uint64(9), binary.LittleEndian.Uint64(desc[32:]))
	require.Equal(t, uint64(6), binary.LittleEndian.Uint64(desc[56:]))
	pay := make([]byte, 11)
	_, err = f.ReadAt(pay, HeaderSectionSize+64<<16)
	require.NoError(t, err)
	require.Equal(t, "hello world", string(pay))
}

func TestRecordAndRead(t *testing.T) {
	w, _ := newTestRecorder(t)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	require.NoError(t, ring.CheckSchema(ContentTypeTest, testHash))
	var se *SchemaError
	err = ring.CheckSchema(ContentTypeExec, testHash)
	require.ErrorAs(t, err, &se)
	require.ErrorIs(t, err, ErrSchemaMismatch)
	err = ring.CheckSchema(ContentTypeTest, [32]byte{})
	require.ErrorIs(t, err, ErrSchemaMismatch)
	require.Contains(t, err.Error(), "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", "names the ring's hash")
	require.Contains(t, err.Error(), strings.Repeat("00", 32), "names the expected hash")
	require.Contains(t, err.Error(), "regenerate")

	rd := ring.NewReader()
	require.Equal(t, uint64(0), rd.LastSeqno())
	var d Descriptor
	require.Equal(t, NotReady, rd.TryNext(&d), "empty ring")
	for i := range 100 {
		recordSelfCheck(t, w, uint64(16+i*7))
	}
	buf := make([]byte, 0, 4096)
	for i := range 100 {
		require.Equal(t, Ready, rd.TryNext(&d))
		require.Equal(t, uint64(i+1), d.Seqno)
		require.Equal(t, uint16(7), d.EventType)
		require.Equal(t, uint64(d.PayloadSize), d.ContentExt[0])
		require.NoError(t, checkSelf(&d, ring.Payload(&d)))
		require.True(t, ring.PayloadValid(&d))
		buf, err = ring.CopyPayload(&d, buf)
		require.NoError(t, err)
		require.NoError(t, checkSelf(&d, buf))
		require.Zero(t, d.PayloadBufOffset%16)
	}
	require.Equal(t, NotReady, rd.TryNext(&d))
	require.Equal(t, uint64(100), rd.LastSeqno())

	// A new reader starts at the newest event.
	rd2 := ring.NewReader()
	require.Equal(t, uint64(99), rd2.LastSeqno())
	require.Equal(t, Ready, rd2.TryNext(&d))
	require.Equal(t, uint64(100), d.Seqno)

	// TryCopy does not advance; SetSeqno repositions.
	rd2.SetSeqno(50)
	require.Equal(t, Ready, rd2.TryCopy(&d))
	require.Equal(t, Ready, rd2.TryCopy(&d))
	require.Equal(t, uint64(50), d.Seqno)
	require.True(t, ring.TryCopy(42, &d))
	require.Equal(t, uint64(42), d.Seqno)
	require.False(t, ring.TryCopy(0, &d))
	require.False(t, ring.TryCopy(101, &d))

	// Zero-length payload: legal, consumes nothing.
	next := ring.Header().NextPayloadByte
	seq, err := w.Record(4, [4]uint64{})
	require.NoError(t, err)
	require.True(t, ring.TryCopy(seq, &d))
	require.Equal(t, next, d.PayloadBufOffset)
	require.Equal(t, uint32(0), d.PayloadSize)
	require.Empty(t, ring.Payload(&d))
	require.True(t, ring.PayloadValid(&d))
}

func TestPayloadWrapAndWindowSlide(t *testing.T) {
	w, _ := newTestRecorder(t)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	const S, W = MinPayloadBufSize, WindowIncr
	// 1 MiB + 48 bytes per event: the allocations do not divide S, so one
	// payload straddles the physical end of the buffer.
	const size = 1<<20 + 48
	var seqnos []uint64
	straddled := false
	for ring.Header().NextPayloadByte < 2*S+5*W {
		seq := recordSelfCheck(t, w, size)
		seqnos = append(seqnos, seq)
		var d Descriptor
		require.True(t, ring.TryCopy(seq, &d))
		if d.PayloadBufOffset%S+size > S {
			straddled = true
			require.NoError(t, checkSelf(&d, ring.Payload(&d)), "straddling payload is contiguous")
		}
		// The window rule of spec §4.3, recomputed independently.
		h := ring.Header()
		end := h.NextPayloadByte
		wantStart := uint64(0)
		if end > S-W {
			wantStart = (end+W-1)/W*W - (S - W)
		}
		require.Equal(t, wantStart, h.BufferWindowStart, "after seqno %d", seq)
	}
	require.True(t, straddled)
	h := ring.Header()
	var d Descriptor
	buf := make([]byte, 0, size)
	valid, expired := 0, 0
	for _, seq := range seqnos {
		require.True(t, ring.TryCopy(seq, &d))
		buf, err = ring.CopyPayload(&d, buf)
		if d.PayloadBufOffset < h.BufferWindowStart {
			expired++
			require.ErrorIs(t, err, ErrPayloadExpired)
			require.False(t, ring.PayloadValid(&d))
			var pe *ExpiredError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, seq, pe.Seqno)
		} else {
			valid++
			require.NoError(t, err)
			require.NoError(t, checkSelf(&d, buf), "seqno %d", seq)
		}
	}
	require.Positive(t, expired)
	// Every payload inside the window is intact; the window is between
	// S - 2W and S - W bytes wide.
	require.GreaterOrEqual(t, valid, int((S-2*W)/size)-1)
}

func TestDescriptorWrapAndGap(t *testing.T) {
	w, _ := newTestRecorder(t)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	slow := ring.NewReader() // at 0: wants seqno 1
	const C = MinDescriptorCapacity
	for range C + 10 {
		recordSelfCheck(t, w, 16)
	}
	var d Descriptor
	require.Equal(t, Gap, slow.TryNext(&d), "lapped reader")
	require.Equal(t, Gap, slow.TryNext(&d), "gap is sticky")
	require.Equal(t, uint64(0), slow.LastSeqno())
	err = slow.Next(context.Background(), &d)
	var ge *GapError
	require.ErrorAs(t, err, &ge)
	require.Equal(t, uint64(1), ge.Expected)
	require.Equal(t, uint64(11), ge.Oldest) // last_seqno - C + 1
	require.Equal(t, uint64(10), ge.Lost())

	// Resume with the oldest survivor: every event after it is intact.
	slow.SetSeqno(ge.Oldest)
	for i := ge.Oldest; i <= C+10; i++ {
		require.Equal(t, Ready, slow.TryNext(&d))
		require.Equal(t, i, d.Seqno)
		require.NoError(t, checkSelf(&d, ring.Payload(&d)))
	}
	require.Equal(t, NotReady, slow.TryNext(&d))

	// Reset jumps to the newest event.
	slow.SetSeqno(1)
	require.Equal(t, uint64(C+10), slow.Reset())
	require.Equal(t, Ready, slow.TryNext(&d))
	require.Equal(t, uint64(C+10), d.Seqno)
}

func TestResetSkipsUncommittedReservation(t *testing.T) {
	w, _ := newTestRecorder(t)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	for range 5 {
		recordSelfCheck(t, w, 32)
	}
	// A reservation that is never committed (a writer that died mid-record).
	res, err := w.Reserve(7, [4]uint64{}, 32)
	require.NoError(t, err)
	require.Equal(t, uint64(6), res.Seqno)
	start := time.Now()
	rd := ring.NewReader()
	require.Less(t, time.Since(start), time.Second)
	require.Equal(t, uint64(4), rd.LastSeqno(), "positioned at newest committed event 5")
	var d Descriptor
	require.Equal(t, Ready, rd.TryNext(&d))
	require.Equal(t, uint64(5), d.Seqno)
	require.Equal(t, NotReady, rd.TryNext(&d), "slot of seqno 6 holds 0")
	res.Commit()
	require.Equal(t, Ready, rd.TryNext(&d))
	require.Equal(t, uint64(6), d.Seqno)

	// Reservation only (seqno 1) in an otherwise empty ring: Reset gives 0.
	w2, _ := newTestRecorder(t)
	_, err = w2.Reserve(7, [4]uint64{}, 32)
	require.NoError(t, err)
	r2, err := w2.Ring()
	require.NoError(t, err)
	defer r2.Close()
	rd2 := r2.NewReader()
	require.Equal(t, uint64(0), rd2.LastSeqno())
	require.Equal(t, NotReady, rd2.TryNext(&d))
}

func TestRecordErrorForOversizedPayloads(t *testing.T) {
	w, _ := newTestRecorder(t)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	cases := []struct {
		parts int
		kind  RecordErrorType
	}{
		// S - 2W = 96 MiB: the smallest payload that would expire at birth.
		{96, RecordErrorOverflowExpire},
		{95, RecordErrorNone},
		// Rounded size above 0xFFFFFFFF (parts share one buffer: no 4 GiB allocation).
		{4096, RecordErrorOverflow4GB},
	}
	for _, tc := range cases {
		parts := make([][]byte, tc.parts)
		for i := range parts {
			parts[i] = chunk
		}
		ext := [4]uint64{11, 22, 33, 44}
		seq, err := w.Record(19, ext, parts...)
		var d Descriptor
		require.True(t, ring.TryCopy(seq, &d))
		require.Equal(t, ext, d.ContentExt)
		if tc.kind == RecordErrorNone {
			require.NoError(t, err)
			require.Equal(t, uint16(19), d.EventType)
			continue
		}
		var oe *OversizeError
		require.ErrorAs(t, err, &oe)
		require.ErrorIs(t, err, ErrPayloadTooLarge)
		require.Equal(t, tc.kind, oe.Kind)
		require.Equal(t, uint16(RecordErrorEventType), d.EventType)
		require.Equal(t, uint32(8192), d.PayloadSize)
		p, err := ring.CopyPayload(&d, nil)
		require.NoError(t, err)
		require.Equal(t, uint16(tc.kind), binary.LittleEndian.Uint16(p[0:]))
		require.Equal(t, uint16(19), binary.LittleEndian.Uint16(p[2:]))
		require.Equal(t, uint32(8176), binary.LittleEndian.Uint32(p[4:]))
		require.Equal(t, uint64(tc.parts)<<20, binary.LittleEndian.Uint64(p[8:]))
		require.Equal(t, chunk[:8176], p[16:])
	}
}

func TestCreateRefusesLiveRingAndReplacesZombie(t *testing.T) {
	w, path := newTestRecorder(t)
	pids, err := WriterPIDs(path)
	require.NoError(t, err)
	require.Equal(t, []int{os.Getpid()}, pids)
	_, err = Create(path, minSizes, ContentTypeTest, testHash)
	require.ErrorIs(t, err, ErrRingInUse)
	_, err = w.Record(5, [4]uint64{}, []byte("x"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "idempotent")
	_, err = w.Record(5, [4]uint64{}, []byte("x"))
	require.ErrorIs(t, err, ErrClosed)
	pids, err = WriterPIDs(path)
	require.NoError(t, err)
	require.Empty(t, pids)

	// The zombie is replaced by a fresh, empty ring.
	w2, err := Create(path, minSizes, ContentTypeExec, testHash)
	require.NoError(t, err)
	defer w2.Close()
	ring, err := Open(path)
	require.NoError(t, err)
	defer ring.Close()
	require.Equal(t, uint64(0), ring.Header().LastSeqno)
	require.Equal(t, ContentTypeExec, ring.Header().ContentType)

	_, err = Create(filepath.Join(t.TempDir(), "bad"), Sizes{DescriptorCapacity: 1000, PayloadBufSize: 1 << 27}, ContentTypeTest, testHash)
	require.ErrorIs(t, err, ErrBadSize)
	_, err = Create(filepath.Join(t.TempDir(), "bad"), minSizes, ContentTypeNone, testHash)
	require.ErrorIs(t, err, ErrBadContentType)
}

func TestNextBlockingAndWriterGone(t *testing.T) {
	w, _ := newTestRecorder(t)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	rd := ring.NewReader()
	rd.SetWaitStrategy(WaitStrategy{Spin: 100, Yield: 10, MinSleep: time.Microsecond, MaxSleep: time.Millisecond, WriterCheck: 20 * time.Millisecond})

	// Cancellation.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	var d Descriptor
	require.ErrorIs(t, rd.Next(ctx, &d), context.DeadlineExceeded)
	cancel()

	// Events arriving while Next waits.
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 50 {
			time.Sleep(200 * time.Microsecond)
			recordSelfCheck(t, w, 24)
		}
	})
	for i := range 50 {
		require.NoError(t, rd.Next(context.Background(), &d))
		require.Equal(t, uint64(i+1), d.Seqno)
		require.NoError(t, checkSelf(&d, ring.Payload(&d)))
	}
	wg.Wait()

	// The writer closes (releases its lock) after one last event: Next
	// returns it, then reports the dead writer.
	recordSelfCheck(t, w, 24)
	require.NoError(t, w.Close())
	require.NoError(t, rd.Next(context.Background(), &d))
	require.Equal(t, uint64(51), d.Seqno)
	err = rd.Next(context.Background(), &d)
	require.ErrorIs(t, err, ErrWriterGone)
}

func TestWriteSnapshotRoundTrip(t *testing.T) {
	w, _ := newTestRecorder(t)
	for i := range 1000 {
		recordSelfCheck(t, w, uint64(16+i%300))
	}
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	snap := filepath.Join(t.TempDir(), "snap.zst")
	f, err := os.Create(snap)
	require.NoError(t, err)
	require.NoError(t, ring.WriteSnapshot(f))
	require.NoError(t, f.Close())
	ok, err := IsSnapshot(snap)
	require.NoError(t, err)
	require.True(t, ok)
	st, _ := os.Stat(snap)
	require.Less(t, st.Size(), int64(2<<20), "zeros compress away")

	s, err := Open(snap)
	require.NoError(t, err)
	defer s.Close()
	require.True(t, s.IsSnapshot())
	require.Equal(t, ring.Header(), s.Header())
	rd := s.NewReader()
	var d, d2 Descriptor
	for i := uint64(1); i <= 1000; i++ {
		require.NoError(t, rd.Next(context.Background(), &d))
		require.True(t, ring.TryCopy(i, &d2))
		require.Equal(t, d2, d)
		require.NoError(t, checkSelf(&d, s.Payload(&d)))
	}
	require.ErrorIs(t, rd.Next(context.Background(), &d), io.EOF)
	pids, err := s.WriterPIDs()
	require.NoError(t, err)
	require.Empty(t, pids)
}

// TestConcurrentWriterNeverYieldsTornData races a fast writer against a
// reader that keeps getting lapped: every Ready descriptor and every payload
// that passes its post-check must pass its own self-check.
func TestConcurrentWriterNeverYieldsTornData(t *testing.T) {
	w, _ := newTestRecorder(t)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	const events = 300_000
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range events {
			recordSelfCheck(t, w, uint64(16+(i*37)%4000))
		}
	})
	rd := ring.NewReader()
	var d Descriptor
	buf := make([]byte, 0, 8192)
	var ready, gaps, expired int
	for rd.LastSeqno() < events {
		switch rd.TryNext(&d) {
		case Ready:
			ready++
			require.Equal(t, rd.LastSeqno(), d.Seqno)
			require.Equal(t, d.PayloadSize, uint32(d.ContentExt[0]), "torn descriptor")
			buf, err = ring.CopyPayload(&d, buf)
			if err != nil {
				require.ErrorIs(t, err, ErrPayloadExpired)
				expired++
				continue
			}
			require.NoError(t, checkSelf(&d, buf))
		case Gap:
			gaps++
			rd.Reset()
		case NotReady:
			if ready%64 == 0 {
				time.Sleep(time.Microsecond) // let the writer lap us now and then
			}
		}
	}
	wg.Wait()
	t.Logf("ready=%d gaps=%d expired=%d", ready, gaps, expired)
	require.Positive(t, ready)
}

// TestWriteSnapshotWhileWriting captures a ring that a writer keeps
// filling: the snapshot decodes, and every event in it is either expired or
// passes its self-check; none points past the snapshot's allocation end.
func TestWriteSnapshotWhileWriting(t *testing.T) {
	w, _ := newTestRecorder(t)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	stop := make(chan struct{})
	// Once the capture starts the writer may add at most a quarter of the
	// buffer: on a loaded machine an unbounded writer can slide the window
	// past everything while the copy runs, leaving nothing valid to check.
	var budget atomic.Int64
	budget.Store(math.MaxInt64)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			size := uint64(16 + (i*131)%20000)
			if budget.Add(-int64(size)) < 0 {
				<-stop
				return
			}
			recordSelfCheck(t, w, size)
		}
	})
	waitUntil(t, func() bool { return ring.Header().NextPayloadByte > MinPayloadBufSize }) // wrapped
	budget.Store(MinPayloadBufSize / 4)
	snap := filepath.Join(t.TempDir(), "snap.zst")
	f, err := os.Create(snap)
	require.NoError(t, err)
	require.NoError(t, ring.WriteSnapshot(f))
	require.NoError(t, f.Close())
	close(stop)
	wg.Wait()

	s, err := Open(snap)
	require.NoError(t, err)
	defer s.Close()
	h := s.Header()
	rd := s.NewReader()
	rd.SetSeqno(uint64(max(1, int64(h.LastSeqno)-MinDescriptorCapacity+1)))
	var d Descriptor
	var valid, expired int
	buf := make([]byte, 0, 32<<10)
	for {
		res := rd.TryNext(&d)
		if res == Gap { // slots the writer was refilling during the copy
			rd.SetSeqno(rd.LastSeqno() + 2)
			continue
		}
		if res != Ready {
			break
		}
		buf, err = s.CopyPayload(&d, buf)
		if err != nil {
			require.ErrorIs(t, err, ErrPayloadExpired, "seqno %d", d.Seqno)
			expired++
			continue
		}
		valid++
		require.NoError(t, checkSelf(&d, buf), "seqno %d", d.Seqno)
	}
	t.Logf("valid=%d expired=%d last=%d", valid, expired, h.LastSeqno)
	require.Positive(t, valid)
}

func TestEventsIterator(t *testing.T) {
	w, _ := newTestRecorder(t)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	rd := ring.NewReader()
	rd.SetWaitStrategy(WaitStrategy{Spin: 10, MinSleep: time.Microsecond, MaxSleep: time.Millisecond, WriterCheck: 20 * time.Millisecond})
	for range 10 {
		recordSelfCheck(t, w, 32)
	}
	var seen []uint64
	var kept Item
	for it, err := range rd.Events(context.Background()) {
		require.NoError(t, err)
		require.Nil(t, it.Gap)
		seen = append(seen, it.Seqno)
		if it.Seqno == 1 {
			kept = it // a value: the next steps do not change it
		}
		if it.Seqno == 3 {
			// Lap the reader: the next step is a gap, then it resumes at
			// the newest event.
			for range MinDescriptorCapacity + 5 {
				recordSelfCheck(t, w, 16)
			}
			break
		}
	}
	require.Equal(t, []uint64{1, 2, 3}, seen)
	require.Equal(t, uint64(1), kept.Seqno, "an item kept from an earlier step")
	var gaps, errs int
	seen = seen[:0]
	go func() {
		time.Sleep(50 * time.Millisecond)
		w.Close()
	}()
	for it, err := range rd.Events(context.Background()) {
		switch {
		case err != nil:
			errs++
			require.ErrorIs(t, err, ErrWriterGone)
			require.Zero(t, it)
		case it.Gap != nil:
			gaps++
			require.Equal(t, uint64(4), it.Gap.Expected)
			require.Zero(t, it.Descriptor)
		default:
			seen = append(seen, it.Seqno)
		}
	}
	require.Equal(t, 1, gaps)
	require.Equal(t, 1, errs, "the writer's exit ends the iteration with one error")
	require.Equal(t, []uint64{MinDescriptorCapacity + 15}, seen, "resumed at the newest event")
}

// TestRecorderClock: a Clock option supplies record_epoch_nanos, sampled
// once per event in reservation order, also for RECORD_ERROR stand-ins.
func TestRecorderClock(t *testing.T) {
	now := uint64(1_767_225_600_000_000_000) // 2026-01-01T00:00:00Z
	calls := 0
	path := filepath.Join(t.TempDir(), "ring")
	w, err := CreateWithOptions(path, minSizes, ContentTypeTest, testHash, RecorderOptions{
		Clock: func() uint64 { calls++; now += 1000; return now },
	})
	require.NoError(t, err)
	defer w.Close()
	_, err = w.Record(2, [4]uint64{}, []byte("a"))
	require.NoError(t, err)
	res, err := w.Reserve(2, [4]uint64{}, 8)
	require.NoError(t, err)
	res.Commit()
	_, err = w.Record(2, [4]uint64{}, make([]byte, MinPayloadBufSize-2*WindowIncr)) // RECORD_ERROR
	require.ErrorIs(t, err, ErrPayloadTooLarge)
	require.Equal(t, 3, calls)

	// Read the words straight from the file (spec §2.3: offset 16).
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	for i := range uint64(3) {
		var b [8]byte
		_, err := f.ReadAt(b[:], int64(HeaderSectionSize+i*DescriptorSize+16))
		require.NoError(t, err)
		require.Equal(t, 1_767_225_600_000_000_000+(i+1)*1000, binary.LittleEndian.Uint64(b[:]), "seqno %d", i+1)
	}
}

// TestRecordFunc records self-checking payloads written in place by fill
// (their first word is the sequence number fill is given): a reader sees
// each with its descriptor, fill's payload is the event's own bytes, an
// oversized event becomes a RECORD_ERROR whose truncated area fill writes,
// no event allocates, and a ring file cut while fill writes closes the
// Recorder with a *RingChangedError instead of crashing.
func TestRecordFunc(t *testing.T) {
	w, path := newTestRecorder(t)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()

	var filled uint64
	selfCheck := func(seqno uint64, p []byte) {
		fillSelfCheck(p, seqno)
		filled = seqno
	}
	for size := uint64(16); size < 3000; size += 97 {
		seq, err := w.RecordFunc(7, [4]uint64{size, 0, 0, 42}, size, selfCheck)
		require.NoError(t, err)
		require.Equal(t, filled, seq, "fill gets the event's sequence number")
		var d Descriptor
		require.True(t, ring.TryCopy(seq, &d))
		require.Equal(t, uint16(7), d.EventType)
		require.Equal(t, [4]uint64{size, 0, 0, 42}, d.ContentExt)
		require.Equal(t, uint32(size), d.PayloadSize)
		require.NoError(t, checkSelf(&d, ring.Payload(&d)))
	}

	// S - 2W = 96 MiB would expire at birth: fill writes the truncated area.
	var truncatedLen int
	seq, err := w.RecordFunc(19, [4]uint64{}, 96<<20, func(_ uint64, p []byte) {
		truncatedLen = len(p)
		p[0] = 0xEE
	})
	var oe *OversizeError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, RecordErrorOverflowExpire, oe.Kind)
	require.Equal(t, seq, oe.Seqno)
	var d Descriptor
	require.True(t, ring.TryCopy(seq, &d))
	require.Equal(t, uint16(RecordErrorEventType), d.EventType)
	require.Equal(t, RecordErrorTruncatedSize-int(unsafe.Sizeof(RecordError{})), truncatedLen)
	require.Equal(t, byte(0xEE), ring.Payload(&d)[unsafe.Sizeof(RecordError{})])

	if !raceEnabled { // the race detector's allocations are not the recorder's
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := w.RecordFunc(7, [4]uint64{64, 0, 0, 42}, 64, selfCheck); err != nil {
				t.Fatal(err)
			}
		})
		require.Zero(t, allocs, "allocations per RecordFunc")
	}

	_, err = w.RecordFunc(1, [4]uint64{}, 4096, func(_ uint64, p []byte) {
		if err := os.Truncate(path, 0); err != nil {
			t.Error(err)
		}
		p[len(p)-1] = 1 // faults: the file no longer backs the page
	})
	var rc *RingChangedError
	require.ErrorAs(t, err, &rc)
	require.Equal(t, RingTruncated, rc.Reason)
	_, err = w.RecordFunc(1, [4]uint64{}, 16, selfCheck)
	require.ErrorIs(t, err, ErrRingChanged, "the Recorder is closed after the fault")
}
