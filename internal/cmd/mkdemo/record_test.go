package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/holiman/uint256"

	"github.com/monadgo/events/eventring"
	ee "github.com/monadgo/events/execevents"
)

// committedSnapshot is testdata/demo.snapshot.zst at the module root.
func committedSnapshot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "demo.snapshot.zst")
}

// TestSnapshotReproducible regenerates the demo in memory and requires the
// committed file byte for byte.
func TestSnapshotReproducible(t *testing.T) {
	want, err := os.ReadFile(committedSnapshot(t))
	if err != nil {
		t.Fatalf("committed demo snapshot: %v (run go run ./internal/cmd/mkdemo)", err)
	}
	if len(want) > 2<<20 {
		t.Errorf("demo snapshot is %d bytes, over the 2 MiB budget", len(want))
	}
	got, err := generate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("regenerated snapshot (%d bytes) differs from the committed one (%d bytes): run go run ./internal/cmd/mkdemo and review the change",
			len(got), len(want))
	}
}

// decodedTxn collects one transaction's events.
type decodedTxn struct {
	f      txnHeaderFields
	seen   bool
	output bool
	frames int
}

type decodedBlock struct {
	start *ee.BlockStart
	end   *ee.BlockEnd
	txns  []decodedTxn
}

// TestSnapshotEthereumFacts reads the committed snapshot with eventring and
// the generated decoders, rebuilds the Ethereum objects from the decoded
// payloads and checks them with go-ethereum: transaction hashes, senders,
// authorities, transactions and receipts roots, logs bloom, header hash. It
// also checks the flow tags and ordering rules of spec §7.2–7.3.
func TestSnapshotEthereumFacts(t *testing.T) {
	ring, err := eventring.Open(committedSnapshot(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	rd := ring.NewReader()
	var (
		d       eventring.Descriptor
		cur     *decodedBlock
		blocks  []*decodedBlock
		counts  = map[ee.EventType]int{}
		lastT   uint64
		acctIdx uint64
	)
	for {
		res := rd.TryNext(&d)
		if res == eventring.NotReady {
			break
		}
		if res != eventring.Ready {
			t.Fatalf("reader: %v after seqno %d", res, rd.LastSeqno())
		}
		et := ee.EventType(d.EventType)
		counts[et]++
		ev, err := ee.ReadEvent(ring, &d) // owned: blocks keep their start and end
		if err != nil {
			t.Fatal(err)
		}
		if d.RecordEpochNanos <= lastT {
			t.Errorf("seqno %d: record time %d not after %d", d.Seqno, d.RecordEpochNanos, lastT)
		}
		lastT = d.RecordEpochNanos
		blockSeq, txnID := d.ContentExt[ee.FlowTypeBlockSeqno], d.ContentExt[ee.FlowTypeTxnID]
		switch et {
		case ee.EventTypeBlockQC, ee.EventTypeBlockFinalized, ee.EventTypeBlockVerified:
			if cur != nil || blockSeq != 0 || txnID != 0 {
				t.Errorf("seqno %d: consensus event %v inside a block or with flow tags %v", d.Seqno, et, d.ContentExt)
			}
			continue
		case ee.EventTypeBlockStart:
			s := ev.(*ee.BlockStartEvent).BlockStart
			if cur != nil || blockSeq != d.Seqno {
				t.Fatalf("seqno %d: BLOCK_START nested or with block seqno %d", d.Seqno, blockSeq)
			}
			cur = &decodedBlock{start: s, txns: make([]decodedTxn, s.EthBlockInput.TxnCount)}
			continue
		}
		if cur == nil || blockSeq == 0 {
			t.Fatalf("seqno %d: %v outside a block (block seqno %d)", d.Seqno, et, blockSeq)
		}
		var tx *decodedTxn
		if txnID != 0 {
			if txnID > uint64(len(cur.txns)) {
				t.Fatalf("seqno %d: txn id %d of %d", d.Seqno, txnID, len(cur.txns))
			}
			tx = &cur.txns[txnID-1]
		}
		switch et {
		case ee.EventTypeTxnHeaderStart:
			v := ev.(*ee.TxnHeaderStartEvent)
			h := v.TxnHeader
			tx.seen = true
			tx.f = txnHeaderFields{Type: uint8(h.TxnType), ChainID: h.ChainID, Nonce: h.Nonce, GasLimit: h.GasLimit,
				MaxFee: h.MaxFeePerGas, MaxPriorityFee: h.MaxPriorityFeePerGas, Value: h.Value, To: common.Address(h.To),
				IsCreation: h.IsContractCreation, R: h.R, S: h.S, YParity: h.YParity, MaxBlobFee: h.MaxFeePerBlobGas,
				Data: v.Data, TxnHash: common.Hash(v.TxnHash), Sender: common.Address(v.Sender)}
			for _, b := range v.BlobVersionedHashes {
				tx.f.BlobHashes = append(tx.f.BlobHashes, common.Hash(b))
			}
		case ee.EventTypeTxnAccessListEntry:
			v := ev.(*ee.TxnAccessListEntryEvent)
			if !tx.seen || int(v.Index) != len(tx.f.AccessList) {
				t.Fatalf("seqno %d: access list entry %d out of order", d.Seqno, v.Index)
			}
			e := types.AccessTuple{Address: common.Address(v.Entry.Address), StorageKeys: []common.Hash{}}
			for _, k := range v.StorageKeys {
				e.StorageKeys = append(e.StorageKeys, common.Hash(k))
			}
			tx.f.AccessList = append(tx.f.AccessList, e)
		case ee.EventTypeTxnAuthListEntry:
			v := ev.(*ee.TxnAuthListEntryEvent)
			if !tx.seen || int(v.Index) != len(tx.f.Authorizations) {
				t.Fatalf("seqno %d: auth list entry %d out of order", d.Seqno, v.Index)
			}
			parity := uint8(0)
			if v.Entry.YParity {
				parity = 1
			}
			tx.f.Authorizations = append(tx.f.Authorizations, types.SetCodeAuthorization{ChainID: v.Entry.ChainID,
				Address: common.Address(v.Entry.Address), Nonce: v.Entry.Nonce, V: parity, R: v.Entry.R, S: v.Entry.S})
			tx.f.Authorities = append(tx.f.Authorities, authority{Address: common.Address(v.Authority), Valid: v.IsValidAuthority})
		case ee.EventTypeTxnEVMOutput:
			v := ev.(*ee.TxnEVMOutputEvent)
			if !tx.seen || tx.output {
				t.Fatalf("seqno %d: output before header or twice", d.Seqno)
			}
			tx.output, tx.f.Status, tx.f.GasUsed = true, v.Receipt.Status, v.Receipt.GasUsed
			tx.f.Logs = make([]*types.Log, v.Receipt.LogCount)
		case ee.EventTypeTxnLog:
			v := ev.(*ee.TxnLogEvent)
			if !tx.output || int(v.Index) >= len(tx.f.Logs) || tx.f.Logs[v.Index] != nil {
				t.Fatalf("seqno %d: unexpected log %d", d.Seqno, v.Index)
			}
			l := &types.Log{Address: common.Address(v.Address), Data: v.Data}
			for _, tp := range v.Topics {
				l.Topics = append(l.Topics, common.Hash(tp))
			}
			tx.f.Logs[v.Index] = l
		case ee.EventTypeTxnCallFrame:
			_ = ev.(*ee.TxnCallFrameEvent)
			tx.frames++
		case ee.EventTypeAccountAccess:
			v := ev.(*ee.AccountAccessEvent)
			acctIdx = uint64(v.Index)
		case ee.EventTypeStorageAccess:
			_ = ev.(*ee.StorageAccessEvent)
			if d.ContentExt[ee.FlowTypeAccountIndex] != acctIdx {
				t.Errorf("seqno %d: storage access tagged with account %d, follows account %d",
					d.Seqno, d.ContentExt[ee.FlowTypeAccountIndex], acctIdx)
			}
		case ee.EventTypeBlockEnd:
			v := ev.(*ee.BlockEndEvent).BlockEnd
			cur.end = v
			blocks = append(blocks, cur)
			cur = nil
		}
	}
	if cur != nil {
		t.Fatal("snapshot ends inside a block")
	}

	chainID := uint256.NewInt(demoChainID)
	ntx := 0
	for _, b := range blocks {
		s, e := b.start, b.end
		in := s.EthBlockInput
		if !s.ChainID.Eq(chainID) {
			t.Errorf("block %d: chain id %s", in.Number, &s.ChainID)
		}
		var txs types.Transactions
		var receipts types.Receipts
		var cum uint64
		for i := range b.txns {
			f := b.txns[i].f
			if !b.txns[i].output || b.txns[i].frames == 0 {
				t.Fatalf("block %d txn %d: incomplete", in.Number, i)
			}
			tx := txFromFields(t, f)
			if tx.Hash() != f.TxnHash {
				t.Errorf("block %d txn %d: rebuilt hash %s, recorded %s", in.Number, i, tx.Hash(), f.TxnHash)
			}
			signer := types.LatestSignerForChainID(chainID.ToBig())
			if f.Type == types.LegacyTxType && f.ChainID.IsZero() {
				signer = types.HomesteadSigner{}
			}
			if from, err := types.Sender(signer, tx); err != nil || from != f.Sender {
				t.Errorf("block %d txn %d: recovers to %s (%v), recorded %s", in.Number, i, from, err, f.Sender)
			}
			for j, a := range f.Authorizations {
				if got, err := a.Authority(); err != nil || got != f.Authorities[j].Address || !f.Authorities[j].Valid {
					t.Errorf("block %d txn %d auth %d: recovers to %s (%v), recorded %+v", in.Number, i, j, got, err, f.Authorities[j])
				}
			}
			txs = append(txs, tx)
			cum += f.GasUsed
			status := types.ReceiptStatusFailed
			if f.Status {
				status = types.ReceiptStatusSuccessful
			}
			r := &types.Receipt{Type: f.Type, Status: status, CumulativeGasUsed: cum, Logs: f.Logs}
			r.Bloom = types.CreateBloom(r)
			receipts = append(receipts, r)
			ntx++
		}
		if got := types.DeriveSha(txs, trie.NewStackTrie(nil)); got != common.Hash(in.TransactionsRoot) {
			t.Errorf("block %d: transactions root %s, recorded %s", in.Number, got, common.Hash(in.TransactionsRoot))
		}
		if got := types.DeriveSha(receipts, trie.NewStackTrie(nil)); got != common.Hash(e.ExecOutput.ReceiptsRoot) {
			t.Errorf("block %d: receipts root %s, recorded %s", in.Number, got, common.Hash(e.ExecOutput.ReceiptsRoot))
		}
		if types.MergeBloom(receipts) != types.Bloom(e.ExecOutput.LogsBloom) || cum != e.ExecOutput.GasUsed {
			t.Errorf("block %d: logs bloom or gas used (%d, recorded %d) differ", in.Number, cum, e.ExecOutput.GasUsed)
		}
		bf := blockFields{ParentHash: common.Hash(s.ParentEthHash), OmmersHash: common.Hash(in.OmmersHash),
			Beneficiary: common.Address(in.Beneficiary), TransactionsRoot: common.Hash(in.TransactionsRoot),
			Difficulty: in.Difficulty, Number: in.Number, GasLimit: in.GasLimit, Timestamp: in.Timestamp,
			ExtraData: in.ExtraData[:in.ExtraDataLength], PrevRandao: common.Hash(in.PrevRandao), Nonce: in.Nonce,
			BaseFee: in.BaseFeePerGas, WithdrawalsRoot: common.Hash(in.WithdrawalsRoot),
			StateRoot: common.Hash(e.ExecOutput.StateRoot), ReceiptsRoot: common.Hash(e.ExecOutput.ReceiptsRoot),
			LogsBloom: types.Bloom(e.ExecOutput.LogsBloom), GasUsed: e.ExecOutput.GasUsed}
		if got := headerFromFields(bf).Hash(); got != common.Hash(e.EthBlockHash) {
			t.Errorf("block %d: rebuilt header hash %s, recorded %s", in.Number, got, common.Hash(e.EthBlockHash))
		}
		// The author is a valid compressed secp256k1 key.
		if _, err := crypto.DecompressPubkey(append([]byte{s.Author.YParity}, s.Author.X[:]...)); err != nil {
			t.Errorf("block %d: author: %v", in.Number, err)
		}
	}
	if len(blocks) != 6 || ntx != 18 {
		t.Errorf("%d blocks, %d transactions; want 6 and 18", len(blocks), ntx)
	}
	for _, et := range []ee.EventType{ee.EventTypeBlockQC, ee.EventTypeBlockFinalized, ee.EventTypeBlockVerified,
		ee.EventTypeTxnAccessListEntry, ee.EventTypeTxnAuthListEntry, ee.EventTypeTxnLog, ee.EventTypeTxnCallFrame,
		ee.EventTypeStorageAccess} {
		if counts[et] == 0 {
			t.Errorf("no %v event", et)
		}
	}
}
