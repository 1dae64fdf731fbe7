// Ethereum data as fixed-size C structs: transaction headers, receipts,
// logs, account state and block header inputs/outputs. Variable-length
// members (calldata, topics, storage keys, ...) are not part of these
// structs; events carry them as trailing arrays after the fixed part.

#pragma once

#include <stdint.h>

#include <category/execution/ethereum/core/base_ctypes.h>

#ifdef __cplusplus
extern "C"
{
#endif

// EIP-2718 transaction type byte.
enum monad_c_transaction_type : uint8_t
{
    MONAD_TXN_LEGACY,
    MONAD_TXN_EIP2930,
    MONAD_TXN_EIP1559,
    MONAD_TXN_EIP4844,
    MONAD_TXN_EIP7702,
};

// Fixed part of an EIP-2930 access list element.
struct monad_c_access_list_entry
{
    monad_c_address address;   // account whose slots are warmed
    uint32_t storage_key_count; // 32-byte keys trailing the event
};

// EIP-7702 authorization tuple.
struct monad_c_auth_list_entry
{
    monad_c_uint256_ne chain_id; // chain the authorization is valid on
    monad_c_address address;     // code delegation target
    uint64_t nonce;              // authority nonce
    bool y_parity;               // signature recovery bit
    monad_c_uint256_ne r;        // signature r
    monad_c_uint256_ne s;        // signature s
};

// Fixed-size fields of a signed transaction.
struct monad_c_eth_txn_header
{
    enum monad_c_transaction_type txn_type;
    monad_c_uint256_ne chain_id;
    uint64_t nonce;
    uint64_t gas_limit;
    monad_c_uint256_ne max_fee_per_gas; // gas price for legacy txns
    monad_c_uint256_ne max_priority_fee_per_gas;
    monad_c_uint256_ne value;
    monad_c_address to;        // zero for contract creation
    bool is_contract_creation; // tells "to 0x0" from a creation
    monad_c_uint256_ne r;
    monad_c_uint256_ne s;
    bool y_parity;
    monad_c_uint256_ne max_fee_per_blob_gas;
    uint32_t data_length;                // calldata bytes trailing the event
    uint32_t blob_versioned_hash_length; // 32-byte hashes after the data
    uint32_t access_list_count;          // access list events that follow
    uint32_t auth_list_count;            // authorization events that follow
};

// Receipt summary of an executed transaction.
struct monad_c_eth_txn_receipt
{
    bool status;        // true on success
    uint32_t log_count; // log events that follow
    uint64_t gas_used;  // gas used by this transaction alone
};

// Fixed part of a log; topics then data trail the event.
struct monad_c_eth_txn_log
{
    uint32_t index;          // position among the transaction's logs
    monad_c_address address; // emitting contract
    uint8_t topic_count;     // 32-byte topics trailing the event
    uint32_t data_length;    // data bytes after the topics
};

// Account state as seen by execution.
struct monad_c_eth_account_state
{
    uint64_t nonce;
    monad_c_uint256_ne balance;
    monad_c_bytes32 code_hash;
};

// Block header fields known before execution.
struct monad_c_eth_block_input
{
    monad_c_bytes32 ommers_hash;
    monad_c_address beneficiary;
    monad_c_bytes32 transactions_root;
    uint64_t difficulty;
    uint64_t number;
    uint64_t gas_limit;
    uint64_t timestamp;
    monad_c_bytes32 extra_data;  // zero-padded
    uint64_t extra_data_length;  // meaningful bytes of extra_data
    monad_c_bytes32 prev_randao; // mix hash
    monad_c_b64 nonce;
    monad_c_uint256_ne base_fee_per_gas; // zero before London
    monad_c_bytes32 withdrawals_root;    // zero before Shanghai
    uint64_t txn_count;
};

// Block header fields produced by execution.
struct monad_c_eth_block_exec_output
{
    monad_c_bytes32 state_root;
    monad_c_bytes32 receipts_root;
    monad_c_bloom256 logs_bloom;
    uint64_t gas_used;
};

#ifdef __cplusplus
} // extern "C"
#endif
