package blocks_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/ethconv"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/internal/testdata"
)

// Per-type event counts of emn-30b-15m from ../shared/testdata/README.md.
var snap30Counts = map[execevents.EventType]int{
	2: 30, 4: 30, 5: 30, 6: 30, 7: 30, 8: 30, 9: 29, 10: 6187, 11: 121, 13: 6187, 15: 6187,
	16: 6187, 17: 6187, 18: 8299, 19: 21077, 20: 6187, 21: 6247, 22: 25530, 23: 38286,
}

// buildAll feeds every event to a builder and returns the blocks in order,
// failing on any error.
func buildAll(t testing.TB, evs []memEvent, opts blocks.BuilderOptions) []*blocks.ExecutedBlock {
	t.Helper()
	src := newMemSource(evs)
	b := blocks.NewBuilder(opts)
	var blks []*blocks.ExecutedBlock
	for i := range src.evs {
		blk, err := b.Process(src, &src.evs[i].d)
		if err != nil {
			t.Fatalf("seqno %d (%d): %v", src.evs[i].d.Seqno, src.evs[i].d.EventType, err)
		}
		if blk != nil {
			blks = append(blks, blk)
		}
	}
	return blks
}

func TestSnapshotCounts(t *testing.T) {
	evs := loadSnapshot(t, snap30)
	if len(evs) != 136891 {
		t.Fatalf("emn-30b: %d events, README says 136 891", len(evs))
	}
	got := map[execevents.EventType]int{}
	for _, e := range evs {
		got[execevents.EventType(e.d.EventType)]++
	}
	for ty, n := range snap30Counts {
		if got[ty] != n {
			t.Errorf("event type %d: %d events, README says %d", ty, got[ty], n)
		}
	}
	if len(got) != len(snap30Counts) {
		t.Errorf("event types present: %v, README lists %d types", got, len(snap30Counts))
	}
}

// TestSnapshotBlocks reassembles every block of the reference snapshots with
// call frames and accesses and checks the blocks against facts that do not
// come from the builder: the README's per-type counts, BLOCK_START's
// txn_count, BLOCK_END's gas used, the chain's parent hashes.
func TestSnapshotBlocks(t *testing.T) {
	full := blocks.BuilderOptions{CallFrames: true, Accesses: true}
	t.Run("emn-30b", func(t *testing.T) {
		evs := loadSnapshot(t, snap30)
		blks := buildAll(t, evs, full)
		if len(blks) != snap30Counts[execevents.EventTypeBlockStart] {
			t.Fatalf("%d blocks, want %d", len(blks), snap30Counts[execevents.EventTypeBlockStart])
		}
		var txns, logs, frames, alEntries, headers, accounts, storage int
		countAcc := func(l []blocks.AccountAccessRecord) {
			headers++
			accounts += len(l)
			for _, a := range l {
				storage += len(a.Storage) + len(a.Transient)
			}
		}
		for k, blk := range blks {
			checkBlock(t, evs, blk)
			if want := uint64(15_000_001 + k); blk.Number() != want || blk.Start.EthBlockInput.Number != want {
				t.Errorf("block %d: number %d / eth number %d, want %d", k, blk.Number(), blk.Start.EthBlockInput.Number, want)
			}
			if k > 0 && blk.Start.ParentEthHash != blks[k-1].End.EthBlockHash {
				t.Errorf("block %d: parent hash %x, previous block's hash %x", blk.Number(), blk.Start.ParentEthHash, blks[k-1].End.EthBlockHash)
			}
			txns += len(blk.Txns)
			countAcc(blk.Prologue)
			countAcc(blk.Epilogue)
			for i := range blk.Txns {
				tx := &blk.Txns[i]
				logs += len(tx.Logs)
				frames += len(tx.CallFrames)
				alEntries += len(tx.AccessList)
				countAcc(tx.Accesses)
			}
		}
		for _, c := range []struct {
			what string
			got  int
			ty   execevents.EventType
		}{
			{"transactions", txns, execevents.EventTypeTxnHeaderStart},
			{"logs", logs, execevents.EventTypeTxnLog},
			{"call frames", frames, execevents.EventTypeTxnCallFrame},
			{"access list entries", alEntries, execevents.EventTypeTxnAccessListEntry},
			{"account access lists", headers, execevents.EventTypeAccountAccessListHeader},
			{"account accesses", accounts, execevents.EventTypeAccountAccess},
			{"storage accesses", storage, execevents.EventTypeStorageAccess},
		} {
			if c.got != snap30Counts[c.ty] {
				t.Errorf("%s in blocks: %d, README counts %d events of type %d", c.what, c.got, snap30Counts[c.ty], c.ty)
			}
		}
	})
	t.Run("emn-1b", func(t *testing.T) {
		evs := loadSnapshot(t, snap1)
		if len(evs) != 6597 {
			t.Errorf("emn-1b: %d events, README says 6 597", len(evs))
		}
		blks := buildAll(t, evs, full)
		if len(blks) != 1 {
			t.Fatalf("%d blocks, want 1", len(blks))
		}
		checkBlock(t, evs, blks[0])
	})
	t.Run("default options", func(t *testing.T) {
		evs := loadSnapshot(t, snap30)
		blks := buildAll(t, evs, blocks.BuilderOptions{})
		for _, blk := range blks {
			checkBlock(t, evs, blk)
			if blk.Prologue != nil || blk.Epilogue != nil {
				t.Errorf("block %d: accesses kept without the option", blk.Number())
			}
			for i := range blk.Txns {
				if blk.Txns[i].CallFrames != nil || blk.Txns[i].Accesses != nil {
					t.Fatalf("block %d txn %d: call frames or accesses kept without the option", blk.Number(), i)
				}
			}
		}
	})
}

// checkBlock checks one block against its own events and payload counts.
func checkBlock(t *testing.T, evs []memEvent, blk *blocks.ExecutedBlock) {
	t.Helper()
	start, end := evs[blk.StartSeqno-1].d, evs[blk.EndSeqno-1].d
	if start.EventType != uint16(execevents.EventTypeBlockStart) || end.EventType != uint16(execevents.EventTypeBlockEnd) {
		t.Errorf("block %d: StartSeqno %d / EndSeqno %d are events %d / %d", blk.Number(), blk.StartSeqno, blk.EndSeqno, start.EventType, end.EventType)
	}
	if end.ContentExt[execevents.FlowTypeBlockSeqno] != blk.StartSeqno {
		t.Errorf("block %d: BLOCK_END's BLOCK_SEQNO tag %d != StartSeqno %d", blk.Number(), end.ContentExt[0], blk.StartSeqno)
	}
	if uint64(len(blk.Txns)) != blk.Start.EthBlockInput.TxnCount {
		t.Errorf("block %d: %d transactions, BLOCK_START says %d", blk.Number(), len(blk.Txns), blk.Start.EthBlockInput.TxnCount)
	}
	var gas uint64
	for i := range blk.Txns {
		tx := &blk.Txns[i]
		h := &tx.Header.TxnHeader
		if tx.Index != uint32(i) {
			t.Errorf("block %d: Txns[%d].Index = %d", blk.Number(), i, tx.Index)
		}
		if tx.Header.TxnHash == (execevents.Bytes32{}) || tx.Header.Sender == (execevents.Address{}) {
			t.Errorf("block %d txn %d: zero hash or sender", blk.Number(), i)
		}
		if uint32(len(tx.Input)) != h.DataLength || uint32(len(tx.BlobHashes)) != h.BlobVersionedHashLength ||
			uint32(len(tx.AccessList)) != h.AccessListCount || uint32(len(tx.AuthList)) != h.AuthListCount {
			t.Errorf("block %d txn %d: lengths input %d blobs %d access %d auth %d vs header %d %d %d %d", blk.Number(), i,
				len(tx.Input), len(tx.BlobHashes), len(tx.AccessList), len(tx.AuthList),
				h.DataLength, h.BlobVersionedHashLength, h.AccessListCount, h.AuthListCount)
		}
		if uint32(len(tx.Logs)) != tx.Receipt.LogCount {
			t.Errorf("block %d txn %d: %d logs, receipt says %d", blk.Number(), i, len(tx.Logs), tx.Receipt.LogCount)
		}
		for j, l := range tx.Logs {
			if l.Index != uint32(j) || len(l.Topics) > 4 {
				t.Errorf("block %d txn %d log %d: index %d, %d topics", blk.Number(), i, j, l.Index, len(l.Topics))
			}
		}
		for j, f := range tx.CallFrames {
			if f.Index != uint32(j) || uint64(len(f.Input)) != f.InputLength || uint64(len(f.ReturnData)) != f.ReturnLength {
				t.Errorf("block %d txn %d frame %d: bad index or lengths", blk.Number(), i, j)
			}
		}
		gas += tx.Receipt.GasUsed
	}
	if gas != blk.End.ExecOutput.GasUsed {
		t.Errorf("block %d: receipts use %d gas, BLOCK_END says %d", blk.Number(), gas, blk.End.ExecOutput.GasUsed)
	}
}

// expectedUpdate is the part of an expected.json update the core package
// can be checked against (ethconv compares the rest).
type expectedUpdate struct {
	Executed *struct {
		BlockTag     expectedTag `json:"block_tag"`
		EthBlockHash string      `json:"eth_block_hash"`
		Transactions []struct {
			Sender   string `json:"sender"`
			TxnIndex uint32 `json:"txn_index"`
			Envelope struct {
				Hash string `json:"hash"`
			} `json:"txn_envelope"`
			GasUsed uint64 `json:"txn_gas_used"`
		} `json:"transactions"`
	} `json:"Executed"`
	Referendum *struct {
		BlockTag   expectedTag   `json:"block_tag"`
		Outcome    string        `json:"outcome"`
		Superseded []expectedTag `json:"superseded_proposals"`
	} `json:"Referendum"`
}

type expectedTag struct {
	BlockNumber uint64 `json:"block_number"`
	ID          string `json:"id"`
}

func hex0x(b []byte) string { return "0x" + hex.EncodeToString(b) }

// TestUpdatesReference drives the real ring of every reference case
// through Updates and compares the update sequence (state, block tag,
// hashes, senders, gas, abandoned proposals) with the other SDK's
// expected.json. The expected recording may run past its snapshot: the
// produced sequence must be a prefix of it, at most 8 updates short.
func TestUpdatesReference(t *testing.T) {
	for _, dir := range testdata.ExecCases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			updatesReference(t, dir)
		})
	}
}

func updatesReference(t *testing.T, dir string) {
	raw, err := os.ReadFile(filepath.Join(dir, "expected.json.zst"))
	if err != nil {
		t.Skipf("expected.json.zst: %v", err)
	}
	zr, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	js, err := zr.DecodeAll(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want []expectedUpdate
	if err := json.Unmarshal(js, &want); err != nil {
		t.Fatal(err)
	}
	ring, err := execevents.Open(filepath.Join(dir, "snapshot.zst"))
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	var got []blocks.Update
	for u, err := range blocks.Updates(context.Background(), ring, blocks.BuilderOptions{}) {
		if err != nil {
			t.Fatalf("update %d: %v", len(got), err)
		}
		if u.Notice != nil {
			t.Fatalf("update %d: notice %v", len(got), u.Notice)
		}
		got = append(got, u)
	}
	if len(got) > len(want) || len(got) < len(want)-8 {
		t.Fatalf("%d updates, want a prefix of the expected %d of length at least %d", len(got), len(want), len(want)-8)
	}
	// The README: emn-30b-15m yields the first 119 of its 124 updates.
	if filepath.Base(dir) == "emn-30b-15m" && (len(got) != 119 || len(want) != 124) {
		t.Fatalf("%d of %d updates, README says 119 of 124", len(got), len(want))
	}
	for i, u := range got {
		w := want[i]
		tag := u.Block.Tag()
		var wtag expectedTag
		var state string
		var wab []expectedTag
		if w.Executed != nil {
			wtag, state = w.Executed.BlockTag, "Proposed"
			ex := w.Executed
			if hex0x(u.Block.End.EthBlockHash[:]) != ex.EthBlockHash {
				t.Errorf("update %d: eth block hash %x, want %s", i, u.Block.End.EthBlockHash, ex.EthBlockHash)
			}
			if len(ex.Transactions) != len(u.Block.Txns) {
				t.Errorf("update %d: %d transactions, want %d", i, len(u.Block.Txns), len(ex.Transactions))
				continue
			}
			for j, wt := range ex.Transactions {
				tx := &u.Block.Txns[j]
				if tx.Index != wt.TxnIndex || hex0x(tx.Header.TxnHash[:]) != wt.Envelope.Hash ||
					hex0x(tx.Header.Sender[:]) != strings.ToLower(wt.Sender) || tx.Receipt.GasUsed != wt.GasUsed {
					t.Errorf("update %d txn %d: index %d hash %x sender %x gas %d, want %d %s %s %d", i, j,
						tx.Index, tx.Header.TxnHash, tx.Header.Sender, tx.Receipt.GasUsed,
						wt.TxnIndex, wt.Envelope.Hash, wt.Sender, wt.GasUsed)
				}
			}
		} else {
			wtag, state, wab = w.Referendum.BlockTag, w.Referendum.Outcome, w.Referendum.Superseded
		}
		if u.State.String() != state || tag.BlockNumber != wtag.BlockNumber || hex0x(tag.ID[:]) != wtag.ID {
			t.Errorf("update %d: %s %d %x, want %s %d %s", i, u.State, tag.BlockNumber, tag.ID, state, wtag.BlockNumber, wtag.ID)
		}
		if len(u.Abandoned) != len(wab) {
			t.Errorf("update %d: %d abandoned, want %d", i, len(u.Abandoned), len(wab))
			continue
		}
		for j, a := range u.Abandoned {
			if a.Number() != wab[j].BlockNumber || hex0x(a.Start.BlockTag.ID[:]) != wab[j].ID {
				t.Errorf("update %d: abandoned[%d] = %d %x, want %+v", i, j, a.Number(), a.Start.BlockTag.ID, wab[j])
			}
		}
	}
}

// TestLogBlockIndex: a log's BlockIndex is its position among all logs of
// the block (Ethereum's logIndex): the receipts' log counts (TXN_EVM_OUTPUT)
// of the transactions before it plus its index in its transaction.
func TestLogBlockIndex(t *testing.T) {
	blks := buildAll(t, loadSnapshot(t, snap30), blocks.BuilderOptions{})
	logs := 0
	for _, b := range blks {
		conv, err := ethconv.Convert(b) // go-ethereum's receipts count logIndex on their own
		if err != nil {
			t.Fatal(err)
		}
		var before uint32
		for i, tx := range b.Txns {
			for j, l := range tx.Logs {
				if l.BlockIndex != before+l.Index || uint(l.BlockIndex) != conv.Receipts[i].Logs[j].Index {
					t.Fatalf("block %d txn %d log %d: BlockIndex %d, want %d", b.Number(), tx.Index, l.Index, l.BlockIndex, before+l.Index)
				}
				logs++
			}
			before += tx.Receipt.LogCount
		}
	}
	if logs == 0 {
		t.Fatal("no logs in the recording")
	}
}
