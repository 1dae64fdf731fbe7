package evcap

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"unsafe"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/internal/testdata"
	"github.com/stretchr/testify/require"
)

// The daemon-written reference captures (../shared/testdata/evcap/README.md).
var refFiles = []struct {
	name   string
	layout Layout
}{
	{"evcap/emn-1b-15m.evcap", LayoutRelease},
	{"evcap/emn-1b-15m-plain.evcap", LayoutRelease},
	{"evcap/emn-1b-15m-preview.evcap", LayoutPreview},
}

const (
	refEvents       = 6597
	refChecksumDesc = 0xa53a7d7b7f27f464
	refChecksumPay  = 0x890bd29b0325c9cb
	refSchemaHash   = "8933f907c432c98ac0c8db62f9aa164c0c3f1672f41290e4ea3408df6c6723f3"
	refRing         = "emn-1b-15m.snapshot"
)

// checksums sums the README's per-event words (../shared/bench/README.md,
// "Checksums").
type checksums struct{ n, desc, pay uint64 }

func (c *checksums) add(d *eventring.Descriptor, payload []byte) {
	c.n++
	c.desc += d.Seqno ^ uint64(d.EventType) ^ uint64(d.PayloadSize) ^ d.RecordEpochNanos ^ d.PayloadBufOffset ^
		d.ContentExt[0] ^ d.ContentExt[1] ^ d.ContentExt[2] ^ d.ContentExt[3]
	if len(payload) >= 8 {
		c.pay += binary.LittleEndian.Uint64(payload)
	}
}

func (c *checksums) payload() uint64 { return c.desc + c.pay }

func refHash(t testing.TB) [32]byte {
	var h [32]byte
	b, err := hex.DecodeString(refSchemaHash)
	require.NoError(t, err)
	copy(h[:], b)
	return h
}

func TestReferenceFiles(t *testing.T) {
	for _, rf := range refFiles {
		t.Run(rf.name, func(t *testing.T) {
			f, err := Open(testdata.Shared(t, rf.name))
			require.NoError(t, err)
			defer f.Close()
			require.Equal(t, rf.layout, f.Layout())
			require.EqualValues(t, refEvents, f.EventCount())
			require.False(t, f.Active())
			require.Empty(t, f.Blocks())

			schemas := f.Schemas()
			require.Len(t, schemas, 1)
			require.Equal(t, eventring.ContentTypeExec, schemas[0].ContentType)
			require.Equal(t, refHash(t), schemas[0].Hash)
			require.EqualValues(t, 4096, schemas[0].DescriptorOffset)
			require.NoError(t, f.CheckSchema(eventring.ContentTypeExec, refHash(t)))
			var se *eventring.SchemaError
			require.ErrorAs(t, f.CheckSchema(eventring.ContentTypeExec, [32]byte{1}), &se)
			require.ErrorIs(t, f.CheckSchema(eventring.ContentTypeTest, refHash(t)), eventring.ErrSchemaMismatch)

			var sum checksums
			for ev, err := range f.Events(context.Background()) {
				require.NoError(t, err)
				require.Equal(t, sum.n+1, ev.Descriptor.Seqno)
				require.Equal(t, eventring.ContentTypeExec, ev.ContentType)
				require.Len(t, ev.Payload, int(ev.Descriptor.PayloadSize))
				if len(ev.Payload) > 0 {
					// Aligned as in the ring, so that decoders can view it in place.
					require.Zero(t, uintptr(unsafe.Pointer(unsafe.SliceData(ev.Payload)))%8, "payload of seqno %d misaligned", ev.Descriptor.Seqno)
				}
				sum.add(&ev.Descriptor, ev.Payload)
			}
			require.EqualValues(t, refEvents, sum.n)
			require.Equal(t, uint64(refChecksumDesc), sum.desc, "checksum_desc")
			require.Equal(t, uint64(refChecksumPay), sum.payload(), "checksum_payload")
			require.NoError(t, f.Verify(context.Background()))
		})
	}
}

// TestReferenceSameAsRing: every event of each capture equals, descriptor
// and payload, the event eventring reads from the ring they were recorded
// from.
func TestReferenceSameAsRing(t *testing.T) {
	ring := testdata.Events(t, testdata.Shared(t, refRing))
	require.Len(t, ring, refEvents)
	for _, rf := range refFiles {
		t.Run(rf.name, func(t *testing.T) {
			f, err := Open(testdata.Shared(t, rf.name))
			require.NoError(t, err)
			defer f.Close()
			r := f.NewReader()
			var d eventring.Descriptor
			buf := make([]byte, 0, 1<<16)
			for i := range ring {
				buf, err = r.ReadInto(&d, buf)
				require.NoError(t, err)
				require.Equal(t, ring[i].Descriptor, d, "seqno %d", i+1)
				require.True(t, bytes.Equal(ring[i].Payload, buf), "payload of seqno %d", i+1)
			}
			_, err = r.ReadInto(&d, buf)
			require.Equal(t, io.EOF, err)
		})
	}
}

// TestReferenceSeqnoIndex: every seqno looked up through its bundle's
// SEQNO_INDEX lands on the record a walk returns, in order and in random
// order (backwards in compressed bundles).
func TestReferenceSeqnoIndex(t *testing.T) {
	ring := testdata.Events(t, testdata.Shared(t, refRing))
	for _, rf := range refFiles {
		t.Run(rf.name, func(t *testing.T) {
			f, err := Open(testdata.Shared(t, rf.name))
			require.NoError(t, err)
			defer f.Close()
			for _, b := range f.Bundles() {
				require.NotZero(t, b.SeqnoIndexDesc, "bundle %d has no index", b.Index)
			}
			r := f.NewReader()
			var ev Event
			check := func(s uint64) {
				require.NoError(t, r.Seek(s), "seek %d", s)
				require.NoError(t, r.Next(&ev))
				require.Equal(t, ring[s-1].Descriptor, ev.Descriptor)
				require.True(t, bytes.Equal(ring[s-1].Payload, ev.Payload))
			}
			for s := uint64(1); s <= refEvents; s++ {
				check(s)
			}
			rnd := rand.New(rand.NewPCG(1, 2))
			for range 300 {
				check(1 + rnd.Uint64N(refEvents))
			}
			// After a seek, reading goes on in order across bundles.
			require.NoError(t, r.Seek(2040))
			for s := uint64(2040); s <= refEvents; s++ {
				require.NoError(t, r.Next(&ev))
				require.Equal(t, s, ev.Descriptor.Seqno)
			}
			require.Equal(t, io.EOF, r.Next(&ev))

			for _, s := range []uint64{0, refEvents + 1, 1 << 40} {
				err := r.Seek(s)
				require.ErrorIs(t, err, ErrNotFound, "seek %d", s)
			}
			// A failed seek leaves the reader where it was.
			require.NoError(t, r.Seek(100))
			require.ErrorIs(t, r.Seek(refEvents+1), ErrNotFound)
			require.NoError(t, r.Next(&ev))
			require.EqualValues(t, 100, ev.Descriptor.Seqno)
			require.ErrorIs(t, r.SeekBlock(15000001), ErrNoBlockIndex)
			require.NoError(t, r.Next(&ev))
			require.EqualValues(t, 101, ev.Descriptor.Seqno)
		})
	}
}

// TestReferenceAppendixB: the section table of emn-1b-15m.evcap is the one
// spelled out in spec appendix B.
func TestReferenceAppendixB(t *testing.T) {
	f, err := Open(testdata.Shared(t, "evcap/emn-1b-15m.evcap"))
	require.NoError(t, err)
	defer f.Close()
	require.EqualValues(t, 569344, f.Size())
	type row struct {
		typ                            SectionType
		comp                           Compression
		desc, content, clen, flen, cnt uint64
		start, link                    uint64
	}
	want := []row{
		{SectionSchema, 0, 4096, 0, 0, 0, 0, 0, 0},
		{SectionEventBundle, 2, 4224, 266240, 657598, 110595, 2048, 1, 4352},
		{SectionSeqnoIndex, 2, 4352, 380928, 16384, 3015, 0, 0, 4224},
		{SectionEventBundle, 2, 4480, 385024, 804094, 87490, 2048, 2049, 4608},
		{SectionSeqnoIndex, 2, 4608, 475136, 16384, 3140, 0, 0, 4480},
		{SectionEventBundle, 2, 4736, 479232, 436506, 60303, 2048, 4097, 4864},
		{SectionSeqnoIndex, 2, 4864, 540672, 16384, 3051, 0, 0, 4736},
		{SectionEventBundle, 2, 4992, 544768, 111146, 18310, 453, 6145, 5120},
		{SectionSeqnoIndex, 2, 5120, 565248, 3624, 771, 0, 0, 4992},
	}
	secs := f.Sections()
	require.Len(t, secs, len(want))
	for i, w := range want {
		s := secs[i]
		link := s.SeqnoIndexDesc
		if s.Type == SectionSeqnoIndex {
			link = s.BundleDesc
		}
		require.Equal(t, w, row{s.Type, s.Compression, s.DescriptorOffset, s.ContentOffset, s.ContentLength, s.FileLength, s.EventCount, s.StartSeqno, link}, "section %d", i)
		require.Equal(t, i, s.Index)
	}
}

// TestReferencePreviewFacts checks the README's facts specific to the
// preview-layout file, and its appendix D section table.
func TestReferencePreviewFacts(t *testing.T) {
	path := testdata.Shared(t, "evcap/emn-1b-15m-preview.evcap")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, []byte{0x35, 0, 0, 0, 5, 2, 0, 0}, raw[8:16])
	require.True(t, allZero(raw[16:64]))
	require.EqualValues(t, 4096, binary.LittleEndian.Uint64(raw[64:]))
	require.EqualValues(t, 319488, binary.LittleEndian.Uint64(raw[72:]))
	require.EqualValues(t, 0, binary.LittleEndian.Uint64(raw[16:]), "a release reader tests the u64 at 16")

	f, err := Open(path)
	require.NoError(t, err)
	defer f.Close()
	require.Equal(t, LayoutPreview, f.Layout())
	secs := f.Sections()
	require.Len(t, secs, 53)
	require.Equal(t, SectionSchema, secs[0].Type)
	bundles := f.Bundles()
	require.Len(t, bundles, 26)
	total := uint64(0)
	for i, b := range bundles {
		require.EqualValues(t, 4096, b.SchemaDesc)
		require.Zero(t, b.BlockNumber)
		require.Zero(t, b.BlockIndexID)
		require.Equal(t, CompressionZstdStreaming, b.Compression)
		require.Equal(t, eventring.ContentTypeExec, b.ContentType)
		require.EqualValues(t, 1+256*i, b.StartSeqno)
		require.EqualValues(t, min(256, refEvents-256*i), b.EventCount)
		require.Equal(t, 1+2*i, b.Index)
		require.Equal(t, b.SeqnoIndexDesc, secs[b.Index+1].DescriptorOffset)
		total += b.Size()
	}
	require.EqualValues(t, 2151904, total, "decompressed bundle bytes")
	// Appendix D, rows 1, 31, 32 and 52.
	require.Equal(t, Section{Index: 1, Type: SectionEventBundle, Compression: 2, DescriptorOffset: 4224, ContentOffset: 8192,
		ContentLength: 173864, FileLength: 28866, ContentType: 2, EventCount: 256, StartSeqno: 1, SeqnoIndexDesc: 4352, SchemaDesc: 4096}, secs[1])
	require.Equal(t, Section{Index: 31, Type: SectionEventBundle, Compression: 2, DescriptorOffset: 8064, ContentOffset: 307200,
		ContentLength: 70472, FileLength: 11589, ContentType: 2, EventCount: 256, StartSeqno: 3841, SeqnoIndexDesc: 319488, SchemaDesc: 4096}, secs[31])
	require.Equal(t, Section{Index: 32, Type: SectionSeqnoIndex, Compression: 2, DescriptorOffset: 319488, ContentOffset: 323584,
		ContentLength: 2048, FileLength: 510, BundleDesc: 8064}, secs[32])
	require.Equal(t, Section{Index: 52, Type: SectionSeqnoIndex, Compression: 2, DescriptorOffset: 322048, ContentOffset: 475136,
		ContentLength: 1576, FileLength: 332, BundleDesc: 321920}, secs[52])

	// The first records' trailers L: 600, 112, 136 (spec §12.7).
	r := f.NewReader()
	require.NoError(t, r.open(0, 0, 0, 0))
	for _, want := range []uint64{600, 112, 136} {
		start := r.pos
		require.NoError(t, r.step())
		e := roundUp(start, 64) + 64 + uint64(r.ev.PayloadSize)
		b, err := r.c.view(r.pos-8, 8)
		require.NoError(t, err)
		require.Equal(t, want, binary.LittleEndian.Uint64(b), "L of seqno %d", r.ev.Seqno)
		require.Equal(t, want, e-start+8)
	}
}

// TestLayoutRefusal: a release reader refuses the preview file, a preview
// reader the release files.
func TestLayoutRefusal(t *testing.T) {
	for _, rf := range refFiles {
		other := LayoutPreview
		if rf.layout == LayoutPreview {
			other = LayoutRelease
		}
		_, err := OpenWithOptions(testdata.Shared(t, rf.name), OpenOptions{Layout: other})
		require.ErrorIs(t, err, ErrWrongLayout, rf.name)
		var fe *FormatError
		require.True(t, errors.As(err, &fe))
		require.EqualValues(t, 16, fe.Offset)
		t.Log(err)
		f, err := OpenWithOptions(testdata.Shared(t, rf.name), OpenOptions{Layout: rf.layout})
		require.NoError(t, err)
		f.Close()
	}
}

// TestArchivePreviewFiles reads the preview block archive sample (spec
// §12.10): one bundle per file, numbered with its block.
func TestArchivePreviewFiles(t *testing.T) {
	for _, c := range []struct {
		block, events, first, desc, pay uint64
	}{
		{15000001, 6595, 1, 0xf9d95b0acc1296e8, 0xddab2b2a50106c4f},
		{15000002, 3431, 6599, 0xb329e3af0fd28cdc, 0xaae765ded0a43232},
		{15000003, 4766, 10033, 0xd18dfb1621a0b58f, 0x203e300493d30a35},
	} {
		f, err := Open(testdata.Shared(t, "evcap/archive-preview/15000000/"+strconv.FormatUint(c.block, 10)+".bcap"))
		require.NoError(t, err)
		require.Equal(t, LayoutPreview, f.Layout())
		blocks := f.Blocks()
		require.Len(t, blocks, 1)
		require.Equal(t, c.block, blocks[0].Number)
		b := f.Bundles()
		require.Len(t, b, 1)
		require.Equal(t, CompressionZstdSinglePass, b[0].Compression)
		r := f.NewReader()
		require.NoError(t, r.SeekBlock(c.block))
		require.ErrorIs(t, r.SeekBlock(c.block+1), ErrNotFound)
		var sum checksums
		for ev, err := range r.Events(context.Background()) {
			require.NoError(t, err)
			if sum.n == 0 {
				require.Equal(t, c.first, ev.Descriptor.Seqno)
			}
			sum.add(&ev.Descriptor, ev.Payload)
		}
		require.Equal(t, c.events, sum.n)
		require.Equal(t, c.desc, sum.desc)
		require.Equal(t, c.pay, sum.payload())
		require.NoError(t, f.Verify(context.Background()))
		f.Close()
	}
}
