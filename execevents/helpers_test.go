package execevents_test

import (
	"sync"
	"testing"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/internal/testdata"
)

const snap30 = "exec-events/emn-30b-15m/snapshot.zst"

// memEvent is an event copied out of a ring: its descriptor and an owned
// copy of its payload.
type memEvent struct {
	d eventring.Descriptor
	p []byte
}

var snapCache sync.Map // path -> []memEvent

// snapshots are the recordings the snapshot tests read: the project's demo
// and, when ../shared/testdata is there, the 30-block reference.
var snapshots = map[string]func(testing.TB) string{
	"demo":    func(tb testing.TB) string { return testdata.Project(tb, "demo.snapshot.zst") },
	"emn-30b": func(tb testing.TB) string { return testdata.Shared(tb, snap30) },
}

// loadSnapshot reads every event of a snapshot, from seqno 1 to the end,
// copying payloads out. It checks payload validity and that no event is
// missing.
func loadSnapshot(t testing.TB, path string) []memEvent {
	t.Helper()
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
