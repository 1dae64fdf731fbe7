package exectest_test

import (
	"testing"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/internal/testdata"
)

const (
	snap30 = "exec-events/emn-30b-15m/snapshot.zst"
	snap1  = "emn-1b-15m.snapshot"
)

// memEvent is an event copied out of a ring: its descriptor and an owned
// copy of its payload.
type memEvent struct {
	d eventring.Descriptor
	p []byte
}

// loadSnapshot returns every event of a reference snapshot, from seqno 1 to
// the end, with payloads copied out (testdata.Events checks them).
func loadSnapshot(t testing.TB, rel string) []memEvent {
	t.Helper()
	all := testdata.Events(t, testdata.Shared(t, rel))
	evs := make([]memEvent, len(all))
	for i, e := range all {
		evs[i] = memEvent{e.Descriptor, e.Payload}
	}
	return evs
}

// Per-type event counts of emn-30b-15m from ../shared/testdata/README.md.
var snap30Counts = map[execevents.EventType]int{
	2: 30, 4: 30, 5: 30, 6: 30, 7: 30, 8: 30, 9: 29, 10: 6187, 11: 121, 13: 6187, 15: 6187,
	16: 6187, 17: 6187, 18: 8299, 19: 21077, 20: 6187, 21: 6247, 22: 25530, 23: 38286,
}
