package blocks

import "strconv"

// CommitState is the consensus state of an executed proposal (spec §9.2).
// States only move forward: Proposed → Voted → Finalized → Verified; a
// proposal may skip Voted.
type CommitState uint8

// Commit states, in lifecycle order.
const (
	// CommitProposed: the block was executed; consensus has not voted yet.
	CommitProposed CommitState = iota
	// CommitVoted: a quorum certificate formed for the proposal (BLOCK_QC).
	CommitVoted
	// CommitFinalized: consensus finalized the proposal (BLOCK_FINALIZED).
	CommitFinalized
	// CommitVerified: consensus verified the execution result of the
	// finalized block (BLOCK_VERIFIED).
	CommitVerified
)

var commitStateNames = [...]string{"Proposed", "Voted", "Finalized", "Verified"}

// String returns "Proposed", "Voted", "Finalized" or "Verified" (the names
// Monad's RPC uses for commitState).
func (s CommitState) String() string {
	if int(s) < len(commitStateNames) {
		return commitStateNames[s]
	}
	return "CommitState(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText encodes the state as its name.
func (s CommitState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Update reports that a block reached a new commit state, or, in what the
// iterators ([Updates], [Tracker.Updates], [Builder.Blocks]) yield, a
// condition that reading went past (Notice).
type Update struct {
	// State is the state Block has just reached.
	State CommitState
	// Block is the block whose state changed. The same *ExecutedBlock is
	// reported for every state of one proposal; treat it as read-only.
	Block *ExecutedBlock
	// Abandoned lists the competing proposals for the same block number
	// that were dropped because Block was finalized (only with
	// CommitFinalized; nil otherwise), in the order they were proposed.
	Abandoned []*ExecutedBlock
	// Notice, when non-nil, reports a condition that reading went past;
	// State, Block and Abandoned are then zero (so check Notice first). It
	// is one of:
	//
	//   - *eventring.GapError: events were lost (the reader was lapped, or a
	//     snapshot's ring had wrapped); block tracking restarted after them;
	//   - *DropError: a block was dropped (inconsistent or incomplete events);
	//   - *RejectedError: a block failed (BLOCK_REJECT, TXN_REJECT,
	//     EVM_ERROR) and was discarded;
	//   - *eventring.ExpiredError: a payload expired while it was read (the
	//     reader is too slow); the block in progress was discarded;
	//   - *EvictedError: the tracker stopped following an old proposal;
	//   - *CommitError: a consensus event contradicted the tracked state
	//     and was ignored.
	//
	// Updates returned by [Tracker.Process] and its siblings never carry a
	// Notice: those methods return the condition as their error.
	Notice error
}
