//go:build race

package evcap

// raceEnabled: the race detector's instrumentation may allocate.
const raceEnabled = true
