package ethconv_test

import (
	"encoding/json"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/ethconv"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// TestSyntheticBlock checks every transaction type, including pre-EIP-155
// legacy, blob and set-code transactions, which the mainnet reference data
// lacks, against transactions signed and hashed by go-ethereum.
func TestSyntheticBlock(t *testing.T) {
	eb := synthBlock()
	if n := checkBlock(t, eb); n != 6 {
		t.Fatalf("checked %d transactions, want 6", n)
	}
	b, err := ethconv.Convert(eb)
	if err != nil {
		t.Fatal(err)
	}
	want := synthTxns()
	for i, tx := range b.Transactions {
		if tx.Type() != want[i].Type() || tx.Protected() != want[i].Protected() {
			t.Errorf("txn %d: type %d protected %v, want type %d protected %v", i, tx.Type(), tx.Protected(), want[i].Type(), want[i].Protected())
		}
	}
	if got := ethconv.BlockFork(eb); got != ethconv.ForkPrague {
		t.Errorf("Monad chain fork = %v, want Prague", got)
	}
	if h := b.Header; h.WithdrawalsHash == nil || *h.WithdrawalsHash != types.EmptyRootHash {
		t.Errorf("withdrawals root = %v, want the empty-trie root", h.WithdrawalsHash)
	}

	// Receipts: effective gas price (spec §11.3), contract address, blob gas.
	baseFee := big.NewInt(50e9)
	for i, r := range b.Receipts {
		tx := b.Transactions[i]
		var price *big.Int
		switch tx.Type() {
		case types.LegacyTxType, types.AccessListTxType:
			price = tx.GasPrice()
		default:
			price = new(big.Int).Add(baseFee, tx.GasTipCap())
			if price.Cmp(tx.GasFeeCap()) > 0 {
				price = tx.GasFeeCap()
			}
		}
		if r.EffectiveGasPrice.Cmp(price) != 0 {
			t.Errorf("txn %d: effective gas price %v, want %v", i, r.EffectiveGasPrice, price)
		}
		if r.TransactionIndex != uint(i) || r.BlockHash != b.Hash || r.BlockNumber.Uint64() != 1000 {
			t.Errorf("txn %d: inclusion fields %d %v %v", i, r.TransactionIndex, r.BlockHash, r.BlockNumber)
		}
	}
	sender := crypto.PubkeyToAddress(synthKey.PublicKey)
	if got, want := b.Receipts[3].ContractAddress, crypto.CreateAddress(sender, 3); got != want {
		t.Errorf("contract address %v, want %v", got, want)
	}
	if r := b.Receipts[4]; r.BlobGasUsed != 1<<17 || r.BlobGasPrice == nil || r.BlobGasPrice.Uint64() != 1 {
		t.Errorf("blob receipt gas %d price %v, want 131072 and 1", r.BlobGasUsed, r.BlobGasPrice)
	}

	// Log positions count across the block in transaction order.
	var idx uint
	for _, l := range b.Logs() {
		if l.Index != idx || l.BlockHash != b.Hash || l.BlockTimestamp != 1750000000 || l.TxHash != b.Transactions[l.TxIndex].Hash() {
			t.Errorf("log %d: %+v", idx, l)
		}
		idx++
	}
	if idx == 0 {
		t.Fatal("synthetic block has no logs")
	}
}

// TestSyntheticRPC checks the type-dependent parts of the RPC renderings.
func TestSyntheticRPC(t *testing.T) {
	b, err := ethconv.Convert(synthBlock())
	if err != nil {
		t.Fatal(err)
	}
	txs := b.RPCTransactions()
	fields := func(v any) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(mustJSON(t, v), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	cases := []struct {
		i       int
		present []string
		absent  []string
	}{
		{0, []string{"gasPrice", "v"}, []string{"chainId", "yParity", "accessList", "maxFeePerGas"}},
		{1, []string{"chainId", "gasPrice", "v"}, []string{"yParity", "accessList"}},
		{2, []string{"chainId", "gasPrice", "accessList", "yParity", "v"}, []string{"maxFeePerGas"}},
		{3, []string{"maxFeePerGas", "maxPriorityFeePerGas", "gasPrice"}, []string{"blobVersionedHashes"}},
		{4, []string{"maxFeePerBlobGas", "blobVersionedHashes"}, []string{"authorizationList"}},
		{5, []string{"authorizationList"}, []string{"maxFeePerBlobGas"}},
	}
	for _, c := range cases {
		m := fields(txs[c.i])
		for _, k := range c.present {
			if _, ok := m[k]; !ok {
				t.Errorf("txn %d: %q missing in %v", c.i, k, m)
			}
		}
		for _, k := range c.absent {
			if _, ok := m[k]; ok {
				t.Errorf("txn %d: unexpected %q", c.i, k)
			}
		}
	}
	if m := fields(txs[0]); m["v"] != "0x1b" && m["v"] != "0x1c" {
		t.Errorf("pre-EIP-155 v = %v, want 27 or 28", m["v"])
	}
	if m := fields(txs[3]); m["to"] != nil {
		t.Errorf("creation to = %v, want null", m["to"])
	}
	if m := fields(txs[3]); m["gasPrice"] != "0xc1b710800" { // 50 gwei base + 2 gwei tip
		t.Errorf("dynamic fee gasPrice = %v, want the effective price 0xc1b710800", m["gasPrice"])
	}
	rs := b.RPCReceipts()
	if m := fields(rs[3]); m["contractAddress"] == nil || m["to"] != nil {
		t.Errorf("creation receipt contractAddress %v to %v", m["contractAddress"], m["to"])
	}
	if m := fields(rs[0]); m["contractAddress"] != nil {
		t.Errorf("call receipt contractAddress = %v, want null", m["contractAddress"])
	}
	h := fields(b.RPCHeader())
	if h["withdrawalsRoot"] != types.EmptyRootHash.Hex() {
		t.Errorf("withdrawalsRoot = %v", h["withdrawalsRoot"])
	}
	if m := fields(b.RPCBlock()); m["withdrawals"] == nil {
		t.Error("a block with a withdrawals root renders no withdrawals list")
	}
	if got, want := h["hash"], b.Hash.Hex(); got != want {
		t.Errorf("hash = %v, want %v", got, want)
	}
}

// TestUpdateJSON checks the per-update object of cmd/monad-events.
func TestUpdateJSON(t *testing.T) {
	eb := synthBlock()
	other := synthBlock()
	other.Start.BlockTag.ID = execevents.Bytes32{0xde, 0xad}
	u, err := ethconv.NewUpdateJSON(blocks.Update{
		State: blocks.CommitFinalized, Block: eb, Abandoned: []*blocks.ExecutedBlock{other},
	})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(mustJSON(t, u), &m); err != nil {
		t.Fatal(err)
	}
	if m["commitState"] != "Finalized" || m["blockId"] != common.Hash(eb.Start.BlockTag.ID).Hex() || m["blockNumber"] != float64(1000) {
		t.Errorf("identity fields: %v %v %v", m["commitState"], m["blockId"], m["blockNumber"])
	}
	ab, _ := m["abandoned"].([]any)
	if len(ab) != 1 || ab[0] != common.Hash(other.Start.BlockTag.ID).Hex() {
		t.Errorf("abandoned = %v", m["abandoned"])
	}
	if rs, _ := m["receipts"].([]any); len(rs) != 6 {
		t.Errorf("%d receipts, want 6", len(rs))
	}
	blk, _ := m["block"].(map[string]any)
	if blk["hash"] != common.Hash(eb.End.EthBlockHash).Hex() {
		t.Errorf("block hash = %v", blk["hash"])
	}

	u, err = ethconv.NewUpdateJSON(blocks.Update{State: blocks.CommitVoted, Block: eb})
	if err != nil {
		t.Fatal(err)
	}
	if enc := string(mustJSON(t, u)); !json.Valid([]byte(enc)) || u.Abandoned == nil {
		t.Error("abandoned must render as [] when empty")
	}

	gap := &eventring.GapError{Expected: 5, Oldest: 9}
	if _, err := ethconv.NewUpdateJSON(blocks.Update{Notice: gap}); !errors.Is(err, ethconv.ErrNilBlock) {
		t.Errorf("notice: error %v, want ErrNilBlock", err)
	}
}

func TestErrors(t *testing.T) {
	if _, err := ethconv.Convert(nil); !errors.Is(err, ethconv.ErrNilBlock) {
		t.Errorf("nil block: %v", err)
	}

	eb := synthBlock()
	eb.Txns[2].Header.TxnHeader.TxnType = 9
	_, err := ethconv.Convert(eb)
	var te *ethconv.TxnError
	if !errors.As(err, &te) || te.Index != 2 || te.Type != 9 || !errors.Is(err, ethconv.ErrTxnType) {
		t.Errorf("unknown type: %v", err)
	}

	eb = synthBlock()
	eb.Txns[4].Header.TxnHeader.IsContractCreation = true
	if _, err := ethconv.Convert(eb); !errors.As(err, &te) || te.Index != 4 || !errors.Is(err, ethconv.ErrNoRecipient) {
		t.Errorf("blob creation: %v", err)
	}
	eb = synthBlock()
	eb.Txns[5].Header.TxnHeader.IsContractCreation = true
	if _, err := ethconv.Convert(eb); !errors.Is(err, ethconv.ErrNoRecipient) {
		t.Errorf("set-code creation: %v", err)
	}

	eb = synthBlock()
	eb.Start.EthBlockInput.ExtraDataLength = 33
	if _, err := ethconv.Convert(eb); !errors.Is(err, ethconv.ErrExtraDataLength) {
		t.Errorf("extra data: %v", err)
	}

	eb = synthBlock()
	eb.Txns = eb.Txns[:5]
	if _, err := ethconv.Convert(eb); !errors.Is(err, ethconv.ErrTxnCount) {
		t.Errorf("missing transaction: %v", err)
	}

	eb = synthBlock()
	eb.Txns[1].Index = 7
	if _, err := ethconv.Convert(eb); !errors.Is(err, ethconv.ErrTxnIndex) {
		t.Errorf("wrong index: %v", err)
	}

	eb = synthBlock()
	if _, err := ethconv.NewReceipts(eb, types.Transactions{}); !errors.Is(err, ethconv.ErrTxnCount) {
		t.Errorf("receipts for too few transactions: %v", err)
	}
	if _, err := ethconv.NewReceipts(eb, make(types.Transactions, len(eb.Txns))); !errors.Is(err, ethconv.ErrNilTxn) {
		t.Errorf("receipts for nil transactions: %v", err)
	}
	if _, err := ethconv.NewTransaction(nil); !errors.Is(err, ethconv.ErrNilTxn) {
		t.Errorf("nil transaction: %v", err)
	}
	if rs, err := ethconv.NewReceipts(eb, nil); err != nil || len(rs) != len(eb.Txns) {
		t.Errorf("NewReceipts(b, nil) = %d receipts, %v", len(rs), err)
	}
}

// TestChainFork checks the header shapes against go-ethereum's mainnet
// schedule: London at 12 965 000, Shanghai, Cancun and Prague by timestamp.
func TestChainFork(t *testing.T) {
	for _, c := range []struct {
		chain, number, time uint64
		want                ethconv.Fork
	}{
		{1, 1, 1438269988, ethconv.ForkFrontier},
		{1, 12964999, 1628166812, ethconv.ForkFrontier},
		{1, 12965000, 1628166822, ethconv.ForkLondon},
		{1, 15000001, 1655778552, ethconv.ForkLondon},
		{1, 17034870, 1681338455, ethconv.ForkShanghai},
		{1, 19426587, 1710338135, ethconv.ForkCancun},
		{1, 22431084, 1746612311, ethconv.ForkPrague},
		{20143, 1, 1, ethconv.ForkPrague},
		{10143, 1, 1, ethconv.ForkPrague},
	} {
		if got := ethconv.ChainFork(c.chain, c.number, c.time); got != c.want {
			t.Errorf("ChainFork(%d, %d, %d) = %v, want %v", c.chain, c.number, c.time, got, c.want)
		}
	}
}
