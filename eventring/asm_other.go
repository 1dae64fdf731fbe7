//go:build !amd64 && !arm64

package eventring

import "sync/atomic"

// cpuPause is a no-op spin-loop hint on platforms without PAUSE.
func cpuPause() {}

// storeRelease stores v at *addr with (at least) release ordering.
func storeRelease(addr *uint64, v uint64) { atomic.StoreUint64(addr, v) }
