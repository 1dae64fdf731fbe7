package eventring_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/monadgo/events/eventring"
)

// Read a ring in batches: NextBatch fills a slice of descriptors, and
// CopyPayloads copies their payloads into one buffer with a single expiry
// check per batch. All storage is the caller's and reused: the loop does not
// allocate.
func ExampleRing_CopyPayloads() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	w, err := eventring.Create(filepath.Join(dir, "ring"), eventring.Sizes{
		DescriptorCapacity: eventring.MinDescriptorCapacity,
		PayloadBufSize:     eventring.MinPayloadBufSize,
	}, eventring.ContentTypeTest, [32]byte{})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	for i := range 5 {
		w.Record(2, [4]uint64{}, []byte(fmt.Sprintf("event %d", i)))
	}
	live, err := w.Ring()
	if err != nil {
		log.Fatal(err)
	}
	defer live.Close()
	snap := filepath.Join(dir, "ring.zst")
	f, err := os.Create(snap)
	if err != nil {
		log.Fatal(err)
	}
	if err := live.WriteSnapshot(f); err != nil {
		log.Fatal(err)
	}
	f.Close()
	ring, err := eventring.Open(snap) // a snapshot, read from seqno 1 to io.EOF
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()

	descs := make([]eventring.Descriptor, 2) // a few hundred in real use
	offs := make([]int, len(descs))
	buf := make([]byte, 64<<10)
	rd := ring.NewReader()
	for {
		n, err := rd.NextBatch(context.Background(), descs)
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err) // a *GapError on a live ring: Reset and go on
		}
		for batch := descs[:n]; len(batch) > 0; {
			k, err := ring.CopyPayloads(buf, batch, offs)
			var expired *eventring.BatchExpiredError
			if err != nil && !errors.As(err, &expired) {
				log.Fatal(err) // e.g. io.ErrShortBuffer: use CopyPayload for batch[0]
			}
			for i, d := range batch[:k] {
				if offs[i] < 0 {
					fmt.Println(d.Seqno, "expired")
					continue
				}
				fmt.Printf("%d %s\n", d.Seqno, buf[offs[i]:offs[i]+int(d.PayloadSize)])
			}
			batch = batch[k:]
		}
	}
	// Output:
	// 1 event 0
	// 2 event 1
	// 3 event 2
	// 4 event 3
	// 5 event 4
}

// Record events in batches: one reservation per batch gives the events
// consecutive sequence numbers and one timestamp, with the clock read, the
// fault guard and the header's atomic additions paid once per batch.
func ExampleRecorder_RecordBatch() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	w, err := eventring.Create(filepath.Join(dir, "ring"), eventring.Sizes{
		DescriptorCapacity: eventring.MinDescriptorCapacity,
		PayloadBufSize:     eventring.MinPayloadBufSize,
	}, eventring.ContentTypeTest, [32]byte{})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()

	batch := make([]eventring.BatchEvent, 0, 256) // reused: RecordBatch copies the payloads
	for i := range 3 {
		batch = append(batch, eventring.BatchEvent{
			EventType:  2,
			ContentExt: [4]uint64{uint64(i)},
			Payload:    fmt.Appendf(nil, "event %d", i),
		})
	}
	first, err := w.RecordBatch(batch) // at most w.BatchLimits() events and bytes
	if err != nil && !errors.Is(err, eventring.ErrPayloadTooLarge) {
		log.Fatal(err) // ErrBatchTooLarge: split the batch
	} // ErrPayloadTooLarge: an event too large for the ring was recorded as a RECORD_ERROR

	ring, err := w.Ring()
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()
	var d eventring.Descriptor
	for seqno := first; seqno < first+uint64(len(batch)); seqno++ {
		if ring.TryCopy(seqno, &d) {
			fmt.Printf("%d %s\n", d.Seqno, ring.Payload(&d))
		}
	}
	// Output:
	// 1 event 0
	// 2 event 1
	// 3 event 2
}
