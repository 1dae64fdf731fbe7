//go:build !amd64 || race

package eventring

import (
	"sync/atomic"
	"unsafe"
)

// readBatch copies the descriptors of up to n consecutive ready events
// after sequence number last from the ring's descriptor array descs
// (mask: capacity-1) to dst[0:n], each checked as TryNext checks one, and
// returns how many it copied. When k < n it stopped at event last+k+1:
// torn if that event was overwritten while it was being copied (a gap),
// else seq is the sequence number its slot held instead (not ready, or a
// gap: notReadyOrGap tells). The race detector uses this version on amd64
// too: it sees these writes to dst, not the assembly's.
func readBatch(descs unsafe.Pointer, mask, last uint64, dst *Descriptor, n int) (k int, seq uint64, torn bool) {
	out := unsafe.Slice(dst, n)
	for i := range out {
		want := last + 1
		s := (*Descriptor)(unsafe.Add(descs, (last&mask)*DescriptorSize))
		seq := atomic.LoadUint64(&s.Seqno)
		if seq != want {
			return i, seq, false
		}
		d := &out[i]
		*d = *s
		loadFence() // the copy's loads complete before the re-check (a no-op on amd64)
		// An unchanged seqno proves the copy is not torn.
		if d.Seqno = atomic.LoadUint64(&s.Seqno); d.Seqno != seq {
			return i, 0, true
		}
		last = want
	}
	return n, 0, false
}
