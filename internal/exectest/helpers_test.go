package exectest_test

import (
	"sync"
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

var snapCache sync.Map // path -> []memEvent

// loadSnapshot reads every event of a reference snapshot, from seqno 1 to
// the end, copying payloads out. It checks payload validity and that no
// event is missing.
func loadSnapshot(t testing.TB, rel string) []memEvent {
	t.Helper()
	path := testdata.Shared(t, rel)
	if v, ok := snapCache.Load(path); ok {
		return v.([]memEvent)
	}
	ring, err := execevents.Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	defer ring.Close()
	rd := ring.NewReader()
	rd.SetSeqno(1)
	var evs []memEvent
	var d eventring.Descriptor
	for {
		switch rd.TryNext(&d) {
		case eventring.Ready:
		case eventring.NotReady:
			snapCache.Store(path, evs)
			return evs
		default:
			t.Fatalf("%s: gap after seqno %d", path, rd.LastSeqno())
		}
		p := append([]byte(nil), ring.Payload(&d)...)
		if !ring.PayloadValid(&d) {
			t.Fatalf("%s: payload of seqno %d expired", path, d.Seqno)
		}
		if d.Seqno != uint64(len(evs))+1 {
			t.Fatalf("%s: seqno %d at position %d", path, d.Seqno, len(evs))
		}
		evs = append(evs, memEvent{d, p})
	}
}

// Per-type event counts of emn-30b-15m from ../shared/testdata/README.md.
var snap30Counts = map[execevents.EventType]int{
	2: 30, 4: 30, 5: 30, 6: 30, 7: 30, 8: 30, 9: 29, 10: 6187, 11: 121, 13: 6187, 15: 6187,
	16: 6187, 17: 6187, 18: 8299, 19: 21077, 20: 6187, 21: 6247, 22: 25530, 23: 38286,
}
