//go:build race

package serve_test

// raceEnabled: the race detector slows the package's heaviest test (every
// block of the recording through seven subscriptions) several times over.
const raceEnabled = true
