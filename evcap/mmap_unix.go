//go:build unix

package evcap

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// mapFile maps the first size bytes of fh, or returns nil when it cannot
// (then everything is read with pread, as for NewFile).
func mapFile(fh *os.File, size int64) *mapping {
	if size <= 0 || int64(int(size)) != size {
		return nil
	}
	b, err := unix.Mmap(int(fh.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil
	}
	_ = unix.Madvise(b, unix.MADV_SEQUENTIAL)
	m := &mapping{b: b}
	runtime.AddCleanup(m, func(b []byte) { _ = unix.Munmap(b) }, b)
	return m
}
