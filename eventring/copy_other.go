//go:build !amd64 || race

package eventring

import "unsafe"

// copyPayloadRun copies the payload of every descs[i] to base+offs[i]
// (checked by the caller: in bounds, not overlapping). The race detector
// uses it on amd64 too: it sees copy's writes, not copyRun's.
func copyPayloadRun(base, payload unsafe.Pointer, maskP uint64, descs []Descriptor, offs []int) {
	offs = offs[:len(descs)]
	for i := range descs {
		d := &descs[i]
		size := uintptr(d.PayloadSize)
		copy(unsafe.Slice((*byte)(unsafe.Add(base, offs[i])), size),
			unsafe.Slice((*byte)(unsafe.Add(payload, d.PayloadBufOffset&maskP)), size))
	}
}
