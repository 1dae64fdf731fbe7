package eventring

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPayloadValidDuringClose races payload reads against Ring.Close: a
// reader copies a payload view and keeps the copy only if PayloadValid
// confirms it afterwards (spec §4.4). Whatever moment Close swaps in the
// inert image, a confirmed copy must be the intact payload, never the inert
// image's zeros, and after Close returns PayloadValid is false.
func TestPayloadValidDuringClose(t *testing.T) {
	w, _ := newTestRecorder(t)
	recordSelfCheck(t, w, 4096)
	rounds := 300
	if testing.Short() {
		rounds = 30
	}
	var confirmed, refused atomic.Int64
	for range rounds {
		ring, err := w.Ring()
		require.NoError(t, err)
		var d Descriptor
		require.True(t, ring.TryCopy(1, &d))
		view := ring.Payload(&d)
		var wg sync.WaitGroup
		var started, bad atomic.Bool
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, len(view))
			for !ring.closed.Load() || !started.Load() {
				started.Store(true)
				copy(buf, view)
				if !ring.PayloadValid(&d) {
					refused.Add(1)
					continue
				}
				confirmed.Add(1)
				if checkSelf(&d, buf) != nil {
					bad.Store(true)
					return
				}
			}
		}()
		for !started.Load() {
			runtime.Gosched()
		}
		require.NoError(t, ring.Close())
		wg.Wait()
		require.False(t, bad.Load(), "PayloadValid confirmed a payload read from the inert image")
		require.False(t, ring.PayloadValid(&d), "after Close")
	}
	t.Logf("%d confirmed and %d refused reads over %d closes", confirmed.Load(), refused.Load(), rounds)
}

// mapsOf counts the lines of /proc/self/maps that map the file at path.
func mapsOf(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	require.NoError(t, err)
	return strings.Count(string(b), " "+path+"\n")
}

// TestRecorderClosed: after Close the file is released at once (no mapping
// of it is left, its lock is free); Reserve and Record return ErrClosed; a
// Reservation obtained before Close can still be filled and committed
// without faulting, even after a GC, and its event does not reach the file.
func TestRecorderClosed(t *testing.T) {
	w, path := newTestRecorder(t)
	recordSelfCheck(t, w, 64)
	res, err := w.Reserve(7, [4]uint64{}, 1<<20)
	require.NoError(t, err)
	require.Equal(t, uint64(2), res.Seqno)
	require.Equal(t, 2, mapsOf(t, path), "the payload buffer is mapped twice")

	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "idempotent")
	require.Zero(t, mapsOf(t, path), "Close releases the file's pages")
	seq, err := w.Record(7, [4]uint64{}, make([]byte, 64))
	require.ErrorIs(t, err, ErrClosed)
	require.Zero(t, seq)
	_, err = w.Reserve(7, [4]uint64{}, 64)
	require.ErrorIs(t, err, ErrClosed)
	_, err = w.Ring()
	require.ErrorIs(t, err, ErrClosed)

	w = nil // only res keeps the Recorder reachable now
	runtime.GC()
	runtime.GC()
	fillSelfCheck(res.Payload, res.Seqno) // would fault on an unmapped range
	res.Commit()

	ring, err := Open(path)
	require.NoError(t, err)
	defer ring.Close()
	pids, err := ring.WriterPIDs()
	require.NoError(t, err)
	require.Empty(t, pids, "the writer lock is released")
	require.Equal(t, uint64(2), ring.LastSeqno())
	var d Descriptor
	require.True(t, ring.TryCopy(1, &d))
	require.NoError(t, checkSelf(&d, ring.Payload(&d)))
	require.False(t, ring.TryCopy(2, &d), "a commit after Close does not reach the file")
	rd := ring.NewReader()
	require.Equal(t, uint64(1), rd.Reset(), "event 2 stays an uncommitted reservation")
}

// TestRecorderCloseRacingWriters: goroutines record while another closes
// the Recorder. Nothing faults; every Reserve either succeeds or returns
// ErrClosed. In the file every event is intact, except at most one
// reservation per writer that was in flight at Close: its commit went to
// the inert image, so it stays reserved and uncommitted (not necessarily the
// newest: a writer may be descheduled between Reserve and Commit).
func TestRecorderCloseRacingWriters(t *testing.T) {
	const writers = 4
	for range 20 {
		w, path := newTestRecorder(t)
		var wg sync.WaitGroup
		var ok atomic.Int64
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					res, err := w.Reserve(7, [4]uint64{}, 256)
					if err != nil {
						require.ErrorIs(t, err, ErrClosed)
						return
					}
					fillSelfCheck(res.Payload, res.Seqno)
					res.Commit()
					ok.Add(1)
				}
			}()
		}
		for ok.Load() < 100 {
			runtime.Gosched()
		}
		require.NoError(t, w.Close())
		wg.Wait()

		ring, err := Open(path)
		require.NoError(t, err)
		last := ring.LastSeqno()
		require.LessOrEqual(t, last, uint64(ok.Load()), "racing reservations may land in the inert image")
		require.Less(t, last, uint64(MinDescriptorCapacity), "test assumes the ring did not wrap")
		var d Descriptor
		uncommitted := 0
		for i := uint64(1); i <= last; i++ {
			if !ring.TryCopy(i, &d) {
				uncommitted++
				continue
			}
			require.NoError(t, checkSelf(&d, ring.Payload(&d)), "seqno %d", i)
		}
		require.LessOrEqual(t, uncommitted, writers)
		require.NoError(t, ring.Close())
	}
}

// TestCleanupUnmapsForgottenRecorder: a Recorder dropped without Close is
// unmapped by its cleanup.
func TestCleanupUnmapsForgottenRecorder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ring")
	func() {
		_, err := Create(path, minSizes, ContentTypeTest, testHash)
		require.NoError(t, err)
		require.Equal(t, 2, mapsOf(t, path))
	}()
	for i := 0; i < 50 && mapsOf(t, path) > 0; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	require.Zero(t, mapsOf(t, path))
}
