package evcap

import (
	"os"
	"syscall"
)

// openDirect opens path a second time, for O_DIRECT writes; nil when the
// file system refuses it (tmpfs before Linux 6.6, some FUSE file systems).
func openDirect(path string) *os.File {
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_DIRECT, 0)
	if err != nil {
		return nil
	}
	return f
}
