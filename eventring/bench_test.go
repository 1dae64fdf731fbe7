package eventring

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
)

var (
	benchOnce sync.Once
	benchRing *Ring
	benchErr  error
)

// openBenchRing opens the decompressed emn-30b reference snapshot once.
func openBenchRing(b *testing.B) *Ring {
	path := sharedTestdata(b, "exec-events/emn-30b-15m/snapshot.zst")
	benchOnce.Do(func() { benchRing, benchErr = Open(path) })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchRing
}

// BenchmarkTryNext: one op is one event (descriptor only), cycling over the
// 136 891 events of the emn-30b snapshot.
func BenchmarkTryNext(b *testing.B) {
	ring := openBenchRing(b)
	rd := ring.NewReader()
	var d Descriptor
	var sum uint64
	b.ReportAllocs()
	for b.Loop() {
		if rd.TryNext(&d) != Ready {
			rd.SetSeqno(1)
			continue
		}
		sum += d.Seqno ^ d.PayloadBufOffset
	}
	sink = sum
}

// BenchmarkTryNextCopyPayload: TryNext plus the check/copy/check payload
// copy of every event.
func BenchmarkTryNextCopyPayload(b *testing.B) {
	ring := openBenchRing(b)
	rd := ring.NewReader()
	var d Descriptor
	buf := make([]byte, 0, 1<<20)
	var sum uint64
	var err error
	b.ReportAllocs()
	for b.Loop() {
		if rd.TryNext(&d) != Ready {
			rd.SetSeqno(1)
			continue
		}
		if buf, err = ring.CopyPayload(&d, buf); err != nil {
			b.Fatal(err)
		}
		if len(buf) >= 8 {
			sum += binary.LittleEndian.Uint64(buf)
		}
	}
	sink = sum
}

// BenchmarkTryNextPayloadView: TryNext plus a zero-copy view checked after
// use.
func BenchmarkTryNextPayloadView(b *testing.B) {
	ring := openBenchRing(b)
	rd := ring.NewReader()
	var d Descriptor
	var sum uint64
	b.ReportAllocs()
	for b.Loop() {
		if rd.TryNext(&d) != Ready {
			rd.SetSeqno(1)
			continue
		}
		p := ring.Payload(&d)
		var v uint64
		if len(p) >= 8 {
			v = binary.LittleEndian.Uint64(p)
		}
		if ring.PayloadValid(&d) {
			sum += v
		}
	}
	sink = sum
}

var sink uint64

// BenchmarkNext: one op is one event read with the blocking Next (every
// event ready: its fast path), cycling over the emn-30b snapshot.
func BenchmarkNext(b *testing.B) {
	ring := openBenchRing(b)
	rd := ring.NewReader()
	ctx := context.Background()
	var d Descriptor
	var sum uint64
	b.ReportAllocs()
	for b.Loop() {
		if rd.Next(ctx, &d) != nil {
			rd.SetSeqno(1)
			continue
		}
		sum += d.Seqno ^ d.PayloadBufOffset
	}
	sink = sum
}

// BenchmarkRecord: one op is one 64-byte event recorded into a minimal
// ring file.
func BenchmarkRecord(b *testing.B) {
	w, err := Create(b.TempDir()+"/ring", minSizes, ContentTypeTest, testHash)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	payload := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Record(1, [4]uint64{}, payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordBatch: one op is a batch of 64 events of 64 bytes
// recorded into a minimal ring file; ns/event compares with
// BenchmarkRecord's ns/op.
func BenchmarkRecordBatch(b *testing.B) {
	w, err := Create(b.TempDir()+"/ring", minSizes, ContentTypeTest, testHash)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	payload := make([]byte, 64)
	events := make([]BatchEvent, 64)
	for i := range events {
		events[i] = BatchEvent{EventType: 1, Payload: payload}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.RecordBatch(events); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
}
