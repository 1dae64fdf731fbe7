package ethconv_test

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/ethereum/go-ethereum/core/types"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/ethconv"
)

// Convert an executed block to go-ethereum types and check it the way a
// light client would.
func ExampleConvert() {
	eb := synthBlock() // usually from a Builder or a Tracker's CommitUpdate
	b, err := ethconv.Convert(eb)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("block", b.Number(), "chain", b.ChainID, "shape", ethconv.BlockFork(eb))
	fmt.Println("header hashes to the recorded hash:", b.Header.Hash() == b.Hash)
	for i, tx := range b.Transactions {
		r := b.Receipts[i]
		from, _ := types.Sender(ethconv.Signer(tx), tx)
		fmt.Printf("txn %d: type %d, sender ok %v, status %d, gas %d, logs %d\n",
			i, tx.Type(), from == b.Senders[i], r.Status, r.GasUsed, len(r.Logs))
	}
	// Output:
	// block 1000 chain 20143 shape Prague
	// header hashes to the recorded hash: true
	// txn 0: type 0, sender ok true, status 0, gas 21000, logs 0
	// txn 1: type 0, sender ok true, status 1, gas 49900, logs 1
	// txn 2: type 1, sender ok true, status 0, gas 59800, logs 2
	// txn 3: type 2, sender ok true, status 1, gas 299700, logs 0
	// txn 4: type 3, sender ok true, status 0, gas 20600, logs 1
	// txn 5: type 4, sender ok true, status 1, gas 79500, logs 2
}

// Render the logs of a block as Monad's real-time subscriptions send them.
func ExampleBlock_MonadLogs() {
	b, err := ethconv.Convert(synthBlock())
	if err != nil {
		fmt.Println(err)
		return
	}
	logs := b.MonadLogs(blocks.CommitVoted)
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(logs[0])
	// Output:
	// {
	//   "blockId": "0xb10c000000000000000000000000000000000000000000000000000000000000",
	//   "commitState": "Voted",
	//   "address": "0x30f7bf69d92828441f5a6bfcf818df25deb2c4b4",
	//   "topics": [
	//     "0x0100000000000000000000000000000000000000000000000000000000000000",
	//     "0x0000000000000000000000000000000000000000000000000000000000000000"
	//   ],
	//   "data": "0x0100",
	//   "blockHash": "0xa336173e2c9448092704302574cb076a0d5d1245383004614ffe78c7bd4a8dc7",
	//   "blockNumber": "0x3e8",
	//   "blockTimestamp": "0x684ee180",
	//   "transactionHash": "0xb570fcdc5f33ba17ef869e979f404469a9c68d34a0aaabfc51948cca0db469cf",
	//   "transactionIndex": "0x1",
	//   "logIndex": "0x0",
	//   "removed": false
	// }
}

// Print a commit update as cmd/monad-events does, one JSON object per line.
func ExampleNewUpdateJSON() {
	u := blocks.Update{State: blocks.CommitProposed, Block: synthBlock()}
	obj, err := ethconv.NewUpdateJSON(u)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(obj.CommitState, obj.BlockNumber, len(obj.Block.Transactions), len(obj.Receipts), len(obj.Abandoned))
	fmt.Println(obj.Block.Size, obj.Block.Hash == obj.Receipts[0].BlockHash)
	// Output:
	// Proposed 1000 6 6 0
	// 0x30f true
}
