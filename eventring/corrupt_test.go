package eventring

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"
)

// headerImage returns a 192-byte ring header (spec §2.1).
func headerImage(magic string, ct ContentType, s Sizes, last, next, window uint64) []byte {
	b := make([]byte, ringHeaderSize)
	copy(b, magic)
	binary.LittleEndian.PutUint16(b[6:], uint16(ct))
	copy(b[8:40], testHash[:])
	binary.LittleEndian.PutUint64(b[40:], s.DescriptorCapacity)
	binary.LittleEndian.PutUint64(b[48:], s.PayloadBufSize)
	binary.LittleEndian.PutUint64(b[56:], s.ContextAreaSize)
	binary.LittleEndian.PutUint64(b[64:], last)
	binary.LittleEndian.PutUint64(b[72:], next)
	binary.LittleEndian.PutUint64(b[128:], window)
	return b
}

// span is a piece of a hand-made frame's output: data bytes, then run
// copies of the byte fill.
type span struct {
	data []byte
	run  uint64
	fill byte
}

// spanFrame builds one zstd frame by hand (RFC 8878) whose output is the
// spans in order: data as raw blocks, runs as RLE blocks. A few kilobytes
// can thus describe gigabytes of output, without running an encoder.
func spanFrame(spans ...span) []byte {
	const maxBlock = 1 << 17
	var b bytes.Buffer
	b.Write([]byte{0x28, 0xB5, 0x2F, 0xFD})
	b.WriteByte(0x00)           // FHD: no content size, windowed, no checksum, no dictionary
	b.WriteByte((17 - 10) << 3) // window descriptor: 128 KiB
	type blk struct {
		typ  uint32
		data []byte
		size uint32
	}
	var blocks []blk
	for _, s := range spans {
		for p := s.data; len(p) > 0; p = p[min(len(p), maxBlock):] {
			n := min(len(p), maxBlock)
			blocks = append(blocks, blk{0, p[:n], uint32(n)})
		}
		for r := s.run; r > 0; r -= min(r, maxBlock) {
			blocks = append(blocks, blk{1, []byte{s.fill}, uint32(min(r, maxBlock))})
		}
	}
	if len(blocks) == 0 {
		blocks = append(blocks, blk{0, nil, 0}) // a frame needs one (last) block
	}
	for i, bl := range blocks {
		h := bl.typ<<1 | bl.size<<3
		if i == len(blocks)-1 {
			h |= 1
		}
		b.Write([]byte{byte(h), byte(h >> 8), byte(h >> 16)})
		b.Write(bl.data)
	}
	return b.Bytes()
}

// handFrame is a frame of prefix followed by rleLen bytes of rleByte.
func handFrame(prefix []byte, rleLen uint64, rleByte byte) []byte {
	return spanFrame(span{data: prefix, run: rleLen, fill: rleByte})
}

// minSnapshot is a hand-made snapshot of an empty minimal ring with its
// header section, descriptors and payload buffer (all zero) present.
func minSnapshot(short uint64) []byte {
	h := headerImage(Magic, ContentTypeTest, minSizes, 0, 0, 0)
	return handFrame(h, minSizes.Total()-ringHeaderSize-short, 0)
}

func encodeZstd(t testing.TB, data []byte) []byte {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	require.NoError(t, err)
	return enc.EncodeAll(data, nil)
}

func writeTemp(t testing.TB, data []byte, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(p)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	if size > int64(len(data)) {
		require.NoError(t, f.Truncate(size)) // sparse
	}
	require.NoError(t, f.Close())
	return p
}

func TestOpenRejectsCorruptFiles(t *testing.T) {
	total := int64(minSizes.Total())
	live := func(magic string, ct ContentType, s Sizes) []byte {
		return headerImage(magic, ct, s, 0, 0, 0)
	}
	ringImage := minSnapshot(0)
	garbage := bytes.Repeat([]byte("not a ring, not zstd either "), 100)
	twoFrames := append(append([]byte{}, ringImage...), encodeZstd(t, []byte("second"))...)
	corruptBlock := encodeZstd(t, append(headerImage(Magic, ContentTypeTest, minSizes, 0, 0, 0), bytes.Repeat([]byte("abcdefgh"), 4096)...))
	corruptBlock[len(corruptBlock)/2] ^= 0xFF
	corruptBlock[len(corruptBlock)/2+1] ^= 0xFF

	cases := []struct {
		name string
		data []byte
		size int64 // sparse-extend the file to this size
		opts OpenOptions
		want error
	}{
		{"empty file", nil, 0, OpenOptions{}, ErrFileTooShort},
		{"bad magic", live("RING02", ContentTypeExec, minSizes), total, OpenOptions{}, ErrBadMagic},
		{"garbage", garbage, 0, OpenOptions{}, ErrBadMagic},
		{"content type NONE", live(Magic, ContentTypeNone, minSizes), total, OpenOptions{}, ErrBadContentType},
		{"content type COUNT", live(Magic, 3, minSizes), total, OpenOptions{}, ErrBadContentType},
		{"capacity not a power of two", live(Magic, ContentTypeExec, Sizes{DescriptorCapacity: 3 << 16, PayloadBufSize: 1 << 27}), total * 2, OpenOptions{}, ErrBadSize},
		{"capacity too small", live(Magic, ContentTypeExec, Sizes{DescriptorCapacity: 1 << 15, PayloadBufSize: 1 << 27}), total, OpenOptions{}, ErrBadSize},
		{"capacity too large", live(Magic, ContentTypeExec, Sizes{DescriptorCapacity: 1 << 33, PayloadBufSize: 1 << 27}), total, OpenOptions{}, ErrBadSize},
		{"payload buffer too small", live(Magic, ContentTypeExec, Sizes{DescriptorCapacity: 1 << 16, PayloadBufSize: 1 << 26}), total, OpenOptions{}, ErrBadSize},
		{"payload buffer too large", live(Magic, ContentTypeExec, Sizes{DescriptorCapacity: 1 << 16, PayloadBufSize: 1 << 41}), total, OpenOptions{}, ErrBadSize},
		{"payload buffer not a power of two", live(Magic, ContentTypeExec, Sizes{DescriptorCapacity: 1 << 16, PayloadBufSize: 3 << 27}), total * 3, OpenOptions{}, ErrBadSize},
		{"context area not 2 MiB multiple", live(Magic, ContentTypeExec, Sizes{DescriptorCapacity: 1 << 16, PayloadBufSize: 1 << 27, ContextAreaSize: 4096}), total, OpenOptions{}, ErrBadSize},
		{"file shorter than its sections", live(Magic, ContentTypeExec, minSizes), total - 1, OpenOptions{}, ErrFileTooShort},
		{"header cut short", live(Magic, ContentTypeExec, minSizes)[:100], 0, OpenOptions{}, ErrFileTooShort},
		{"offset not page aligned", live(Magic, ContentTypeExec, minSizes), total, OpenOptions{Offset: 100}, ErrBadSize},
		{"zstd of garbage", encodeZstd(t, garbage), 0, OpenOptions{}, ErrBadMagic},
		{"zstd of a short ring", encodeZstd(t, []byte("RING")), 0, OpenOptions{}, ErrFileTooShort},
		{"truncated frame", ringImage[:len(ringImage)-10], 0, OpenOptions{}, ErrSnapshotCorrupt},
		{"frame header only", ringImage[:5], 0, OpenOptions{}, ErrSnapshotCorrupt},
		{"corrupt block", corruptBlock, 0, OpenOptions{}, ErrSnapshotCorrupt},
		{"two frames", twoFrames, 0, OpenOptions{}, ErrSnapshotTrailingData},
		{"decompresses to gigabytes", handFrame(headerImage(Magic, ContentTypeTest, minSizes, 0, 0, 0), 4<<30, 0), 0, OpenOptions{}, ErrSnapshotTooLarge},
		{"non-zero bomb", handFrame(headerImage(Magic, ContentTypeTest, minSizes, 0, 0, 0), 1<<30, 0xAB), 0, OpenOptions{}, ErrSnapshotTooLarge},
		{"header declares huge ring", handFrame(headerImage(Magic, ContentTypeTest, Sizes{DescriptorCapacity: 1 << 32, PayloadBufSize: 1 << 40}, 0, 0, 0), 1<<20, 0), 0, OpenOptions{}, ErrSnapshotTooLarge},
		{"ring over configured limit", ringImage, 0, OpenOptions{MaxSnapshotSize: 100 << 20}, ErrSnapshotTooLarge},
		{"sections exceed decompressed size", handFrame(headerImage(Magic, ContentTypeTest, minSizes, 0, 0, 0), 1<<20, 0), 0, OpenOptions{}, ErrFileTooShort},
		{"used payload missing", handFrame(headerImage(Magic, ContentTypeTest, minSizes, 5, 1<<20, 0), minSizes.Total()-ringHeaderSize-MinPayloadBufSize+1000, 0), 0, OpenOptions{}, ErrFileTooShort},
		{"window start beyond allocation", handFrame(headerImage(Magic, ContentTypeTest, minSizes, 5, 100, 200), minSizes.Total()-ringHeaderSize, 0), 0, OpenOptions{}, ErrBadHeader},
		{"window wider than buffer", handFrame(headerImage(Magic, ContentTypeTest, minSizes, 5, 1<<40, 0), minSizes.Total()-ringHeaderSize, 0), 0, OpenOptions{}, ErrBadHeader},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, tc.data, tc.size)
			start := time.Now()
			r, err := OpenWithOptions(p, tc.opts)
			if r != nil {
				r.Close()
			}
			require.ErrorIs(t, err, tc.want)
			require.Contains(t, err.Error(), p, "error names the file")
			require.Less(t, time.Since(start), 20*time.Second)
		})
	}
}

func TestOpenErrorsNameTheValue(t *testing.T) {
	p := writeTemp(t, headerImage(Magic, ContentTypeExec, Sizes{DescriptorCapacity: 12345, PayloadBufSize: 1 << 27}, 0, 0, 0), 0)
	_, err := Open(p)
	require.ErrorIs(t, err, ErrBadSize)
	require.Contains(t, err.Error(), "12345")
	_, err = Open(filepath.Join(t.TempDir(), "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = Open(t.TempDir())
	require.Error(t, err)
}

func TestSnapshotShortTailIsZeroPadded(t *testing.T) {
	// Like the reference emn-30b snapshot: a few bytes missing from the
	// never-written end of the payload buffer.
	p := writeTemp(t, minSnapshot(8), 0)
	ok, err := IsSnapshot(p)
	require.NoError(t, err)
	require.True(t, ok)
	r, err := Open(p)
	require.NoError(t, err)
	defer r.Close()
	require.True(t, r.IsSnapshot())
	var d Descriptor
	require.Equal(t, NotReady, r.NewReader().TryNext(&d))
	require.Equal(t, byte(0), r.Payload(&Descriptor{PayloadBufOffset: MinPayloadBufSize - 8, PayloadSize: 8})[7])
}

func TestIsSnapshot(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want bool
	}{
		{"empty", nil, false},
		{"short", []byte{0x28, 0xB5}, false},
		{"live header", headerImage(Magic, ContentTypeExec, minSizes, 0, 0, 0), false},
		{"zstd of other data", encodeZstd(t, []byte("hello, world")), false},
		{"snapshot", minSnapshot(0), true},
	} {
		ok, err := IsSnapshot(writeTemp(t, tc.data, 0))
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, ok, tc.name)
	}
	ok, err := IsSnapshot(t.TempDir())
	require.NoError(t, err)
	require.False(t, ok)
}

// TestLyingDescriptors patches descriptors with impossible payload sizes and
// offsets, and the header with a last_seqno pointing at nothing: every
// access stays inside the mapping and reports an invalid result.
func TestLyingDescriptors(t *testing.T) {
	w, path := newTestRecorder(t)
	for range 4 {
		recordSelfCheck(t, w, 64)
	}
	require.NoError(t, w.Close())
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	patch := func(seqno uint64, off int, v uint64, size int) {
		b := make([]byte, size)
		switch size {
		case 4:
			binary.LittleEndian.PutUint32(b, uint32(v))
		case 8:
			binary.LittleEndian.PutUint64(b, v)
		}
		_, err := f.WriteAt(b, int64(HeaderSectionSize+(seqno-1)*64+uint64(off)))
		require.NoError(t, err)
	}
	patch(1, 12, 0xFFFFFFFF, 4)          // payload larger than the buffer
	patch(2, 24, 1<<63, 8)               // offset far beyond next_payload_byte
	patch(3, 24, ^uint64(0)-8, 8)        // offset + size overflows
	patch(4, 12, MinPayloadBufSize-1, 4) // nearly the whole buffer

	ring, err := Open(path)
	require.NoError(t, err)
	defer ring.Close()
	// The same lies in a snapshot of the file.
	var snap bytes.Buffer
	require.NoError(t, ring.WriteSnapshot(&snap))
	snapRing, err := Open(writeTemp(t, snap.Bytes(), 0))
	require.NoError(t, err)
	defer snapRing.Close()
	var d Descriptor
	for _, r := range []*Ring{snapRing, ring} {
		rd := r.NewReader()
		rd.SetSeqno(1)
		for i := 1; i <= 4; i++ {
			require.Equal(t, Ready, rd.TryNext(&d))
			require.False(t, r.PayloadValid(&d), "seqno %d", i)
			_, err := r.CopyPayload(&d, nil)
			require.ErrorIs(t, err, ErrBadDescriptor, "seqno %d", i)
			// The view, if any, is readable end to end without faulting.
			var sum byte
			for _, c := range r.Payload(&d) {
				sum += c
			}
			_ = sum
		}
		require.Nil(t, r.Payload(&Descriptor{PayloadSize: 0xFFFFFFFF}))
	}
	rd := ring.NewReader()

	// last_seqno far ahead of anything committed: Reset stays bounded.
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], 1<<40)
	_, err = f.WriteAt(b[:], 64)
	require.NoError(t, err)
	start := time.Now()
	rd.Reset()
	require.Less(t, time.Since(start), 10*time.Second)
	// A slot holding a seqno from the future is a gap, not data.
	patch(5, 0, 1<<30, 8)
	rd.SetSeqno(5)
	require.Equal(t, Gap, rd.TryNext(&d))
	var ge *GapError
	require.True(t, errors.As(rd.Next(t.Context(), &d), &ge))
}
