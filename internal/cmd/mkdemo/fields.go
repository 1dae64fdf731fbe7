package main

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/holiman/uint256"
)

// The field sets below are exactly what the recorder stores (spec §7.5,
// §7.6): the encoder copies them into the generated payload structs without
// further computation, and the tests rebuild Ethereum objects from them.

// txnHeaderFields is monad_c_eth_txn_header plus the TXN_HEADER_START
// trailing arrays and the list events that follow it.
type txnHeaderFields struct {
	Type                   uint8
	ChainID                uint256.Int // 0 for a pre-EIP-155 legacy signature
	Nonce, GasLimit        uint64
	MaxFee, MaxPriorityFee uint256.Int // legacy and EIP-2930: gas price and 0
	Value                  uint256.Int
	To                     common.Address // zero for a contract creation
	IsCreation             bool
	R, S                   uint256.Int
	YParity                bool
	MaxBlobFee             uint256.Int
	Data                   []byte
	BlobHashes             []common.Hash
	AccessList             types.AccessList
	Authorizations         []types.SetCodeAuthorization
	TxnHash                common.Hash
	Sender                 common.Address
	Authorities            []authority
	Status                 bool
	GasUsed                uint64 // this transaction's own gas
	Logs                   []*types.Log
}

func txnFields(t *txn) txnHeaderFields {
	tx := t.Tx
	f := txnHeaderFields{
		Type:           tx.Type(),
		Nonce:          tx.Nonce(),
		GasLimit:       tx.Gas(),
		MaxFee:         *uint256.MustFromBig(tx.GasFeeCap()),
		Value:          *uint256.MustFromBig(tx.Value()),
		IsCreation:     tx.To() == nil,
		Data:           tx.Data(),
		BlobHashes:     tx.BlobHashes(),
		AccessList:     tx.AccessList(),
		Authorizations: tx.SetCodeAuthorizations(),
		TxnHash:        tx.Hash(),
		Sender:         t.Sender,
		Authorities:    t.Authorities,
		Status:         t.Receipt.Status == types.ReceiptStatusSuccessful,
		GasUsed:        t.Receipt.GasUsed,
		Logs:           t.Receipt.Logs,
	}
	if tx.To() != nil {
		f.To = *tx.To()
	}
	if tx.Protected() {
		f.ChainID = *uint256.MustFromBig(tx.ChainId())
	}
	if tx.Type() != types.LegacyTxType && tx.Type() != types.AccessListTxType {
		f.MaxPriorityFee = *uint256.MustFromBig(tx.GasTipCap())
	}
	if bf := tx.BlobGasFeeCap(); bf != nil {
		f.MaxBlobFee = *uint256.MustFromBig(bf)
	}
	v, r, s := tx.RawSignatureValues()
	f.R, f.S = *uint256.MustFromBig(r), *uint256.MustFromBig(s)
	parity := v.Uint64()
	if tx.Type() == types.LegacyTxType {
		if tx.Protected() {
			parity -= 35 + 2*demoChainID
		} else {
			parity -= 27
		}
	}
	f.YParity = parity == 1
	return f
}

// blockFields is what BLOCK_START and BLOCK_END carry besides the consensus
// identity: monad_c_eth_block_input, monad_c_eth_block_exec_output and the
// two hashes.
type blockFields struct {
	ParentHash       common.Hash
	OmmersHash       common.Hash
	Beneficiary      common.Address
	TransactionsRoot common.Hash
	Difficulty       uint64
	Number           uint64
	GasLimit         uint64
	Timestamp        uint64
	ExtraData        []byte // at most 32 bytes
	PrevRandao       common.Hash
	Nonce            [8]byte
	BaseFee          uint256.Int
	WithdrawalsRoot  common.Hash // zero when the header has none
	TxnCount         uint64

	StateRoot    common.Hash
	ReceiptsRoot common.Hash
	LogsBloom    types.Bloom
	GasUsed      uint64
	EthBlockHash common.Hash
}

func blockFieldsOf(p *proposal) blockFields {
	h := p.Header
	f := blockFields{
		ParentHash:       h.ParentHash,
		OmmersHash:       h.UncleHash,
		Beneficiary:      h.Coinbase,
		TransactionsRoot: h.TxHash,
		Difficulty:       h.Difficulty.Uint64(),
		Number:           h.Number.Uint64(),
		GasLimit:         h.GasLimit,
		Timestamp:        h.Time,
		ExtraData:        h.Extra,
		PrevRandao:       h.MixDigest,
		Nonce:            h.Nonce,
		BaseFee:          *uint256.MustFromBig(h.BaseFee),
		TxnCount:         uint64(len(p.Txns)),
		StateRoot:        h.Root,
		ReceiptsRoot:     h.ReceiptHash,
		LogsBloom:        h.Bloom,
		GasUsed:          h.GasUsed,
		EthBlockHash:     h.Hash(),
	}
	if h.WithdrawalsHash != nil {
		f.WithdrawalsRoot = *h.WithdrawalsHash
	}
	return f
}
