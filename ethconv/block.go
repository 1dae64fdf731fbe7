package ethconv

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"

	"github.com/monadgo/events/blocks"
)

// Block is an executed block converted to go-ethereum types. Transactions,
// Senders and Receipts are indexed by transaction index. Blocks come from
// Convert; the methods rely on its invariants (Header and ChainID set,
// Senders and Receipts as long as Transactions).
type Block struct {
	ID           common.Hash        // consensus block id of the proposal (BLOCK_START block_tag.id)
	ChainID      *big.Int           // chain id from BLOCK_START
	Hash         common.Hash        // Ethereum block hash recorded in BLOCK_END
	Header       *types.Header      // rebuilt header, shaped by BlockFork; Header.Hash() == Hash
	Transactions types.Transactions // signed transactions
	Senders      []common.Address   // senders recorded by the daemon (recovered at execution)
	Receipts     types.Receipts     // receipts with positioned logs and inclusion fields
}

// Convert converts an executed block: header, transactions, recorded senders
// and receipts. It fails only on data go-ethereum cannot represent (see
// NewHeaderForFork and NewTransaction) or on a transaction list that does not
// match the block input.
func Convert(b *blocks.ExecutedBlock) (*Block, error) {
	h, err := NewHeader(b)
	if err != nil {
		return nil, err
	}
	txs, err := NewTransactions(b)
	if err != nil {
		return nil, err
	}
	rs := newReceipts(b, txs, h.BaseFee)
	senders := make([]common.Address, len(b.Txns))
	for i := range b.Txns {
		senders[i] = common.Address(b.Txns[i].Header.Sender)
	}
	return &Block{
		ID:           common.Hash(b.Start.BlockTag.ID),
		ChainID:      b.Start.ChainID.ToBig(),
		Hash:         common.Hash(b.End.EthBlockHash),
		Header:       h,
		Transactions: txs,
		Senders:      senders,
		Receipts:     rs,
	}, nil
}

// Number returns the block number.
func (b *Block) Number() uint64 { return b.Header.Number.Uint64() }

// EthBlock returns the block as a *types.Block with b.Header and
// b.Transactions as its body. It has no uncles and, from Shanghai on, an
// empty withdrawal list: Monad blocks carry neither.
func (b *Block) EthBlock() *types.Block {
	body := types.Body{Transactions: b.Transactions}
	if b.Header.WithdrawalsHash != nil {
		body.Withdrawals = []*types.Withdrawal{}
	}
	return types.NewBlockWithHeader(b.Header).WithBody(body)
}

// Logs returns all logs of the block in block order (eth_getLogs order).
func (b *Block) Logs() []*types.Log {
	var n int
	for _, r := range b.Receipts {
		n += len(r.Logs)
	}
	logs := make([]*types.Log, 0, n)
	for _, r := range b.Receipts {
		logs = append(logs, r.Logs...)
	}
	return logs
}

// NewTransactions converts every transaction of b (see NewTransaction).
func NewTransactions(b *blocks.ExecutedBlock) (types.Transactions, error) {
	if b == nil {
		return nil, ErrNilBlock
	}
	if n := b.Start.EthBlockInput.TxnCount; uint64(len(b.Txns)) != n {
		return nil, fmt.Errorf("%w: %d transactions, txn_count %d", ErrTxnCount, len(b.Txns), n)
	}
	txs := make(types.Transactions, len(b.Txns))
	for i := range b.Txns {
		t := &b.Txns[i]
		if uint64(t.Index) != uint64(i) {
			return nil, &TxnError{Index: uint32(i), Type: uint8(t.Header.TxnHeader.TxnType), Err: fmt.Errorf("%w: recorded index %d", ErrTxnIndex, t.Index)}
		}
		tx, err := NewTransaction(t)
		if err != nil {
			return nil, err
		}
		txs[i] = tx
	}
	return txs, nil
}

// NewReceipts builds the receipts of b (spec §11.3): type, status,
// cumulative gas in index order, the transaction's own gas, logs with their
// block-wide index and inclusion fields, bloom, contract address of
// creations and effective gas price. txs must be b's transactions as
// returned by NewTransactions; nil converts them.
func NewReceipts(b *blocks.ExecutedBlock, txs types.Transactions) (types.Receipts, error) {
	if b == nil {
		return nil, ErrNilBlock
	}
	if txs == nil {
		var err error
		if txs, err = NewTransactions(b); err != nil {
			return nil, err
		}
	}
	if len(txs) != len(b.Txns) {
		return nil, fmt.Errorf("%w: %d transactions given for %d executed", ErrTxnCount, len(txs), len(b.Txns))
	}
	for i, tx := range txs {
		if tx == nil {
			return nil, fmt.Errorf("%w: transactions[%d]", ErrNilTxn, i)
		}
	}
	var baseFee *big.Int
	if BlockFork(b) >= ForkLondon {
		baseFee = b.Start.EthBlockInput.BaseFeePerGas.ToBig()
	}
	return newReceipts(b, txs, baseFee), nil
}

func newReceipts(b *blocks.ExecutedBlock, txs types.Transactions, baseFee *big.Int) types.Receipts {
	in := &b.Start.EthBlockInput
	blockHash := common.Hash(b.End.EthBlockHash)
	number := new(big.Int).SetUint64(in.Number)
	// Blob gas is priced from the header's excess blob gas, which the schema
	// carries only implicitly for Monad chains (always 0: minimum price).
	var blobPrice *big.Int
	if !isEthereumChain(b) {
		blobPrice = big.NewInt(params.BlobTxMinBlobGasprice)
	}
	receipts := make(types.Receipts, len(b.Txns))
	var cumulative uint64
	var logIndex uint
	for i := range b.Txns {
		t, tx := &b.Txns[i], txs[i]
		cumulative += t.Receipt.GasUsed
		r := &types.Receipt{
			Type:              tx.Type(),
			CumulativeGasUsed: cumulative,
			TxHash:            common.Hash(t.Header.TxnHash),
			GasUsed:           t.Receipt.GasUsed,
			EffectiveGasPrice: effectiveGasPrice(tx, baseFee),
			BlockHash:         blockHash,
			BlockNumber:       number,
			TransactionIndex:  uint(i),
			Logs:              make([]*types.Log, len(t.Logs)),
		}
		if t.Receipt.Status {
			r.Status = types.ReceiptStatusSuccessful
		}
		if t.Header.TxnHeader.IsContractCreation {
			r.ContractAddress = crypto.CreateAddress(common.Address(t.Header.Sender), t.Header.TxnHeader.Nonce)
		}
		if tx.Type() == types.BlobTxType {
			r.BlobGasUsed = tx.BlobGas()
			if blobPrice != nil {
				r.BlobGasPrice = new(big.Int).Set(blobPrice)
			}
		}
		logs := make([]types.Log, len(t.Logs)) // one allocation for all logs of the receipt
		for j := range t.Logs {
			l := &t.Logs[j]
			topics := make([]common.Hash, len(l.Topics))
			for k, tp := range l.Topics {
				topics[k] = common.Hash(tp)
			}
			logs[j] = types.Log{
				Address:        common.Address(l.Address),
				Topics:         topics,
				Data:           common.CopyBytes(l.Data),
				BlockNumber:    in.Number,
				TxHash:         r.TxHash,
				TxIndex:        uint(i),
				BlockHash:      blockHash,
				BlockTimestamp: in.Timestamp,
				Index:          logIndex,
			}
			if logs[j].Data == nil {
				logs[j].Data = []byte{}
			}
			r.Logs[j] = &logs[j]
			logIndex++
		}
		r.Bloom = types.CreateBloom(r)
		receipts[i] = r
	}
	return receipts
}
