package evcap

import (
	"os"
	"strconv"
	"syscall"
)

// openDirect opens f's file a second time, for O_DIRECT writes, through
// /proc/self/fd (the very file, even if its path changed meanwhile); nil
// when that fails, mostly because the file system refuses O_DIRECT
// (tmpfs before Linux 6.6, some FUSE file systems).
func openDirect(f *os.File) *os.File {
	d, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(f.Fd())), os.O_WRONLY|syscall.O_DIRECT, 0)
	if err != nil {
		return nil
	}
	return d
}
