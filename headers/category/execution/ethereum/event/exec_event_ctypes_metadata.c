// Metadata of the EXEC content type: the name and description of every event
// code, and the schema hash that a ring must carry for these definitions to
// apply.

#include <stdint.h>

#include <category/core/event/event_metadata.h>
#include <category/execution/ethereum/event/exec_event_ctypes.h>

#ifdef __cplusplus
extern "C"
{
#endif

struct monad_event_metadata const
    g_monad_exec_event_metadata[MONAD_EXEC_EVENT_COUNT] = {
    [MONAD_EXEC_NONE] =
        {.event_type = MONAD_EXEC_NONE,
         .c_name = "NONE",
         .description =
            "reserved so that code 0 is never a valid event"},

    [MONAD_EXEC_RECORD_ERROR] =
        {.event_type = MONAD_EXEC_RECORD_ERROR,
         .c_name = "RECORD_ERROR",
         .description =
            "stand-in for an event that could not be "
            "recorded"},

    [MONAD_EXEC_BLOCK_START] =
        {.event_type = MONAD_EXEC_BLOCK_START,
         .c_name = "BLOCK_START",
         .description =
            "a proposed block starts executing; carries "
            "its identity and all execution inputs"},

    [MONAD_EXEC_BLOCK_REJECT] =
        {.event_type = MONAD_EXEC_BLOCK_REJECT,
         .c_name = "BLOCK_REJECT",
         .description =
            "the block failed validation"},

    [MONAD_EXEC_BLOCK_PERF_EVM_ENTER] =
        {.event_type = MONAD_EXEC_BLOCK_PERF_EVM_ENTER,
         .c_name = "BLOCK_PERF_EVM_ENTER",
         .description =
            "transaction execution of the block begins"},

    [MONAD_EXEC_BLOCK_PERF_EVM_EXIT] =
        {.event_type = MONAD_EXEC_BLOCK_PERF_EVM_EXIT,
         .c_name = "BLOCK_PERF_EVM_EXIT",
         .description =
            "transaction execution of the block is done"},

    [MONAD_EXEC_BLOCK_END] =
        {.event_type = MONAD_EXEC_BLOCK_END,
         .c_name = "BLOCK_END",
         .description =
            "the block executed; carries its hash and "
            "execution outputs"},

    [MONAD_EXEC_BLOCK_QC] =
        {.event_type = MONAD_EXEC_BLOCK_QC,
         .c_name = "BLOCK_QC",
         .description =
            "a quorum certificate was formed for a "
            "proposal"},

    [MONAD_EXEC_BLOCK_FINALIZED] =
        {.event_type = MONAD_EXEC_BLOCK_FINALIZED,
         .c_name = "BLOCK_FINALIZED",
         .description =
            "consensus finalized a proposal"},

    [MONAD_EXEC_BLOCK_VERIFIED] =
        {.event_type = MONAD_EXEC_BLOCK_VERIFIED,
         .c_name = "BLOCK_VERIFIED",
         .description =
            "the execution result of a finalized block "
            "was verified"},

    [MONAD_EXEC_TXN_HEADER_START] =
        {.event_type = MONAD_EXEC_TXN_HEADER_START,
         .c_name = "TXN_HEADER_START",
         .description =
            "a transaction starts: hash, sender, fixed "
            "fields, calldata and blob hashes"},

    [MONAD_EXEC_TXN_ACCESS_LIST_ENTRY] =
        {.event_type = MONAD_EXEC_TXN_ACCESS_LIST_ENTRY,
         .c_name = "TXN_ACCESS_LIST_ENTRY",
         .description =
            "one EIP-2930 access list element"},

    [MONAD_EXEC_TXN_AUTH_LIST_ENTRY] =
        {.event_type = MONAD_EXEC_TXN_AUTH_LIST_ENTRY,
         .c_name = "TXN_AUTH_LIST_ENTRY",
         .description =
            "one EIP-7702 authorization"},

    [MONAD_EXEC_TXN_HEADER_END] =
        {.event_type = MONAD_EXEC_TXN_HEADER_END,
         .c_name = "TXN_HEADER_END",
         .description =
            "all header events of the transaction were "
            "recorded"},

    [MONAD_EXEC_TXN_REJECT] =
        {.event_type = MONAD_EXEC_TXN_REJECT,
         .c_name = "TXN_REJECT",
         .description =
            "the transaction failed validation"},

    [MONAD_EXEC_TXN_PERF_EVM_ENTER] =
        {.event_type = MONAD_EXEC_TXN_PERF_EVM_ENTER,
         .c_name = "TXN_PERF_EVM_ENTER",
         .description =
            "the transaction's execution task starts"},

    [MONAD_EXEC_TXN_PERF_EVM_EXIT] =
        {.event_type = MONAD_EXEC_TXN_PERF_EVM_EXIT,
         .c_name = "TXN_PERF_EVM_EXIT",
         .description =
            "the transaction's execution task ends"},

    [MONAD_EXEC_TXN_EVM_OUTPUT] =
        {.event_type = MONAD_EXEC_TXN_EVM_OUTPUT,
         .c_name = "TXN_EVM_OUTPUT",
         .description =
            "the transaction executed: receipt summary "
            "and counts of what follows"},

    [MONAD_EXEC_TXN_LOG] =
        {.event_type = MONAD_EXEC_TXN_LOG,
         .c_name = "TXN_LOG",
         .description =
            "one log emitted by the transaction"},

    [MONAD_EXEC_TXN_CALL_FRAME] =
        {.event_type = MONAD_EXEC_TXN_CALL_FRAME,
         .c_name = "TXN_CALL_FRAME",
         .description =
            "one call trace frame"},

    [MONAD_EXEC_TXN_END] =
        {.event_type = MONAD_EXEC_TXN_END,
         .c_name = "TXN_END",
         .description =
            "last event of an executed transaction"},

    [MONAD_EXEC_ACCOUNT_ACCESS_LIST_HEADER] =
        {.event_type = MONAD_EXEC_ACCOUNT_ACCESS_LIST_HEADER,
         .c_name = "ACCOUNT_ACCESS_LIST_HEADER",
         .description =
            "opens the account accesses of a scope"},

    [MONAD_EXEC_ACCOUNT_ACCESS] =
        {.event_type = MONAD_EXEC_ACCOUNT_ACCESS,
         .c_name = "ACCOUNT_ACCESS",
         .description =
            "one account read or written in the scope"},

    [MONAD_EXEC_STORAGE_ACCESS] =
        {.event_type = MONAD_EXEC_STORAGE_ACCESS,
         .c_name = "STORAGE_ACCESS",
         .description =
            "one storage slot read or written in the "
            "scope"},

    [MONAD_EXEC_EVM_ERROR] =
        {.event_type = MONAD_EXEC_EVM_ERROR,
         .c_name = "EVM_ERROR",
         .description =
            "an execution error outside the validation "
            "categories"},

};

// Fingerprint of the definitions above; compared byte for byte with the
// schema_hash of a ring's header.
uint8_t const g_monad_exec_event_schema_hash[32] = {
    0x89, 0x33, 0xf9, 0x07, 0xc4, 0x32, 0xc9, 0x8a,
    0xc0, 0xc8, 0xdb, 0x62, 0xf9, 0xaa, 0x16, 0x4c,
    0x0c, 0x3f, 0x16, 0x72, 0xf4, 0x12, 0x90, 0xe4,
    0xea, 0x34, 0x08, 0xdf, 0x6c, 0x67, 0x23, 0xf3,
};

#ifdef __cplusplus
} // extern "C"
#endif
