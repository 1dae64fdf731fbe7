package ethconv_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/trie"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/ethconv"
	"github.com/monadgo/events/internal/testdata"
)

func requireFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not present: %v", path, err)
	}
}

// TestEthereumHashes recomputes Ethereum hashes over every block of every
// reference case, the one-block snapshot and the demo snapshot.
func TestEthereumHashes(t *testing.T) {
	t.Run("one-block", func(t *testing.T) {
		checkEthereumHashes(t, testdata.Shared(t, "emn-1b-15m.snapshot"))
	})
	t.Run("demo", func(t *testing.T) {
		checkEthereumHashes(t, testdata.Project(t, "demo.snapshot.zst"))
	})
	for _, dir := range testdata.ExecCases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			checkEthereumHashes(t, filepath.Join(dir, "snapshot.zst"))
		})
	}
}

// checkEthereumHashes replays the snapshot at path and checks every block
// it yields against go-ethereum's own hashing: transaction hashes and
// senders, the transactions and receipts roots, the logs bloom, the gas used
// and the block hash.
func checkEthereumHashes(t *testing.T, path string) {
	t.Helper()
	blks := replayBlocks(t, path)
	if len(blks) == 0 {
		t.Fatalf("%s: no executed blocks", path)
	}
	var ntx int
	for _, eb := range blks {
		ntx += checkBlock(t, eb)
	}
	t.Logf("%s: %d blocks, %d transactions verified", filepath.Base(path), len(blks), ntx)
}

// checkBlock converts one executed block and checks it against go-ethereum's
// own hashing. It returns the number of transactions checked.
func checkBlock(t *testing.T, eb *blocks.ExecutedBlock) int {
	t.Helper()
	b, err := ethconv.Convert(eb)
	if err != nil {
		t.Fatalf("block %d: %v", eb.Start.EthBlockInput.Number, err)
	}
	h := b.Header
	n := h.Number.Uint64()
	for i, tx := range b.Transactions {
		rec := &eb.Txns[i].Header
		if got, want := tx.Hash(), common.Hash(rec.TxnHash); got != want {
			t.Fatalf("block %d txn %d (type %d): hash %v, recorded %v", n, i, tx.Type(), got, want)
		}
		from, err := types.Sender(ethconv.Signer(tx), tx)
		if err != nil {
			t.Fatalf("block %d txn %d: recover: %v", n, i, err)
		}
		if want := common.Address(rec.Sender); from != want {
			t.Fatalf("block %d txn %d (type %d): sender %v, recorded %v", n, i, tx.Type(), from, want)
		}
		if b.Senders[i] != from {
			t.Fatalf("block %d txn %d: Senders[i] %v, recovered %v", n, i, b.Senders[i], from)
		}
	}
	if got := types.DeriveSha(b.Transactions, trie.NewStackTrie(nil)); got != h.TxHash {
		t.Fatalf("block %d: transactions root %v, header %v", n, got, h.TxHash)
	}
	if got := types.DeriveSha(b.Receipts, trie.NewStackTrie(nil)); got != h.ReceiptHash {
		t.Fatalf("block %d: receipts root %v, header %v", n, got, h.ReceiptHash)
	}
	var bloom types.Bloom
	for _, r := range b.Receipts {
		for i := range bloom {
			bloom[i] |= r.Bloom[i]
		}
	}
	if bloom != h.Bloom {
		t.Fatalf("block %d: OR of receipt blooms differs from the header's logs bloom", n)
	}
	if len(b.Receipts) > 0 {
		if got := b.Receipts[len(b.Receipts)-1].CumulativeGasUsed; got != h.GasUsed {
			t.Fatalf("block %d: cumulative gas %d, header gas used %d", n, got, h.GasUsed)
		}
	}
	if got := h.Hash(); got != b.Hash {
		t.Fatalf("block %d (chain %d, %v shape): header hash %v, recorded %v", n, b.ChainID, ethconv.BlockFork(eb), got, b.Hash)
	}
	if got := b.EthBlock().Hash(); got != b.Hash {
		t.Fatalf("block %d: types.Block hash %v, recorded %v", n, got, b.Hash)
	}
	return len(b.Transactions)
}

// TestReferenceOutput compares the produced commit updates and executed
// blocks with each case's expected.json.zst, field for field. The expected
// recording may run past its snapshot: the produced sequence must equal the
// expected prefix of its length and miss at most 8 trailing updates.
func TestReferenceOutput(t *testing.T) {
	for _, dir := range testdata.ExecCases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			expPath := filepath.Join(dir, "expected.json.zst")
			requireFile(t, expPath)
			want := loadExpected(t, expPath)
			ups := replayUpdates(t, filepath.Join(dir, "snapshot.zst"))
			converted := map[*blocks.ExecutedBlock]*ethconv.Block{}
			conv := func(eb *blocks.ExecutedBlock) *ethconv.Block {
				if b, ok := converted[eb]; ok {
					return b
				}
				b, err := ethconv.Convert(eb)
				if err != nil {
					t.Fatalf("block %d: %v", eb.Start.EthBlockInput.Number, err)
				}
				converted[eb] = b
				return b
			}
			if len(ups) > len(want) || len(ups) < len(want)-8 {
				t.Fatalf("%d updates produced, want %d (at least %d)", len(ups), len(want), len(want)-8)
			}
			for i, u := range ups {
				got := modelUpdate(t, u, conv)
				if !reflect.DeepEqual(want[i], got) {
					t.Fatalf("update %d differs: %s", i, firstDiff(want[i], got))
				}
			}
			t.Logf("%d of %d expected updates reproduced", len(ups), len(want))
		})
	}
}

// TestRPCRenderings compares the RPC renderings of a case's first block with
// the reference files 0.*.json, as parsed JSON.
func TestRPCRenderings(t *testing.T) {
	for _, dir := range testdata.ExecCases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			requireFile(t, filepath.Join(dir, "0.header.json"))
			blks := replayBlocks(t, filepath.Join(dir, "snapshot.zst"))
			if len(blks) == 0 {
				t.Fatal("no executed blocks")
			}
			b, err := ethconv.Convert(blks[0])
			if err != nil {
				t.Fatal(err)
			}
			logs := b.RPCLogs()
			if len(logs) == 0 || len(b.Transactions) == 0 {
				t.Fatal("first block has no transactions or logs")
			}

			rb := b.RPCBlock()
			checks := []struct {
				file string
				got  any
			}{
				{"0.header.json", b.RPCHeader()},
				{"0.tx.0.json", b.RPCTransactions()[0]},
				{"0.tx.0.json", rb.Transactions[0]},
				{"0.tx-receipt.0.json", b.RPCReceipts()[0]},
				{"0.log.0.json", logs[0]},
				{"0.monad-header.json", b.MonadHeader(blocks.CommitProposed)},
				{"0.monad-log.0.json", b.MonadLogs(blocks.CommitProposed)[0]},
			}
			for _, c := range checks {
				path := filepath.Join(dir, c.file)
				requireFile(t, path)
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				requireJSONEqual(t, want, c.got, c.file)
			}

			// The block is the header plus uncles and full transactions.
			var obj map[string]any
			if err := json.Unmarshal(mustJSON(t, rb), &obj); err != nil {
				t.Fatal(err)
			}
			if u, ok := obj["uncles"].([]any); !ok || len(u) != 0 {
				t.Fatalf("uncles = %v, want []", obj["uncles"])
			}
			if txs, ok := obj["transactions"].([]any); !ok || len(txs) != len(b.Transactions) {
				t.Fatalf("block has %d rendered transactions, want %d", len(txs), len(b.Transactions))
			}
			delete(obj, "uncles")
			delete(obj, "transactions")
			want, err := os.ReadFile(filepath.Join(dir, "0.header.json"))
			if err != nil {
				t.Fatal(err)
			}
			requireJSONEqual(t, want, obj, "eth_getBlockByNumber minus body")
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	enc, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// requireJSONEqual compares a reference JSON document with the JSON
// encoding of got, as parsed values (key order and spacing do not matter).
func requireJSONEqual(t *testing.T, want []byte, got any, what string) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := json.Unmarshal(mustJSON(t, got), &g); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if d := diffValues("", w, g); d != "" {
		t.Fatalf("%s: %s", what, d)
	}
}

// firstDiff describes the first difference between the JSON forms of two
// values of the comparison model.
func firstDiff(want, got any) string {
	var w, g any
	if err := json.Unmarshal(mustJSONAny(want), &w); err != nil {
		return err.Error()
	}
	if err := json.Unmarshal(mustJSONAny(got), &g); err != nil {
		return err.Error()
	}
	if d := diffValues("", w, g); d != "" {
		return d
	}
	return "values differ only in Go representation (nil versus empty)"
}

func mustJSONAny(v any) []byte {
	enc, err := json.Marshal(v)
	if err != nil {
		return []byte(fmt.Sprintf("%q", err.Error()))
	}
	return enc
}

// diffValues returns "" when two parsed JSON values are equal, else the
// path of the first difference with both values.
func diffValues(path string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: want object, got %v", path, got)
		}
		keys := make([]string, 0, len(w)+len(g))
		for k := range w {
			keys = append(keys, k)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			wv, wok := w[k]
			gv, gok := g[k]
			switch {
			case !wok:
				return fmt.Sprintf("%s.%s: unexpected field = %v", path, k, gv)
			case !gok:
				return fmt.Sprintf("%s.%s: missing field, want %v", path, k, wv)
			}
			if d := diffValues(path+"."+k, wv, gv); d != "" {
				return d
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Sprintf("%s: want array, got %v", path, got)
		}
		if len(w) != len(g) {
			return fmt.Sprintf("%s: want %d elements, got %d", path, len(w), len(g))
		}
		for i := range w {
			if d := diffValues(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); d != "" {
				return d
			}
		}
		return ""
	default:
		if !reflect.DeepEqual(want, got) {
			return fmt.Sprintf("%s: want %v, got %v", path, want, got)
		}
		return ""
	}
}
