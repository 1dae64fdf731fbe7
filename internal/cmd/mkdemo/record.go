package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
	"github.com/klauspost/compress/zstd"

	"github.com/monadgo/events/eventring"
	ee "github.com/monadgo/events/execevents"
)

// demoSizes is the smallest legal ring (spec §1.2): 140 509 184 bytes, almost
// all zero, which zstd shrinks to a few kilobytes.
var demoSizes = eventring.Sizes{DescriptorCapacity: 1 << 16, PayloadBufSize: 1 << 27}

// raw is the in-memory image of a generated payload struct. The generated
// structs are layout-exact with explicit (zeroed) padding fields, so this is
// exactly the C payload (spec §8).
func raw[T any](v *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
}

func hashes(hs []common.Hash) []byte {
	b := make([]byte, 0, 32*len(hs))
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

// emitter records events with the flow tags of spec §7.2 and a
// deterministic clock (the Recorder's Clock option reads now).
type emitter struct {
	rec   *eventring.Recorder
	seq   uint64 // last recorded seqno
	block uint64 // BLOCK_SEQNO of the open block scope, 0 between blocks
	now   uint64 // record_epoch_nanos of the last (or current) event
	floor uint64 // earliest record time of the next event
	rnd   uint64 // xorshift state for the clock's jitter
}

// tick advances the clock to 0.2–3.3 µs after the previous event or floor,
// whichever is later (events of one block are recorded microseconds apart).
func (e *emitter) tick(floor uint64) {
	e.rnd ^= e.rnd << 13
	e.rnd ^= e.rnd >> 7
	e.rnd ^= e.rnd << 17
	e.now = max(e.now, floor) + 200 + e.rnd%3100
}

func (e *emitter) emit(t ee.EventType, txnID, accountIndex uint64, payload ...[]byte) error {
	e.tick(e.floor)
	e.floor = 0
	ext := [4]uint64{ee.FlowTypeBlockSeqno: e.block, ee.FlowTypeTxnID: txnID, ee.FlowTypeAccountIndex: accountIndex}
	seq, err := e.rec.Record(uint16(t), ext, payload...)
	if err != nil {
		return fmt.Errorf("recording %v: %w", t, err)
	}
	if seq != e.seq+1 {
		return fmt.Errorf("recording %v: got seqno %d, want %d", t, seq, e.seq+1)
	}
	e.seq = seq
	return nil
}

func (e *emitter) blockTag(id common.Hash, number uint64) ee.BlockTag {
	return ee.BlockTag{ID: ee.Bytes32(id), BlockNumber: number}
}

func (e *emitter) step(s step) error {
	switch s.Kind {
	case stepQC:
		qc := ee.BlockQC{BlockTag: e.blockTag(s.ID, s.Number), Round: s.Round, Epoch: s.Epoch}
		return e.emit(ee.EventTypeBlockQC, 0, 0, raw(&qc))
	case stepFinalized:
		f := ee.BlockTag(e.blockTag(s.ID, s.Number))
		return e.emit(ee.EventTypeBlockFinalized, 0, 0, raw(&f))
	case stepVerified:
		v := ee.BlockVerified{BlockNumber: s.Number}
		return e.emit(ee.EventTypeBlockVerified, 0, 0, raw(&v))
	case stepStart:
		return e.executedBlock(s.Block)
	}
	return fmt.Errorf("unknown step kind %d", s.Kind)
}

// executedBlock records one executed proposal in the order of a live node at HEAD
// (spec §7.3): header groups of neighbouring transactions interleave, output
// groups follow in index order.
func (e *emitter) executedBlock(p *proposal) error {
	bf := blockFieldsOf(p)
	start := ee.BlockStart{
		BlockTag:           e.blockTag(p.ID, p.Number()),
		Round:              p.Round,
		Epoch:              p.Epoch,
		ProposalEpochNanos: ee.Uint128{Lo: p.ProposalNanos},
		ChainID:            *uint256.NewInt(demoChainID),
		ParentEthHash:      ee.Bytes32(bf.ParentHash),
		EthBlockInput: ee.EthBlockInput{
			OmmersHash:       ee.Bytes32(bf.OmmersHash),
			Beneficiary:      ee.Address(bf.Beneficiary),
			TransactionsRoot: ee.Bytes32(bf.TransactionsRoot),
			Difficulty:       bf.Difficulty,
			Number:           bf.Number,
			GasLimit:         bf.GasLimit,
			Timestamp:        bf.Timestamp,
			ExtraDataLength:  uint64(len(bf.ExtraData)),
			PrevRandao:       ee.Bytes32(bf.PrevRandao),
			Nonce:            ee.B64(bf.Nonce),
			BaseFeePerGas:    bf.BaseFee,
			WithdrawalsRoot:  ee.Bytes32(bf.WithdrawalsRoot),
			TxnCount:         bf.TxnCount,
		},
	}
	// The author is the proposer's compressed public key: y_parity is its
	// 0x02/0x03 prefix byte, x the 32 bytes after it.
	start.Author.YParity = p.Author[0]
	start.Author.X = ee.Bytes32(p.Author[1:])
	copy(start.EthBlockInput.ExtraData[:], bf.ExtraData)

	e.block = e.seq + 1
	if err := e.emit(ee.EventTypeBlockStart, 0, 0, raw(&start)); err != nil {
		return err
	}
	if err := e.emit(ee.EventTypeBlockPerfEVMEnter, 0, 0); err != nil {
		return err
	}
	if err := e.accesses(0, ee.AccountAccessContextBlockPrologue, p.Prologue); err != nil {
		return err
	}
	fields := make([]txnHeaderFields, len(p.Txns))
	for i, t := range p.Txns {
		fields[i] = txnFields(t)
	}
	for i := 0; i < len(p.Txns); i += 2 {
		pair := []int{i}
		if i+1 < len(p.Txns) {
			pair = append(pair, i+1)
		}
		for _, j := range pair {
			if err := e.emit(ee.EventTypeTxnPerfEVMEnter, uint64(j+1), 0); err != nil {
				return err
			}
		}
		for _, j := range pair {
			if err := e.txnHeaderStart(j, &fields[j]); err != nil {
				return err
			}
		}
		for _, j := range pair {
			if err := e.txnLists(j, &fields[j]); err != nil {
				return err
			}
		}
		for k := len(pair) - 1; k >= 0; k-- {
			if err := e.emit(ee.EventTypeTxnHeaderEnd, uint64(pair[k]+1), 0); err != nil {
				return err
			}
		}
	}
	for i, t := range p.Txns {
		if err := e.txnOutput(i, t, &fields[i]); err != nil {
			return err
		}
	}
	if err := e.accesses(0, ee.AccountAccessContextBlockEpilogue, p.Epilogue); err != nil {
		return err
	}
	if err := e.emit(ee.EventTypeBlockPerfEVMExit, 0, 0); err != nil {
		return err
	}
	end := ee.BlockEnd{
		EthBlockHash: ee.Bytes32(bf.EthBlockHash),
		ExecOutput: ee.EthBlockExecOutput{
			StateRoot:    ee.Bytes32(bf.StateRoot),
			ReceiptsRoot: ee.Bytes32(bf.ReceiptsRoot),
			LogsBloom:    ee.Bloom256(bf.LogsBloom),
			GasUsed:      bf.GasUsed,
		},
	}
	err := e.emit(ee.EventTypeBlockEnd, 0, 0, raw(&end))
	e.block = 0
	return err
}

func (e *emitter) txnHeaderStart(i int, f *txnHeaderFields) error {
	h := ee.TxnHeaderStart{
		TxnHash: ee.Bytes32(f.TxnHash),
		Sender:  ee.Address(f.Sender),
		TxnHeader: ee.EthTxnHeader{
			TxnType:                 ee.TransactionType(f.Type),
			ChainID:                 f.ChainID,
			Nonce:                   f.Nonce,
			GasLimit:                f.GasLimit,
			MaxFeePerGas:            f.MaxFee,
			MaxPriorityFeePerGas:    f.MaxPriorityFee,
			Value:                   f.Value,
			To:                      ee.Address(f.To),
			IsContractCreation:      f.IsCreation,
			R:                       f.R,
			S:                       f.S,
			YParity:                 f.YParity,
			MaxFeePerBlobGas:        f.MaxBlobFee,
			DataLength:              uint32(len(f.Data)),
			BlobVersionedHashLength: uint32(len(f.BlobHashes)),
			AccessListCount:         uint32(len(f.AccessList)),
			AuthListCount:           uint32(len(f.Authorizations)),
		},
	}
	return e.emit(ee.EventTypeTxnHeaderStart, uint64(i+1), 0, raw(&h), f.Data, hashes(f.BlobHashes))
}

func (e *emitter) txnLists(i int, f *txnHeaderFields) error {
	for k, t := range f.AccessList {
		a := ee.TxnAccessListEntry{Index: uint32(k),
			Entry: ee.AccessListEntry{Address: ee.Address(t.Address), StorageKeyCount: uint32(len(t.StorageKeys))}}
		if err := e.emit(ee.EventTypeTxnAccessListEntry, uint64(i+1), 0, raw(&a), hashes(t.StorageKeys)); err != nil {
			return err
		}
	}
	for k, t := range f.Authorizations {
		a := ee.TxnAuthListEntry{Index: uint32(k),
			Entry: ee.AuthListEntry{ChainID: t.ChainID, Address: ee.Address(t.Address), Nonce: t.Nonce,
				YParity: t.V == 1, R: t.R, S: t.S},
			Authority:        ee.Address(f.Authorities[k].Address),
			IsValidAuthority: f.Authorities[k].Valid,
		}
		if err := e.emit(ee.EventTypeTxnAuthListEntry, uint64(i+1), 0, raw(&a)); err != nil {
			return err
		}
	}
	return nil
}

func (e *emitter) txnOutput(i int, t *txn, f *txnHeaderFields) error {
	id := uint64(i + 1)
	out := ee.TxnEVMOutput{
		Receipt:        ee.EthTxnReceipt{Status: f.Status, LogCount: uint32(len(f.Logs)), GasUsed: f.GasUsed},
		CallFrameCount: uint32(len(t.Frames)),
	}
	if err := e.emit(ee.EventTypeTxnEVMOutput, id, 0, raw(&out)); err != nil {
		return err
	}
	for k, l := range f.Logs {
		lg := ee.EthTxnLog{Index: uint32(k), Address: ee.Address(l.Address), TopicCount: uint8(len(l.Topics)),
			DataLength: uint32(len(l.Data))}
		if err := e.emit(ee.EventTypeTxnLog, id, 0, raw(&lg), hashes(l.Topics), l.Data); err != nil {
			return err
		}
	}
	for k, fr := range t.Frames {
		c := ee.TxnCallFrame{Index: uint32(k), Caller: ee.Address(fr.Caller), CallTarget: ee.Address(fr.Target),
			Opcode: fr.Opcode, Value: fr.Value, Gas: fr.Gas, GasUsed: fr.GasUsed, EVMCStatus: fr.Status, Depth: fr.Depth,
			InputLength: uint64(len(fr.Input)), ReturnLength: uint64(len(fr.Return))}
		if err := e.emit(ee.EventTypeTxnCallFrame, id, 0, raw(&c), fr.Input, fr.Return); err != nil {
			return err
		}
	}
	if err := e.accesses(id, ee.AccountAccessContextTransaction, t.Accesses); err != nil {
		return err
	}
	if err := e.emit(ee.EventTypeTxnEnd, id, 0); err != nil {
		return err
	}
	return e.emit(ee.EventTypeTxnPerfEVMExit, id, 0)
}

// accesses records one state-access list (spec §7.3, list rule).
func (e *emitter) accesses(txnID uint64, ctx ee.AccountAccessContext, list []accountAccess) error {
	hdr := ee.AccountAccessListHeader{EntryCount: uint32(len(list)), AccessContext: ctx}
	if err := e.emit(ee.EventTypeAccountAccessListHeader, txnID, 0, raw(&hdr)); err != nil {
		return err
	}
	for k, a := range list {
		acc := ee.AccountAccess{
			Index:             uint32(k),
			Address:           ee.Address(a.Address),
			AccessContext:     ctx,
			IsBalanceModified: a.BalanceModified,
			IsNonceModified:   a.NonceModified,
			Prestate: ee.EthAccountState{Nonce: a.Pre.Nonce, Balance: a.Pre.Balance,
				CodeHash: ee.Bytes32(a.Pre.CodeHash)},
			ModifiedBalance: a.Balance,
			ModifiedNonce:   a.Nonce,
			StorageKeyCount: uint32(len(a.Storage)),
			TransientCount:  uint32(len(a.Transient)),
		}
		if err := e.emit(ee.EventTypeAccountAccess, txnID, 0, raw(&acc)); err != nil {
			return err
		}
		for _, l := range []struct {
			slots     []slotAccess
			transient bool
		}{{a.Storage, false}, {a.Transient, true}} {
			for n, s := range l.slots {
				sa := ee.StorageAccess{Address: ee.Address(a.Address), Index: uint32(n), AccessContext: ctx,
					Modified: s.Modified, Transient: l.transient, Key: ee.Bytes32(s.Key),
					StartValue: ee.Bytes32(s.Start), EndValue: ee.Bytes32(s.End)}
				if err := e.emit(ee.EventTypeStorageAccess, txnID, uint64(k), raw(&sa)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// generate records the demo into a fresh ring file in dir and returns the
// zstd snapshot of that file.
func generate(dir string) ([]byte, error) {
	path := filepath.Join(dir, "demo.ring")
	defer os.Remove(path)
	e := &emitter{rnd: 0x9e3779b97f4a7c15}
	rec, err := eventring.CreateWithOptions(path, demoSizes, ee.RingContentType, ee.SchemaHash,
		eventring.RecorderOptions{Clock: func() uint64 { return e.now }})
	if err != nil {
		return nil, err
	}
	e.rec = rec
	steps := buildDemo().Steps
	floors := recordFloors(steps)
	for i, s := range steps {
		e.floor = floors[i]
		if err := e.step(s); err != nil {
			rec.Close()
			return nil, err
		}
	}
	if err := rec.Close(); err != nil {
		return nil, err
	}
	return compressFile(path)
}

// recordFloors gives each step the earliest time its events may be
// recorded. A proposal reaches the node 3 ms after its time; the consensus
// events before its BLOCK_START are what it brought (its parent's QC, the
// finalizations that QC implies). Those after the last block come with the
// next round's proposal, 400 ms later.
func recordFloors(steps []step) []uint64 {
	floors := make([]uint64, len(steps))
	next := uint64(0)
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i].Kind == stepStart {
			next = steps[i].Block.ProposalNanos + 3_000_000
			for j := i + 1; j < len(steps) && floors[j] == 0; j++ {
				floors[j] = next + 400_000_000
			}
		}
		floors[i] = next
	}
	return floors
}

// compressFile compresses the ring image into one zstd frame (spec §6.5)
// with fixed encoder settings, so the output depends only on the input.
func compressFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedBetterCompression),
		zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(true))
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(zw, f); err != nil {
		zw.Close()
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
