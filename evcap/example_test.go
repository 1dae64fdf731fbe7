package evcap_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/monadgo/events/evcap"
	"github.com/monadgo/events/eventring"
)

// Write a capture of five events in two zstd-compressed bundles, then read
// it back: every event in order, then event 4 again through the seqno
// index.
func Example() {
	dir, err := os.MkdirTemp("", "evcap-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "events.evcap")

	schema := evcap.Schema{ContentType: eventring.ContentTypeTest, Hash: [32]byte{0x01}}
	w, err := evcap.Create(path, []evcap.Schema{schema}, evcap.WriterOptions{
		Compression:      evcap.CompressionZstdStreaming,
		IndexCompression: evcap.CompressionZstdStreaming,
	})
	if err != nil {
		log.Fatal(err)
	}
	for seqno := uint64(1); seqno <= 5; seqno++ {
		payload := fmt.Appendf(nil, "event %d", seqno)
		d := eventring.Descriptor{Seqno: seqno, EventType: 2, PayloadSize: uint32(len(payload))}
		if err := w.Write(&d, eventring.ContentTypeTest, payload); err != nil {
			log.Fatal(err)
		}
		if seqno == 3 {
			if err := w.EndBundle(); err != nil { // bundle 1: events 1..3
				log.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil { // bundle 2: events 4..5
		log.Fatal(err)
	}

	f, err := evcap.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := f.CheckSchema(schema.ContentType, schema.Hash); err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Layout(), "layout,", len(f.Bundles()), "bundles,", f.EventCount(), "events")
	for ev, err := range f.Events(context.Background()) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("seqno %d: %s\n", ev.Descriptor.Seqno, ev.Payload)
	}

	r := f.NewReader()
	if err := r.Seek(4); err != nil {
		log.Fatal(err)
	}
	var d eventring.Descriptor
	buf, err := r.ReadInto(&d, nil) // a copy of the payload, in buf
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("seek 4: seqno %d: %s\n", d.Seqno, buf)
	// Output:
	// release layout, 2 bundles, 5 events
	// seqno 1: event 1
	// seqno 2: event 2
	// seqno 3: event 3
	// seqno 4: event 4
	// seqno 5: event 5
	// seek 4: seqno 4: event 4
}
