//go:build amd64 && !race

package eventring

import "unsafe"

// readBatch copies the descriptors of up to n consecutive ready events
// after sequence number last from the ring's descriptor array descs
// (mask: capacity-1) to dst[0:n], each checked as TryNext checks one, and
// returns how many it copied. When k < n it stopped at event last+k+1:
// torn if that event was overwritten while it was being copied (a gap),
// else seq is the sequence number its slot held instead (not ready, or a
// gap: notReadyOrGap tells). n >= 1.
//
// The loops are in readbatch_amd64.s: 14-18 instructions per event where
// the compiler's was 31, and instructions are what a core shared with
// another busy thread pays for. They are called directly, not through a
// function value, whose wrapper would copy the arguments once more.
func readBatch(descs unsafe.Pointer, mask, last uint64, dst *Descriptor, n int) (k int, seq uint64, torn bool) {
	if useAVX2 {
		return readBatchAVX2(descs, mask, last, dst, n)
	}
	return readBatchSSE2(descs, mask, last, dst, n)
}

// readBatchSSE2 is readBatch with 16-byte SSE2 moves (any amd64 CPU).
//
//go:noescape
func readBatchSSE2(descs unsafe.Pointer, mask, last uint64, dst *Descriptor, n int) (k int, seq uint64, torn bool)

// readBatchAVX2 is readBatch with 32-byte AVX2 moves.
//
//go:noescape
func readBatchAVX2(descs unsafe.Pointer, mask, last uint64, dst *Descriptor, n int) (k int, seq uint64, torn bool)
