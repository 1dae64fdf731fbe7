package eventring

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// snapshotOf captures ring with WriteSnapshot and opens the capture.
func snapshotOf(t *testing.T, ring *Ring) *Ring {
	t.Helper()
	p := filepath.Join(t.TempDir(), "snap.zst")
	f, err := os.Create(p)
	require.NoError(t, err)
	require.NoError(t, ring.WriteSnapshot(f))
	require.NoError(t, f.Close())
	s, err := Open(p)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.True(t, s.IsSnapshot())
	return s
}

// readAll drains rd.Events, checking every payload, and returns the seqnos
// read and the gaps reported.
func readAll(t *testing.T, rd *Reader) (seqnos []uint64, gaps []GapError) {
	t.Helper()
	ring := rd.Ring()
	for it, err := range rd.Events(context.Background()) {
		switch {
		case err != nil:
			t.Fatalf("after seqno %d: %v", rd.LastSeqno(), err)
		case it.Gap != nil:
			require.Zero(t, it.Descriptor, "descriptor of a gap item")
			gaps = append(gaps, *it.Gap)
		default:
			d := &it.Descriptor
			require.NoError(t, checkSelf(d, ring.Payload(d)), "seqno %d", d.Seqno)
			require.True(t, ring.PayloadValid(d), "seqno %d", d.Seqno)
			seqnos = append(seqnos, d.Seqno)
		}
	}
	return seqnos, gaps
}

// seq returns lo, lo+1, ..., hi.
func seq(lo, hi uint64) []uint64 {
	s := make([]uint64, 0, hi-lo+1)
	for i := lo; i <= hi; i++ {
		s = append(s, i)
	}
	return s
}

// TestWrappedSnapshot: a ring of C = 65 536 slots (spec §1.2's minimum)
// that recorded N = 70 000 events keeps only events N-C+1 = 4465 .. N
// (spec §3.6). A snapshot of it, read from seqno 1 as the reference SDK
// does, reports one gap for 1..4464 and then yields every surviving event
// in order, each with its intact payload.
func TestWrappedSnapshot(t *testing.T) {
	const (
		C      = MinDescriptorCapacity
		N      = 70_000
		oldest = N - C + 1
	)
	require.Equal(t, 65536, C, "spec §1.2: minimum descriptor capacity 2^16")
	w, _ := newTestRecorder(t)
	for i := range N {
		recordSelfCheck(t, w, uint64(16+i%64))
	}
	live, err := w.Ring()
	require.NoError(t, err)
	defer live.Close()
	require.Equal(t, uint64(oldest), live.OldestSeqno())

	s := snapshotOf(t, live)
	require.Equal(t, uint64(N), s.LastSeqno())
	require.Equal(t, uint64(oldest), s.OldestSeqno())

	// Events: the gap, then everything that survived.
	rd := s.NewReader()
	require.Equal(t, uint64(0), rd.LastSeqno(), "a snapshot reader starts at seqno 1 (spec §3.6)")
	got, gaps := readAll(t, rd)
	require.Equal(t, []GapError{{Expected: 1, Oldest: oldest}}, gaps)
	require.Equal(t, uint64(oldest-1), gaps[0].Lost())
	require.EqualError(t, &gaps[0], "eventring: gap: events 1..4464 lost (reader lapped by the writer)")
	require.Len(t, got, C)
	require.Equal(t, seq(oldest, N), got)

	// Next leaves the reader on the gap; SetSeqno(gap.Oldest) goes on.
	rd = s.NewReader()
	var d Descriptor
	err = rd.Next(context.Background(), &d)
	var ge *GapError
	require.ErrorAs(t, err, &ge)
	require.Equal(t, GapError{Expected: 1, Oldest: oldest}, *ge)
	require.Equal(t, uint64(0), rd.LastSeqno(), "Next does not move on a gap")
	rd.SetSeqno(ge.Oldest)
	n := 0
	for ; ; n++ {
		if err := rd.Next(context.Background(), &d); err != nil {
			require.ErrorIs(t, err, io.EOF)
			break
		}
		require.Equal(t, uint64(oldest+n), d.Seqno)
	}
	require.Equal(t, C, n)

	// Starting at OldestSeqno, TryNext sees no gap at all.
	rd = s.NewReader()
	rd.SetSeqno(s.OldestSeqno())
	got, gaps = readAll(t, rd)
	require.Empty(t, gaps)
	require.Equal(t, seq(oldest, N), got)
}

// TestOldestSeqnoSkipsUncommittedSlot: when the oldest candidate
// last_seqno-C+1 is a reservation that was never committed (its slot reads
// 0), OldestSeqno is the next event, and a snapshot's Events continues there.
func TestOldestSeqnoSkipsUncommittedSlot(t *testing.T) {
	const (
		C       = MinDescriptorCapacity
		stuck   = 4001          // reserved, never committed
		N       = stuck + C - 1 // makes stuck the oldest candidate
		resumed = stuck + 1
	)
	w, _ := newTestRecorder(t)
	for i := uint64(1); i <= N; i++ {
		if i == stuck {
			res, err := w.Reserve(7, [4]uint64{}, 16)
			require.NoError(t, err)
			require.Equal(t, uint64(stuck), res.Seqno)
			continue
		}
		require.Equal(t, i, recordSelfCheck(t, w, 16))
	}
	live, err := w.Ring()
	require.NoError(t, err)
	defer live.Close()
	require.Equal(t, uint64(resumed), live.OldestSeqno())

	s := snapshotOf(t, live)
	require.Equal(t, uint64(resumed), s.OldestSeqno())
	got, gaps := readAll(t, s.NewReader())
	require.Equal(t, []GapError{{Expected: 1, Oldest: resumed}}, gaps)
	require.Equal(t, seq(resumed, N), got)
}

// TestOldestSeqnoUnwrapped: a ring that never wrapped still holds event 1,
// empty or not; a corrupt ring whose slots hold none of the candidates
// answers LastSeqno+1.
func TestOldestSeqnoUnwrapped(t *testing.T) {
	w, _ := newTestRecorder(t)
	live, err := w.Ring()
	require.NoError(t, err)
	defer live.Close()
	require.Equal(t, uint64(1), live.OldestSeqno(), "empty ring")
	for range MinDescriptorCapacity {
		recordSelfCheck(t, w, 16)
	}
	require.Equal(t, uint64(1), live.OldestSeqno(), "exactly full: nothing overwritten yet")
	recordSelfCheck(t, w, 16)
	require.Equal(t, uint64(2), live.OldestSeqno(), "one event overwritten")

	// Zero every slot (as if every reservation were in flight).
	for i := range uint64(MinDescriptorCapacity) {
		(*Descriptor)(unsafe.Add(w.descs, i*DescriptorSize)).Seqno = 0
	}
	require.Equal(t, uint64(MinDescriptorCapacity+2), live.OldestSeqno())
}

// TestSnapshotCorruptSlotGap: in a snapshot that never wrapped, a slot
// holding a foreign sequence number is one lost event; Events reports it and
// goes on with the next event instead of jumping to the end.
func TestSnapshotCorruptSlotGap(t *testing.T) {
	w, _ := newTestRecorder(t)
	for range 1000 {
		recordSelfCheck(t, w, 32)
	}
	(*Descriptor)(unsafe.Add(w.descs, 499*DescriptorSize)).Seqno = 5000 // event 500's slot
	live, err := w.Ring()
	require.NoError(t, err)
	defer live.Close()
	s := snapshotOf(t, live)
	got, gaps := readAll(t, s.NewReader())
	require.Equal(t, []GapError{{Expected: 500, Oldest: 501}}, gaps)
	require.Equal(t, append(seq(1, 499), seq(501, 1000)...), got)
}
