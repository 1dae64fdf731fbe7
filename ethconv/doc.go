// Package ethconv converts executed blocks reassembled by package blocks
// into go-ethereum types and into the Ethereum JSON-RPC objects that Monad's
// RPC server returns.
//
// Convert is the usual entry point: it turns a *blocks.ExecutedBlock into
// a *Block holding the rebuilt *types.Header, the signed transactions, their
// recorded senders and the receipts with fully positioned logs. The
// individual steps (NewHeader, NewTransaction, NewReceipts) are exported for
// callers that need only one of them.
//
// # Faithfulness
//
// Nothing is invented: every field comes from the recorded events (spec §11).
// The tests in this package prove it against the daemon's own recordings:
// every transaction re-encodes to the recorded transaction hash and recovers
// to the recorded sender, the derived transactions and receipts roots and the
// OR of the receipt blooms equal the recorded header fields, and the rebuilt
// header hashes to the recorded block hash.
//
// # Header shape
//
// Which optional header fields take part in the block hash depends on the
// chain. Ethereum replays (chain ids known to go-ethereum's params package,
// e.g. mainnet) use exactly the fields of the fork active at the block;
// Monad chains use the Prague shape with zero blob gas, a zero parent beacon
// root and a zero requests hash. ChainFork decides; NewHeaderForFork lets a
// caller override it. The event schema does not carry Cancun's blob gas
// fields or parent beacon root, so the hash of a replayed Ethereum block from
// Cancun on cannot be rebuilt: those fields are set to Monad's zero values.
//
// # JSON-RPC renderings
//
// The RPC types (RPCBlock, RPCHeader, RPCTransaction, RPCReceipt, RPCLog)
// marshal to the objects returned by eth_getBlockByNumber (with full
// transactions), eth_getTransactionByHash, eth_getTransactionReceipt and
// eth_getLogs as Monad serves them: headers always in the Prague shape, with
// totalDifficulty 0, Monad's size figure and the recorded block hash. MonadHeader and MonadLog add the blockId and
// commitState fields of Monad's real-time subscriptions, and UpdateJSON
// is the per-update object printed by cmd/monad-events.
//
// Section numbers (spec §N) refer to the event ring ABI specification,
// event-ring-abi.md, which is kept outside this repository;
// docs/ARCHITECTURE.md ("The specification the code cites") says what each
// cited section covers.
package ethconv
