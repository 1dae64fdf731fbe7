package evcap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/internal/testdata"
	"github.com/stretchr/testify/require"
)

// memFile is an in-memory file for Writer and NewFile.
type memFile struct{ b []byte }

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	return copy(m.b[off:], p), nil
}

func (m *memFile) Truncate(n int64) error {
	if n <= int64(len(m.b)) {
		m.b = m.b[:n]
	} else {
		m.b = append(m.b, make([]byte, n-int64(len(m.b)))...)
	}
	return nil
}

func (m *memFile) Close() error { return nil }

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memFile) Size() int64 { return int64(len(m.b)) }

// testEvent is an event to write.
type testEvent struct {
	d  eventring.Descriptor
	ct eventring.ContentType
	p  []byte
}

// ringEvents returns the reference ring's events as testEvents.
func ringEvents(t testing.TB) []testEvent {
	evs := testdata.Events(t, testdata.Shared(t, refRing))
	out := make([]testEvent, len(evs))
	for i, e := range evs {
		out[i] = testEvent{e.Descriptor, eventring.ContentTypeExec, e.Payload}
	}
	return out
}

// synthEvents makes n TEST events from seqno start with payloads of
// varied sizes (0, odd, multiples of 64, ...).
func synthEvents(start uint64, n int) []testEvent {
	out := make([]testEvent, n)
	for i := range out {
		size := (i * 37) % 301
		if i%7 == 0 {
			size = 0
		}
		p := make([]byte, size)
		for j := range p {
			p[j] = byte(i + j*3)
		}
		s := start + uint64(i)
		out[i] = testEvent{eventring.Descriptor{Seqno: s, EventType: uint16(2 + i%5), PayloadSize: uint32(size),
			RecordEpochNanos: 1e18 + s*1000, PayloadBufOffset: s * 512, ContentExt: [4]uint64{s, uint64(i), 0, ^s}},
			eventring.ContentTypeTest, p}
	}
	return out
}

var testSchema = Schema{ContentType: eventring.ContentTypeTest, Hash: [32]byte{1, 2, 3}}

// TestWriterByteExact: a writer following the spec without compression
// reproduces emn-1b-15m-plain.evcap byte for byte from the ring (spec
// §10.7).
func TestWriterByteExact(t *testing.T) {
	want, err := os.ReadFile(testdata.Shared(t, "evcap/emn-1b-15m-plain.evcap"))
	require.NoError(t, err)
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("DirectIO=%v", direct), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "plain.evcap")
			w := writeRing(t, path, WriterOptions{DirectIO: direct})
			usedDirect := w.DirectIO()
			require.NoError(t, w.Close())
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, len(want), len(got), "file length")
			if i := firstDiff(want, got); i >= 0 {
				t.Fatalf("first difference at byte %d: want %#x, got %#x", i, want[i], got[i])
			}
			if direct && !usedDirect {
				t.Skip("the file system of t.TempDir() refused O_DIRECT: the file was written the ordinary way (and checked)")
			}
		})
	}
}

// writeRing writes the reference ring's events to a new capture at path,
// leaving the Writer open.
func writeRing(t *testing.T, path string, opts WriterOptions) *Writer {
	t.Helper()
	ring, err := eventring.Open(testdata.Shared(t, refRing))
	require.NoError(t, err)
	defer ring.Close()
	h := ring.Header()
	w, err := Create(path, []Schema{{ContentType: h.ContentType, Hash: h.SchemaHash}}, opts)
	require.NoError(t, err)
	rd := ring.NewReader()
	var d eventring.Descriptor
	var buf []byte
	for {
		err := rd.Next(context.Background(), &d)
		if err == io.EOF {
			return w
		}
		require.NoError(t, err)
		buf, err = ring.CopyPayload(&d, buf)
		require.NoError(t, err)
		require.NoError(t, w.Write(&d, h.ContentType, buf))
	}
}

// TestWriterDirectIOCompressed: zstd bundles and indexes written with
// O_DIRECT (contents of any length, several bundles, each padded to the
// alignment) read back as the ring's events, and the file equals one
// written the ordinary way.
func TestWriterDirectIOCompressed(t *testing.T) {
	dir := t.TempDir()
	opts := WriterOptions{Compression: CompressionZstdStreaming, IndexCompression: CompressionZstdStreaming, Level: 1}
	ordinary := writeRing(t, filepath.Join(dir, "ordinary.evcap"), opts)
	require.NoError(t, ordinary.Close())
	opts.DirectIO = true
	direct := writeRing(t, filepath.Join(dir, "direct.evcap"), opts)
	if !direct.DirectIO() {
		t.Skip("the file system of t.TempDir() refuses O_DIRECT")
	}
	require.NoError(t, direct.Close())
	want, err := os.ReadFile(filepath.Join(dir, "ordinary.evcap"))
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(dir, "direct.evcap"))
	require.NoError(t, err)
	require.Equal(t, len(want), len(got), "file length")
	if i := firstDiff(want, got); i >= 0 {
		t.Fatalf("first difference at byte %d", i)
	}
	f, err := Open(filepath.Join(dir, "direct.evcap"))
	require.NoError(t, err)
	defer f.Close()
	requireEvents(t, f, ringEvents(t))
}

// TestDirectRefused: when the file system refuses a direct write with
// EINVAL, what was gathered and everything after it is written the
// ordinary way, at the right offsets.
func TestDirectRefused(t *testing.T) {
	for _, failAt := range []int{0, 1} { // the first chunk, or the section's last piece
		m := &memFile{}
		a := appender{f: m, off: 4096, direct: newDirectSink(einvalAfter{m, failAt, new(int), nil})}
		want := make([]byte, directChunk+1000)
		for i := range want {
			want[i] = byte(i*7 + 1)
		}
		_, err := a.Write(want[:300])
		require.NoError(t, err)
		_, err = a.Write(want[300:])
		require.NoError(t, err)
		require.NoError(t, a.finish())
		require.Nil(t, a.direct, "direct writes still on after EINVAL")
		require.Equal(t, uint64(len(want)), a.n)
		require.True(t, bytes.Equal(want, m.b[4096:4096+len(want)]), "content")
	}
}

// einvalAfter accepts n writes, then refuses every one with err (EINVAL
// when nil).
type einvalAfter struct {
	m    *memFile
	n    int
	done *int
	err  error
}

func (e einvalAfter) WriteAt(p []byte, off int64) (int, error) {
	if *e.done >= e.n {
		if e.err != nil {
			return 0, e.err
		}
		return 0, syscall.EINVAL
	}
	*e.done++
	return e.m.WriteAt(p, off)
}

// directWriter returns a Writer to memory whose contents go through a
// direct sink that accepts n writes and then fails with err (EINVAL when
// nil), as a file system refusing O_DIRECT part way would.
func directWriter(t *testing.T, n int, err error) (*Writer, *memFile) {
	t.Helper()
	m := &memFile{}
	w, werr := newWriter(m, "mem", []Schema{testSchema}, WriterOptions{BundleContentLength: true}, defaultGeometry)
	require.NoError(t, werr)
	w.direct = io.NopCloser(nil)
	w.app.direct = newDirectSink(einvalAfter{m, n, new(int), err})
	return w, m
}

// TestDirectRefusedStaged: a refusal met by the goroutine that writes a
// bundle's content (while the caller goes on formatting records) falls
// back to ordinary writes; under -race, without a race on the sink; the
// file reads back event for event.
func TestDirectRefusedStaged(t *testing.T) {
	evs := synthEvents(1, 60000)
	w, m := directWriter(t, 3, nil)
	for i := range evs {
		require.NoError(t, w.Write(&evs[i].d, evs[i].ct, evs[i].p))
		if i%20000 == 19999 {
			require.NoError(t, w.EndBundle())
		}
	}
	require.False(t, w.DirectIO(), "direct writes still reported after EINVAL")
	require.NoError(t, w.Close())
	f, err := NewFile(m, m.Size(), "mem", OpenOptions{})
	require.NoError(t, err)
	requireEvents(t, f, evs)
}

// TestDirectWriteError: a direct write failing otherwise (EIO, ENOSPC) is
// the Writer's error, from the call that ends the bundle at the latest.
func TestDirectWriteError(t *testing.T) {
	evs := synthEvents(1, 20000)
	w, _ := directWriter(t, 1, syscall.EIO)
	var err error
	for i := range evs {
		if err = w.Write(&evs[i].d, evs[i].ct, evs[i].p); err != nil {
			break
		}
	}
	if err == nil {
		err = w.EndBundle()
	}
	require.ErrorIs(t, err, syscall.EIO)
	require.ErrorIs(t, w.Close(), syscall.EIO)
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// writeMem writes evs into an in-memory file with the given geometry,
// ending a bundle every per events (0: one bundle) or at every change of
// block (blocks[i] is event i's block when non-nil).
func writeMem(t testing.TB, evs []testEvent, opts WriterOptions, g geometry, per int, blocks []uint64) *memFile {
	t.Helper()
	m := &memFile{}
	schemas := []Schema{{ContentType: eventring.ContentTypeExec, Hash: refHashOrZero()}, testSchema}
	w, err := newWriter(m, "mem", schemas, opts, g)
	require.NoError(t, err)
	for i := range evs {
		require.NoError(t, w.Write(&evs[i].d, evs[i].ct, evs[i].p))
		switch {
		case blocks != nil && (i+1 == len(evs) || blocks[i+1] != blocks[i]):
			require.NoError(t, w.EndBlock(blocks[i]))
		case blocks == nil && per > 0 && w.BundleEvents() == uint64(per):
			require.NoError(t, w.EndBundle())
		}
	}
	require.NoError(t, w.Close())
	return m
}

func refHashOrZero() [32]byte { return [32]byte{0x89, 0x33} }

// requireEvents reads every event of f and checks it against evs, then
// verifies f.
func requireEvents(t testing.TB, f *File, evs []testEvent) {
	t.Helper()
	i := 0
	for ev, err := range f.Events(context.Background()) {
		require.NoError(t, err)
		require.Less(t, i, len(evs))
		require.Equal(t, evs[i].d, ev.Descriptor, "event %d", i)
		require.Equal(t, evs[i].ct, ev.ContentType)
		require.True(t, bytes.Equal(evs[i].p, ev.Payload), "payload of event %d", i)
		i++
	}
	require.Equal(t, len(evs), i)
	require.NoError(t, f.Verify(context.Background()))
}

// TestWriterRoundTrip writes events with every option and reads them back.
func TestWriterRoundTrip(t *testing.T) {
	evs := synthEvents(100, 700)
	for _, c := range []struct {
		name string
		opts WriterOptions
		per  int
	}{
		{"plain", WriterOptions{}, 0},
		{"plain-bundles", WriterOptions{}, 64},
		{"streaming", WriterOptions{Compression: CompressionZstdStreaming, IndexCompression: CompressionZstdStreaming}, 100},
		{"single-pass", WriterOptions{Compression: CompressionZstdSinglePass, IndexCompression: CompressionZstdSinglePass, Level: 19}, 333},
		{"mixed", WriterOptions{Compression: CompressionZstdStreaming, BundleContentLength: true}, 7},
		{"no-index", WriterOptions{NoSeqnoIndex: true, Compression: CompressionZstdStreaming}, 50},
		{"content-length", WriterOptions{BundleContentLength: true}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := writeMem(t, evs, c.opts, defaultGeometry, c.per, nil)
			require.Zero(t, len(m.b)%PageSize)
			f, err := NewFile(m, m.Size(), c.name, OpenOptions{Layout: LayoutRelease})
			require.NoError(t, err)
			requireEvents(t, f, evs)
			for _, b := range f.Bundles() {
				require.Equal(t, c.opts.Compression, b.Compression)
				require.Equal(t, c.opts.NoSeqnoIndex, b.SeqnoIndexDesc == 0)
				switch {
				case b.Compression != CompressionNone, c.opts.BundleContentLength:
					require.Equal(t, b.Size(), b.ContentLength)
				default:
					require.Zero(t, b.ContentLength)
				}
			}
			r := f.NewReader()
			var ev Event
			for _, s := range []uint64{799, 100, 450, 451, 101, 799} {
				require.NoError(t, r.Seek(s))
				require.NoError(t, r.Next(&ev))
				require.Equal(t, evs[s-100].d, ev.Descriptor)
			}
		})
	}
}

// TestWriterRewritesReference: the reference ring written with zstd
// bundles of 2048 events (like emn-1b-15m.evcap) reads back identically.
func TestWriterRewritesReference(t *testing.T) {
	evs := ringEvents(t)
	m := writeMem(t, evs, WriterOptions{Compression: CompressionZstdStreaming, IndexCompression: CompressionZstdStreaming}, defaultGeometry, 2048, nil)
	f, err := NewFile(m, m.Size(), "rewritten", OpenOptions{})
	require.NoError(t, err)
	requireEvents(t, f, evs)
	bs := f.Bundles()
	require.Len(t, bs, 4)
	ref, err := Open(testdata.Shared(t, "evcap/emn-1b-15m.evcap"))
	require.NoError(t, err)
	defer ref.Close()
	for i, b := range ref.Bundles() {
		// The same decompressed sizes and offsets of the first content;
		// compressed sizes depend on the encoder.
		require.Equal(t, b.ContentLength, bs[i].ContentLength)
		require.Equal(t, b.EventCount, bs[i].EventCount)
		require.Equal(t, b.StartSeqno, bs[i].StartSeqno)
	}
	// Two SCHEMA sections here, one there; neither has content.
	require.Equal(t, ref.Sections()[1].ContentOffset, f.Sections()[2].ContentOffset)
}

// TestWriterLinkChaining: more than 2047 sections chain section tables
// with LINKs (spec §3), here with full-size tables, and with tiny tables
// (a bundle in the last usable entry, its index in the next table).
func TestWriterLinkChaining(t *testing.T) {
	evs := synthEvents(1, 2200)
	m := writeMem(t, evs, WriterOptions{}, defaultGeometry, 1, nil)
	f, err := NewFile(m, m.Size(), "chained", OpenOptions{})
	require.NoError(t, err)
	requireEvents(t, f, evs)
	secs := f.Sections()
	require.Len(t, secs, 2+2*2200+2) // 2 SCHEMA, 2200 pairs, 2 LINKs
	for i, s := range secs {
		require.Equal(t, i == 2047 || i == 4095, s.Type == SectionLink, "section %d", i)
		if s.Type == SectionLink {
			require.EqualValues(t, SectionTableSize, s.FileLength)
			require.Equal(t, secs[i+1].DescriptorOffset, s.ContentOffset)
		}
	}
	require.EqualValues(t, PageSize+2047*SectionDescSize, secs[2047].DescriptorOffset)
	// Bundle 2046 sits in entry 2046 of table 1... its index in entry 0 of
	// table 2 (a cross-table reference).
	require.Equal(t, SectionEventBundle, secs[2046].Type)
	require.Equal(t, secs[2048].DescriptorOffset, secs[2046].SeqnoIndexDesc)

	for _, entries := range []uint64{2, 3, 4, 5} {
		m := writeMem(t, evs[:40], WriterOptions{Compression: CompressionZstdStreaming}, geometry{128, entries, 4}, 3, nil)
		f, err := NewFile(m, m.Size(), "tiny", OpenOptions{})
		require.NoError(t, err, "entries %d", entries)
		requireEvents(t, f, evs[:40])
		r := f.NewReader()
		var ev Event
		for s := uint64(40); s >= 1; s-- {
			require.NoError(t, r.Seek(s))
			require.NoError(t, r.Next(&ev))
			require.Equal(t, s, ev.Descriptor.Seqno)
		}
	}
}

// TestWriterBlockIndex: bundles ended with EndBlock are found by SeekBlock.
func TestWriterBlockIndex(t *testing.T) {
	evs := synthEvents(1, 500)
	blocks := make([]uint64, len(evs))
	for i := range blocks {
		blocks[i] = 1000 + uint64(i/37)*2 // numbers with gaps
	}
	for _, opts := range []WriterOptions{{BlockIndex: true}, {BlockIndex: true, Compression: CompressionZstdStreaming, IndexCompression: CompressionZstdSinglePass}} {
		m := writeMem(t, evs, opts, defaultGeometry, 0, blocks)
		f, err := NewFile(m, m.Size(), "blocks", OpenOptions{})
		require.NoError(t, err)
		require.False(t, f.Active())
		requireEvents(t, f, evs)
		bl := f.Blocks()
		require.Len(t, bl, 14)
		secs := f.Sections()
		require.Equal(t, SectionBlockIndex, secs[2].Type)
		require.EqualValues(t, PageSize+SectionTableSize, secs[2].ContentOffset)
		require.EqualValues(t, 14, secs[2].BlockCount)
		require.EqualValues(t, 1000, secs[2].StartBlock)
		r := f.NewReader()
		var ev Event
		for k, b := range bl {
			require.Equal(t, 1000+uint64(k)*2, b.Number)
			require.Equal(t, b.Number, secs[b.Section].BlockNumber)
			require.EqualValues(t, k+1, secs[b.Section].BlockIndexID)
			require.NoError(t, r.SeekBlock(b.Number))
			require.NoError(t, r.Next(&ev))
			require.EqualValues(t, 1+37*k, ev.Descriptor.Seqno)
			bs, ok := r.Bundle()
			require.True(t, ok)
			require.Equal(t, b.Number, bs.BlockNumber)
		}
		require.ErrorIs(t, r.SeekBlock(1001), ErrNotFound)
	}
}

// TestWriterRefuses: events the writer cannot store change nothing.
func TestWriterRefuses(t *testing.T) {
	m := &memFile{}
	w, err := newWriter(m, "mem", []Schema{testSchema}, WriterOptions{}, defaultGeometry)
	require.NoError(t, err)
	evs := synthEvents(10, 3)
	require.NoError(t, w.Write(&evs[0].d, evs[0].ct, evs[0].p))
	require.ErrorIs(t, w.Write(&evs[2].d, evs[2].ct, evs[2].p), ErrBadEvent, "gap")
	require.ErrorIs(t, w.Write(&evs[1].d, eventring.ContentTypeExec, evs[1].p), ErrBadEvent, "no schema")
	require.ErrorIs(t, w.Write(&evs[1].d, evs[1].ct, append(evs[1].p, 0)), ErrBadEvent, "payload size")
	require.ErrorIs(t, w.AddSchema(testSchema), ErrBadEvent, "second schema")
	require.ErrorIs(t, w.EndBlock(5), ErrBadEvent, "no block index")
	require.NoError(t, w.Write(&evs[1].d, evs[1].ct, evs[1].p))
	require.NoError(t, w.EndBundle())
	require.NoError(t, w.Write(&evs[2].d, evs[2].ct, evs[2].p)) // a new bundle after the gap
	require.NoError(t, w.Close())
	require.ErrorIs(t, w.Write(&evs[2].d, evs[2].ct, evs[2].p), ErrClosed)
	f, err := NewFile(m, m.Size(), "mem", OpenOptions{})
	require.NoError(t, err)
	requireEvents(t, f, evs)
	require.Len(t, f.Bundles(), 2)
}

// TestReaderPayloadSource: a Reader hands out the payload of the event it
// read last, and only that one, as an eventring.PayloadSource must for
// check-copy-check readers (execevents' Decoder.Read, ReadEvent).
func TestReaderPayloadSource(t *testing.T) {
	evs := synthEvents(1, 20)
	m := writeMem(t, evs, WriterOptions{Compression: CompressionZstdStreaming}, defaultGeometry, 6, nil)
	f, err := NewFile(m, m.Size(), "mem", OpenOptions{})
	require.NoError(t, err)
	var src eventring.PayloadSource = f.NewReader()
	r := src.(*Reader)
	var ev Event
	require.False(t, r.PayloadValid(&evs[0].d), "before the first event")
	var prev eventring.Descriptor
	for i := range evs {
		require.NoError(t, r.Next(&ev))
		d := ev.Descriptor
		require.True(t, src.PayloadValid(&d))
		require.True(t, bytes.Equal(evs[i].p, src.Payload(&d)))
		require.Len(t, src.Payload(&d), int(d.PayloadSize))
		if i > 0 {
			require.False(t, src.PayloadValid(&prev), "a payload the reader no longer holds")
			require.Nil(t, src.Payload(&prev))
		}
		other := d
		other.ContentExt[3]++
		require.False(t, src.PayloadValid(&other), "another descriptor")
		prev = d
	}
	require.NoError(t, r.Seek(3))
	require.False(t, src.PayloadValid(&prev), "after Seek")
}

// TestRecordOverLimit: a record whose payload exceeds MaxSectionSize is
// refused with ErrTooLarge when read, in an uncompressed section too, so a
// (perhaps sparse) file cannot make the Reader hold more than the limit.
func TestRecordOverLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.evcap")
	w, err := Create(path, []Schema{testSchema}, WriterOptions{})
	require.NoError(t, err)
	d := eventring.Descriptor{Seqno: 1, EventType: 1, PayloadSize: 4096}
	require.NoError(t, w.Write(&d, eventring.ContentTypeTest, make([]byte, 4096)))
	require.NoError(t, w.Close())

	f, err := OpenWithOptions(path, OpenOptions{MaxSectionSize: 1024})
	require.NoError(t, err)
	defer f.Close()
	var ev Event
	err = f.NewReader().Next(&ev)
	require.ErrorIs(t, err, ErrTooLarge)

	g, err := Open(path) // the default limit reads it
	require.NoError(t, err)
	defer g.Close()
	require.NoError(t, g.NewReader().Next(&ev))
	require.Len(t, ev.Payload, 4096)
}

// expiringSource is a PayloadSource over testEvents whose payloads of the
// seqnos in expired are overwritten while they are copied (PayloadValid
// then fails), and of those in missing are absent.
type expiringSource struct {
	evs              map[uint64]*testEvent
	expired, missing map[uint64]bool
}

func (s *expiringSource) Payload(d *eventring.Descriptor) []byte {
	if s.missing[d.Seqno] {
		return nil
	}
	return s.evs[d.Seqno].p
}

func (s *expiringSource) PayloadValid(d *eventring.Descriptor) bool { return !s.expired[d.Seqno] }

// TestWriteFrom: events whose payload expires during the copy, or is
// missing, are left out and the open bundle goes on; the file is byte for
// byte the one Write produces from the other events, ending the bundle
// where a seqno is skipped (as monad-events record does after a lost
// event).
func TestWriteFrom(t *testing.T) {
	evs := synthEvents(1, 3000)
	src := &expiringSource{evs: map[uint64]*testEvent{}, expired: map[uint64]bool{}, missing: map[uint64]bool{}}
	for i := range evs {
		src.evs[evs[i].d.Seqno] = &evs[i]
	}
	// Lost: a bundle's first event, events inside bundles, two in a row,
	// the last one.
	for _, s := range []uint64{1, 500, 501, 1700, 3000} {
		src.expired[s] = true
	}
	for _, s := range []uint64{900, 2100} {
		if evs[s-1].d.PayloadSize == 0 {
			t.Fatalf("event %d has no payload", s)
		}
		src.missing[s] = true
	}
	for _, opts := range []WriterOptions{{}, {Compression: CompressionZstdStreaming, IndexCompression: CompressionZstdStreaming}} {
		schemas := []Schema{testSchema}
		got, want := &memFile{}, &memFile{}
		wf, err := newWriter(got, "from", schemas, opts, defaultGeometry)
		require.NoError(t, err)
		ww, err := newWriter(want, "write", schemas, opts, defaultGeometry)
		require.NoError(t, err)
		var kept []testEvent
		lost := false
		for i := range evs {
			e := &evs[i]
			if lost && wf.BundleEvents() > 0 { // a bundle holds consecutive events
				require.NoError(t, wf.EndBundle())
				require.NoError(t, ww.EndBundle())
			}
			ok, err := wf.WriteFrom(&e.d, e.ct, src)
			require.NoError(t, err)
			require.Equal(t, !src.expired[e.d.Seqno] && !src.missing[e.d.Seqno], ok, "seqno %d", e.d.Seqno)
			if lost = !ok; lost {
				continue
			}
			require.NoError(t, ww.Write(&e.d, e.ct, e.p))
			kept = append(kept, *e)
			if wf.BundleEvents() == 1000 {
				require.NoError(t, wf.EndBundle())
				require.NoError(t, ww.EndBundle())
			}
		}
		require.NoError(t, wf.Close())
		require.NoError(t, ww.Close())
		require.Len(t, kept, len(evs)-7)
		require.Equal(t, len(want.b), len(got.b), "file length")
		if i := firstDiff(want.b, got.b); i >= 0 {
			t.Fatalf("%v: first difference at byte %d", opts.Compression, i)
		}
		f, err := NewFile(got, got.Size(), "from", OpenOptions{})
		require.NoError(t, err)
		requireEvents(t, f, kept)
		require.Len(t, f.Bundles(), 5) // 2..499, 502..899, 901..1699, 1701..2099, 2101..2999
	}
}

// TestFileCutWhileRead: a capture file truncated while a Reader reads it
// (its bytes are mapped: the vanished pages fault) gives a *FormatError
// wrapping ErrTruncated from Next, Seek and Verify, again on every later
// Next, and no crash; payloads read before the cut stay readable.
func TestFileCutWhileRead(t *testing.T) {
	evs := synthEvents(1, 20000)
	for _, opts := range []WriterOptions{{}, {Compression: CompressionZstdStreaming, IndexCompression: CompressionZstdStreaming}} {
		path := filepath.Join(t.TempDir(), "cut.evcap")
		w, err := Create(path, []Schema{testSchema}, opts)
		require.NoError(t, err)
		for i := range evs {
			require.NoError(t, w.Write(&evs[i].d, evs[i].ct, evs[i].p))
			if w.BundleEvents() == 2000 {
				require.NoError(t, w.EndBundle())
			}
		}
		require.NoError(t, w.Close())
		f, err := Open(path)
		require.NoError(t, err)
		r := f.NewReader()
		var ev Event
		for range 100 {
			require.NoError(t, r.Next(&ev))
		}
		kept := ev
		require.NoError(t, os.Truncate(path, PageSize))
		require.Equal(t, evs[99].p, kept.Payload, "payload read before the cut")
		for err = nil; err == nil; err = r.Next(&ev) {
		}
		var fe *FormatError
		require.ErrorAs(t, err, &fe, "%v", opts.Compression)
		require.ErrorIs(t, err, ErrTruncated)
		require.Contains(t, err.Error(), "file cut to 4096 bytes while it was read") // the fault, not a short pread
		t.Log(err)
		require.ErrorIs(t, r.Next(&ev), ErrTruncated)
		require.ErrorIs(t, r.Seek(15000), ErrTruncated)
		require.ErrorIs(t, f.Verify(context.Background()), ErrTruncated)
		require.NoError(t, f.Close())
	}
}

// TestWriterSetCompression: SetCompression changes the compression of
// the bundles opened after it (not of the open one), from a plain Writer
// to zstd and back; the mixed file reads back and verifies.
func TestWriterSetCompression(t *testing.T) {
	evs := synthEvents(1, 3000)
	m := &memFile{}
	w, err := newWriter(m, "mixed", []Schema{testSchema}, WriterOptions{BundleContentLength: true}, defaultGeometry)
	require.NoError(t, err)
	// Compression set before each bundle of 500 events, and in the middle
	// of bundle 2 (for bundle 3).
	set := map[int]Compression{0: CompressionNone, 500: CompressionZstdStreaming, 1250: CompressionNone, 2000: CompressionZstdSinglePass, 2500: CompressionZstdStreaming}
	want := []Compression{CompressionNone, CompressionZstdStreaming, CompressionZstdStreaming, CompressionNone, CompressionZstdSinglePass, CompressionZstdStreaming}
	for i := range evs {
		if c, ok := set[i]; ok {
			require.NoError(t, w.SetCompression(c))
		}
		require.NoError(t, w.Write(&evs[i].d, evs[i].ct, evs[i].p))
		if w.BundleEvents() == 500 {
			require.NoError(t, w.EndBundle())
		}
	}
	require.ErrorContains(t, w.SetCompression(7), "unknown compression")
	require.NoError(t, w.Close())
	f, err := NewFile(m, m.Size(), "mixed", OpenOptions{})
	require.NoError(t, err)
	var got []Compression
	for _, b := range f.Bundles() {
		got = append(got, b.Compression)
		require.Equal(t, b.Size(), b.ContentLength) // compressed: the size; plain: BundleContentLength
	}
	require.Equal(t, want, got)
	requireEvents(t, f, evs)
}

// failingFile is a memFile whose writes beyond limit fail.
type failingFile struct {
	memFile
	limit int64
}

var errDiskFull = errors.New("disk full (test)")

func (f *failingFile) WriteAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.limit {
		return 0, errDiskFull
	}
	return f.memFile.WriteAt(p, off)
}

// TestWriterWriteError: an error writing a bundle's content (on the
// goroutine that writes it) reaches the caller at the latest at the end
// of the bundle, then every call returns it, Close included.
func TestWriterWriteError(t *testing.T) {
	evs := synthEvents(1, 40000) // about 5.5 MB of records
	for _, c := range []struct {
		opts  WriterOptions
		limit int64
	}{
		{WriterOptions{}, 3 << 20},
		{WriterOptions{Compression: CompressionZstdStreaming}, PageSize + SectionTableEntries*SectionDescSize + 1000},
	} {
		opts := c.opts
		f := &failingFile{limit: c.limit}
		w, err := newWriter(f, "full", []Schema{testSchema}, opts, defaultGeometry)
		require.NoError(t, err)
		for i := range evs {
			if err = w.Write(&evs[i].d, evs[i].ct, evs[i].p); err != nil {
				break
			}
		}
		if err == nil {
			err = w.EndBundle()
		}
		require.ErrorIs(t, err, errDiskFull, "%v", opts.Compression)
		require.ErrorIs(t, w.Write(&evs[0].d, evs[0].ct, evs[0].p), errDiskFull)
		require.ErrorIs(t, w.EndBundle(), errDiskFull)
		require.ErrorIs(t, w.Close(), errDiskFull)
	}
}
