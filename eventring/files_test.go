package eventring

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestReferenceSnapshotEMN1B(t *testing.T) {
	path := sharedTestdata(t, "emn-1b-15m.snapshot")
	ok, err := IsSnapshot(path)
	require.NoError(t, err)
	require.True(t, ok)
	ring, err := Open(path)
	require.NoError(t, err)
	defer ring.Close()
	require.Equal(t, uint64(6597), ring.Header().LastSeqno)
	require.Equal(t, ContentTypeExec, ring.Header().ContentType)
	requireRefSchemaHash(t, ring.Header().SchemaHash)
	rd := ring.NewReader()
	var d Descriptor
	var buf []byte
	n := uint64(0)
	for {
		err := rd.Next(context.Background(), &d)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		n++
		require.Equal(t, n, d.Seqno)
		require.True(t, ring.PayloadValid(&d), "seqno %d expired", n)
		buf, err = ring.CopyPayload(&d, buf)
		require.NoError(t, err, "seqno %d", n)
		require.Len(t, buf, int(d.PayloadSize))
	}
	require.Equal(t, uint64(6597), n)
}

func TestOpenFileAtOffset(t *testing.T) {
	w, path := newTestRecorder(t)
	recordSelfCheck(t, w, 100)
	recordSelfCheck(t, w, 200)
	ring0, err := w.Ring()
	require.NoError(t, err)
	snap := filepath.Join(t.TempDir(), "snap")
	sf, err := os.Create(snap)
	require.NoError(t, err)
	require.NoError(t, ring0.WriteSnapshot(sf))
	require.NoError(t, sf.Close())
	require.NoError(t, ring0.Close())
	require.NoError(t, w.Close())
	off := 2 * pageSize

	// A live ring inside a container file: copy the used pages of each
	// section, keep the rest sparse.
	src, err := os.Open(path)
	require.NoError(t, err)
	defer src.Close()
	live := filepath.Join(t.TempDir(), "container")
	dst, err := os.Create(live)
	require.NoError(t, err)
	_, err = dst.WriteString("some other content before the ring")
	require.NoError(t, err)
	require.NoError(t, dst.Truncate(off+int64(minSizes.Total())))
	page := make([]byte, 4096)
	for _, at := range []int64{0, HeaderSectionSize, HeaderSectionSize + MinDescriptorCapacity*DescriptorSize} {
		_, err := src.ReadAt(page, at)
		require.NoError(t, err)
		_, err = dst.WriteAt(page, off+at)
		require.NoError(t, err)
	}
	require.NoError(t, dst.Close())

	// A snapshot inside a container file.
	snapData, err := os.ReadFile(snap)
	require.NoError(t, err)
	snapContainer := filepath.Join(t.TempDir(), "snapcontainer")
	require.NoError(t, os.WriteFile(snapContainer, append(make([]byte, off), snapData...), 0o644))

	for _, p := range []string{live, snapContainer} {
		f, err := os.Open(p)
		require.NoError(t, err)
		ring, err := OpenFile(f, OpenOptions{Offset: off, Populate: true})
		require.NoError(t, err, p)
		f.Close() // not retained
		rd := ring.NewReader()
		rd.SetSeqno(1)
		var d Descriptor
		for i := uint64(1); i <= 2; i++ {
			require.Equal(t, Ready, rd.TryNext(&d))
			require.NoError(t, checkSelf(&d, ring.Payload(&d)))
		}
		require.Equal(t, NotReady, rd.TryNext(&d))
		require.NoError(t, ring.Close())
		require.NoError(t, ring.Close(), "idempotent")
	}
}

func TestParseProcLocks(t *testing.T) {
	locks := `1: FLOCK  ADVISORY  WRITE 4242 00:2f:1838 0 EOF
2: FLOCK  ADVISORY  READ  4243 fd:01:1838 0 EOF
2: -> FLOCK  ADVISORY  WRITE 4244 00:2f:1838 0 EOF
3: POSIX  ADVISORY  WRITE 4245 00:2f:1838 0 EOF
4: FLOCK  ADVISORY  WRITE 4246 00:2f:18380 0 EOF
5: OFDLCK ADVISORY  READ  -1 00:2f:1838 0 EOF
garbage
`
	require.Equal(t, []int{4242, 4243}, parseProcLocks([]byte(locks), 1838))
	require.Empty(t, parseProcLocks([]byte(locks), 99))
}

func TestResolvePath(t *testing.T) {
	p, err := ResolvePath("./here/ring")
	require.NoError(t, err)
	require.Equal(t, "./here/ring", p)
	p, err = ResolvePath("/abs/ring")
	require.NoError(t, err)
	require.Equal(t, "/abs/ring", p)

	dir := filepath.Join(t.TempDir(), "a", "b")
	p, err = ResolvePathIn(DefaultExecRingName, dir)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "monad-exec-events"), p)
	st, err := os.Stat(dir)
	require.NoError(t, err)
	require.True(t, st.IsDir())

	p, err = ResolvePath(DefaultExecRingName)
	if err != nil {
		require.ErrorIs(t, err, ErrNoHugetlbfs) // this machine has no hugetlbfs mount
	} else {
		require.Equal(t, DefaultRingDirName, filepath.Base(filepath.Dir(p)))
	}
	require.Equal(t, `/mnt/huge pages`, unescapeMount(`/mnt/huge\040pages`))
}

func TestStrings(t *testing.T) {
	require.Equal(t, "EXEC", ContentTypeExec.String())
	require.Equal(t, "TEST", ContentTypeTest.String())
	require.Equal(t, "NONE", ContentTypeNone.String())
	require.Equal(t, "ContentType(9)", ContentType(9).String())
	require.Equal(t, "OVERFLOW_EXPIRE", RecordErrorOverflowExpire.String())
	require.Equal(t, "RecordErrorType(7)", RecordErrorType(7).String())
	require.Equal(t, "Gap", Gap.String())
	require.Equal(t, "Ready", Ready.String())
	require.Equal(t, "NotReady", NotReady.String())
	require.Contains(t, (&GapError{Expected: 5, Oldest: 9}).Error(), "5..8")
}

// TestCleanupUnmapsForgottenRing: a Ring dropped without Close is unmapped
// by its cleanup (the memfd mapping disappears from /proc/self/maps).
func TestCleanupUnmapsForgottenRing(t *testing.T) {
	count := func() int {
		maps, err := os.ReadFile("/proc/self/maps")
		require.NoError(t, err)
		return strings.Count(string(maps), "zstd-ring-decomp")
	}
	p := writeTemp(t, minSnapshot(0), 0)
	before := count()
	func() {
		r, err := Open(p)
		require.NoError(t, err)
		require.Greater(t, count(), before)
		_ = r.Header()
	}()
	for i := 0; i < 50 && count() > before; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	require.Equal(t, before, count())
}

// TestRingClosed: Close releases the snapshot's memory at once; a Reader or
// payload view used afterwards, even by a goroutine blocked in Next while
// another closes the ring, gets NotReady, zeros, invalid payloads and
// ErrClosed instead of faulting.
func TestRingClosed(t *testing.T) {
	maps := func() int {
		b, err := os.ReadFile("/proc/self/maps")
		require.NoError(t, err)
		return strings.Count(string(b), "zstd-ring-decomp")
	}
	w, _ := newTestRecorder(t)
	recordSelfCheck(t, w, 100)
	live, err := w.Ring()
	require.NoError(t, err)
	var snap strings.Builder
	require.NoError(t, live.WriteSnapshot(&snap))
	p := writeTemp(t, []byte(snap.String()), 0)
	before := maps()

	for _, open := range []func() (*Ring, error){func() (*Ring, error) { return Open(p) }, w.Ring} {
		ring, err := open()
		require.NoError(t, err)
		rd := ring.NewReader()
		rd.SetSeqno(1)
		var d Descriptor
		require.Equal(t, Ready, rd.TryNext(&d))
		view := ring.Payload(&d)
		require.NoError(t, checkSelf(&d, view))

		// On the live ring, a reader waits for the next event while
		// another goroutine closes the ring.
		errc := make(chan error, 1)
		if !ring.IsSnapshot() {
			waiting := ring.NewReader()
			waiting.SetSeqno(2)
			waiting.SetWaitStrategy(BusySpin)
			go func() {
				var d Descriptor
				errc <- waiting.Next(context.Background(), &d)
			}()
			time.Sleep(10 * time.Millisecond)
		} else {
			errc <- ErrClosed
		}

		require.NoError(t, ring.Close())
		require.NoError(t, ring.Close(), "idempotent")
		require.ErrorIs(t, <-errc, ErrClosed)
		require.Equal(t, before, maps(), "snapshot memory released by Close")

		require.Equal(t, make([]byte, len(view)), view, "old views read zeros")
		require.False(t, ring.PayloadValid(&d))
		_, err = ring.CopyPayload(&d, nil)
		require.ErrorIs(t, err, ErrClosed)
		rd.SetSeqno(1)
		require.Equal(t, NotReady, rd.TryNext(&d))
		require.ErrorIs(t, rd.Next(context.Background(), &d), ErrClosed)
		require.Equal(t, uint64(0), rd.Reset())
		require.ErrorIs(t, ring.WriteSnapshot(io.Discard), ErrClosed)
		_, err = ring.WriterPIDs()
		require.ErrorIs(t, err, ErrClosed)
	}
	require.NoError(t, live.Close())
}
