package evcap

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPreviewBuilt reads preview files laid out by the tests' own
// preview writer: plain and zstd, several tables, block numbers with and
// without a PACK_INDEX.
func TestPreviewBuilt(t *testing.T) {
	evs := synthEvents(1, 300)
	blocks := make([]uint64, 30)
	for i := range blocks {
		blocks[i] = 500 + uint64(i)*3
	}
	for _, c := range []struct {
		name string
		ps   previewSpec
	}{
		{"one-bundle", previewSpec{}},
		{"zstd-tables", previewSpec{per: 7, comp: CompressionZstdStreaming}},
		{"archive-blocks", previewSpec{per: 10, comp: CompressionZstdSinglePass, blocks: blocks}},
		{"pack", previewSpec{per: 10, blocks: blocks, pack: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := buildPreview(t, evs, c.ps)
			f, err := NewFile(bytes.NewReader(b), int64(len(b)), c.name, OpenOptions{})
			require.NoError(t, err)
			require.Equal(t, LayoutPreview, f.Layout())
			requireEvents(t, f, evs)
			_, err = NewFile(bytes.NewReader(b), int64(len(b)), c.name, OpenOptions{Layout: LayoutRelease})
			require.ErrorIs(t, err, ErrWrongLayout)
			r := f.NewReader()
			var ev Event
			for _, s := range []uint64{300, 1, 150, 149, 2} {
				require.NoError(t, r.Seek(s))
				require.NoError(t, r.Next(&ev))
				require.Equal(t, s, ev.Descriptor.Seqno)
			}
			if c.ps.blocks == nil {
				require.ErrorIs(t, r.SeekBlock(500), ErrNoBlockIndex)
				return
			}
			require.Len(t, f.Blocks(), 30)
			for k, n := range blocks {
				require.NoError(t, r.SeekBlock(n))
				require.NoError(t, r.Next(&ev))
				require.EqualValues(t, 1+10*k, ev.Descriptor.Seqno)
			}
		})
	}
}

// fileCase is a base file for corruption: its bytes and its sections.
type fileCase struct {
	b    []byte
	secs []Section
}

func newCase(t testing.TB, b []byte) fileCase {
	f, err := NewFile(bytes.NewReader(b), int64(len(b)), "base", OpenOptions{})
	require.NoError(t, err)
	require.NoError(t, f.Verify(context.Background()))
	return fileCase{b, f.Sections()}
}

func put64(b []byte, off, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }
func put32(b []byte, off uint64, v uint32) {
	binary.LittleEndian.PutUint32(b[off:], v)
}
func put16(b []byte, off uint64, v uint16) { binary.LittleEndian.PutUint16(b[off:], v) }

// TestCorruptFiles is the table of hand-corrupted files: each must give a
// *FormatError wrapping the expected sentinel, when opened ("open") or
// when read by Verify ("read"), and never panic.
func TestCorruptFiles(t *testing.T) {
	evs := synthEvents(1, 60)
	require.Empty(t, evs[0].p)
	// A: SCHEMA ×2, 3 zstd bundles with uncompressed indexes.
	a := newCase(t, writeMem(t, evs, WriterOptions{Compression: CompressionZstdStreaming}, defaultGeometry, 20, nil).b)
	// B: block index, uncompressed bundles.
	blocks := make([]uint64, len(evs))
	for i := range blocks {
		blocks[i] = 100 + uint64(i/20)
	}
	bb := newCase(t, writeMem(t, evs, WriterOptions{BlockIndex: true}, defaultGeometry, 0, blocks).b)
	// C: tiny tables (4 entries, 128-byte pages): LINKs everywhere.
	c := newCase(t, writeMem(t, evs[:12], WriterOptions{}, geometry{128, 4, 4}, 3, nil).b)
	// D: one uncompressed bundle without index.
	d := newCase(t, writeMem(t, evs, WriterOptions{NoSeqnoIndex: true}, defaultGeometry, 0, nil).b)
	// P: preview layout, two tables, zstd.
	pv := newCase(t, buildPreview(t, evs, previewSpec{per: 3, comp: CompressionZstdStreaming}))
	// Q: preview, uncompressed, with a pack index.
	qblocks := make([]uint64, 6)
	for i := range qblocks {
		qblocks[i] = 77 + uint64(i)
	}
	q := newCase(t, buildPreview(t, evs, previewSpec{per: 10, blocks: qblocks, pack: true}))

	desc := func(fc fileCase, i int) uint64 { return fc.secs[i].DescriptorOffset }
	content := func(fc fileCase, i int) uint64 { return fc.secs[i].ContentOffset }
	// A: sections 0, 1 SCHEMA; 2 bundle, 3 index; 4, 5; 6, 7.
	// B: 0 SCHEMA EXEC, 1 SCHEMA TEST, 2 BLOCK_INDEX, 3.. (bundle, index).
	// D: 0, 1 SCHEMA, 2 bundle.
	// C: 0, 1 SCHEMA, 2 bundle, 3 LINK, 4 index, ...

	cases := []struct {
		name   string
		base   fileCase
		mut    func(b []byte) []byte
		want   error
		onRead bool
	}{
		{"bad magic", a, func(b []byte) []byte { b[0] = 'X'; return b }, ErrBadMagic, false},
		{"version 02", a, func(b []byte) []byte { b[7] = '2'; return b }, ErrBadMagic, false},
		{"empty", a, func(b []byte) []byte { return b[:0] }, ErrTruncated, false},
		{"header cut", a, func(b []byte) []byte { return b[:20] }, ErrTruncated, false},
		{"table cut", a, func(b []byte) []byte { return b[:PageSize+1000] }, ErrTruncated, false},
		{"content cut", a, func(b []byte) []byte { return b[:content(a, 4)+10] }, ErrTruncated, false},
		{"sectab_offset unaligned", a, func(b []byte) []byte { put64(b, 8, 100); return b }, ErrBadHeader, false},
		{"sectab_offset past end", a, func(b []byte) []byte { put64(b, 8, 1<<40); return b }, ErrTruncated, false},
		{"sectab_size not of 128", a, func(b []byte) []byte { put64(b, 16, 1000); return b }, ErrBadHeader, false},
		{"sectab_size 0: neither layout", a, func(b []byte) []byte { put64(b, 16, 0); return b }, ErrBadHeader, false},
		{"sectab_size huge", a, func(b []byte) []byte { put64(b, 16, 1<<50); return b }, ErrTruncated, false},
		{"section_count off", a, func(b []byte) []byte { put64(b, 24, 9); return b }, ErrBadSectionTable, false},
		{"section_count huge", a, func(b []byte) []byte { put64(b, 24, 1<<40); return b }, ErrTooLarge, false},
		{"header page not zero", a, func(b []byte) []byte { b[100] = 1; return b }, ErrBadHeader, false},
		{"descriptor_offset", a, func(b []byte) []byte { put64(b, desc(a, 2)+8, 4096); return b }, ErrBadSection, false},
		{"unknown type", a, func(b []byte) []byte { put16(b, desc(a, 2), 9); return b }, ErrBadSection, false},
		{"unknown compression", a, func(b []byte) []byte { b[desc(a, 2)+2] = 7; return b }, ErrBadSection, false},
		{"reserved bytes", a, func(b []byte) []byte { b[desc(a, 2)+100] = 1; return b }, ErrBadSection, false},
		{"content past end", a, func(b []byte) []byte { put64(b, desc(a, 2)+16, uint64(len(b))); return b }, ErrTruncated, false},
		{"file_length past end", a, func(b []byte) []byte { put64(b, desc(a, 2)+32, 1<<62); return b }, ErrTruncated, false},
		{"content unaligned", a, func(b []byte) []byte { put64(b, desc(a, 2)+16, content(a, 2)+8); return b }, ErrBadSection, false},
		{"schema ring magic", a, func(b []byte) []byte { b[desc(a, 0)+45] = '2'; return b }, ErrBadSection, false},
		{"schema content type 0", a, func(b []byte) []byte { put16(b, desc(a, 1)+46, 0); return b }, ErrBadSection, false},
		{"two schemas of one type", a, func(b []byte) []byte { put16(b, desc(a, 1)+46, 2); return b }, ErrBadSection, false},
		{"schema with content", a, func(b []byte) []byte { put64(b, desc(a, 0)+32, 8); return b }, ErrBadSection, false},
		{"compressed schema", a, func(b []byte) []byte { b[desc(a, 0)+2] = 2; return b }, ErrBadSection, false},
		{"bundle names a schema as index", a, func(b []byte) []byte { put64(b, desc(a, 2)+64, desc(a, 0)); return b }, ErrBadSection, false},
		{"bundle names another index", a, func(b []byte) []byte { put64(b, desc(a, 2)+64, desc(a, 5)); return b }, ErrBadSection, false},
		{"index names another bundle", a, func(b []byte) []byte { put64(b, desc(a, 3)+40, desc(a, 4)); return b }, ErrBadSection, false},
		{"orphan index", a, func(b []byte) []byte { put64(b, desc(a, 2)+64, 0); return b }, ErrBadSection, false},
		{"index too short", a, func(b []byte) []byte { put64(b, desc(a, 3)+32, 8*19); return b }, ErrBadIndex, false},
		{"event_count cannot fit", a, func(b []byte) []byte { put64(b, desc(a, 2)+40, 1<<40); return b }, ErrBadRecord, false},
		{"empty bundle with start", a, func(b []byte) []byte { put64(b, desc(a, 2)+40, 0); return b }, ErrBadSection, false},
		{"start_seqno 0", a, func(b []byte) []byte { put64(b, desc(a, 2)+48, 0); return b }, ErrBadSection, false},
		{"seqno overflow", a, func(b []byte) []byte { put64(b, desc(a, 2)+48, ^uint64(0)-5); return b }, ErrBadSection, false},
		{"block_index_id without index", a, func(b []byte) []byte { put32(b, desc(a, 2)+56, 1); return b }, ErrBadSection, false},
		{"content_length over limit", a, func(b []byte) []byte { put64(b, desc(a, 2)+24, 1<<40); return b }, ErrTooLarge, false},
		{"zstd but no stored bytes", a, func(b []byte) []byte { put64(b, desc(a, 2)+32, 0); return b }, ErrBadCompression, false},
		{"compressed block index", bb, func(b []byte) []byte { b[desc(bb, 2)+2] = 2; return b }, ErrBadSection, false},

		// Contents, found by reading.
		{"start_seqno off", a, func(b []byte) []byte { put64(b, desc(a, 2)+48, 2); return b }, ErrBadRecord, true},
		{"zstd content_length too large", a, func(b []byte) []byte { put64(b, desc(a, 2)+24, a.secs[2].ContentLength+1); return b }, ErrBadRecord, true},
		{"zstd content_length too small", a, func(b []byte) []byte { put64(b, desc(a, 2)+24, a.secs[2].ContentLength-1); return b }, ErrBadRecord, true},
		{"zstd frame magic", a, func(b []byte) []byte { b[content(a, 4)] ^= 0xff; return b }, ErrBadCompression, true},
		{"zstd frame cut", a, func(b []byte) []byte { put64(b, desc(a, 4)+32, a.secs[4].FileLength-3); return b }, ErrBadCompression, true},
		{"zstd trailing garbage", a, func(b []byte) []byte {
			put64(b, desc(a, 4)+32, a.secs[4].FileLength+4)
			copy(b[content(a, 4)+a.secs[4].FileLength:], "junk")
			return b
		}, ErrBadCompression, true},
		{"index entry elsewhere", a, func(b []byte) []byte { put64(b, content(a, 3)+8*5, 64*3); return b }, ErrBadIndex, true},
		{"index entry unaligned", a, func(b []byte) []byte { put64(b, content(a, 3)+8*5, 100); return b }, ErrBadIndex, true},
		{"event_count one more", d, func(b []byte) []byte { put64(b, desc(d, 2)+40, 61); return b }, ErrBadRecord, true},
		{"event_count one less", d, func(b []byte) []byte { put64(b, desc(d, 2)+40, 59); return b }, ErrBadRecord, true},
		{"bundle file_length short", d, func(b []byte) []byte { put64(b, desc(d, 2)+32, d.secs[2].FileLength-1); return b }, ErrBadRecord, true},
		{"bundle file_length long", d, func(b []byte) []byte { put64(b, desc(d, 2)+32, d.secs[2].FileLength+64); return b }, ErrBadRecord, true},
		{"payload_size huge", d, func(b []byte) []byte { put32(b, content(d, 2)+12, 1<<31); return b }, ErrBadRecord, true},
		{"payload_size smaller", d, func(b []byte) []byte { put32(b, content(d, 2)+12, 3); return b }, ErrBadRecord, true},
		{"seqno repeated", d, func(b []byte) []byte { put64(b, d.secs[2].ContentOffset+recordAt(t, d, 1), 1); return b }, ErrBadRecord, true},
		{"seqno hole", d, func(b []byte) []byte { put64(b, d.secs[2].ContentOffset+recordAt(t, d, 1), 3); return b }, ErrBadRecord, true},
		// Record 0 has an empty payload: its content type is at 64.
		{"content type without schema", d, func(b []byte) []byte { put16(b, content(d, 2)+64, 9); return b }, ErrBadRecord, true},
		{"padding not zero", d, func(b []byte) []byte { b[d.secs[2].ContentOffset+recordAt(t, d, 1)-3] = 1; return b }, ErrBadRecord, true},

		// Block index.
		{"block_count over capacity", bb, func(b []byte) []byte { put32(b, desc(bb, 2)+48, 1<<19); return b }, ErrBadIndex, false},
		{"capacity over file_length", bb, func(b []byte) []byte { put32(b, desc(bb, 2)+52, 1<<30); return b }, ErrBadIndex, false},
		{"block_count over bundles", bb, func(b []byte) []byte { put32(b, desc(bb, 2)+48, 1000); return b }, ErrBadIndex, false},
		{"entry names no bundle", bb, func(b []byte) []byte { put64(b, content(bb, 2)+16+8, content(bb, 3)); return b }, ErrBadIndex, false},
		{"blocks not increasing", bb, func(b []byte) []byte { put64(b, content(bb, 2)+16, 100); return b }, ErrBadIndex, false},
		{"start_block off", bb, func(b []byte) []byte { put64(b, desc(bb, 2)+40, 99); return b }, ErrBadIndex, false},
		{"block_index_id past entries", bb, func(b []byte) []byte { put32(b, desc(bb, 2)+48, 2); return b }, ErrBadIndex, false},
		{"is_active 2", bb, func(b []byte) []byte { b[desc(bb, 2)+56] = 2; return b }, ErrBadSection, false},
		{"two block indexes", bb, func(b []byte) []byte {
			clear(b[desc(bb, 1)+16 : desc(bb, 1)+128])
			put16(b, desc(bb, 1), 5)
			return b
		}, ErrBadSection, false},

		// LINKs (C: tables of 4 entries).
		{"LINK loop", c, func(b []byte) []byte { put64(b, desc(c, 7)+16, desc(c, 0)); return b }, ErrBadSectionTable, false},
		{"LINK into a walked table", c, func(b []byte) []byte { put64(b, desc(c, 7)+16, desc(c, 0)+128); return b }, ErrBadSectionTable, false},
		{"LINK not last", c, func(b []byte) []byte {
			copy(b[desc(c, 2):desc(c, 2)+128], b[desc(c, 3):])
			put64(b, desc(c, 2)+8, desc(c, 2))
			return b
		}, ErrBadSectionTable, false},
		{"full table without LINK", c, func(b []byte) []byte { put16(b, desc(c, 3), 2); return b }, ErrBadSectionTable, false},
		{"LINK file_length", c, func(b []byte) []byte { put64(b, desc(c, 3)+32, 128); return b }, ErrBadSection, false},
		{"LINK past end", c, func(b []byte) []byte { put64(b, desc(c, 3)+16, uint64(len(b))); return b }, ErrTruncated, false},
		{"LINK unaligned", c, func(b []byte) []byte { put64(b, desc(c, 3)+16, content(c, 3)+8); return b }, ErrBadSection, false},
		{"non-zero after terminator", a, func(b []byte) []byte { b[desc(a, 7)+128*3] = 1; return b }, ErrBadSectionTable, false},

		// Preview layout.
		{"preview reserved", pv, func(b []byte) []byte { b[40] = 1; return b }, ErrBadHeader, false},
		{"preview sectab_count 0", pv, func(b []byte) []byte { b[13] = 0; return b }, ErrBadHeader, false},
		{"preview shift 4", pv, func(b []byte) []byte { b[12] = 4; return b }, ErrBadHeader, false},
		{"preview shift 40", pv, func(b []byte) []byte { b[12] = 40; return b }, ErrBadHeader, false},
		{"preview table unaligned", pv, func(b []byte) []byte { put64(b, 64, 4096+128); return b }, ErrBadHeader, false},
		{"preview tables overlap", pv, func(b []byte) []byte { put64(b, 72, 4096); return b }, ErrBadSectionTable, false},
		{"preview table past end", pv, func(b []byte) []byte { put64(b, 72, 1<<40); return b }, ErrTruncated, false},
		{"preview too many sections", pv, func(b []byte) []byte { put32(b, 8, 1000); return b }, ErrBadSectionTable, false},
		{"preview extra table", pv, func(b []byte) []byte { b[13] = 3; put64(b, 80, uint64(len(b))-4096); return b }, ErrBadSectionTable, false},
		{"preview directory tail", pv, func(b []byte) []byte { b[200] = 1; return b }, ErrBadHeader, false},
		{"preview index field", pv, func(b []byte) []byte { put32(b, desc(pv, 3)+4, 4); return b }, ErrBadSection, false},
		{"preview type 0 counted", pv, func(b []byte) []byte { put16(b, desc(pv, 3), 0); return b }, ErrBadSection, false},
		{"preview type 6", pv, func(b []byte) []byte { put16(b, desc(pv, 3), 6); return b }, ErrBadSection, false},
		{"preview schema_desc_offset", pv, func(b []byte) []byte { put64(b, desc(pv, 3)+40, desc(pv, 1)); return b }, ErrBadSection, false},
		{"preview unused slot", pv, func(b []byte) []byte {
			last := pv.secs[len(pv.secs)-1].DescriptorOffset
			b[last+128] = 1
			return b
		}, ErrBadSectionTable, false},
		{"preview L", q, func(b []byte) []byte { put64(b, content(q, 2)+64, 1); return b }, ErrBadRecord, true},
		{"preview pack entry", q, func(b []byte) []byte { put64(b, content(q, 1)+8, content(q, 4)); return b }, ErrBadIndex, false},
		{"preview pack block number", q, func(b []byte) []byte { put64(b, content(q, 1)+16, 1); return b }, ErrBadIndex, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mut(bytes.Clone(tc.base.b))
			f, err := NewFile(bytes.NewReader(b), int64(len(b)), "bad", OpenOptions{})
			if !tc.onRead {
				requireFormat(t, err, tc.want)
				return
			}
			require.NoError(t, err, "open")
			requireFormat(t, f.Verify(context.Background()), tc.want)
			// A plain read ends in an error or finds no fault (a seqno
			// hole only breaks Verify's stricter rule), never panics.
			for _, err := range f.Events(context.Background()) {
				if err != nil {
					require.True(t, isKnown(err), "%v", err)
				}
			}
			r := f.NewReader()
			for s := uint64(0); s <= 62; s++ {
				if err := r.Seek(s); err != nil && !errors.Is(err, ErrNotFound) {
					require.True(t, isKnown(err), "%v", err)
				}
			}
		})
	}
}

// recordAt returns the content position of record i of the first bundle
// of an uncompressed file (the record's descriptor).
func recordAt(t testing.TB, fc fileCase, i int) uint64 {
	f, err := NewFile(bytes.NewReader(fc.b), int64(len(fc.b)), "base", OpenOptions{})
	require.NoError(t, err)
	r := f.NewReader()
	var ev Event
	for range i {
		require.NoError(t, r.Next(&ev))
	}
	return roundUp(r.pos, 64)
}

func requireFormat(t testing.TB, err error, want error) {
	t.Helper()
	require.ErrorIs(t, err, want)
	var fe *FormatError
	require.True(t, errors.As(err, &fe), "%T %v", err, err)
	require.NotContains(t, err.Error(), "\n")
	t.Log(err)
}

// knownErrors are what reading a hostile file may return.
var knownErrors = []error{ErrBadMagic, ErrWrongLayout, ErrBadHeader, ErrBadSectionTable, ErrBadSection, ErrBadRecord,
	ErrBadIndex, ErrBadCompression, ErrTruncated, ErrTooLarge}

func isKnown(err error) bool {
	var fe *FormatError
	if !errors.As(err, &fe) {
		return false
	}
	for _, k := range knownErrors {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// spanFrame builds a zstd frame by hand (RFC 8878): data as raw blocks,
// then run bytes of fill as RLE blocks, in blocks of 128 KiB, so that a
// few kilobytes describe gigabytes.
func spanFrame(data []byte, run uint64, fill byte) []byte {
	const maxBlock = 1 << 17
	b := []byte{0x28, 0xB5, 0x2F, 0xFD, 0x00, (17 - 10) << 3}
	type blk struct {
		typ  uint32
		data []byte
		size uint32
	}
	var blocks []blk
	for p := data; len(p) > 0; p = p[min(len(p), maxBlock):] {
		blocks = append(blocks, blk{0, p[:min(len(p), maxBlock)], uint32(min(len(p), maxBlock))})
	}
	for r := run; r > 0; r -= min(r, maxBlock) {
		blocks = append(blocks, blk{1, []byte{fill}, uint32(min(r, maxBlock))})
	}
	if len(blocks) == 0 {
		blocks = append(blocks, blk{0, nil, 0})
	}
	for i, bl := range blocks {
		h := bl.typ<<1 | bl.size<<3
		if i == len(blocks)-1 {
			h |= 1
		}
		b = append(b, byte(h), byte(h>>8), byte(h>>16))
		b = append(b, bl.data...)
	}
	return b
}

// TestZstdBomb: a section whose small zstd frame expands to far more than
// its content_length, or claims a huge record it never delivers, costs
// bounded memory and gives a typed error.
func TestZstdBomb(t *testing.T) {
	evs := synthEvents(1, 3)
	base := writeMem(t, evs, WriterOptions{Compression: CompressionZstdStreaming}, defaultGeometry, 0, nil).b
	fc := newCase(t, base)
	bundle := fc.secs[2]
	require.Equal(t, SectionEventBundle, bundle.Type)

	// graft replaces the bundle's content with frame, declaring
	// contentLength decompressed bytes; the index is dropped.
	graft := func(frame []byte, contentLength, count uint64) []byte {
		b := bytes.Clone(base[:bundle.ContentOffset])
		b = append(b, frame...)
		b = append(b, make([]byte, roundUp(uint64(len(b)), PageSize)-uint64(len(b)))...)
		d := bundle.DescriptorOffset
		put64(b, d+24, contentLength)
		put64(b, d+32, uint64(len(frame)))
		put64(b, d+40, count)
		put64(b, d+64, 0)
		// The index (section 3) is dropped: the table ends at the bundle.
		clear(b[fc.secs[3].DescriptorOffset : fc.secs[3].DescriptorOffset+128])
		put64(b, 24, 3)
		return b
	}
	var first, empty [66]byte
	putDescriptor(first[:], &evs[0].d)
	binary.LittleEndian.PutUint32(first[12:], 400<<20) // a 400 MiB payload
	d0 := evs[0].d
	d0.PayloadSize = 0
	putDescriptor(empty[:], &d0)
	empty[64] = byte(evs[0].ct) // a whole 66-byte record
	hugeWindow := spanFrame(empty[:], 0, 0)
	hugeWindow[5] = (31 - 10) << 3 // a 2 GiB window

	for _, c := range []struct {
		name          string
		frame         []byte
		contentLength uint64
		limit         uint64
		want          error
	}{
		{"declares more than the limit", spanFrame(nil, 1<<30, 0), 1 << 30, 1 << 20, ErrTooLarge},
		{"expands past content_length", spanFrame(empty[:], 1<<30, 0), 66, 0, ErrBadCompression},
		{"claims a record it never delivers", spanFrame(first[:64], 1<<20, 0), 401 << 20, 0, ErrBadCompression},
		{"zeros", spanFrame(nil, 8<<30, 0), 1 << 30, 0, ErrBadRecord},
		{"huge window", hugeWindow, 66, 0, ErrBadCompression},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := graft(c.frame, c.contentLength, 1)
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			f, err := NewFile(bytes.NewReader(b), int64(len(b)), "bomb", OpenOptions{MaxSectionSize: c.limit})
			if err == nil {
				err = f.Verify(context.Background())
			}
			runtime.ReadMemStats(&ms1)
			requireFormat(t, err, c.want)
			alloc := ms1.TotalAlloc - ms0.TotalAlloc
			t.Logf("allocated %d KiB", alloc>>10)
			require.Less(t, alloc, uint64(32<<20))
		})
	}
}
