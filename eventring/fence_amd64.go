package eventring

// loadFence orders the loads before it ahead of the loads after it. x86-64
// (TSO) never reorders loads with loads, and the Go compiler does not move
// plain loads across the atomic load that follows every call, so it is
// empty (and inlined away).
func loadFence() {}

// storeFence orders every memory access before it ahead of the stores
// after it. x86-64 (TSO) never reorders stores with older accesses, so it
// is empty.
func storeFence() {}
