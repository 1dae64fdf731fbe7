//go:build !race

package eventring

// raceEnabled: the race detector's instrumentation may allocate.
const raceEnabled = false

// raceEnabledInt is raceEnabled as a number, for constant expressions.
const raceEnabledInt = 0
