//go:build linux

package eventring

import (
	"os"
	"syscall"
	"testing"
)

// allocatedBytes is the disk space a file occupies (st_blocks × 512).
func allocatedBytes(t *testing.T, fi os.FileInfo) int64 {
	return fi.Sys().(*syscall.Stat_t).Blocks * 512
}
