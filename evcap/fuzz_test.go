package evcap

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/monadgo/events/eventring"
)

// fuzzOpts bound what a fuzzed file may make the reader hold.
var fuzzOpts = OpenOptions{MaxSectionSize: 4 << 20, MaxSections: 4096}

// tinyGeometry makes small files: 128-byte pages, 4-entry tables, an
// 8-entry block index.
var tinyGeometry = geometry{page: 128, entries: 4, blockCap: 8}

// FuzzOpen opens arbitrary bytes as a capture: it must fail with a typed
// error or give a File whose sections lie inside the input and whose
// events, seeks and verification end in typed errors at worst.
func FuzzOpen(f *testing.F) {
	for _, s := range fuzzSeedFiles(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := NewFile(bytes.NewReader(data), int64(len(data)), "fuzz", fuzzOpts)
		if err != nil {
			if !isKnown(err) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		for _, s := range file.Sections() {
			if s.Type != SectionSchema && (s.ContentOffset > uint64(len(data)) || s.FileLength > uint64(len(data))-s.ContentOffset) {
				t.Fatalf("section %d outside the input: %+v", s.Index, s)
			}
			if s.Compression != CompressionNone && s.Size() > fuzzOpts.MaxSectionSize {
				t.Fatalf("section %d over the limit: %+v", s.Index, s)
			}
		}
		exercise(t, file)
	})
}

// exercise reads a File every way there is, requiring typed errors.
func exercise(t *testing.T, file *File) {
	check := func(err error) {
		if err != nil && err != io.EOF && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrNoBlockIndex) && !isKnown(err) {
			t.Fatalf("untyped error %v", err)
		}
	}
	n := 0
	for ev, err := range file.Events(context.Background()) {
		check(err)
		if err == nil && uint64(len(ev.Payload)) != uint64(ev.Descriptor.PayloadSize) {
			t.Fatalf("payload of %d bytes for size %d", len(ev.Payload), ev.Descriptor.PayloadSize)
		}
		if n++; n > 20000 {
			break
		}
	}
	check(file.Verify(context.Background()))
	r := file.NewReader()
	var ev Event
	for _, b := range file.Bundles() {
		for _, s := range []uint64{b.StartSeqno, b.StartSeqno + b.EventCount - 1, b.StartSeqno + b.EventCount/2} {
			err := r.Seek(s)
			check(err)
			if err == nil {
				err := r.Next(&ev)
				check(err)
				if err == nil && ev.Descriptor.Seqno != s {
					t.Fatalf("Seek(%d) read seqno %d", s, ev.Descriptor.Seqno)
				}
			}
		}
	}
	for _, b := range file.Blocks() {
		check(r.SeekBlock(b.Number))
		check(r.Next(&ev))
	}
}

// FuzzRecords walks arbitrary bytes as an EVENT_BUNDLE's content of
// either layout, stored plain or zstd-compressed.
func FuzzRecords(f *testing.F) {
	for _, s := range fuzzSeedRecords(f) {
		f.Add(s.content, s.preview, s.zstd, s.count)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, content []byte, preview, compress bool, count uint16) {
		stored := content
		if compress {
			stored = enc.EncodeAll(content, nil)
		}
		file := bundleFile(content, stored, preview, compress, uint64(count))
		exercise(t, file)
	})
}

// bundleFile makes a File of one bundle over stored (content, maybe
// compressed) with a TEST SCHEMA, without section tables: the layout is
// built directly.
func bundleFile(content, stored []byte, preview, compressed bool, count uint64) *File {
	kind := LayoutRelease
	if preview {
		kind = LayoutPreview
	}
	start := uint64(1)
	if len(content) >= 8 {
		start = max(1, binary.LittleEndian.Uint64(content))
	}
	if count == 0 || start+count < start {
		start = 0
	}
	b := Section{Index: 1, Type: SectionEventBundle, DescriptorOffset: 128, FileLength: uint64(len(stored)),
		EventCount: count, StartSeqno: start, ContentType: eventring.ContentTypeTest, SchemaDesc: 0}
	if compressed {
		b.Compression, b.ContentLength = CompressionZstdStreaming, uint64(len(content))
	}
	lay := &layout{kind: kind, sections: []Section{{Type: SectionSchema, ContentType: eventring.ContentTypeTest}, b},
		bundles: []int{1}, bundlePos: []int{-1, 0}, byDesc: map[uint64]int{0: 0, 128: 1}, events: count,
		schemas: []Schema{{ContentType: eventring.ContentTypeTest}}}
	file := &File{path: "fuzz", ra: bytes.NewReader(stored), opts: fuzzOpts.withDefaults()}
	file.lay.Store(lay)
	return file
}

// FuzzRoundTrip writes events derived from arbitrary bytes with options
// derived from them and reads them back: the same events, a file that
// verifies.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{0, 3, 'a', 'b', 'c', 0, 200})
	f.Add([]byte{0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17})
	f.Add([]byte{0x15, 64, 0x80, 0, 7, 1, 2, 3, 4, 5, 6, 7, 0x80, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		flags := data[0]
		opts := WriterOptions{Compression: Compression(flags & 3 % 3), IndexCompression: Compression(flags >> 2 & 3 % 3),
			NoSeqnoIndex: flags&16 != 0, BundleContentLength: flags&32 != 0, BlockIndex: flags&64 != 0, Level: 1}
		m := &memFile{}
		w, err := newWriter(m, "fuzz", []Schema{testSchema, {ContentType: eventring.ContentTypeExec}}, opts, tinyGeometry)
		if err != nil {
			t.Fatal(err)
		}
		var evs []testEvent
		seq, block := uint64(1), uint64(10)
		for p := data[1:]; len(p) > 0; {
			ctl := p[0]
			p = p[1:]
			n := min(int(ctl&0x3f), len(p))
			e := testEvent{d: eventring.Descriptor{Seqno: seq, EventType: uint16(ctl), PayloadSize: uint32(n),
				RecordEpochNanos: seq * 7, PayloadBufOffset: seq << 20, ContentExt: [4]uint64{uint64(ctl), seq}},
				ct: eventring.ContentTypeTest, p: p[:n]}
			if ctl&0x40 != 0 {
				e.ct = eventring.ContentTypeExec
			}
			p = p[n:]
			if err := w.Write(&e.d, e.ct, e.p); err != nil {
				t.Fatal(err)
			}
			evs = append(evs, e)
			seq++
			if ctl&0x80 != 0 {
				if opts.BlockIndex && uint64(w.blkCount) < w.blkCap {
					err = w.EndBlock(block)
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
		file, err := NewFile(m, m.Size(), "fuzz", OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		for ev, err := range file.Events(context.Background()) {
			if err != nil {
				t.Fatal(err)
			}
			if ev.Descriptor != evs[i].d || ev.ContentType != evs[i].ct || !bytes.Equal(ev.Payload, evs[i].p) {
				t.Fatalf("event %d: %+v, want %+v", i, ev, evs[i])
			}
			i++
		}
		if i != len(evs) {
			t.Fatalf("%d events, want %d", i, len(evs))
		}
		if err := file.Verify(context.Background()); err != nil {
			t.Fatal(err)
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

// fuzzSeedFiles are small capture files: written by Writer with tiny
// geometry, and preview files from the tests' builder.
func fuzzSeedFiles(tb testing.TB) map[string][]byte {
	evs := synthEvents(1, 9)
	for i := range evs {
		evs[i].p = evs[i].p[:min(len(evs[i].p), 12)]
		evs[i].d.PayloadSize = uint32(len(evs[i].p))
	}
	blocks := []uint64{5, 5, 5, 6, 6, 8, 8, 8, 8}
	seeds := map[string][]byte{
		"release-plain":     writeMem(tb, evs, WriterOptions{}, tinyGeometry, 0, nil).b,
		"release-bundles":   writeMem(tb, evs, WriterOptions{}, tinyGeometry, 2, nil).b,
		"release-zstd":      writeMem(tb, evs, WriterOptions{Compression: CompressionZstdStreaming, IndexCompression: CompressionZstdSinglePass}, tinyGeometry, 4, nil).b,
		"release-blocks":    writeMem(tb, evs, WriterOptions{BlockIndex: true}, tinyGeometry, 0, blocks).b,
		"release-no-index":  writeMem(tb, evs, WriterOptions{NoSeqnoIndex: true, BundleContentLength: true}, tinyGeometry, 3, nil).b,
		"preview-zstd":      buildPreview(tb, evs, previewSpec{per: 4, comp: CompressionZstdStreaming, pad: 64}),
		"preview-pack":      buildPreview(tb, evs[:4], previewSpec{per: 2, blocks: []uint64{3, 4}, pack: true, pad: 64}),
		"not-a-capture":     []byte("EVCAP_0"),
		"release-header":    writeMem(tb, nil, WriterOptions{}, tinyGeometry, 0, nil).b,
		"release-truncated": writeMem(tb, evs, WriterOptions{}, tinyGeometry, 0, nil).b[:900],
	}
	return seeds
}

type recordSeed struct {
	content       []byte
	preview, zstd bool
	count         uint16
}

// fuzzSeedRecords are bundle contents of both layouts.
func fuzzSeedRecords(tb testing.TB) map[string]recordSeed {
	evs := synthEvents(1, 5)
	rel := writeMem(tb, evs, WriterOptions{NoSeqnoIndex: true}, tinyGeometry, 0, nil)
	f, err := NewFile(rel, rel.Size(), "seed", OpenOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	b := f.Bundles()[0]
	relContent := rel.b[b.ContentOffset : b.ContentOffset+b.FileLength]
	pv := buildPreview(tb, evs, previewSpec{pad: 64})
	f, err = NewFile(bytes.NewReader(pv), int64(len(pv)), "seed", OpenOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	b = f.Bundles()[0]
	pvContent := pv[b.ContentOffset : b.ContentOffset+b.FileLength]
	return map[string]recordSeed{
		"release":      {relContent, false, false, 5},
		"release-zstd": {relContent, false, true, 5},
		"preview":      {pvContent, true, false, 5},
		"preview-zstd": {pvContent, true, true, 5},
		"short":        {relContent[:100], false, false, 2},
	}
}

// TestWriteFuzzCorpus regenerates the committed seed corpora under
// testdata/fuzz when EVCAP_WRITE_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("EVCAP_WRITE_CORPUS") != "1" {
		t.Skip("set EVCAP_WRITE_CORPUS=1 to regenerate testdata/fuzz")
	}
	write := func(target, name string, args ...any) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.WriteString("go test fuzz v1\n")
		for _, a := range args {
			switch v := a.(type) {
			case []byte:
				fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
			case bool:
				fmt.Fprintf(&b, "bool(%v)\n", v)
			case uint16:
				fmt.Fprintf(&b, "uint16(%d)\n", v)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, s := range fuzzSeedFiles(t) {
		// Preview files hold an 8 KiB header page and table: f.Add gives
		// them to the fuzzer at run time, the repository keeps them out.
		if !strings.HasPrefix(name, "preview-") {
			write("FuzzOpen", name, s)
		}
	}
	for name, s := range fuzzSeedRecords(t) {
		write("FuzzRecords", name, s.content, s.preview, s.zstd, s.count)
	}
}

// TestFuzzSeeds: the seed files are valid captures (but for the two meant
// to be broken), so that fuzzing starts from deep inside the reader.
func TestFuzzSeeds(t *testing.T) {
	for name, s := range fuzzSeedFiles(t) {
		f, err := NewFile(bytes.NewReader(s), int64(len(s)), name, OpenOptions{})
		if name == "not-a-capture" || name == "release-truncated" {
			if !isKnown(err) {
				t.Fatalf("%s: %v", name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := f.Verify(context.Background()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %d bytes, %d sections, %d events, %v", name, len(s), len(f.Sections()), f.EventCount(), f.Layout())
	}
}
