package jetstream

import (
	"strconv"
	"strings"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/execevents"
)

// Subject kinds: the token after the prefix (see the package documentation).
const (
	kindBlock  = "block"
	kindCommit = "commit"
	kindEvent  = "event"
)

// Message headers set by the publisher besides Nats-Msg-Id.
const (
	// HeaderBlockNumber is the block number, in decimal, on every block and
	// commit message, and on event messages that belong to a block.
	HeaderBlockNumber = "Monad-Block-Number"
	// HeaderBlockID is the consensus block id, 0x-prefixed hex, on every
	// block and commit message, and on event messages that belong to a
	// block proposal.
	HeaderBlockID = "Monad-Block-Id"
	// HeaderCommitState is the commit state ("Proposed", "Voted",
	// "Finalized" or "Verified") on block and commit messages.
	HeaderCommitState = "Monad-Commit-State"
	// HeaderEventType is the event type name (e.g. "TXN_LOG") on event
	// messages.
	HeaderEventType = "Monad-Event-Type"
	// HeaderSeqno is the event's sequence number in the ring it was read
	// from, on event messages: informational only, as a daemon restart
	// starts a new ring whose numbers begin again at 1.
	HeaderSeqno = "Monad-Seqno"
)

// stateToken is the subject token of a commit state: its name in lower
// case ("proposed", "voted", "finalized", "verified").
func stateToken(s blocks.CommitState) string { return strings.ToLower(s.String()) }

// BlockSubject returns the subject of the full-block messages of state
// under prefix: "<prefix>.block.proposed" or "<prefix>.block.finalized".
// Only those two states carry whole blocks.
func BlockSubject(prefix string, state blocks.CommitState) string {
	return prefix + "." + kindBlock + "." + stateToken(state)
}

// CommitSubject returns the subject of the commit-state messages of state
// under prefix: "<prefix>.commit.proposed", ".voted", ".finalized" or
// ".verified".
func CommitSubject(prefix string, state blocks.CommitState) string {
	return prefix + "." + kindCommit + "." + stateToken(state)
}

// EventSubject returns the subject of the raw event messages of type t
// under prefix: "<prefix>.event.<NAME>", NAME being the event type's name
// as execevents.EventType.String gives it (e.g. "TXN_LOG").
func EventSubject(prefix string, t execevents.EventType) string {
	return prefix + "." + kindEvent + "." + t.String()
}

// BlockMsgID is the Nats-Msg-Id of the full-block message of proposal id
// in state: "<block id>:block.<state>", for instance
// "0x…e4e1c1:block.finalized". It depends on nothing but the proposal, so
// a restarted publisher gives the same block the same id.
func BlockMsgID(id execevents.Bytes32, state blocks.CommitState) string {
	return id.String() + ":" + kindBlock + "." + stateToken(state)
}

// CommitMsgID is the Nats-Msg-Id of the commit-state message of proposal
// id reaching state: "<block id>:commit.<state>".
func CommitMsgID(id execevents.Bytes32, state blocks.CommitState) string {
	return id.String() + ":" + kindCommit + "." + stateToken(state)
}

// EventMsgID is the Nats-Msg-Id of a raw event: "<block id>:event.<offset>",
// where block id is that of the newest BLOCK_START at or before the event
// in the ring and offset the event's distance from it in sequence numbers
// (BLOCK_START itself is offset 0, a block's own events are numbered by
// their position in the block, and consensus events that follow count on
// from it). The ring's contents fix both, so every publisher run reading
// the same ring gives an event the same id.
func EventMsgID(id execevents.Bytes32, offset uint64) string {
	return id.String() + ":" + kindEvent + "." + strconv.FormatUint(offset, 10)
}
