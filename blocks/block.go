package blocks

import "github.com/monadgo/events/execevents"

// ExecutedBlock is one proposed block reassembled from its events by a
// [Builder]: the BLOCK_START and BLOCK_END payloads and every transaction.
//
// All fields are owned copies; nothing refers to ring memory, so a block
// stays valid after its payloads expire, and no two blocks share memory.
// The slices of one block are carved from a few exactly sized allocations
// (one per element type); every slice is capped, so appending to one never
// writes into another.
type ExecutedBlock struct {
	Start execevents.BlockStart // BLOCK_START payload
	End   execevents.BlockEnd   // BLOCK_END payload

	// Txns has exactly Start.EthBlockInput.TxnCount elements, in index
	// order (Txns[i].Index == i).
	Txns []ExecutedTxn

	// Prologue and Epilogue are the block-scope account access lists; they
	// are filled only when the builder was created with the accesses option
	// and the producer recorded them.
	Prologue, Epilogue []AccountAccessRecord

	// StartSeqno and EndSeqno are the ring sequence numbers of the
	// BLOCK_START and BLOCK_END events.
	StartSeqno, EndSeqno uint64
}

// Tag returns the block's proposal identity (consensus id and number).
func (b *ExecutedBlock) Tag() execevents.BlockTag { return b.Start.BlockTag }

// Number returns the block number the proposal carries.
func (b *ExecutedBlock) Number() uint64 { return b.Start.BlockTag.BlockNumber }

// ID returns the consensus block id of the proposal.
func (b *ExecutedBlock) ID() execevents.Bytes32 { return b.Start.BlockTag.ID }

// ExecutedTxn is one transaction of an [ExecutedBlock] with its receipt.
type ExecutedTxn struct {
	// Index is the transaction's position in the block.
	Index uint32
	// Header is the TXN_HEADER_START fixed struct: TxnHash, Sender and the
	// transaction fields (TxnHeader).
	Header execevents.TxnHeaderStart
	// Input is the calldata (or init code) trailing TXN_HEADER_START.
	Input []byte
	// BlobHashes are the EIP-4844 blob versioned hashes.
	BlobHashes []execevents.Bytes32
	// AccessList is the EIP-2930 access list, in index order.
	AccessList []AccessTuple
	// AuthList is the EIP-7702 authorization list, in index order
	// (including the recovered authority).
	AuthList []execevents.TxnAuthListEntry
	// Receipt is the receipt summary from TXN_EVM_OUTPUT.
	Receipt execevents.EthTxnReceipt
	// Logs are the transaction's logs in index order
	// (len == Receipt.LogCount).
	Logs []Log
	// CallFrames holds the call trace, in index order; only with the call
	// frames option.
	CallFrames []CallFrame
	// Accesses is the transaction-scope account access list; only with the
	// accesses option.
	Accesses []AccountAccessRecord
}

// AccessTuple is one EIP-2930 access-list element.
type AccessTuple struct {
	Address     execevents.Address   // the account whose slots are pre-warmed
	StorageKeys []execevents.Bytes32 // its storage keys, in recorded order
}

// Log is one log emitted by a transaction.
type Log struct {
	// Index is the log's position among the transaction's logs.
	Index uint32
	// BlockIndex is the log's position among all logs of the block, in
	// transaction order: the logIndex of Ethereum's JSON-RPC.
	BlockIndex uint32
	Address    execevents.Address   // contract that emitted the log
	Topics     []execevents.Bytes32 // all recorded topics (0..4 for EVM logs)
	Data       []byte               // the log's data
}

// CallFrame is one call-trace frame with its input and return data.
type CallFrame struct {
	execevents.TxnCallFrame
	Input      []byte // the call's input (calldata or init code)
	ReturnData []byte // the frame's return or revert data
}

// AccountAccessRecord is one ACCOUNT_ACCESS event of a scope with the
// STORAGE_ACCESS events that follow it.
type AccountAccessRecord struct {
	execevents.AccountAccess
	// Storage holds the ordinary storage slots (transient == false), in
	// index order (len == StorageKeyCount).
	Storage []execevents.StorageAccess
	// Transient holds the EIP-1153 transient slots, in index order
	// (len == TransientCount).
	Transient []execevents.StorageAccess
}
