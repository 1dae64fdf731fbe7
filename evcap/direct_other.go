//go:build !linux

package evcap

import "os"

// openDirect returns nil: O_DIRECT writes are a Linux feature here.
func openDirect(*os.File) *os.File { return nil }
