//go:build amd64 && !race

package eventring

import "unsafe"

// copyRun is implemented in copy_amd64.s.
//
//go:noescape
func copyRun(base, payload unsafe.Pointer, maskP uint64, descs *Descriptor, offs *int, i, n int) int

// copyPayloadRun copies the payload of every descs[i] to base+offs[i]
// (checked by the caller: in bounds, not overlapping). The small payloads
// that make up most events are copied by copyRun without a call per
// event; the rare large ones by memmove.
func copyPayloadRun(base, payload unsafe.Pointer, maskP uint64, descs []Descriptor, offs []int) {
	if len(descs) == 0 {
		return
	}
	offs = offs[:len(descs)]
	for i := 0; ; i++ {
		i = copyRun(base, payload, maskP, &descs[0], &offs[0], i, len(descs))
		if i >= len(descs) {
			return
		}
		d := &descs[i]
		size := uintptr(d.PayloadSize)
		copy(unsafe.Slice((*byte)(unsafe.Add(base, offs[i])), size),
			unsafe.Slice((*byte)(unsafe.Add(payload, d.PayloadBufOffset&maskP)), size))
	}
}
