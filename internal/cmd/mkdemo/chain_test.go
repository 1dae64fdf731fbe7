package main

import (
	"bytes"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/holiman/uint256"
)

// txFromFields rebuilds a signed transaction from the recorded fields the way
// a consumer does (spec §11.2).
func txFromFields(t *testing.T, f txnHeaderFields) *types.Transaction {
	t.Helper()
	var to *common.Address
	if !f.IsCreation {
		a := f.To
		to = &a
	}
	parity := uint64(0)
	if f.YParity {
		parity = 1
	}
	r, s := f.R.ToBig(), f.S.ToBig()
	var inner types.TxData
	switch f.Type {
	case types.LegacyTxType:
		v := new(big.Int).SetUint64(27 + parity)
		if !f.ChainID.IsZero() {
			v.SetUint64(35 + 2*f.ChainID.Uint64() + parity)
		}
		inner = &types.LegacyTx{Nonce: f.Nonce, GasPrice: f.MaxFee.ToBig(), Gas: f.GasLimit, To: to, Value: f.Value.ToBig(),
			Data: f.Data, V: v, R: r, S: s}
	case types.AccessListTxType:
		inner = &types.AccessListTx{ChainID: f.ChainID.ToBig(), Nonce: f.Nonce, GasPrice: f.MaxFee.ToBig(), Gas: f.GasLimit,
			To: to, Value: f.Value.ToBig(), Data: f.Data, AccessList: f.AccessList, V: new(big.Int).SetUint64(parity), R: r, S: s}
	case types.DynamicFeeTxType:
		inner = &types.DynamicFeeTx{ChainID: f.ChainID.ToBig(), Nonce: f.Nonce, GasTipCap: f.MaxPriorityFee.ToBig(),
			GasFeeCap: f.MaxFee.ToBig(), Gas: f.GasLimit, To: to, Value: f.Value.ToBig(), Data: f.Data,
			AccessList: f.AccessList, V: new(big.Int).SetUint64(parity), R: r, S: s}
	case types.BlobTxType:
		inner = &types.BlobTx{ChainID: &f.ChainID, Nonce: f.Nonce, GasTipCap: &f.MaxPriorityFee, GasFeeCap: &f.MaxFee,
			Gas: f.GasLimit, To: f.To, Value: &f.Value, Data: f.Data, AccessList: f.AccessList, BlobFeeCap: &f.MaxBlobFee,
			BlobHashes: f.BlobHashes, V: uint256.NewInt(parity), R: &f.R, S: &f.S}
	case types.SetCodeTxType:
		inner = &types.SetCodeTx{ChainID: &f.ChainID, Nonce: f.Nonce, GasTipCap: &f.MaxPriorityFee, GasFeeCap: &f.MaxFee,
			Gas: f.GasLimit, To: f.To, Value: &f.Value, Data: f.Data, AccessList: f.AccessList, AuthList: f.Authorizations,
			V: uint256.NewInt(parity), R: &f.R, S: &f.S}
	default:
		t.Fatalf("unexpected transaction type %d", f.Type)
	}
	return types.NewTx(inner)
}

// headerFromFields rebuilds the Prague-shaped Monad header (spec §11.1).
func headerFromFields(f blockFields) *types.Header {
	zero, zeroHash := uint64(0), common.Hash{}
	h := &types.Header{
		ParentHash: f.ParentHash, UncleHash: f.OmmersHash, Coinbase: f.Beneficiary, Root: f.StateRoot,
		TxHash: f.TransactionsRoot, ReceiptHash: f.ReceiptsRoot, Bloom: f.LogsBloom,
		Difficulty: new(big.Int).SetUint64(f.Difficulty), Number: new(big.Int).SetUint64(f.Number),
		GasLimit: f.GasLimit, GasUsed: f.GasUsed, Time: f.Timestamp, Extra: f.ExtraData, MixDigest: f.PrevRandao,
		Nonce: f.Nonce, BaseFee: f.BaseFee.ToBig(),
		BlobGasUsed: &zero, ExcessBlobGas: &zero, ParentBeaconRoot: &zeroHash, RequestsHash: &zeroHash,
	}
	w := types.EmptyRootHash // Monad: the empty-trie root when there are no withdrawals
	if f.WithdrawalsRoot != (common.Hash{}) {
		w = f.WithdrawalsRoot
	}
	h.WithdrawalsHash = &w
	return h
}

// TestEthereumFacts checks, with go-ethereum, every Ethereum fact the
// snapshot claims, starting from the fields the recorder stores.
func TestEthereumFacts(t *testing.T) {
	d := buildDemo()
	chainID := big.NewInt(demoChainID)
	byType := map[uint8]int{}
	var preEIP155, withKeys, withBlobHashes, withAuths, created, failed int
	for _, p := range d.Proposals {
		bf := blockFieldsOf(p)
		if got := headerFromFields(bf).Hash(); got != bf.EthBlockHash {
			t.Errorf("block %d round %d: rebuilt header hash %s, recorded %s", bf.Number, p.Round, got, bf.EthBlockHash)
		}
		if len(bf.ExtraData) > 32 {
			t.Errorf("block %d: extra data %d bytes > 32", bf.Number, len(bf.ExtraData))
		}
		var txs types.Transactions
		var receipts types.Receipts
		var cum uint64
		for i, tn := range p.Txns {
			f := txnFields(tn)
			byType[f.Type]++
			tx := txFromFields(t, f)
			if tx.Hash() != f.TxnHash {
				t.Errorf("block %d txn %d: rebuilt hash %s, recorded %s", bf.Number, i, tx.Hash(), f.TxnHash)
			}
			// An independent encode/decode round trip must give the same hash.
			bin, err := tx.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var back types.Transaction
			if err := back.UnmarshalBinary(bin); err != nil || back.Hash() != crypto.Keccak256Hash(bin) || back.Hash() != f.TxnHash {
				t.Errorf("block %d txn %d: round trip hash %s (err %v), want %s", bf.Number, i, back.Hash(), err, f.TxnHash)
			}
			signer := types.LatestSignerForChainID(chainID)
			if f.Type == types.LegacyTxType && f.ChainID.IsZero() {
				preEIP155++
				if v, _, _ := tx.RawSignatureValues(); v.Uint64() != 27 && v.Uint64() != 28 {
					t.Errorf("pre-EIP-155 txn has v=%d", v)
				}
				signer = types.HomesteadSigner{}
			}
			if from, err := types.Sender(signer, tx); err != nil || from != f.Sender {
				t.Errorf("block %d txn %d: signature recovers to %s (err %v), recorded sender %s", bf.Number, i, from, err, f.Sender)
			}
			if len(f.Authorizations) != len(f.Authorities) {
				t.Fatalf("block %d txn %d: %d authorizations, %d authorities", bf.Number, i, len(f.Authorizations), len(f.Authorities))
			}
			for j, a := range f.Authorizations {
				got, err := a.Authority()
				if (err == nil) != f.Authorities[j].Valid || got != f.Authorities[j].Address {
					t.Errorf("block %d txn %d auth %d: recovers to %s (err %v), recorded %+v", bf.Number, i, j, got, err, f.Authorities[j])
				}
				withAuths++
			}
			for _, e := range f.AccessList {
				withKeys += len(e.StorageKeys)
			}
			withBlobHashes += len(f.BlobHashes)
			if f.IsCreation {
				created++
				if f.To != (common.Address{}) {
					t.Errorf("creation with non-zero to %s", f.To)
				}
			}
			if !f.Status {
				failed++
			}
			txs = append(txs, tx)
			cum += f.GasUsed
			status := types.ReceiptStatusFailed
			if f.Status {
				status = types.ReceiptStatusSuccessful
			}
			var logs []*types.Log
			for _, l := range f.Logs {
				if len(l.Topics) > 4 {
					t.Errorf("log with %d topics", len(l.Topics))
				}
				logs = append(logs, &types.Log{Address: l.Address, Topics: l.Topics, Data: l.Data})
			}
			r := &types.Receipt{Type: f.Type, Status: status, CumulativeGasUsed: cum, Logs: logs}
			r.Bloom = types.CreateBloom(r)
			receipts = append(receipts, r)
		}
		if got := types.DeriveSha(txs, trie.NewStackTrie(nil)); got != bf.TransactionsRoot {
			t.Errorf("block %d: transactions root %s, recorded %s", bf.Number, got, bf.TransactionsRoot)
		}
		if got := types.DeriveSha(receipts, trie.NewStackTrie(nil)); got != bf.ReceiptsRoot {
			t.Errorf("block %d: receipts root %s, recorded %s", bf.Number, got, bf.ReceiptsRoot)
		}
		if got := types.MergeBloom(receipts); got != bf.LogsBloom {
			t.Errorf("block %d: logs bloom differs", bf.Number)
		}
		if cum != bf.GasUsed || uint64(len(txs)) != bf.TxnCount {
			t.Errorf("block %d: gas %d/%d, txns %d/%d", bf.Number, cum, bf.GasUsed, len(txs), bf.TxnCount)
		}
		if len(txs) == 0 && (bf.TransactionsRoot != types.EmptyTxsHash || bf.ReceiptsRoot != types.EmptyReceiptsHash) {
			t.Errorf("empty block %d: roots %s %s", bf.Number, bf.TransactionsRoot, bf.ReceiptsRoot)
		}
	}
	// The brief: every transaction type, a pre-EIP-155 signature, storage
	// keys, blob hashes, authorizations, a creation and a failure.
	for ty := uint8(0); ty <= types.SetCodeTxType; ty++ {
		if byType[ty] == 0 {
			t.Errorf("no transaction of type %d", ty)
		}
	}
	if preEIP155 == 0 || withKeys == 0 || withBlobHashes == 0 || withAuths == 0 || created == 0 || failed == 0 {
		t.Errorf("coverage: preEIP155 %d, storage keys %d, blob hashes %d, authorizations %d, creations %d, failures %d",
			preEIP155, withKeys, withBlobHashes, withAuths, created, failed)
	}
	if n := len(d.Proposals); n != 6 {
		t.Errorf("%d proposals, want 6", n)
	}
}

// TestParentLinks checks that each block's parent hash is the hash of the
// proposal it builds on, and that the two proposals for one number share a
// parent but differ.
func TestParentLinks(t *testing.T) {
	d := buildDemo()
	byHash := map[common.Hash]*proposal{}
	byNumber := map[uint64][]*proposal{}
	for _, p := range d.Proposals {
		byHash[p.Header.Hash()] = p
		byNumber[p.Number()] = append(byNumber[p.Number()], p)
	}
	for _, p := range d.Proposals[1:] {
		parent := byHash[p.Header.ParentHash]
		if parent == nil || parent.Number()+1 != p.Number() {
			t.Errorf("block %d round %d: parent %s is not a demo block one lower", p.Number(), p.Round, p.Header.ParentHash)
		}
	}
	twins := byNumber[firstNumber+2]
	if len(twins) != 2 || twins[0].Header.ParentHash != twins[1].Header.ParentHash || twins[0].ID == twins[1].ID ||
		twins[0].Header.Hash() == twins[1].Header.Hash() {
		t.Errorf("competing proposals for %d are not two distinct siblings", firstNumber+2)
	}
}

// TestCommitScript replays the consensus script through the commit-state
// rules of spec §9.2 and checks the updates a reader reports.
func TestCommitScript(t *testing.T) {
	d := buildDemo()
	type tracked struct {
		p     *proposal
		state string
	}
	byID := map[common.Hash]*tracked{}
	byNum := map[uint64][]common.Hash{}
	var got []string
	name := func(p *proposal) string {
		return p.Header.Number.String() + "/" + big.NewInt(int64(p.Round-firstRound)).String()
	}
	for _, s := range d.Steps {
		switch s.Kind {
		case stepStart:
			byID[s.ID] = &tracked{s.Block, "Proposed"}
			byNum[s.Number] = append(byNum[s.Number], s.ID)
			got = append(got, "Proposed "+name(s.Block))
		case stepQC:
			if tr := byID[s.ID]; tr != nil && tr.state == "Proposed" {
				tr.state = "Voted"
				got = append(got, "Voted "+name(tr.p))
			}
		case stepFinalized:
			tr := byID[s.ID]
			if tr == nil {
				continue
			}
			if tr.state != "Proposed" && tr.state != "Voted" {
				t.Fatalf("finalized twice: %s", name(tr.p))
			}
			tr.state = "Finalized"
			u := "Finalized " + name(tr.p)
			for _, id := range byNum[s.Number] {
				if id != s.ID {
					u += " abandons " + name(byID[id].p)
					delete(byID, id)
				}
			}
			byNum[s.Number] = []common.Hash{s.ID}
			got = append(got, u)
		case stepVerified:
			ids := byNum[s.Number]
			if len(ids) != 1 {
				t.Fatalf("verified %d with %d tracked ids", s.Number, len(ids))
			}
			for n := range byNum {
				if n < s.Number {
					t.Fatalf("gapped verified block number %d (still tracking %d)", s.Number, n)
				}
			}
			delete(byNum, s.Number)
			got = append(got, "Verified "+name(byID[ids[0]].p))
			delete(byID, ids[0])
		}
	}
	// Block names are number/round offset.
	want := []string{
		"Proposed 1000000/0",
		"Voted 1000000/0",
		"Proposed 1000001/1",
		"Voted 1000001/1",
		"Finalized 1000000/0",
		"Proposed 1000002/2",
		"Proposed 1000002/3",
		"Voted 1000002/3",
		"Finalized 1000001/1",
		"Proposed 1000003/4",
		"Voted 1000003/4",
		"Finalized 1000002/3 abandons 1000002/2",
		"Verified 1000000/0",
		"Verified 1000001/1",
		"Proposed 1000004/5",
		"Voted 1000004/5",
		"Finalized 1000003/4",
		"Verified 1000002/3",
	}
	if !bytes.Equal([]byte(join(got)), []byte(join(want))) {
		t.Errorf("commit updates:\n%s\nwant:\n%s", join(got), join(want))
	}
}

func join(s []string) string {
	var b bytes.Buffer
	for _, x := range s {
		b.WriteString(x + "\n")
	}
	return b.String()
}
