// Package jetstream publishes what a Monad event ring's executed blocks go
// through to a NATS JetStream stream, so that consumers on other hosts
// (indexers, bots in any language) follow them with durable consumers and
// resume where they stopped. It is the fan-out behind `monad-events serve
// --nats`; [Run] (or [NewPublisher] and [Publisher.Run]) is the library
// entry point, [RunEmbedded] starts a NATS server with JetStream in the
// process for a single machine, [Connect] connects to a server or cluster.
//
// # Subjects
//
// Every subject starts with a configurable prefix, "monad.exec" by default
// (Options.Prefix):
//
//	<prefix>.block.proposed      the whole block, when it was executed (every proposal)
//	<prefix>.block.finalized     the whole block again, when it was finalized (the canonical chain)
//	<prefix>.commit.proposed     a small commit-state message per update:
//	<prefix>.commit.voted          executed, voted (QC), finalized, verified
//	<prefix>.commit.finalized
//	<prefix>.commit.verified
//	<prefix>.event.<TYPE>        one message per raw event, e.g. <prefix>.event.TXN_LOG
//	                             (only with Options.Events; off by default)
//
// [BlockSubject], [CommitSubject] and [EventSubject] build them. A
// consumer of finalized blocks subscribes to <prefix>.block.finalized and
// gets each block whole in one message, no join needed; one that wants
// blocks the moment they are executed takes <prefix>.block.proposed and
// the commit subjects (<prefix>.commit.>) to learn which proposals were
// finalized or abandoned. Options.NoProposedBlocks leaves block.proposed
// out (half the bytes).
//
// # Message bodies
//
// Block messages carry [ethconv.UpdateJSON]: exactly the object `monad-events
// blocks --json` prints for a Proposed update, {"commitState", "blockId",
// "blockNumber", "abandoned", "block", "receipts"}, with "block" the
// eth_getBlockByNumber object with full transactions and "receipts" the
// eth_getTransactionReceipt objects; on block.finalized, commitState is
// "Finalized" and "abandoned" lists the ids of the competing proposals the
// finalization dropped. Commit messages carry a [Commit]: {"commitState",
// "blockId", "blockNumber", "blockHash", "abandoned"}. Event messages carry
// the event object `monad-events watch --json` prints and serve's
// monadEvents subscription sends (package eventjson: "seqno", "eventType",
// "eventCode", "time", "recordEpochNanos", "payloadSize",
// "payloadBufOffset", flow tags, "blockNumber" when known, "payload"), or,
// for a payload the writer had already reused, the descriptor's facts and
// "expired": true, and for one that does not decode "payloadError" and
// "payloadHex".
//
// Headers: Nats-Msg-Id (below) on every message; [HeaderBlockNumber],
// [HeaderBlockID] and [HeaderCommitState] on block and commit messages;
// [HeaderEventType], [HeaderSeqno] and, when the event belongs to a block,
// the block number and id on event messages. A block message can exceed a
// NATS server's default max_payload of 1 MiB (Ethereum-sized blocks render
// at up to 1.5 MB): the embedded server accepts [DefaultMaxPayload] (8
// MiB); for a cluster raise max_payload, or larger messages are dropped,
// logged and counted ([TooLargeError], Stats.TooLarge).
//
// # Message ids
//
// Every message has a Nats-Msg-Id that depends only on what it is about,
// never on when or by which run it was published, so that JetStream's
// de-duplication drops a re-publication:
//
//	<block id>:block.proposed, <block id>:block.finalized    (BlockMsgID)
//	<block id>:commit.<state>                                 (CommitMsgID)
//	<block id>:event.<offset>                                 (EventMsgID)
//
// where block id is the consensus block id in 0x-hex. A raw event is named
// after the newest BLOCK_START at or before it in the ring and its
// distance from it in sequence numbers: a block's own events get their
// position in the block, and the consensus events that follow count on
// from it. Sequence numbers alone would not do (a daemon restart starts a
// new ring numbered from 1), but distances inside one ring are fixed by
// its contents, and a run always starts reading at a BLOCK_START; so every
// run over the same ring gives an event the same id. (Should a BLOCK_START's
// payload already be gone when a lagging publisher reads it, the events
// after it are named "seqno.<n>", which is not stable.)
//
// # Stream
//
// The publisher creates or updates its stream (Options.Stream, "MONAD_EXEC")
// on start, idempotently ([Options.StreamConfig]): subjects "<prefix>.>",
// limits retention discarding the oldest messages, MaxAge 24 h, MaxBytes 8
// GiB, file storage, 1 replica, and a duplicate window of 2 minutes
// (Options.Duplicates; JetStream keeps every id of the window in memory,
// which matters with raw events on). With Options.NoStreamSetup it only
// checks that an existing stream captures the prefix.
//
// # Resuming
//
// On start the publisher reads the last message of block.finalized,
// commit.finalized and commit.verified (their block number and id
// headers), and, while commit.verified has none yet, the first message of
// block.finalized (a block is verified a few blocks after its
// finalization, so the verifications of every block finalized so far are
// due). It positions its ring reader at the BLOCK_START of the oldest
// of those blocks that the ring still holds: every block finalized or
// verified after them descends from them, so it was executed after them
// and is read whole again. While re-reading, it leaves out what those three
// subjects already have (numbers at or below their last), and proposed and
// voted messages of blocks at or below the last finalized number; the rest
// it publishes again, and the duplicate window absorbs what had been
// stored. A stream with nothing of the publisher's starts at the newest
// BLOCK_START (Options.Backfill, or a snapshot: the oldest block in the
// ring). If none of the blocks last published is in the ring any more
// (the publisher was down too long, or the daemon restarted with a new
// ring), it starts at the oldest block the ring holds. Either way, the
// numbers it can no longer publish on block.finalized or commit.verified
// are reported ([LostBlocksError]). commit.verified can lose numbers even
// when the last finalized block is still in the ring: if the last verified
// block's proposal is gone, the run resumes at a later block, and the
// blocks finalized before the restart but verified after it have no
// proposal in what it reads (a BLOCK_VERIFIED names only a number).
//
// # Guarantees
//
// Publishing is at-least-once: a message is retried (with backoff) until
// the stream acknowledges it, and after any failure every message not yet
// acknowledged is sent again, in order. With the msg-id de-duplication
// this makes every message appear exactly once in the stream, provided a
// re-publication comes within the duplicate window of the first one (a
// publisher restarted within the window, or a retry).
//
// block.finalized, commit.finalized and commit.verified are stronger: each
// message there is sent only once everything before it is acknowledged,
// and the resume filter needs no window, so each holds every number once,
// in increasing order, across crashes, restarts and NATS outages of any
// length, but for the numbers the publisher could not publish because the
// ring had overwritten what it needed (see Resuming and Flow control), or
// the block could not be reassembled or rendered. Those are logged as a
// [LostBlocksError] and counted (Stats.FinalizedLost, Stats.VerifiedLost),
// each number once per run, as soon as the ring proves them
// lost: when the publisher reads (or, repositioning, skips) the
// BLOCK_FINALIZED or BLOCK_VERIFIED of a block whose proposal it does not
// hold, that number and the ones before it on the subject are lost, and so
// are the numbers the next one published skips. While the reader is
// catching up with the ring, the report waits for the next number
// published (one report per gap); it comes at the latest once the reader
// has read all the writer wrote: an idle writer does not delay it. Without
// such an event nothing is reported (a new ring whose writer has finalized
// nothing after the lost blocks yet). The stream keeps no record of the
// report: a run that ends before publishing past the lost numbers leaves
// the stream where it was, and the next run reports them again.
// commit.finalized is published with block.finalized and loses at most
// the same numbers, reported there, with one
// exception: a restart that finds commit.finalized one message behind
// block.finalized, with neither block left in the ring, loses that one
// message unreported. Other subjects keep
// the ring's order except that a failure can reorder messages published
// around it.
//
// # Flow control
//
// Publishes are asynchronous with at most Options.MaxPending acks
// outstanding, and the messages rendered but not yet acknowledged are
// bounded by Options.QueueBytes. When NATS is slow or down, the ring
// reader waits for room: it lags behind the writer (Stats.Lag, Stalls,
// a log line when a wait is long) and never blocks the writer, which does
// not know about readers. If the writer laps it, the reader reports the
// gap (log, Stats.Gaps and LostEvents), resumes at the oldest block the
// ring still holds (away from its tail, which is being overwritten), and
// counts the finalized and verified blocks it could not publish
// (Stats.FinalizedLost, Stats.VerifiedLost).
// While the server is unreachable at start, Run retries too. Every
// counter of Stats is also a Prometheus metric, monad_events_jetstream_*
// labelled with the stream's name, through [Publisher.Collector].
//
// # Wiring
//
// `serve --nats` with no URL on one machine:
//
//	srv, url, err := jetstream.RunEmbedded(ctx, dir, jetstream.EmbeddedOptions{})
//	nc, js, err := jetstream.Connect(ctx, url, logger)
//	defer nc.Close()
//	err = jetstream.Run(ctx, ring, js, jetstream.Options{Logger: logger})
//
// and with a URL, Connect to it instead of running a server.
package jetstream
