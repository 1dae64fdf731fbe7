package blocks_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// TestPayloadExpiredSentinels: expiry is one condition with one error type
// and one sentinel. On a real ring whose payload buffer wrapped past a
// BLOCK_START (spec §4.3), the Builder, the Tracker and eventring's
// CopyPayload all report an *eventring.ExpiredError for the event that
// matches eventring.ErrPayloadExpired and nothing else.
func TestPayloadExpiredSentinels(t *testing.T) {
	var start memEvent
	for _, e := range loadSnapshot(t, snap1) {
		if e.d.EventType == uint16(execevents.EventTypeBlockStart) {
			start = e
			break
		}
	}
	path := filepath.Join(t.TempDir(), "exec-ring")
	rec, err := eventring.Create(path, eventring.Sizes{
		DescriptorCapacity: eventring.MinDescriptorCapacity,
		PayloadBufSize:     eventring.MinPayloadBufSize,
	}, execevents.RingContentType, execevents.SchemaHash)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	if _, err := rec.Record(start.d.EventType, [4]uint64{1}, start.p); err != nil {
		t.Fatal(err)
	}
	// More payload than the buffer holds, so the window slides past
	// BLOCK_START's payload.
	filler := make([]byte, 1<<20)
	for range eventring.MinPayloadBufSize>>20 + 16 {
		if _, err := rec.Record(uint16(execevents.EventTypeTxnCallFrame), [4]uint64{1, 1}, filler); err != nil {
			t.Fatal(err)
		}
	}
	ring, err := execevents.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	var d eventring.Descriptor
	if !ring.TryCopy(1, &d) || ring.PayloadValid(&d) {
		t.Fatal("test setup: BLOCK_START descriptor gone or its payload still valid")
	}

	_, builderErr := blocks.NewBuilder(blocks.BuilderOptions{}).Process(ring, &d)
	_, trackerErr := blocks.NewTracker(blocks.BuilderOptions{}).Process(ring, &d)
	_, ringErr := ring.CopyPayload(&d, nil)
	for _, c := range []struct {
		name string
		err  error
	}{{"Builder.Process", builderErr}, {"Tracker.Process", trackerErr}, {"Ring.CopyPayload", ringErr}} {
		if !errors.Is(c.err, eventring.ErrPayloadExpired) {
			t.Errorf("%s: errors.Is(%v, eventring.ErrPayloadExpired) false", c.name, c.err)
		}
		var pe *eventring.ExpiredError
		if !errors.As(c.err, &pe) || pe.Seqno != 1 || pe.EventType != uint16(execevents.EventTypeBlockStart) ||
			pe.Offset != d.PayloadBufOffset || pe.Size != d.PayloadSize {
			t.Errorf("%s: error %v, want *eventring.ExpiredError for BLOCK_START seqno 1 at offset %d, size %d",
				c.name, c.err, d.PayloadBufOffset, d.PayloadSize)
		}
		for _, other := range []error{blocks.ErrRejected, blocks.ErrImplicitDrop, blocks.ErrInconsistent,
			blocks.ErrEvicted, eventring.ErrBadDescriptor, eventring.ErrClosed} {
			if errors.Is(c.err, other) {
				t.Errorf("%s: %v also matches %v", c.name, c.err, other)
			}
		}
	}
}
