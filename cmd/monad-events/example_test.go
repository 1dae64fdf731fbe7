package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/ethconv"
	"github.com/monadgo/events/execevents"
)

// Example_readme is the library example of the README, kept compiling and
// running here: follow the demo snapshot's blocks through their commit
// states and rebuild each executed block with go-ethereum.
func Example_readme() {
	if err := os.Chdir("../.."); err != nil { // the module root, where the README runs it
		log.Fatal(err)
	}
	defer os.Chdir("cmd/monad-events")

	ring, err := execevents.Open("testdata/demo.snapshot.zst") // or a live ring: /dev/hugepages/event-rings/monad-exec-events
	if err != nil {
		log.Fatal(err) // e.g. the ring's schema hash does not match these bindings
	}
	defer ring.Close()

	for u, err := range blocks.Updates(context.Background(), ring, blocks.BuilderOptions{}) {
		if err != nil {
			log.Fatal(err) // the live ring's writer exited, or the context was cancelled
		}
		if u.Notice != nil {
			log.Print(u.Notice) // a dropped block or a reader gap: reading goes on
			continue
		}
		fmt.Println(u.State, u.Block.Number(), len(u.Block.Txns))
		if u.State == blocks.CommitProposed {
			b, err := ethconv.Convert(u.Block) // go-ethereum header, transactions, receipts
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println(b.Header.Hash() == b.Hash)
		}
	}
	// Output:
	// Proposed 1000000 4
	// true
	// Voted 1000000 4
	// Proposed 1000001 4
	// true
	// Voted 1000001 4
	// Finalized 1000000 4
	// Proposed 1000002 2
	// true
	// Proposed 1000002 5
	// true
	// Voted 1000002 5
	// Finalized 1000001 4
	// Proposed 1000003 3
	// true
	// Voted 1000003 3
	// Finalized 1000002 5
	// Verified 1000000 4
	// Verified 1000001 4
	// Proposed 1000004 0
	// true
	// Voted 1000004 0
	// Finalized 1000003 3
	// Verified 1000002 5
}
