//go:build race

package eventring

// raceEnabled: the race detector's instrumentation may allocate.
const raceEnabled = true

// raceEnabledInt is raceEnabled as a number, for constant expressions.
const raceEnabledInt = 1
