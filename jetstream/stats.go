package jetstream

import "sync/atomic"

// Stats are a Publisher's counters since it was created (a Publisher run
// again keeps counting) and a few gauges, for logs and metrics.
type Stats struct {
	// EventsRead counts the ring events read; LastSeqno is the last one's
	// sequence number and Lag how many events the writer was ahead of the
	// reader when it was last sampled (about every 4096 events and at
	// every wait).
	EventsRead uint64
	LastSeqno  uint64
	Lag        uint64

	// Messages counts messages the stream acknowledged as new, Duplicates
	// those it acknowledged as duplicates (the de-duplication window
	// absorbing a re-publication), and Bytes the bodies of both.
	Messages   uint64
	Duplicates uint64
	Bytes      uint64
	// BlocksProposed and BlocksFinalized count acknowledged full-block
	// messages, Commits commit-state messages, Events raw event messages.
	BlocksProposed  uint64
	BlocksFinalized uint64
	Commits         uint64
	Events          uint64
	// LastFinalized is the number of the last block.finalized message
	// acknowledged (0: none yet).
	LastFinalized uint64

	// PublishErrors counts failed publish attempts (each is retried),
	// TooLarge messages dropped because the server refuses their size.
	PublishErrors uint64
	TooLarge      uint64
	// Stalls counts the times the ring reader had to wait for NATS (the
	// queue of unacknowledged messages was full).
	Stalls uint64
	// Gaps counts the times the ring lapped the reader, LostEvents the
	// events lost in them, FinalizedLost the finalized block numbers never
	// published on block.finalized because of them, because a restart
	// found the blocks overwritten, or because a block could not be
	// reassembled or rendered, VerifiedLost the block numbers never
	// published on commit.verified for the same reasons (see
	// LostBlocksError; each once per run), Notices every condition logged while reading (each
	// LostBlocksError too, and what block reassembly reported: dropped
	// blocks, expired payloads, ...).
	Gaps          uint64
	LostEvents    uint64
	FinalizedLost uint64
	VerifiedLost  uint64
	Notices       uint64

	// Pending is the number of publishes awaiting their ack, QueuedBytes
	// the bytes rendered and not yet acknowledged.
	Pending     uint64
	QueuedBytes uint64
}

// counters is the live form of Stats.
type counters struct {
	eventsRead, lastSeqno, lag                                  atomic.Uint64
	messages, duplicates, bytes                                 atomic.Uint64
	blocksProposed, blocksFinalized, commits, events            atomic.Uint64
	lastFinalized                                               atomic.Uint64
	publishErrors, tooLarge, stalls                             atomic.Uint64
	gaps, lostEvents, finalizedLost, notices, pending, queuedBy atomic.Uint64
	verifiedLost                                                atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		EventsRead: c.eventsRead.Load(), LastSeqno: c.lastSeqno.Load(), Lag: c.lag.Load(),
		Messages: c.messages.Load(), Duplicates: c.duplicates.Load(), Bytes: c.bytes.Load(),
		BlocksProposed: c.blocksProposed.Load(), BlocksFinalized: c.blocksFinalized.Load(),
		Commits: c.commits.Load(), Events: c.events.Load(), LastFinalized: c.lastFinalized.Load(),
		PublishErrors: c.publishErrors.Load(), TooLarge: c.tooLarge.Load(), Stalls: c.stalls.Load(),
		Gaps: c.gaps.Load(), LostEvents: c.lostEvents.Load(), FinalizedLost: c.finalizedLost.Load(),
		VerifiedLost: c.verifiedLost.Load(), Notices: c.notices.Load(), Pending: c.pending.Load(), QueuedBytes: c.queuedBy.Load(),
	}
}
