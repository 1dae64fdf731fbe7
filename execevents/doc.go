// Package execevents reads Monad execution events: the typed events of the
// EXEC event-ring schema, the blocks they describe and the consensus states
// those blocks go through.
//
// The package has three layers, each usable on its own:
//
//   - Typed events. [Open] maps a ring (or a snapshot) and refuses one
//     written with another schema. A [Decoder] turns each descriptor and its
//     payload into an [Event], a sum type with one concrete type per event
//     kind (*BlockStartEvent, *TxnLogEvent, ...). Decoded events are
//     zero-copy views, valid until the writer reuses the payload's bytes
//     (check [eventring.Ring.PayloadValid] afterwards); Clone makes an owned
//     copy. The generated z*.go files hold the layout-exact payload structs
//     and their DecodeX functions.
//
//   - Executed blocks. A [Builder] reassembles blocks from the events of one
//     block scope (spec §9.1): header fields, transactions, receipts and
//     logs, optionally call frames and state accesses. Blocks are
//     [ExecutedBlock] values that own all their memory. Inconsistent input
//     never panics; the block in progress is dropped with a typed error
//     ([RejectedError], [DropError], [PayloadExpiredError]) and the next
//     BLOCK_START starts afresh.
//
//   - Commit states. A [Tracker] feeds a Builder and follows every executed
//     proposal from Proposed to Voted, Finalized and Verified (spec §9.2),
//     reporting [CommitUpdate]s, including the competing proposals that a
//     finalization abandons. It holds at most BuilderOptions.MaxTracked
//     proposals and reports any it has to drop ([EvictedError]).
//     [CommitUpdates] runs the whole pipeline over a ring as an iterator.
//
// The rewind helpers ([LatestConsensus], [RewindToLatestBlockStart],
// [BlockNumberPrev], [BlockIDPrev], [RewindForSimpleReplay], spec §9.3)
// position a reader on a block boundary when joining a live ring.
//
// Section numbers refer to the event ring ABI specification
// (event-ring-abi.md).
package execevents
