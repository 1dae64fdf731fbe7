package evcap

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/internal/testdata"
	"github.com/stretchr/testify/require"
)

// The block archive sample (../shared/testdata/evcap/README.md): block,
// events, first seqno, checksum_desc, checksum_payload.
var archiveSample = []struct {
	block, events, first, desc, pay uint64
}{
	{15000001, 6595, 1, 0xf9d95b0acc1296e8, 0xddab2b2a50106c4f},
	{15000002, 3431, 6599, 0xb329e3af0fd28cdc, 0xaae765ded0a43232},
	{15000003, 4766, 10033, 0xd18dfb1621a0b58f, 0x203e300493d30a35},
}

// walkedSection is one section as walkPreview found it.
type walkedSection struct {
	desc    []byte // the 128 descriptor bytes
	content []byte // decompressed content (nil for SCHEMA)
}

// walkPreview reads a preview-layout file with nothing but encoding/binary
// and zstd, from spec §12.2–§12.8 alone: the header, the table directory,
// every descriptor, every content (decompressed to exactly content_length).
// It is the tests' independent reader.
func walkPreview(t testing.TB, b []byte) []walkedSection {
	t.Helper()
	require.Equal(t, "EVCAP_01", string(b[:8]))
	require.Zero(t, binary.LittleEndian.Uint64(b[16:]), "preview: u64 at 16 is 0")
	count := binary.LittleEndian.Uint32(b[8:])
	shift, ntab := b[12], int(b[13])
	E := uint32(1) << shift
	var dir []uint64
	for k := range ntab {
		dir = append(dir, binary.LittleEndian.Uint64(b[64+8*k:]))
	}
	dec, err := zstd.NewReader(nil)
	require.NoError(t, err)
	defer dec.Close()
	var out []walkedSection
	for n := range count {
		at := dir[n>>shift] + 128*uint64(n&(E-1))
		d := b[at : at+128]
		require.Equal(t, n, binary.LittleEndian.Uint32(d[4:]), "index")
		require.Equal(t, at, binary.LittleEndian.Uint64(d[8:]), "descriptor_offset")
		s := walkedSection{desc: d}
		if typ := binary.LittleEndian.Uint16(d); typ == 2 || typ == 3 {
			off, clen, flen := binary.LittleEndian.Uint64(d[16:]), binary.LittleEndian.Uint64(d[24:]), binary.LittleEndian.Uint64(d[32:])
			stored := b[off : off+flen]
			if d[2] == 0 {
				s.content = stored
			} else {
				s.content, err = dec.DecodeAll(stored, nil)
				require.NoError(t, err)
				require.Equal(t, clen, uint64(len(s.content)), "content_length")
			}
		}
		out = append(out, s)
	}
	return out
}

// walkRecords walks a preview bundle's content (spec §12.7), checking the
// framing strictly, and returns the checksums, the records' descriptor
// positions and the first seqno.
func walkRecords(t testing.TB, c []byte) (sum checksums, pos []uint64, first uint64) {
	t.Helper()
	p := uint64(0)
	for p != uint64(len(c)) {
		d := roundUp(p, 64)
		require.True(t, allZero(c[p:d]), "padding before the descriptor")
		var desc eventring.Descriptor
		getDescriptor(c[d:d+64], &desc)
		e := d + 64 + uint64(desc.PayloadSize)
		tr := roundUp(e, 8)
		require.True(t, allZero(c[e:tr]), "padding before L")
		require.Equal(t, e-p+8, binary.LittleEndian.Uint64(c[tr:]), "L")
		if first == 0 {
			first = desc.Seqno
		}
		require.Equal(t, first+sum.n, desc.Seqno)
		sum.add(&desc, c[d+64:e])
		pos = append(pos, d)
		p = tr + 8
	}
	return sum, pos, first
}

// TestPreviewWriterArchiveSample re-encodes the events of the daemon's block
// archive files with the preview writer: uncompressed, the file is byte for
// byte what spec §12.9/§12.7 prescribe (the independent builder of
// preview_builder_test.go), and its header and descriptors are those of the
// daemon's file except the fields compression changes; compressed as the
// daemon does (ZSTD_SINGLE_PASS), every descriptor field but the stored
// sizes matches and the decompressed contents are identical. The evcap
// Reader and the independent walk agree on every file.
func TestPreviewWriterArchiveSample(t *testing.T) {
	hash := refHash(t)
	for _, c := range archiveSample {
		t.Run(strconv.FormatUint(c.block, 10), func(t *testing.T) {
			orig, err := os.ReadFile(testdata.Shared(t, "evcap/archive-preview/15000000/"+strconv.FormatUint(c.block, 10)+".bcap"))
			require.NoError(t, err)
			f, err := NewFile(bytes.NewReader(orig), int64(len(orig)), "sample", OpenOptions{})
			require.NoError(t, err)
			var evs []testEvent
			for ev, err := range f.Events(context.Background()) {
				require.NoError(t, err)
				evs = append(evs, testEvent{ev.Descriptor, ev.ContentType, bytes.Clone(ev.Payload)})
			}
			require.Len(t, evs, int(c.events))

			write := func(comp Compression) []byte {
				m := &memFile{}
				w, err := newWriter(m, "mem", []Schema{{ContentType: eventring.ContentTypeExec, Hash: hash}},
					WriterOptions{Layout: LayoutPreview, Compression: comp, IndexCompression: comp}, defaultGeometry)
				require.NoError(t, err)
				for i := range evs {
					require.NoError(t, w.Write(&evs[i].d, evs[i].ct, evs[i].p))
				}
				require.NoError(t, w.EndBlock(c.block))
				require.NoError(t, w.Close())
				return m.b
			}
			plain := write(CompressionNone)
			packed := write(CompressionZstdSinglePass)

			// Uncompressed: exactly the prescribed bytes.
			want := buildPreview(t, evs, previewSpec{comp: CompressionNone, blocks: []uint64{c.block},
				ct: eventring.ContentTypeExec, hash: hash})
			require.Equal(t, len(want), len(plain))
			require.Equal(t, -1, firstDiff(want, plain), "first differing byte")
			// Spot checks straight from §12.2 and §12.9: 3 sections, shift
			// 5, one table at P, the bundle's content at P + 128 × 32.
			require.Equal(t, []byte{3, 0, 0, 0, 5, 1, 0, 0}, plain[8:16])
			require.Equal(t, uint64(4096), binary.LittleEndian.Uint64(plain[64:]))
			require.Equal(t, uint64(8192), binary.LittleEndian.Uint64(plain[4096+128+16:]))
			require.Equal(t, c.block, binary.LittleEndian.Uint64(plain[4096+128+80:]))

			// Against the daemon's file: the header page and the SCHEMA are
			// identical; the bundle and index descriptors differ only in
			// what compression changes.
			for _, ours := range [][]byte{plain, packed} {
				require.Equal(t, orig[:4096+128], ours[:4096+128], "header page and SCHEMA descriptor")
				same := func(at, from, to int) {
					require.Equal(t, orig[at+from:at+to], ours[at+from:at+to], "descriptor at %d bytes %d..%d", at, from, to)
				}
				bundle, index := 4096+128, 4096+256
				same(bundle, 3, 32) // index, offsets, content_length
				same(bundle, 40, 128)
				same(index, 3, 16)
				same(index, 24, 32)
				same(index, 40, 128)
				if bytes.Equal(ours, packed) {
					same(bundle, 0, 3)
					same(index, 0, 3)
				}
			}

			// Decoded contents: the independent walk finds the same bundle
			// and index bytes in all three files, and the README's facts.
			wo, wp, wz := walkPreview(t, orig), walkPreview(t, plain), walkPreview(t, packed)
			require.Len(t, wo, 3)
			for i := 1; i < 3; i++ {
				require.True(t, bytes.Equal(wo[i].content, wp[i].content), "section %d content (plain)", i)
				require.True(t, bytes.Equal(wo[i].content, wz[i].content), "section %d content (zstd)", i)
			}
			sum, pos, first := walkRecords(t, wo[1].content)
			require.Equal(t, c.events, sum.n)
			require.Equal(t, c.first, first)
			require.Equal(t, c.desc, sum.desc)
			require.Equal(t, c.pay, sum.payload())
			for i, p := range pos {
				require.Equal(t, p, binary.LittleEndian.Uint64(wo[2].content[8*i:]), "SEQNO_INDEX entry %d", i)
			}

			// The evcap Reader reads ours as it reads the daemon's.
			for _, ours := range [][]byte{plain, packed} {
				g, err := NewFile(bytes.NewReader(ours), int64(len(ours)), "ours", OpenOptions{})
				require.NoError(t, err)
				require.Equal(t, LayoutPreview, g.Layout())
				require.Equal(t, []BlockEntry{{Number: c.block, ContentOffset: 8192, Section: 1}}, g.Blocks())
				require.NoError(t, g.Verify(context.Background()))
				requireEvents(t, g, evs)
			}
		})
	}
}

// TestPreviewWriterTables: a preview file with more sections than one
// 32-entry table appends tables as spec §12.3 says (the builder's layout,
// byte for byte), mixes content types across bundles, and refuses what the
// layout cannot hold.
func TestPreviewWriterTables(t *testing.T) {
	evs := synthEvents(1, 500)
	m := &memFile{}
	w, err := newWriter(m, "mem", []Schema{testSchema}, WriterOptions{Layout: LayoutPreview}, defaultGeometry)
	require.NoError(t, err)
	for i := range evs {
		require.NoError(t, w.Write(&evs[i].d, evs[i].ct, evs[i].p))
		if w.BundleEvents() == 20 {
			require.NoError(t, w.EndBundle())
		}
	}
	require.NoError(t, w.Close())
	want := buildPreview(t, evs, previewSpec{per: 20, comp: CompressionNone, hash: testSchema.Hash})
	require.Equal(t, -1, firstDiff(want, m.b))
	require.Equal(t, byte(2), m.b[13], "51 sections need 2 tables")

	// Refusals.
	_, err = newWriter(&memFile{}, "mem", nil, WriterOptions{Layout: LayoutPreview, BlockIndex: true}, defaultGeometry)
	require.ErrorIs(t, err, ErrBadEvent)
	w, err = newWriter(&memFile{}, "mem", []Schema{testSchema, {ContentType: eventring.ContentTypeExec}}, WriterOptions{Layout: LayoutPreview}, defaultGeometry)
	require.NoError(t, err)
	require.ErrorIs(t, w.EndBlock(7), ErrBadEvent, "no open bundle")
	require.NoError(t, w.Write(&evs[0].d, eventring.ContentTypeTest, evs[0].p))
	require.ErrorIs(t, w.Write(&evs[1].d, eventring.ContentTypeExec, evs[1].p), ErrBadEvent, "second content type in a bundle")
	require.ErrorIs(t, w.EndBlock(0), ErrBadEvent)
	require.NoError(t, w.EndBlock(7))
	require.NoError(t, w.Write(&evs[1].d, eventring.ContentTypeExec, evs[1].p))
	require.ErrorIs(t, w.EndBlock(7), ErrBadEvent, "block number not increasing")
	require.NoError(t, w.Close())
}

// FuzzPreviewRoundTrip writes preview files from arbitrary bytes (events of
// two content types, bundles ended plainly or as numbered blocks, with or
// without compression and seqno indexes) and reads them back: the same
// events, the blocks, a file that verifies, every seqno found by Seek.
func FuzzPreviewRoundTrip(f *testing.F) {
	f.Add([]byte{0, 3, 'a', 'b', 'c', 0, 200})
	f.Add([]byte{0x45, 0x81, 1, 0xc2, 1, 2, 0x03, 1, 2, 3, 0x80})
	f.Add([]byte{0x12, 64, 0x80, 0, 7, 1, 2, 3, 4, 5, 6, 7, 0x80, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || len(data) > 4096 {
			return
		}
		flags := data[0]
		opts := WriterOptions{Layout: LayoutPreview, Compression: Compression(flags & 3 % 3),
			IndexCompression: Compression(flags >> 2 & 3 % 3), NoSeqnoIndex: flags&16 != 0, Level: 1}
		m := &memFile{}
		w, err := newWriter(m, "fuzz", []Schema{testSchema, {ContentType: eventring.ContentTypeExec}}, opts, defaultGeometry)
		if err != nil {
			t.Fatal(err)
		}
		var evs []testEvent
		var blocks []uint64
		seq, block := uint64(1), uint64(10)
		for p := data[1:]; len(p) > 0; {
			ctl := p[0]
			p = p[1:]
			n := min(int(ctl&0x3f), len(p))
			e := testEvent{d: eventring.Descriptor{Seqno: seq, EventType: uint16(ctl), PayloadSize: uint32(n),
				RecordEpochNanos: seq * 7, ContentExt: [4]uint64{uint64(ctl), seq}}, ct: eventring.ContentTypeTest, p: p[:n]}
			if ctl&0x40 != 0 {
				e.ct = eventring.ContentTypeExec
			}
			p = p[n:]
			if err := w.Write(&e.d, e.ct, e.p); err != nil {
				// A second content type in an open bundle: end it first.
				if w.EndBundle() != nil || w.Write(&e.d, e.ct, e.p) != nil {
					t.Fatal(err)
				}
			}
			evs = append(evs, e)
			seq++
			if ctl&0x80 != 0 {
				if flags&64 != 0 {
					err = w.EndBlock(block)
					blocks = append(blocks, block)
					block += 1 + uint64(ctl&3)
				} else {
					err = w.EndBundle()
				}
				if err != nil {
					t.Fatal(err)
				}
				seq += uint64(ctl & 1) // a gap between bundles
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		file, err := NewFile(m, m.Size(), "fuzz", OpenOptions{Layout: LayoutPreview})
		if err != nil {
			t.Fatal(err)
		}
		requireEvents(t, file, evs)
		var got []uint64
		for _, b := range file.Blocks() {
			got = append(got, b.Number)
		}
		if !slices.Equal(got, blocks) {
			t.Fatalf("blocks %v, want %v", got, blocks)
		}
		if opts.NoSeqnoIndex {
			return
		}
		r := file.NewReader()
		var ev Event
		for _, e := range evs {
			if err := r.Seek(e.d.Seqno); err != nil {
				t.Fatal(err)
			}
			if err := r.Next(&ev); err != nil || ev.Descriptor != e.d {
				t.Fatalf("seek %d: %v %+v", e.d.Seqno, err, ev.Descriptor)
			}
		}
	})
}
