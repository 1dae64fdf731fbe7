package eventring

import "sync/atomic"

// cpuPause executes the arm64 YIELD spin-loop hint (the counterpart of the
// x86 PAUSE the C reader issues between polls).
func cpuPause()

// loadFence is DMB ISHLD: the loads before it complete before the loads
// after it. arm64 may otherwise perform a plain load (a descriptor or
// payload copy) after the load-acquire that re-checks it, and the seqlock
// re-check of spec §3.2 and the window re-check of §4.4 would then prove
// nothing.
func loadFence()

// storeFence is DMB ISH: every access before it (the reservation's atomic
// updates and the zeroed seqno, spec §5.2) is observed before the stores
// after it (the descriptor fields and the payload). A store-release orders
// only what precedes it, so without the barrier a reader could see a
// slot's new fields under its old seqno.
func storeFence()

// storeRelease stores v at *addr with release ordering. On arm64
// sync/atomic's store is already a plain STLR, release and cheap.
func storeRelease(addr *uint64, v uint64) { atomic.StoreUint64(addr, v) }
