package eventring

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"unsafe"
)

// knownErrors are the sentinels every validation error must wrap.
var knownErrors = []error{ErrBadMagic, ErrBadContentType, ErrBadSize, ErrFileTooShort, ErrBadHeader,
	ErrNotSnapshot, ErrSnapshotCorrupt, ErrSnapshotTrailingData, ErrSnapshotTooLarge}

func isKnown(err error) bool {
	for _, k := range knownErrors {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// FuzzParseHeader: header validation never panics, every rejection is a
// typed error, and an accepted header has sizes within the spec's limits.
func FuzzParseHeader(f *testing.F) {
	f.Add(headerImage(Magic, ContentTypeExec, minSizes, 0, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := parseHeader(data)
		if err != nil {
			if !isKnown(err) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		s := h.Size
		if s.validate() != nil || h.ContentType == ContentTypeNone || h.ContentType >= contentTypeCount {
			t.Fatalf("accepted invalid header %+v", h)
		}
		if s.Total() < HeaderSectionSize+s.PayloadBufSize || s.Total() > HeaderSectionSize+MaxDescriptorCapacity*DescriptorSize+MaxPayloadBufSize+MaxContextAreaSize {
			t.Fatalf("total %d out of range", s.Total())
		}
		if err := validateSnapshotControl(&h); err == nil && requiredSnapshotBytes(&h) > s.Total() {
			t.Fatalf("required bytes %d exceed total %d", requiredSnapshotBytes(&h), s.Total())
		} else if err != nil && !errors.Is(err, ErrBadHeader) {
			t.Fatalf("untyped control error %v", err)
		}
	})
}

// FuzzZstdFrameLength: the frame walker never panics and never reports a
// frame longer than its input.
func FuzzZstdFrameLength(f *testing.F) {
	f.Add(minSnapshot(0))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, _, err := zstdFrameLength(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !isKnown(err) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if n > int64(len(data)) || n < 6 {
			t.Fatalf("frame length %d for %d bytes", n, len(data))
		}
	})
}

// FuzzOpenSnapshot opens arbitrary bytes as a ring file (live or snapshot):
// it must fail with a typed error or yield a ring whose every descriptor and
// payload access stays in bounds.
func FuzzOpenSnapshot(f *testing.F) {
	f.Add(minSnapshot(0))
	f.Fuzz(func(t *testing.T, data []byte) {
		mf, err := memfdCreate("fuzz")
		if errors.Is(err, ErrUnsupported) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer mf.Close()
		if _, err := mf.Write(data); err != nil {
			t.Fatal(err)
		}
		r, err := OpenFile(mf, OpenOptions{MaxSnapshotSize: 256 << 20})
		if err != nil {
			if !isKnown(err) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		defer r.Close()
		exerciseRing(t, r)
	})
}

// exerciseRing reads up to a few thousand events and their payloads.
func exerciseRing(t *testing.T, r *Ring) {
	_ = r.Header()
	rd := r.NewReader()
	rd.SetSeqno(1)
	var d Descriptor
	buf := make([]byte, 0, 4096)
	for range 5000 {
		res := rd.TryNext(&d)
		if res == Gap {
			rd.Reset()
			continue
		}
		if res != Ready {
			break
		}
		checkPayloadBounds(t, r, &d)
		var err error
		if buf, err = r.CopyPayload(&d, buf); err != nil && !errors.Is(err, ErrPayloadExpired) && !errors.Is(err, ErrBadDescriptor) {
			t.Fatalf("untyped payload error %v", err)
		}
	}
}

// checkPayloadBounds asserts a payload view lies inside the double mapping.
func checkPayloadBounds(t *testing.T, r *Ring, d *Descriptor) {
	p := r.Payload(d)
	if p == nil {
		if uint64(d.PayloadSize) <= r.sizes.PayloadBufSize {
			t.Fatalf("nil view for size %d", d.PayloadSize)
		}
		return
	}
	if len(p) != int(d.PayloadSize) || cap(p) != len(p) {
		t.Fatalf("view len %d cap %d for size %d", len(p), cap(p), d.PayloadSize)
	}
	lo, hi := uintptr(r.payload), uintptr(r.payload)+uintptr(2*r.sizes.PayloadBufSize)
	if len(p) > 0 {
		start := uintptr(unsafe.Pointer(&p[0]))
		if start < lo || start+uintptr(len(p)) > hi {
			t.Fatalf("view [%#x, +%d) outside the mapping [%#x, %#x)", start, len(p), lo, hi)
		}
	}
}

var (
	fuzzRecOnce sync.Once
	fuzzRec     *Recorder
	fuzzRing    *Ring
	fuzzRecErr  error
)

// FuzzDescriptor writes arbitrary descriptor words into a live ring's slot
// and reads them back: results are NotReady, Gap or Ready with in-bounds
// payload views; PayloadValid never accepts an impossible payload.
func FuzzDescriptor(f *testing.F) {
	f.Add(uint64(1), uint64(7)|uint64(64)<<32, uint64(0), uint64(0))
	fuzzRecOnce.Do(func() {
		dir, err := os.MkdirTemp("", "eventring-fuzz")
		if err != nil {
			fuzzRecErr = err
			return
		}
		fuzzRec, fuzzRecErr = Create(filepath.Join(dir, "ring"), minSizes, ContentTypeTest, testHash)
		if fuzzRecErr == nil {
			for range 10 {
				fuzzRec.Record(2, [4]uint64{}, make([]byte, 100))
			}
			fuzzRing, fuzzRecErr = fuzzRec.Ring()
		}
		os.RemoveAll(dir) // the mappings keep the file alive
	})
	if fuzzRecErr != nil {
		f.Fatal(fuzzRecErr)
	}
	f.Fuzz(func(t *testing.T, seqno, word1, offset, readerAt uint64) {
		slot := (*[8]uint64)(fuzzRec.descs) // slot 0
		slot[1], slot[3] = word1, offset
		slot[0] = seqno
		rd := fuzzRing.NewReader()
		rd.SetSeqno(readerAt)
		var d Descriptor
		switch rd.TryNext(&d) {
		case Ready:
			if d.Seqno != max(readerAt, 1) {
				t.Fatalf("Ready from the wrong slot: %+v", d)
			}
			checkPayloadBounds(t, fuzzRing, &d)
			if fuzzRing.PayloadValid(&d) && d.PayloadBufOffset+uint64(d.PayloadSize) > fuzzRing.Header().NextPayloadByte {
				t.Fatalf("impossible payload accepted: %+v", d)
			}
		case NotReady, Gap:
		default:
			t.Fatal("bad result")
		}
		slot[0] = 1 // restore a sane slot for the next input
	})
}

// TestWriteFuzzCorpus regenerates the committed seed corpora under
// testdata/fuzz when EVENTRING_WRITE_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("EVENTRING_WRITE_CORPUS") != "1" {
		t.Skip("set EVENTRING_WRITE_CORPUS=1 to regenerate testdata/fuzz")
	}
	w, _ := newTestRecorder(t)
	for i := range 40 {
		recordSelfCheck(t, w, uint64(16+i*13))
	}
	ring, err := w.Ring()
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	var snap bytes.Buffer
	if err := ring.WriteSnapshot(&snap); err != nil {
		t.Fatal(err)
	}
	hdrs := map[string][]byte{
		"valid-exec":        headerImage(Magic, ContentTypeExec, minSizes, 0, 0, 0),
		"valid-max":         headerImage(Magic, ContentTypeTest, Sizes{DescriptorCapacity: 1 << 32, PayloadBufSize: 1 << 40, ContextAreaSize: MaxContextAreaSize}, 5, 100, 0),
		"bad-magic":         headerImage("RING02", ContentTypeExec, minSizes, 0, 0, 0),
		"bad-capacity":      headerImage(Magic, ContentTypeExec, Sizes{DescriptorCapacity: 3 << 16, PayloadBufSize: 1 << 27}, 0, 0, 0),
		"bad-context":       headerImage(Magic, ContentTypeExec, Sizes{DescriptorCapacity: 1 << 16, PayloadBufSize: 1 << 27, ContextAreaSize: 1}, 0, 0, 0),
		"window-past-next":  headerImage(Magic, ContentTypeExec, minSizes, 1, 10, 20),
		"short":             []byte("RING01"),
		"content-type-none": headerImage(Magic, ContentTypeNone, minSizes, 0, 0, 0),
	}
	snaps := map[string][]byte{
		"min-ring":        minSnapshot(0),
		"min-ring-short8": minSnapshot(8),
		"recorded-40":     snap.Bytes(),
		"truncated":       snap.Bytes()[:snap.Len()/2],
		"two-frames":      append(minSnapshot(0), minSnapshot(0)...),
		"bomb-header":     handFrame(headerImage(Magic, ContentTypeTest, minSizes, 0, 0, 0), 1<<28, 0),
		"garbage-inside":  handFrame([]byte("this is not a ring header at all"), 1000, 7),
		"live-header":     headerImage(Magic, ContentTypeExec, minSizes, 0, 0, 0),
		"empty-frame":     handFrame(nil, 0, 0),
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
			case uint64:
				fmt.Fprintf(&b, "uint64(%d)\n", v)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, h := range hdrs {
		write("FuzzParseHeader", name, h)
	}
	for name, s := range snaps {
		write("FuzzOpenSnapshot", name, s)
		write("FuzzZstdFrameLength", name, s)
	}
	for i, c := range [][4]uint64{
		{1, 2 | 100<<32, 0, 1},
		{0, 0, 0, 1},
		{5, 2 | 0xFFFFFFFF<<32, 0, 1},
		{1, 2 | 100<<32, ^uint64(0) - 50, 1},
		{1, 2 | 100<<32, 1 << 40, 1},
		{1 << 20, 2, 0, 1},
		{65537, 2 | 16<<32, 0, 65537},
		{1, 0, 0, 0},
	} {
		write("FuzzDescriptor", fmt.Sprintf("seed-%d", i), c[0], c[1], c[2], c[3])
	}
}
