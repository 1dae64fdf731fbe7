package testdata

import (
	"sync"
	"testing"

	"github.com/monadgo/events/eventring"
)

// Event is one event of a recording: its descriptor and an owned copy of
// its payload.
type Event struct {
	Descriptor eventring.Descriptor
	Payload    []byte
}

var eventCache sync.Map // path -> []Event

// Events returns every event of the ring or snapshot at path, from seqno 1
// to the end, with its payload copied out by eventring's check-copy-check
// (Ring.CopyPayload). It fails tb on a gap, an expired payload or a seqno
// out of place: a recording the tests rely on must be whole. The result is
// cached per path and shared between callers, who must not modify it.
func Events(tb testing.TB, path string) []Event {
	tb.Helper()
	if v, ok := eventCache.Load(path); ok {
		return v.([]Event)
	}
	ring, err := eventring.Open(path)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	defer ring.Close()
	rd := ring.NewReader()
	rd.SetSeqno(1)
	var evs []Event
	var d eventring.Descriptor
	for {
		switch rd.TryNext(&d) {
		case eventring.Ready:
		case eventring.NotReady:
			eventCache.Store(path, evs)
			return evs
		default:
			tb.Fatalf("%s: gap after seqno %d", path, rd.LastSeqno())
		}
		p, err := ring.CopyPayload(&d, nil)
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		if d.Seqno != uint64(len(evs))+1 {
			tb.Fatalf("%s: seqno %d at position %d", path, d.Seqno, len(evs))
		}
		evs = append(evs, Event{d, p})
	}
}
