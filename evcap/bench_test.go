package evcap

import (
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/internal/testdata"
)

// readAllInto reads every event of f with ReadInto into buf.
func readAllInto(tb testing.TB, f *File, buf []byte) (uint64, uint64, []byte) {
	r := f.NewReader()
	var d eventring.Descriptor
	var n, bytes uint64
	for {
		var err error
		buf, err = r.ReadInto(&d, buf)
		if err == io.EOF {
			return n, bytes, buf
		}
		if err != nil {
			tb.Fatal(err)
		}
		n++
		bytes += uint64(len(buf))
	}
}

// TestReadIntoDoesNotAllocate: once the Reader's buffers and the caller's
// buffer have grown, reading an event allocates nothing, compressed or not.
func TestReadIntoDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	evs := synthEvents(1, 4000)
	for _, opts := range []WriterOptions{{}, {Compression: CompressionZstdStreaming}} {
		m := writeMem(t, evs, opts, defaultGeometry, 0, nil) // one bundle
		f, err := NewFile(m, m.Size(), "mem", OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r := f.NewReader()
		var d eventring.Descriptor
		buf := make([]byte, 0, 4096)
		for range 100 {
			if buf, err = r.ReadInto(&d, buf); err != nil {
				t.Fatal(err)
			}
		}
		var ev Event
		allocs := testing.AllocsPerRun(1000, func() {
			if buf, err = r.ReadInto(&d, buf); err != nil {
				t.Fatal(err)
			}
			if err = r.Next(&ev); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("%v: %v allocations per event", opts.Compression, allocs)
		}
	}
}

// BenchmarkRead reads the reference captures from start to end with
// ReadInto: ns/op is per event, MB/s counts descriptors and payloads.
func BenchmarkRead(b *testing.B) {
	for _, rf := range refFiles {
		b.Run(rf.name[len("evcap/"):], func(b *testing.B) {
			f, err := Open(testdata.Shared(b, rf.name))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			buf := make([]byte, 0, 1<<16)
			n, size, buf := readAllInto(b, f, buf)
			b.SetBytes(int64((size + n*64) / n))
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; {
				var k uint64
				k, _, buf = readAllInto(b, f, buf)
				done += int(k)
			}
		})
	}
}

// The 30-block recording the throughput benchmarks read and write.
const benchRing = "exec-events/emn-30b-15m/snapshot.zst"

// benchBundleEvents is monad-events record's default bundle size.
const benchBundleEvents = 65536

// benchOptions are the WriterOptions of monad-events record: plain
// (--no-compress) and its zstd default.
var benchOptions = []struct {
	name string
	opts WriterOptions
}{
	{"plain", WriterOptions{BundleContentLength: true}},
	{"zstd", WriterOptions{Compression: CompressionZstdStreaming, IndexCompression: CompressionZstdStreaming}},
	{"zstd-level1", WriterOptions{Compression: CompressionZstdStreaming, IndexCompression: CompressionZstdStreaming, Level: 1}},
}

// writeBenchFile writes evs into a capture file at path, ending a bundle
// every benchBundleEvents events, as monad-events record does.
func writeBenchFile(tb testing.TB, path string, evs []testdata.Event, opts WriterOptions) {
	w, err := Create(path, []Schema{{ContentType: eventring.ContentTypeExec, Hash: [32]byte{1}}}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range evs {
		if err := w.Write(&evs[i].Descriptor, eventring.ContentTypeExec, evs[i].Payload); err != nil {
			tb.Fatal(err)
		}
		if w.BundleEvents() == benchBundleEvents {
			if err := w.EndBundle(); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
}

// benchEventBytes is the average size of an event of evs: its descriptor
// and payload, what b.SetBytes counts per event.
func benchEventBytes(evs []testdata.Event) int64 {
	n := 0
	for _, e := range evs {
		n += descriptorSize + len(e.Payload)
	}
	return int64(n / len(evs))
}

// BenchmarkReadEmn30b reads every event of emn-30b (136 891 events), with
// the check of ringbench's payload mode (descriptor sum plus the first 8
// payload bytes): from the ring (the snapshot, decompressed in memory;
// check, copy, check of each payload, as a ring reader must) as the
// baseline, and from captures of it written in the setup, plain and zstd
// (a payload view, since a capture's payloads never expire). ns/op is per
// event; MB/s counts descriptors and payloads.
func BenchmarkReadEmn30b(b *testing.B) {
	path := testdata.Shared(b, benchRing)
	evs := testdata.Events(b, path)
	want := uint64(0)
	for i := range evs {
		want += benchSum(&evs[i].Descriptor, evs[i].Payload)
	}
	b.Run("ring", func(b *testing.B) {
		ring, err := eventring.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer ring.Close()
		buf := make([]byte, 0, 1<<20)
		b.SetBytes(benchEventBytes(evs))
		b.ReportAllocs()
		b.ResetTimer()
		for done := 0; done < b.N; {
			rd := ring.NewReader()
			rd.SetSeqno(1)
			var d eventring.Descriptor
			var n, sum uint64
			for rd.TryNext(&d) == eventring.Ready {
				if buf, err = ring.CopyPayload(&d, buf); err != nil {
					b.Fatal(err)
				}
				sum += benchSum(&d, buf)
				n++
			}
			if n != uint64(len(evs)) || sum != want {
				b.Fatalf("%d events, checksum %#x; want %d, %#x", n, sum, len(evs), want)
			}
			done += int(n)
		}
	})
	for _, o := range benchOptions {
		b.Run(o.name, func(b *testing.B) {
			file := filepath.Join(b.TempDir(), o.name+".evcap")
			writeBenchFile(b, file, evs, o.opts)
			f, err := Open(file)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			b.SetBytes(benchEventBytes(evs))
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; {
				var n, sum uint64
				for ev, err := range f.Events(context.Background()) {
					if err != nil {
						b.Fatal(err)
					}
					sum += benchSum(&ev.Descriptor, ev.Payload)
					n++
				}
				if n != uint64(len(evs)) || sum != want {
					b.Fatalf("%d events, checksum %#x; want %d, %#x", n, sum, len(evs), want)
				}
				done += int(n)
			}
		})
	}
}

// benchSum is ringbench's payload-mode checksum of one event.
func benchSum(d *eventring.Descriptor, p []byte) uint64 {
	s := d.Seqno ^ uint64(d.EventType) ^ uint64(d.PayloadSize) ^ d.RecordEpochNanos ^ d.PayloadBufOffset ^
		d.ContentExt[0] ^ d.ContentExt[1] ^ d.ContentExt[2] ^ d.ContentExt[3]
	if len(p) >= 8 {
		s += binary.LittleEndian.Uint64(p)
	}
	return s
}

// BenchmarkWriteEmn30b writes emn-30b's events into a capture file as
// monad-events record does (a bundle every 65 536 events, each with its
// SEQNO_INDEX), plain and zstd: ns/op is per event, the Writer alone (the
// events are in memory), Create and Close included.
func BenchmarkWriteEmn30b(b *testing.B) {
	evs := testdata.Events(b, testdata.Shared(b, benchRing))
	for _, o := range benchOptions {
		b.Run(o.name, func(b *testing.B) {
			file := filepath.Join(b.TempDir(), o.name+".evcap")
			b.SetBytes(benchEventBytes(evs))
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; done += len(evs) {
				writeBenchFile(b, file, evs, o.opts)
			}
			b.StopTimer()
			if st, err := os.Stat(file); err == nil {
				b.ReportMetric(float64(st.Size())/float64(len(evs)), "file-B/event")
			}
		})
	}
}
