//go:build !amd64 && !arm64

package eventring

// Platforms other than linux/amd64 and linux/arm64 cannot map rings
// (ErrUnsupported); the fences only keep the package compiling there.

// loadFence orders earlier loads before later ones (see fence_amd64.go).
func loadFence() {}

// storeFence orders earlier accesses before later stores.
func storeFence() {}
