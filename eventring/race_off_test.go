//go:build !race

package eventring

// raceEnabled: the race detector's instrumentation may allocate.
const raceEnabled = false
