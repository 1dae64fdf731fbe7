//go:build amd64 && !race

package eventring

import "unsafe"

// readChunk bounds the events of one readBatchAsm call: the assembly loop
// cannot be preempted, and a huge batch must not hold up the GC.
const readChunk = 4096

// readBatch copies the descriptors of up to n consecutive ready events
// after sequence number last from the ring's descriptor array descs
// (mask: capacity-1) to dst[0:n], each checked as TryNext checks one, and
// returns how many it copied. When k < n it stopped at event last+k+1:
// torn if that event was overwritten while it was being copied (a gap),
// else seq is the sequence number its slot held instead (not ready, or a
// gap: notReadyOrGap tells).
//
// The loop is readBatchAsm, in readbatch_amd64.s: 17 instructions per
// event with AVX2 and 21 without, where the compiler's was 31; a core
// shared with another busy thread pays for instructions.
func readBatch(descs unsafe.Pointer, mask, last uint64, dst *Descriptor, n int) (k int, seq uint64, torn bool) {
	if n <= readChunk {
		return readBatchAsm(descs, mask, last, dst, n)
	}
	out := unsafe.Slice(dst, n)
	for k < n {
		c := min(n-k, readChunk)
		j, seq, torn := readBatchAsm(descs, mask, last+uint64(k), &out[k], c)
		if k += j; j < c {
			return k, seq, torn
		}
	}
	return n, 0, false
}

// readBatchAsm is readBatch's loop for at most readChunk events (n may be
// 0), with AVX2 moves where useAVX2 says the CPU has them.
//
//go:noescape
func readBatchAsm(descs unsafe.Pointer, mask, last uint64, dst *Descriptor, n int) (k int, seq uint64, torn bool)
