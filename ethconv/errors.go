package ethconv

import (
	"errors"
	"fmt"
)

// Sentinel errors, usable with errors.Is. They are wrapped with the offending
// value, usually inside a *TxnError.
var (
	// ErrNilBlock reports a nil *blocks.ExecutedBlock.
	ErrNilBlock = errors.New("ethconv: nil executed block")
	// ErrNilTxn reports a nil *execevents.ExecutedTxn or a nil transaction
	// given to NewReceipts.
	ErrNilTxn = errors.New("ethconv: nil transaction")
	// ErrExtraDataLength reports an extra_data_length above 32 bytes.
	ErrExtraDataLength = errors.New("ethconv: extra data length exceeds 32 bytes")
	// ErrTxnType reports a transaction type this package does not know.
	ErrTxnType = errors.New("ethconv: unknown transaction type")
	// ErrNoRecipient reports a blob or set-code transaction flagged as a
	// contract creation, which those types cannot express.
	ErrNoRecipient = errors.New("ethconv: transaction type requires a recipient")
	// ErrTxnIndex reports a transaction whose recorded index differs from its
	// position in the block.
	ErrTxnIndex = errors.New("ethconv: transaction index does not match its position")
	// ErrTxnCount reports a block whose number of transactions differs from
	// the txn_count of its BLOCK_START.
	ErrTxnCount = errors.New("ethconv: transaction count does not match the block input")
)

// TxnError reports a transaction of a block that could not be converted.
type TxnError struct {
	Index uint32 // position of the transaction in its block
	Type  uint8  // recorded transaction type
	Err   error  // one of the sentinels above, wrapped with the offending value
}

// Error implements error.
func (e *TxnError) Error() string {
	return fmt.Sprintf("ethconv: transaction %d (type %d): %v", e.Index, e.Type, e.Err)
}

// Unwrap returns the underlying error.
func (e *TxnError) Unwrap() error { return e.Err }
