package eventring

// cpuPause executes the x86 PAUSE spin-loop hint, as the C reader does
// between polls.
func cpuPause()

// storeRelease stores v at *addr with release ordering: earlier loads and
// stores are not reordered after it. *addr must be 8-byte aligned.
//
//go:noescape
func storeRelease(addr *uint64, v uint64)
