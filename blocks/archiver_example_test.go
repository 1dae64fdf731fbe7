package blocks_test

import (
	"context"
	"fmt"
	"os"

	"github.com/monadgo/events/archive"
	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/execevents"
)

// Archive the finalized blocks of a ring (here the demo snapshot; a live
// ring works the same way and Run then follows it until its writer exits),
// then read one back as an executed block.
func ExampleArchiver() {
	ring, err := execevents.Open(demoPath)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ring.Close()
	root, err := os.MkdirTemp("", "archiver-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(root)
	dir, err := archive.Create(root, archive.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dir.Close()

	a, err := blocks.NewArchiver(dir, blocks.ArchiverOptions{
		OnBlock:  func(b blocks.ArchivedBlock) { fmt.Println("archived block", b.Number, "events", b.Events) },
		OnNotice: func(err error) { fmt.Println("notice:", err) }, // a gap, a dropped block, ...
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := a.Run(context.Background(), ring.NewReader()); err != nil {
		fmt.Println(err) // a live ring: its writer exited (eventring.ErrWriterGone), ctx, a write error
	}
	blk, err := blocks.ReadArchivedBlock(dir, 1000002, blocks.BuilderOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("block %d round %d: %d txns\n", blk.Number(), blk.Start.Round, len(blk.Txns))
	// Output:
	// archived block 1000000 events 56
	// archived block 1000001 events 60
	// archived block 1000002 events 71
	// archived block 1000003 events 43
	// block 1000002 round 4200013: 5 txns
}
