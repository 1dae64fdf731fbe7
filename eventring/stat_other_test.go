//go:build !linux

package eventring

import (
	"os"
	"testing"
)

// allocatedBytes is Linux-only; elsewhere the tests that need it skip
// (Create is unsupported there anyway).
func allocatedBytes(t *testing.T, fi os.FileInfo) int64 {
	t.Skip("allocated size of a file: Linux only")
	return 0
}
