//go:build !unix

package evcap

import "os"

// mapFile does not map files on this system: everything is read with
// pread, as for NewFile.
func mapFile(*os.File, int64) *mapping { return nil }
