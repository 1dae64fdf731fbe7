package evcap

import (
	"io"
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
