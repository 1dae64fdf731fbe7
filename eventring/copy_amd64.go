//go:build amd64 && !race

package eventring

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// copyRun is the loop of batchCopy.run for payloads of at most 2 KiB, in
// copy_amd64.s. It handles descs[i] for i from 0 while i < n and the
// payload is small, possible and fits, exactly as batchCopy.step does, and
// returns how many it handled and the new o, minOff and maxEnd.
//
//go:noescape
func copyRun(base, payload unsafe.Pointer, maskP uint64, descs *Descriptor, offs *int, n int,
	o, dstLen, minOff, maxEnd uint64) (done int, oOut, minOut, maxOut uint64)

// copyRunAVX2 is copyRun with AVX2 moves, and a shorter path for the
// common payload of at most 256 bytes while dst has room for 256.
//
//go:noescape
func copyRunAVX2(base, payload unsafe.Pointer, maskP uint64, descs *Descriptor, offs *int, n int,
	o, dstLen, minOff, maxEnd uint64) (done int, oOut, minOut, maxOut uint64)

// runChunk bounds the events of one copyRun call (at most 2 KiB each).
const runChunk = 1024

// useAVX2 selects the AVX2 loops (copyRunAVX2, readBatchAsm's); tests
// clear it to run the others.
var useAVX2 = cpu.X86.HasAVX2

// run copies the payloads of descs[0], descs[1], ... into dst, recording
// their offsets in offs (as long as descs), until one is impossible or
// does not fit, and returns how many it copied. Most payloads are small:
// copyRun does their bookkeeping and copies them without a call per
// event (a call to memmove spills more registers than a small copy
// costs); step takes the others.
func (b *batchCopy) run(descs []Descriptor, offs []int) int {
	offs = offs[:len(descs)]
	for i := 0; i < len(descs); {
		// At most runChunk events per call: the assembly loop cannot be
		// preempted, and a huge batch must not hold up the GC.
		n := min(len(descs)-i, runChunk)
		// Direct calls, not a function value: a call through one goes
		// through a wrapper that copies the arguments once more.
		var k int
		var o, lo, hi uint64
		if useAVX2 {
			k, o, lo, hi = copyRunAVX2(b.base, b.payload, b.maskP, &descs[i], &offs[i], n, b.o, b.dstLen, b.minOff, b.maxEnd)
		} else {
			k, o, lo, hi = copyRun(b.base, b.payload, b.maskP, &descs[i], &offs[i], n, b.o, b.dstLen, b.minOff, b.maxEnd)
		}
		b.o, b.minOff, b.maxEnd = o, lo, hi
		if i += k; k == n {
			continue
		}
		// copyRun stopped at descs[i]: a large payload, or one that
		// cannot be copied.
		if !b.step(&descs[i], &offs[i]) {
			return i
		}
		i++
	}
	return len(descs)
}
