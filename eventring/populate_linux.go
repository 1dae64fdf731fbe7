//go:build linux && (amd64 || arm64)

package eventring

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// populateWrite maps every page of a writable ring mapping in advance, for
// writing (MADV_POPULATE_WRITE): the header section, the descriptor array
// and both mappings of the payload buffer. It allocates the pages of a
// sparse file. It is a hint: kernels before 5.14 refuse it and the pages
// are then faulted in on first use.
func (m *mapping) populateWrite(sizes Sizes) {
	n := uintptr(HeaderSectionSize + sizes.DescriptorCapacity*DescriptorSize + 2*sizes.PayloadBufSize)
	_ = unix.Madvise(unsafe.Slice((*byte)(m.base), n), unix.MADV_POPULATE_WRITE)
}
