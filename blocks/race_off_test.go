//go:build !race

package blocks_test

// raceEnabled: the race detector slows readers down; live tests pace
// their writers to match.
const raceEnabled = false
