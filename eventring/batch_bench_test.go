package eventring

import (
	"encoding/binary"
	"strconv"
	"testing"
)

// BenchmarkTryNextBatch: one op is one event (descriptor only), read in
// batches over the 136 891 events of the emn-30b snapshot.
func BenchmarkTryNextBatch(b *testing.B) {
	ring := openBenchRing(b)
	for _, bs := range []int{16, 64, 256} {
		b.Run("batch="+strconv.Itoa(bs), func(b *testing.B) {
			rd := ring.NewReader()
			descs := make([]Descriptor, bs)
			var sum uint64
			b.ReportAllocs()
			for i := 0; i < b.N; {
				n, _ := rd.TryNextBatch(descs[:min(bs, b.N-i)])
				if n == 0 {
					rd.SetSeqno(1)
					continue
				}
				for j := range descs[:n] {
					sum += descs[j].Seqno ^ descs[j].PayloadBufOffset
				}
				i += n
			}
			sink = sum
		})
	}
}

// BenchmarkTryNextBatchCopyPayloads: TryNextBatch plus CopyPayloads, one
// expiry check per batch.
func BenchmarkTryNextBatchCopyPayloads(b *testing.B) {
	ring := openBenchRing(b)
	for _, bs := range []int{16, 64, 256} {
		b.Run("batch="+strconv.Itoa(bs), func(b *testing.B) {
			rd := ring.NewReader()
			descs := make([]Descriptor, bs)
			offs := make([]int, bs)
			dst := make([]byte, 1<<20)
			var sum uint64
			b.ReportAllocs()
			for i := 0; i < b.N; {
				n, _ := rd.TryNextBatch(descs[:min(bs, b.N-i)])
				if n == 0 {
					rd.SetSeqno(1)
					continue
				}
				for batch := descs[:n]; len(batch) > 0; {
					k, err := ring.CopyPayloads(dst, batch, offs)
					if err != nil {
						b.Fatal(err)
					}
					for j := range batch[:k] {
						if batch[j].PayloadSize >= 8 {
							sum += binary.LittleEndian.Uint64(dst[offs[j]:])
						}
					}
					batch = batch[k:]
				}
				i += n
			}
			sink = sum
		})
	}
}
