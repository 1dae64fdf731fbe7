//go:build linux

package eventring

import (
	"bytes"
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// sparseBufSize is the payload buffer of the sparse test rings: 1 GiB, or
// 256 MiB under the race detector (which slows decompression tenfold).
const sparseBufSize = 1 << 30 >> (2 * raceEnabledInt)

// sparseRingFrame is a snapshot of a ring with a sparseBufSize payload
// buffer holding n events of size bytes each (payload of event i: bytes
// i+1, repeated), and zeros everywhere else.
func sparseRingFrame(n, size uint64) (frame []byte, sizes Sizes) {
	sizes = Sizes{DescriptorCapacity: MinDescriptorCapacity, PayloadBufSize: sparseBufSize}
	descs := make([]byte, n*DescriptorSize)
	payload := make([]byte, n*size)
	for i := range n {
		d := descs[i*DescriptorSize:]
		binary.LittleEndian.PutUint64(d[0:], i+1) // seqno
		binary.LittleEndian.PutUint16(d[8:], 7)   // event type
		binary.LittleEndian.PutUint32(d[12:], uint32(size))
		binary.LittleEndian.PutUint64(d[24:], i*size) // payload_buf_offset
		copy(payload[i*size:], bytes.Repeat([]byte{byte(i + 1)}, int(size)))
	}
	hdr := headerImage(Magic, ContentTypeTest, sizes, n, n*size, 0)
	frame = spanFrame(
		span{data: hdr}, span{run: HeaderSectionSize - ringHeaderSize},
		span{data: descs}, span{run: sizes.DescriptorCapacity*DescriptorSize - uint64(len(descs))},
		span{data: payload}, span{run: sizes.PayloadBufSize - uint64(len(payload))},
	)
	return frame, sizes
}

// TestSnapshotDecompressesSparsely checks that a snapshot of a 1 GiB ring
// (256 MiB under -race) that is mostly zeros costs memory only for its
// data: the memfd it is decompressed into has the ring's full size but
// allocates (st_blocks) only the pages holding data (about 1 MiB), and the ring still reads back every event intact.
func TestSnapshotDecompressesSparsely(t *testing.T) {
	if !platformSupported {
		t.Skip("memfd snapshots: Linux/amd64 only")
	}
	const n, size = 1000, 1000 // 1 MB of payload, 64 KB of descriptors
	frame, sizes := sparseRingFrame(n, size)
	total := sizes.Total()

	mfd, h, err := decompressSnapshot(bytes.NewReader(frame), int64(len(frame)), 0)
	require.NoError(t, err)
	st, err := mfd.Stat()
	require.NoError(t, err)
	alloc := allocatedBytes(t, st)
	require.NoError(t, mfd.Close())
	require.Equal(t, sizes, h.Size)
	require.Equal(t, int64(total), st.Size(), "memfd spans the whole ring")
	// Data: the header page, 64 000 descriptor bytes and 1 000 000 payload
	// bytes, each rounded to whole 4 KiB pages (a little over 1 MiB).
	const data = 4<<10 + 64000 + 1000000
	require.GreaterOrEqual(t, alloc, int64(data), "the data itself is in the memfd")
	require.Less(t, alloc, int64(data+3*(4<<10)), "memfd of a %d-byte ring allocates only its non-zero pages", total)
	t.Logf("%d-byte ring from a %d-byte frame: memfd allocates %d bytes", total, len(frame), alloc)

	r, err := Open(writeTemp(t, frame, 0))
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, sizes, r.Sizes())
	rd := r.NewReader()
	var d Descriptor
	buf := make([]byte, 0, size)
	for i := uint64(1); i <= n; i++ {
		require.Equal(t, Ready, rd.TryNext(&d), "event %d", i)
		require.Equal(t, i, d.Seqno)
		buf, err = r.CopyPayload(&d, buf)
		require.NoError(t, err)
		require.Equal(t, bytes.Repeat([]byte{byte(i)}, size), buf, "payload of event %d", i)
	}
	require.Equal(t, NotReady, rd.TryNext(&d))
	// The holes read as zero: the unwritten end of the payload buffer.
	tail := r.Payload(&Descriptor{PayloadBufOffset: sizes.PayloadBufSize - 4096, PayloadSize: 4096})
	require.Equal(t, make([]byte, 4096), tail)
}

// TestSnapshotZeroBomb: a small frame that decompresses to more zeros than
// its header declares (a 256 MiB buffer) is refused with
// ErrSnapshotTooLarge; zeros are skipped, not trusted.
func TestSnapshotZeroBomb(t *testing.T) {
	if !platformSupported {
		t.Skip("memfd snapshots: Linux/amd64 only")
	}
	sizes := Sizes{DescriptorCapacity: MinDescriptorCapacity, PayloadBufSize: 1 << 28}
	frame := spanFrame(span{data: headerImage(Magic, ContentTypeTest, sizes, 0, 0, 0)}, span{run: 4 << 30})
	require.Less(t, len(frame), 256<<10, "a small file")
	_, err := Open(writeTemp(t, frame, 0))
	require.ErrorIs(t, err, ErrSnapshotTooLarge)
	require.Contains(t, err.Error(), "274726912", "error names the header's total")

	// One byte past the total is too much, exactly the total is fine.
	for _, extra := range []uint64{1, 0} {
		frame := spanFrame(span{data: headerImage(Magic, ContentTypeTest, sizes, 0, 0, 0)},
			span{run: sizes.Total() - ringHeaderSize + extra})
		r, err := Open(writeTemp(t, frame, 0))
		if extra > 0 {
			require.ErrorIs(t, err, ErrSnapshotTooLarge)
			continue
		}
		require.NoError(t, err)
		require.NoError(t, r.Close())
	}
}

// TestWriteSparse checks the block logic directly: only non-zero 4 KiB
// blocks (and a non-zero partial last block) land in the file, at the
// right offsets.
func TestWriteSparse(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "sparse")
	require.NoError(t, err)
	defer f.Close()
	const blocks = 10
	b := make([]byte, blocks*sparseBlock+100)
	b[2*sparseBlock] = 1         // block 2
	b[4*sparseBlock-1] = 2       // block 3 (run 2-3)
	b[7*sparseBlock+5] = 3       // block 7
	b[blocks*sparseBlock+99] = 4 // partial last block
	const off = 5 * sparseBlock
	require.NoError(t, f.Truncate(off+int64(len(b))))
	require.NoError(t, writeSparse(f, b, off))
	got := make([]byte, len(b))
	_, err = f.ReadAt(got, off)
	require.NoError(t, err)
	require.Equal(t, b, got)
	st, err := f.Stat()
	require.NoError(t, err)
	if a := allocatedBytes(t, st); a > 0 { // some filesystems report no blocks
		require.LessOrEqual(t, a, int64(5*sparseBlock), "blocks 2, 3, 7 and the partial one")
	}
	require.NoError(t, writeSparse(f, make([]byte, 3*sparseBlock), 0), "all zero: nothing to write")
}

// residentBytes sums the Rss of the mappings that make up r (from
// /proc/self/smaps): the memory the ring's pages occupy in this process.
func residentBytes(t *testing.T, r *Ring) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	lo, hi := uintptr(r.m.addr), uintptr(r.m.addr)+r.m.length
	var rss int64
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if rng := strings.Split(f[0], "-"); len(rng) == 2 && !strings.HasSuffix(f[0], ":") {
			start, err1 := strconv.ParseUint(rng[0], 16, 64)
			_, err2 := strconv.ParseUint(rng[1], 16, 64)
			if err1 == nil && err2 == nil {
				in = uintptr(start) >= lo && uintptr(start) < hi
				continue
			}
		}
		if in && f[0] == "Rss:" && len(f) >= 2 {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			require.NoError(t, err)
			rss += kb << 10
		}
	}
	return rss
}

// TestSnapshotPopulateSkipsHoles: Populate on a snapshot pre-faults the
// header, the written descriptors and the payload window, not the zero
// holes (MAP_POPULATE would allocate and map all of the sparse ring).
func TestSnapshotPopulateSkipsHoles(t *testing.T) {
	if !platformSupported {
		t.Skip("memfd snapshots: Linux/amd64 only")
	}
	if os.Getenv("EVENTRING_TEST_EMULATOR") != "" {
		t.Skip("qemu-user ignores MADV_POPULATE_READ: nothing to measure")
	}
	const n, size = 1000, 1000
	frame, _ := sparseRingFrame(n, size)
	p := writeTemp(t, frame, 0)

	r, err := OpenWithOptions(p, OpenOptions{Populate: true})
	require.NoError(t, err)
	defer r.Close()
	rss := residentBytes(t, r)
	t.Logf("populated snapshot: %d bytes resident", rss)
	// The data pages (about 1 MiB, see TestSnapshotDecompressesSparsely)
	// are mapped in advance; the gigabyte of holes is not.
	require.GreaterOrEqual(t, rss, int64(n*size))
	require.Less(t, rss, int64(4<<20))

	// Reading every event touches no more than that.
	rd := r.NewReader()
	var d Descriptor
	buf := make([]byte, 0, size)
	for rd.TryNext(&d) == Ready {
		buf, err = r.CopyPayload(&d, buf)
		require.NoError(t, err)
	}
	require.Equal(t, uint64(n), d.Seqno)
	require.Less(t, residentBytes(t, r), int64(4<<20))
}
