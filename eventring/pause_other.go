//go:build !amd64

package eventring

// cpuPause is a no-op spin-loop hint on platforms without PAUSE.
func cpuPause() {}
