package archive_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/monadgo/events/archive"
	"github.com/monadgo/events/evcap"
	"github.com/monadgo/events/eventring"
)

// Write two blocks into a new archive, list it, find the gap between them
// and read one back.
func ExampleDir() {
	root, err := os.MkdirTemp("", "archive-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)

	dir, err := archive.Create(root, archive.Options{}) // EXEC events, zstd like blockcapd
	if err != nil {
		log.Fatal(err)
	}
	defer dir.Close()
	schema := evcap.Schema{ContentType: eventring.ContentTypeExec, Hash: [32]byte{0x89, 0x33}} // the caller's schema hash
	for _, n := range []uint64{15000001, 15000004} {
		events := []evcap.Event{ // normally a block's BLOCK_START .. BLOCK_END, copied from a ring
			{Descriptor: eventring.Descriptor{Seqno: n * 10, EventType: 1, PayloadSize: 3}, Payload: []byte("abc")},
			{Descriptor: eventring.Descriptor{Seqno: n*10 + 1, EventType: 2}},
		}
		if err := dir.WriteBlock(n, schema, events); err != nil {
			log.Fatal(err)
		}
	}
	err = dir.WriteBlock(15000001, schema, []evcap.Event{{Descriptor: eventring.Descriptor{Seqno: 1}}})
	fmt.Println("again:", errors.Is(err, archive.ErrExists))

	blocks, _ := dir.Blocks()
	missing, _ := dir.Missing(blocks[0], blocks[len(blocks)-1])
	fmt.Println("blocks:", blocks, "missing:", missing)

	f, err := dir.OpenBlock(15000004) // checked: one bundle, numbered 15000004
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	for ev, err := range f.Events(context.Background()) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ev.Descriptor.Seqno, ev.Descriptor.EventType, string(ev.Payload))
	}
	// Output:
	// again: true
	// blocks: [15000001 15000004] missing: [15000002-15000003]
	// 150000040 1 abc
	// 150000041 2
}
