//go:build race

package jetstream_test

// raceEnabled: the race detector slows JSON and large copies about
// tenfold, so the tests publish fewer blocks under it.
const raceEnabled = true
