// Package blocks turns the typed execution events of package execevents
// into executed blocks and follows them through their commit states. It is
// the layer above the generated bindings: everything here depends on the
// meaning of particular events (BLOCK_START opens a block, TXN_LOG is one
// log, ...), which is why it is not generated.
//
//   - Executed blocks. A [Builder] reassembles blocks from the events of one
//     block scope (spec §9.1, "block reassembly": events between a
//     BLOCK_START and its BLOCK_END, tagged with the BLOCK_START's seqno):
//     header fields, transactions, receipts and logs, optionally call frames
//     and state accesses. Blocks are [ExecutedBlock] values that own all
//     their memory. Inconsistent input never panics; the block in progress
//     is dropped with a typed error ([RejectedError], [DropError]) and the
//     next BLOCK_START starts afresh.
//
//   - Commit states. A [Tracker] feeds a Builder and follows every executed
//     proposal from Proposed to Voted, Finalized and Verified (spec §9.2,
//     "commit states": BLOCK_QC, BLOCK_FINALIZED and BLOCK_VERIFIED move a
//     proposal on), reporting [Update]s, including the competing
//     proposals that a finalization abandons. It holds at most
//     BuilderOptions.MaxTracked proposals and reports any it has to drop
//     ([EvictedError]).
//
//   - Archiving. An [Archiver] writes every finalized block's events into a
//     finalized-block archive (package archive; evcap spec §12.10), one file
//     per block as the daemon's archiver writes them, and
//     [ReadArchivedBlock] rebuilds an [ExecutedBlock] from such a file.
//
// [Updates] runs the whole pipeline over a ring as an iterator;
// [Tracker.Updates] and [Builder.Blocks] do the same with a reader of your
// own. They follow the standard library's error rule: an error ends the
// iteration (ctx done, writer gone, ring closed; the end of a snapshot ends
// it quietly), and conditions after which reading goes on are values: an
// [Update] whose Notice holds a reader gap (*eventring.GapError), a dropped
// or rejected block ([DropError], [RejectedError]), an expired payload
// (*eventring.ExpiredError), an evicted proposal ([EvictedError]) or an
// inconsistent consensus event ([CommitError]):
//
//	for u, err := range blocks.Updates(ctx, ring, blocks.BuilderOptions{}) {
//		if err != nil {
//			return err
//		}
//		if u.Notice != nil {
//			log.Print(u.Notice) // reading goes on
//			continue
//		}
//		use(u.State, u.Block)
//	}
//
// [Builder.Process] and [Tracker.Process] (and their AddEvent siblings)
// drive the same machinery one event at a time; their errors are those
// per-event conditions, and the iterators turn them into notices.
//
// The rewind helpers ([LatestConsensus], [RewindToLatestBlockStart],
// [BlockNumberPrev], [BlockIDPrev], [RewindForSimpleReplay]; spec §9.3,
// "joining a live ring": scanning descriptors backwards for a block
// boundary) position a reader on a block boundary when joining a live ring;
// when they fail, their error says why ([ErrNotFound], [ErrOverwritten]).
//
// Section numbers (spec §N) refer to the event ring ABI specification,
// event-ring-abi.md, which is kept outside this repository;
// docs/ARCHITECTURE.md ("The specification the code cites") says what each
// cited section covers.
package blocks
