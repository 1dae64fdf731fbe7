package ethconv

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/holiman/uint256"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/execevents"
)

// NewTransaction converts an executed transaction to the signed
// *types.Transaction it was decoded from (spec §11.2): its Hash equals the
// recorded t.Header.TxnHash and its signature recovers to t.Header.Sender.
//
// Legacy transactions with a zero chain id carry a pre-EIP-155 signature
// (v = 27 + y parity); otherwise v = 35 + 2·chain id + y parity. Errors are
// *TxnError values wrapping ErrTxnType or ErrNoRecipient.
func NewTransaction(t *blocks.ExecutedTxn) (*types.Transaction, error) {
	if t == nil {
		return nil, ErrNilTxn
	}
	h := &t.Header.TxnHeader
	var to *common.Address
	if !h.IsContractCreation {
		a := common.Address(h.To)
		to = &a
	}
	var parity uint64
	if h.YParity {
		parity = 1
	}
	// types.NewTx deep-copies Data and the access-list tuples but not their
	// storage keys, hence the fresh key slices in accessList.
	var inner types.TxData
	switch h.TxnType {
	case execevents.TransactionTypeLegacy:
		v := new(big.Int).SetUint64(27 + parity)
		if !h.ChainID.IsZero() {
			v = h.ChainID.ToBig()
			v.Lsh(v, 1).Add(v, big.NewInt(int64(35+parity)))
		}
		inner = &types.LegacyTx{
			Nonce: h.Nonce, GasPrice: h.MaxFeePerGas.ToBig(), Gas: h.GasLimit, To: to,
			Value: h.Value.ToBig(), Data: t.Input,
			V: v, R: h.R.ToBig(), S: h.S.ToBig(),
		}
	case execevents.TransactionTypeEIP2930:
		inner = &types.AccessListTx{
			ChainID: h.ChainID.ToBig(), Nonce: h.Nonce, GasPrice: h.MaxFeePerGas.ToBig(), Gas: h.GasLimit,
			To: to, Value: h.Value.ToBig(), Data: t.Input, AccessList: accessList(t.AccessList),
			V: new(big.Int).SetUint64(parity), R: h.R.ToBig(), S: h.S.ToBig(),
		}
	case execevents.TransactionTypeEIP1559:
		inner = &types.DynamicFeeTx{
			ChainID: h.ChainID.ToBig(), Nonce: h.Nonce,
			GasTipCap: h.MaxPriorityFeePerGas.ToBig(), GasFeeCap: h.MaxFeePerGas.ToBig(), Gas: h.GasLimit,
			To: to, Value: h.Value.ToBig(), Data: t.Input, AccessList: accessList(t.AccessList),
			V: new(big.Int).SetUint64(parity), R: h.R.ToBig(), S: h.S.ToBig(),
		}
	case execevents.TransactionTypeEIP4844:
		if to == nil {
			return nil, &TxnError{Index: t.Index, Type: uint8(h.TxnType), Err: fmt.Errorf("%w: blob transaction marked as contract creation", ErrNoRecipient)}
		}
		hashes := make([]common.Hash, len(t.BlobHashes))
		for i, bh := range t.BlobHashes {
			hashes[i] = common.Hash(bh)
		}
		inner = &types.BlobTx{
			ChainID: u256(&h.ChainID), Nonce: h.Nonce,
			GasTipCap: u256(&h.MaxPriorityFeePerGas), GasFeeCap: u256(&h.MaxFeePerGas), Gas: h.GasLimit,
			To: *to, Value: u256(&h.Value), Data: t.Input, AccessList: accessList(t.AccessList),
			BlobFeeCap: u256(&h.MaxFeePerBlobGas), BlobHashes: hashes,
			V: uint256.NewInt(parity), R: u256(&h.R), S: u256(&h.S),
		}
	case execevents.TransactionTypeEIP7702:
		if to == nil {
			return nil, &TxnError{Index: t.Index, Type: uint8(h.TxnType), Err: fmt.Errorf("%w: set-code transaction marked as contract creation", ErrNoRecipient)}
		}
		auths := make([]types.SetCodeAuthorization, len(t.AuthList))
		for i := range t.AuthList {
			e := &t.AuthList[i].Entry
			var v uint8
			if e.YParity {
				v = 1
			}
			auths[i] = types.SetCodeAuthorization{
				ChainID: e.ChainID, Address: common.Address(e.Address), Nonce: e.Nonce,
				V: v, R: e.R, S: e.S,
			}
		}
		inner = &types.SetCodeTx{
			ChainID: u256(&h.ChainID), Nonce: h.Nonce,
			GasTipCap: u256(&h.MaxPriorityFeePerGas), GasFeeCap: u256(&h.MaxFeePerGas), Gas: h.GasLimit,
			To: *to, Value: u256(&h.Value), Data: t.Input, AccessList: accessList(t.AccessList), AuthList: auths,
			V: uint256.NewInt(parity), R: u256(&h.R), S: u256(&h.S),
		}
	default:
		return nil, &TxnError{Index: t.Index, Type: uint8(h.TxnType), Err: fmt.Errorf("%w: %d", ErrTxnType, h.TxnType)}
	}
	return types.NewTx(inner), nil
}

// Signer returns a signer able to recover the sender of tx: Homestead rules
// for an unprotected (pre-EIP-155) legacy transaction, otherwise the latest
// rules for the transaction's own chain id.
func Signer(tx *types.Transaction) types.Signer {
	if !tx.Protected() {
		return types.HomesteadSigner{}
	}
	return types.LatestSignerForChainID(tx.ChainId())
}

// accessList copies recorded access-list tuples into go-ethereum's form. It
// returns an empty, non-nil list for none, as typed transactions render
// "accessList": [].
func accessList(al []blocks.AccessTuple) types.AccessList {
	out := make(types.AccessList, len(al))
	for i := range al {
		keys := make([]common.Hash, len(al[i].StorageKeys))
		for j, k := range al[i].StorageKeys {
			keys[j] = common.Hash(k)
		}
		out[i] = types.AccessTuple{Address: common.Address(al[i].Address), StorageKeys: keys}
	}
	return out
}

// u256 returns a copy of x.
func u256(x *uint256.Int) *uint256.Int { return new(uint256.Int).Set(x) }

// effectiveGasPrice is the price per gas the sender paid (spec §11.3): the
// gas price of legacy and access-list transactions, min(fee cap, base fee +
// tip cap) for the others. A nil base fee means a pre-London block, where
// only the first kind exists.
func effectiveGasPrice(tx *types.Transaction, baseFee *big.Int) *big.Int {
	switch tx.Type() {
	case types.LegacyTxType, types.AccessListTxType:
		return tx.GasPrice()
	}
	if baseFee == nil {
		return tx.GasFeeCap()
	}
	p := new(big.Int).Add(baseFee, tx.GasTipCap())
	if fc := tx.GasFeeCap(); p.Cmp(fc) > 0 {
		p.Set(fc)
	}
	return p
}
