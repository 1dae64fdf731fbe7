// Execution event schema (content type EXEC): the event codes, the flow tag
// indexes of descriptor.content_ext and the payload struct of every event.
//
// Payloads with variable-length data (calldata, blob hashes, storage keys,
// log topics and data, call input and return data) carry it immediately
// after the fixed struct, in member order of the counts that describe it.

#pragma once

#include <stddef.h>
#include <stdint.h>

#include <category/core/event/event_metadata.h>
#include <category/core/event/event_ring.h>
#include <category/execution/ethereum/core/base_ctypes.h>
#include <category/execution/ethereum/core/eth_ctypes.h>
#include <category/execution/monad/core/monad_ctypes.h>

#ifdef __cplusplus
extern "C"
{
#endif

// Forward declaration with the fixed underlying type; the full list follows.
enum monad_exec_event_type : uint16_t;

// Event codes of the EXEC content type.
enum monad_exec_event_type : uint16_t
{
    MONAD_EXEC_NONE,
    MONAD_EXEC_RECORD_ERROR,
    MONAD_EXEC_BLOCK_START,
    MONAD_EXEC_BLOCK_REJECT,
    MONAD_EXEC_BLOCK_PERF_EVM_ENTER,
    MONAD_EXEC_BLOCK_PERF_EVM_EXIT,
    MONAD_EXEC_BLOCK_END,
    MONAD_EXEC_BLOCK_QC,
    MONAD_EXEC_BLOCK_FINALIZED,
    MONAD_EXEC_BLOCK_VERIFIED,
    MONAD_EXEC_TXN_HEADER_START,
    MONAD_EXEC_TXN_ACCESS_LIST_ENTRY,
    MONAD_EXEC_TXN_AUTH_LIST_ENTRY,
    MONAD_EXEC_TXN_HEADER_END,
    MONAD_EXEC_TXN_REJECT,
    MONAD_EXEC_TXN_PERF_EVM_ENTER,
    MONAD_EXEC_TXN_PERF_EVM_EXIT,
    MONAD_EXEC_TXN_EVM_OUTPUT,
    MONAD_EXEC_TXN_LOG,
    MONAD_EXEC_TXN_CALL_FRAME,
    MONAD_EXEC_TXN_END,
    MONAD_EXEC_ACCOUNT_ACCESS_LIST_HEADER,
    MONAD_EXEC_ACCOUNT_ACCESS,
    MONAD_EXEC_STORAGE_ACCESS,
    MONAD_EXEC_EVM_ERROR,
};

// Number of EXEC event codes, the length of the metadata table.
constexpr size_t MONAD_EXEC_EVENT_COUNT = MONAD_EXEC_EVM_ERROR + 1;

// Indexes into descriptor.content_ext for EXEC events.
enum monad_exec_flow_type : uint8_t
{
    MONAD_FLOW_BLOCK_SEQNO,   // seqno of the enclosing BLOCK_START
    MONAD_FLOW_TXN_ID,        // transaction index + 1, 0 outside txns
    MONAD_FLOW_ACCOUNT_INDEX, // owning account index on STORAGE_ACCESS
};

// The scope a list of state accesses belongs to.
enum monad_exec_account_access_context : uint8_t
{
    MONAD_ACCT_ACCESS_BLOCK_PROLOGUE,
    MONAD_ACCT_ACCESS_TRANSACTION,
    MONAD_ACCT_ACCESS_BLOCK_EPILOGUE,
};

// Identity of a consensus proposal.
struct monad_exec_block_tag
{
    monad_c_bytes32 id;    // consensus block id
    uint64_t block_number; // number the block gets if finalized
};

// RECORD_ERROR: the ring-level record error struct.
typedef struct monad_event_record_error monad_exec_record_error;

// BLOCK_START: a proposed block begins executing; opens a block scope.
struct monad_exec_block_start
{
    struct monad_exec_block_tag block_tag;
    uint64_t round;
    uint64_t epoch;
    __uint128_t proposal_epoch_nanos; // 16-byte aligned
    monad_c_uint256_ne chain_id;
    struct monad_c_secp256k1_pubkey author;
    monad_c_bytes32 parent_eth_hash;
    struct monad_c_eth_block_input eth_block_input;
    struct monad_c_native_block_input monad_block_input;
};

// BLOCK_REJECT: block validation error code; closes the block scope.
typedef uint32_t monad_exec_block_reject;

// BLOCK_END: execution succeeded; closes the block scope.
struct monad_exec_block_end
{
    monad_c_bytes32 eth_block_hash;
    struct monad_c_eth_block_exec_output exec_output;
};

// BLOCK_QC: a quorum certificate was formed for a proposal.
struct monad_exec_block_qc
{
    struct monad_exec_block_tag block_tag;
    uint64_t round;
    uint64_t epoch;
};

// BLOCK_FINALIZED: consensus finalized a proposal.
typedef struct monad_exec_block_tag monad_exec_block_finalized;

// BLOCK_VERIFIED: the execution result of a finalized block was verified.
struct monad_exec_block_verified
{
    uint64_t block_number;
};

// TXN_HEADER_START: first event of a transaction; calldata and blob
// versioned hashes trail it.
struct monad_exec_txn_header_start
{
    monad_c_bytes32 txn_hash;
    monad_c_address sender;
    struct monad_c_eth_txn_header txn_header;
};

// TXN_ACCESS_LIST_ENTRY: one access list element; its storage keys trail.
struct monad_exec_txn_access_list_entry
{
    uint32_t index;
    struct monad_c_access_list_entry entry;
};

// TXN_AUTH_LIST_ENTRY: one authorization with its recovered signer.
struct monad_exec_txn_auth_list_entry
{
    uint32_t index;
    struct monad_c_auth_list_entry entry;
    monad_c_address authority;
    bool is_valid_authority;
};

// TXN_REJECT: transaction validation error code.
typedef uint32_t monad_exec_txn_reject;

// TXN_EVM_OUTPUT: the transaction executed; logs and call frames follow.
struct monad_exec_txn_evm_output
{
    struct monad_c_eth_txn_receipt receipt;
    uint32_t call_frame_count;
};

// TXN_LOG: one log; topics then data trail it.
typedef struct monad_c_eth_txn_log monad_exec_txn_log;

// TXN_CALL_FRAME: one call trace frame; input then return data trail it.
struct monad_exec_txn_call_frame
{
    uint32_t index;
    monad_c_address caller;
    monad_c_address call_target;
    uint8_t opcode;
    monad_c_uint256_ne value;
    uint64_t gas;
    uint64_t gas_used;
    int32_t evmc_status;
    uint64_t depth;
    uint64_t input_length;
    uint64_t return_length;
};

// ACCOUNT_ACCESS_LIST_HEADER: opens the account accesses of one scope.
struct monad_exec_account_access_list_header
{
    uint32_t entry_count;
    enum monad_exec_account_access_context access_context;
};

// ACCOUNT_ACCESS: one account read or written in the scope.
struct monad_exec_account_access
{
    uint32_t index;
    monad_c_address address;
    enum monad_exec_account_access_context access_context;
    bool is_balance_modified;
    bool is_nonce_modified;
    struct monad_c_eth_account_state prestate;
    monad_c_uint256_ne modified_balance;
    uint64_t modified_nonce;
    uint32_t storage_key_count;
    uint32_t transient_count;
};

// STORAGE_ACCESS: one storage slot of the preceding account.
struct monad_exec_storage_access
{
    monad_c_address address;
    uint32_t index;
    enum monad_exec_account_access_context access_context;
    bool modified;
    bool transient;
    monad_c_bytes32 key;
    monad_c_bytes32 start_value;
    monad_c_bytes32 end_value;
};

// EVM_ERROR: an error outside the validation categories.
struct monad_exec_evm_error
{
    uint64_t domain_id;
    int64_t status_code;
};

static_assert(sizeof(struct monad_exec_block_start) == 528);
static_assert(alignof(struct monad_exec_block_start) == 16);
static_assert(sizeof(struct monad_exec_storage_access) == 124);

extern struct monad_event_metadata const
    g_monad_exec_event_metadata[MONAD_EXEC_EVENT_COUNT];

extern uint8_t const g_monad_exec_event_schema_hash[32];

// Default file name of the execution event ring, relative to the ring
// directory.
static constexpr char MONAD_EVENT_DEFAULT_EXEC_FILE_NAME[] = "monad-exec-events";

#ifdef __cplusplus
} // extern "C"
#endif
