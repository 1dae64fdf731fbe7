package blocks_test

import (
	"context"
	"fmt"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// The examples read the project's synthetic demo snapshot
// (testdata/demo.snapshot.zst, described in testdata/README.md); a live ring
// file works the same way.
const demoPath = "../testdata/demo.snapshot.zst"

// Follow executed blocks through their commit states. An error ends the
// loop (ctx done, writer gone, ring closed); a dropped block or a gap is a
// notice, after which reading goes on.
func ExampleUpdates() {
	ring, err := execevents.Open(demoPath)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ring.Close()
	for u, err := range blocks.Updates(context.Background(), ring, blocks.BuilderOptions{}) {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		if u.Notice != nil {
			fmt.Println("notice:", u.Notice) // a dropped block or a gap; reading goes on
			continue
		}
		fmt.Printf("%-9s block %d round %d (%d txns)", u.State, u.Block.Number(), u.Block.Start.Round, len(u.Block.Txns))
		for _, a := range u.Abandoned {
			fmt.Printf(", abandoned round %d", a.Start.Round)
		}
		fmt.Println()
	}
	// Output:
	// Proposed  block 1000000 round 4200010 (4 txns)
	// Voted     block 1000000 round 4200010 (4 txns)
	// Proposed  block 1000001 round 4200011 (4 txns)
	// Voted     block 1000001 round 4200011 (4 txns)
	// Finalized block 1000000 round 4200010 (4 txns)
	// Proposed  block 1000002 round 4200012 (2 txns)
	// Proposed  block 1000002 round 4200013 (5 txns)
	// Voted     block 1000002 round 4200013 (5 txns)
	// Finalized block 1000001 round 4200011 (4 txns)
	// Proposed  block 1000003 round 4200014 (3 txns)
	// Voted     block 1000003 round 4200014 (3 txns)
	// Finalized block 1000002 round 4200013 (5 txns), abandoned round 4200012
	// Verified  block 1000000 round 4200010 (4 txns)
	// Verified  block 1000001 round 4200011 (4 txns)
	// Proposed  block 1000004 round 4200015 (0 txns)
	// Voted     block 1000004 round 4200015 (0 txns)
	// Finalized block 1000003 round 4200014 (3 txns)
	// Verified  block 1000002 round 4200013 (5 txns)
}

// Reassemble blocks with their call traces and print each transaction's
// receipt and logs.
func ExampleBuilder() {
	ring, err := execevents.Open(demoPath)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ring.Close()
	b := blocks.NewBuilder(blocks.BuilderOptions{CallFrames: true})
	for u, err := range b.Blocks(context.Background(), ring.NewReader()) {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		if u.Notice != nil {
			fmt.Println("notice:", u.Notice)
			continue
		}
		blk := u.Block
		if blk.Number() != 1_000_001 {
			continue
		}
		for _, tx := range blk.Txns {
			fmt.Printf("txn %d type %v: status %v, gas %d, %d logs, %d call frames, %d authorizations\n",
				tx.Index, tx.Header.TxnHeader.TxnType, tx.Receipt.Status, tx.Receipt.GasUsed,
				len(tx.Logs), len(tx.CallFrames), len(tx.AuthList))
		}
	}
	// Output:
	// txn 0 type EIP1559: status true, gas 51256, 1 logs, 1 call frames, 0 authorizations
	// txn 1 type EIP7702: status true, gas 85839, 1 logs, 2 call frames, 2 authorizations
	// txn 2 type EIP4844: status true, gas 21000, 0 logs, 1 call frames, 0 authorizations
	// txn 3 type EIP1559: status false, gas 24413, 0 logs, 1 call frames, 0 authorizations
}

// Decode events one by one: a typed view per event, no allocation.
func ExampleDecoder() {
	ring, err := execevents.Open(demoPath)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ring.Close()
	rd := ring.NewReader()
	var dec execevents.Decoder
	var d eventring.Descriptor
	for i := 0; i < 12 && rd.TryNext(&d) == eventring.Ready; i++ {
		ev, err := dec.View(&d, ring.Payload(&d))
		if err != nil {
			fmt.Println(err)
			continue
		}
		s := ev.Type().String()
		switch ev := ev.(type) {
		case *execevents.BlockQCEvent:
			s += fmt.Sprintf(" for block %d", ev.BlockTag.BlockNumber)
		case *execevents.BlockStartEvent:
			s += fmt.Sprintf(": block %d with %d txns", ev.EthBlockInput.Number, ev.EthBlockInput.TxnCount)
		case *execevents.AccountAccessListHeaderEvent:
			s += fmt.Sprintf(": %d accounts, %v", ev.EntryCount, ev.AccessContext)
		case *execevents.AccountAccessEvent:
			s += fmt.Sprintf(": %v", ev.Address)
		case *execevents.TxnHeaderStartEvent:
			txn, _ := ev.Flow.TxnIndex()
			s += fmt.Sprintf(": txn %d from %v, %d bytes of calldata", txn, ev.Sender, len(ev.Data))
		}
		// Views are only trustworthy if the payload was still intact after
		// reading them (a live writer may have overwritten it).
		if !ring.PayloadValid(&d) {
			s = "expired"
		}
		fmt.Println(ev.Meta().Seqno, s)
	}
	// Output:
	// 1 BLOCK_QC for block 999999
	// 2 BLOCK_START: block 1000000 with 4 txns
	// 3 BLOCK_PERF_EVM_ENTER
	// 4 ACCOUNT_ACCESS_LIST_HEADER: 1 accounts, BLOCK_PROLOGUE
	// 5 ACCOUNT_ACCESS: 0x0000f90827f1c53a10cb7a02335b175320002935
	// 6 STORAGE_ACCESS
	// 7 TXN_PERF_EVM_ENTER
	// 8 TXN_PERF_EVM_ENTER
	// 9 TXN_HEADER_START: txn 0 from 0xdc284faec92af23f07b908edcdf54de2a89771ec, 0 bytes of calldata
	// 10 TXN_HEADER_START: txn 1 from 0xdc284faec92af23f07b908edcdf54de2a89771ec, 134 bytes of calldata
	// 11 TXN_HEADER_END
	// 12 TXN_HEADER_END
}

// A consumer joining a live ring starts with the newest block start, so
// that its first block is complete.
func ExampleRewindToLatestBlockStart() {
	ring, err := execevents.Open(demoPath)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ring.Close()
	rd := ring.NewReader()
	if err := blocks.RewindToLatestBlockStart(rd); err != nil {
		fmt.Println(err)
		return
	}
	var d eventring.Descriptor
	rd.TryCopy(&d)
	n, err := blocks.BlockNumberOf(ring, &d)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("next event: seqno %d, %v of block %d\n", d.Seqno, execevents.EventType(d.EventType), n)
	// Output:
	// next event: seqno 274, BLOCK_START of block 1000004
}

// An indexer reads finalized blocks after its checkpoint (the last block it
// stored), each exactly once; after a restart it passes the new checkpoint
// and goes on where it stopped.
func ExampleFinalized() {
	ring, err := execevents.Open(demoPath)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ring.Close()
	checkpoint := uint64(1000001) // loaded from the indexer's database
	for u, err := range blocks.Finalized(context.Background(), ring.NewReader(), blocks.FinalizedOptions{After: checkpoint}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		if u.Notice != nil {
			fmt.Println("notice:", u.Notice) // e.g. *blocks.MissedError: blocks the ring no longer holds
			continue
		}
		fmt.Println("store block", u.Block.Number(), "with", len(u.Block.Txns), "transactions")
		checkpoint = u.Block.Number() // saved with the block, in one transaction
	}
	fmt.Println("checkpoint", checkpoint)
	// Output:
	// store block 1000002 with 5 transactions
	// store block 1000003 with 3 transactions
	// checkpoint 1000003
}
