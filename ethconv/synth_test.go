package ethconv_test

// A synthetic executed block built the other way round: transactions of
// every type are signed with go-ethereum, receipts and header are built and
// hashed with go-ethereum, and the event structs are filled from them. It
// needs no reference data, so the Examples and the per-type tests always run.

import (
	"crypto/ecdsa"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/holiman/uint256"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/execevents"
)

const synthChainID = 20143 // Monad devnet: Prague-shaped headers

var synthKey = mustKey("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")

func mustKey(h string) *ecdsa.PrivateKey {
	k, err := crypto.HexToECDSA(h)
	if err != nil {
		panic(err)
	}
	return k
}

// synthTxns returns one signed transaction of each kind: pre-EIP-155 legacy,
// EIP-155 legacy, access list, dynamic fee contract creation, blob and set
// code.
func synthTxns() []*types.Transaction {
	chain := big.NewInt(synthChainID)
	latest := types.LatestSignerForChainID(chain)
	to := common.HexToAddress("0x58124619a4ea38d215d36c962ac5cd73462acdd6")
	auth, err := types.SignSetCode(synthKey, types.SetCodeAuthorization{
		ChainID: *uint256.NewInt(synthChainID), Address: to, Nonce: 7,
	})
	if err != nil {
		panic(err)
	}
	return []*types.Transaction{
		types.MustSignNewTx(synthKey, types.HomesteadSigner{}, &types.LegacyTx{
			Nonce: 0, GasPrice: big.NewInt(100e9), Gas: 21000, To: &to, Value: big.NewInt(1),
		}),
		types.MustSignNewTx(synthKey, latest, &types.LegacyTx{
			Nonce: 1, GasPrice: big.NewInt(100e9), Gas: 50000, To: &to, Data: []byte{0xa9, 0x05, 0x9c, 0xbb},
		}),
		types.MustSignNewTx(synthKey, latest, &types.AccessListTx{
			ChainID: chain, Nonce: 2, GasPrice: big.NewInt(101e9), Gas: 60000, To: &to,
			AccessList: types.AccessList{
				{Address: to, StorageKeys: []common.Hash{{1}, {2}}},
				{Address: common.Address{9}, StorageKeys: []common.Hash{}},
			},
		}),
		types.MustSignNewTx(synthKey, latest, &types.DynamicFeeTx{
			ChainID: chain, Nonce: 3, GasTipCap: big.NewInt(2e9), GasFeeCap: big.NewInt(200e9), Gas: 300000,
			Data: []byte{0x60, 0x80, 0x60, 0x40}, AccessList: types.AccessList{},
		}),
		types.MustSignNewTx(synthKey, latest, &types.BlobTx{
			ChainID: uint256.NewInt(synthChainID), Nonce: 4, GasTipCap: uint256.NewInt(1e9),
			GasFeeCap: uint256.NewInt(90e9), Gas: 21000, To: to, BlobFeeCap: uint256.NewInt(3),
			BlobHashes: []common.Hash{{0x01, 0xaa}},
		}),
		types.MustSignNewTx(synthKey, latest, &types.SetCodeTx{
			ChainID: uint256.NewInt(synthChainID), Nonce: 5, GasTipCap: uint256.NewInt(1e9),
			GasFeeCap: uint256.NewInt(90e9), Gas: 80000, To: to, Value: uint256.NewInt(0),
			AuthList: []types.SetCodeAuthorization{auth},
		}),
	}
}

// synthBlock returns an executed block holding synthTxns, with the header
// fields an honest daemon would have recorded.
func synthBlock() *blocks.ExecutedBlock {
	txs := synthTxns()
	sender := crypto.PubkeyToAddress(synthKey.PublicKey)
	baseFee := big.NewInt(50e9)
	logAddr := common.HexToAddress("0x30f7bf69d92828441f5a6bfcf818df25deb2c4b4")

	b := &blocks.ExecutedBlock{Txns: make([]blocks.ExecutedTxn, len(txs))}
	receipts := make(types.Receipts, len(txs))
	var cumulative uint64
	for i, tx := range txs {
		gas := tx.Gas() - uint64(i)*100
		cumulative += gas
		r := &types.Receipt{Type: tx.Type(), Status: uint64(i % 2), CumulativeGasUsed: cumulative}
		t := &b.Txns[i]
		t.Index = uint32(i)
		t.Receipt = execevents.EthTxnReceipt{Status: i%2 == 1, GasUsed: gas}
		for j := 0; j < i%3; j++ {
			l := &types.Log{Address: logAddr, Topics: []common.Hash{{byte(i)}, {byte(j)}}, Data: []byte{byte(i), byte(j)}}
			r.Logs = append(r.Logs, l)
			t.Logs = append(t.Logs, blocks.Log{
				Index: uint32(j), Address: execevents.Address(l.Address),
				Topics: []execevents.Bytes32{execevents.Bytes32(l.Topics[0]), execevents.Bytes32(l.Topics[1])},
				Data:   l.Data,
			})
		}
		t.Receipt.LogCount = uint32(len(t.Logs))
		r.Bloom = types.CreateBloom(r)
		receipts[i] = r
		fillTxn(t, tx, sender)
	}

	var bloom types.Bloom
	for _, r := range receipts {
		for i := range bloom {
			bloom[i] |= r.Bloom[i]
		}
	}
	extra := []byte("monad synthetic")
	h := &types.Header{
		ParentHash:  common.HexToHash("0x9a71a95be3fe957457b11817587e5af4c7e24836d5b383c430ff25b9286a457f"),
		UncleHash:   types.EmptyUncleHash,
		Coinbase:    common.HexToAddress("0x1ad91ee08f21be3de0ba2ba6918e714da6b45836"),
		Root:        common.HexToHash("0x5e215f13dce86552d9083116be9f2b71f639d014fa9694f3dca9fb579bf4a717"),
		TxHash:      types.DeriveSha(types.Transactions(txs), trie.NewStackTrie(nil)),
		ReceiptHash: types.DeriveSha(receipts, trie.NewStackTrie(nil)),
		Bloom:       bloom,
		Difficulty:  new(big.Int),
		Number:      big.NewInt(1000),
		GasLimit:    params.GenesisGasLimit * 30,
		GasUsed:     cumulative,
		Time:        1750000000,
		Extra:       extra,
		MixDigest:   common.Hash{0x33},
		BaseFee:     baseFee,
		// Prague shape, as on every Monad chain.
		WithdrawalsHash:  &types.EmptyRootHash,
		BlobGasUsed:      new(uint64),
		ExcessBlobGas:    new(uint64),
		ParentBeaconRoot: new(common.Hash),
		RequestsHash:     new(common.Hash),
	}

	s := &b.Start
	s.BlockTag = execevents.BlockTag{ID: execevents.Bytes32{0xb1, 0x0c}, BlockNumber: 1000}
	s.Round, s.Epoch = 1002, 3
	s.ChainID.SetUint64(synthChainID)
	s.ParentEthHash = execevents.Bytes32(h.ParentHash)
	in := &s.EthBlockInput
	in.OmmersHash = execevents.Bytes32(h.UncleHash)
	in.Beneficiary = execevents.Address(h.Coinbase)
	in.TransactionsRoot = execevents.Bytes32(h.TxHash)
	in.Number, in.GasLimit, in.Timestamp = 1000, h.GasLimit, h.Time
	copy(in.ExtraData[:], extra)
	in.ExtraDataLength = uint64(len(extra))
	in.PrevRandao = execevents.Bytes32(h.MixDigest)
	in.BaseFeePerGas.SetFromBig(baseFee)
	in.TxnCount = uint64(len(txs))
	// The daemon records a zero withdrawals root when there are none.

	b.End.EthBlockHash = execevents.Bytes32(h.Hash())
	b.End.ExecOutput = execevents.EthBlockExecOutput{
		StateRoot: execevents.Bytes32(h.Root), ReceiptsRoot: execevents.Bytes32(h.ReceiptHash),
		LogsBloom: execevents.Bloom256(h.Bloom), GasUsed: h.GasUsed,
	}
	return b
}

// fillTxn records tx as TXN_HEADER_START and its list events would.
func fillTxn(t *blocks.ExecutedTxn, tx *types.Transaction, sender common.Address) {
	v, r, s := tx.RawSignatureValues()
	hd := &t.Header.TxnHeader
	t.Header.TxnHash = execevents.Bytes32(tx.Hash())
	t.Header.Sender = execevents.Address(sender)
	hd.TxnType = execevents.TransactionType(tx.Type())
	if tx.Type() != types.LegacyTxType || tx.Protected() {
		hd.ChainID.SetFromBig(tx.ChainId())
	}
	hd.Nonce, hd.GasLimit = tx.Nonce(), tx.Gas()
	hd.MaxFeePerGas.SetFromBig(tx.GasFeeCap())
	if tx.Type() >= types.DynamicFeeTxType {
		hd.MaxPriorityFeePerGas.SetFromBig(tx.GasTipCap())
	}
	hd.Value.SetFromBig(tx.Value())
	if to := tx.To(); to != nil {
		hd.To = execevents.Address(*to)
	} else {
		hd.IsContractCreation = true
	}
	hd.R.SetFromBig(r)
	hd.S.SetFromBig(s)
	switch {
	case tx.Type() != types.LegacyTxType:
		hd.YParity = v.Sign() != 0
	case tx.Protected():
		hd.YParity = v.Bit(0) == 0 // v = 35 + 2·chain + parity
	default:
		hd.YParity = v.Uint64() == 28
	}
	if tx.Type() == types.BlobTxType {
		hd.MaxFeePerBlobGas.SetFromBig(tx.BlobGasFeeCap())
		for _, h := range tx.BlobHashes() {
			t.BlobHashes = append(t.BlobHashes, execevents.Bytes32(h))
		}
	}
	t.Input = tx.Data()
	hd.DataLength = uint32(len(t.Input))
	hd.BlobVersionedHashLength = uint32(len(t.BlobHashes))
	for _, at := range tx.AccessList() {
		keys := make([]execevents.Bytes32, len(at.StorageKeys))
		for i, k := range at.StorageKeys {
			keys[i] = execevents.Bytes32(k)
		}
		t.AccessList = append(t.AccessList, blocks.AccessTuple{Address: execevents.Address(at.Address), StorageKeys: keys})
	}
	hd.AccessListCount = uint32(len(t.AccessList))
	for i, a := range tx.SetCodeAuthorizations() {
		e := execevents.TxnAuthListEntry{Index: uint32(i)}
		e.Entry.ChainID = a.ChainID
		e.Entry.Address = execevents.Address(a.Address)
		e.Entry.Nonce = a.Nonce
		e.Entry.YParity = a.V == 1
		e.Entry.R, e.Entry.S = a.R, a.S
		if auth, err := a.Authority(); err == nil {
			e.Authority, e.IsValidAuthority = execevents.Address(auth), true
		}
		t.AuthList = append(t.AuthList, e)
	}
	hd.AuthListCount = uint32(len(t.AuthList))
}
