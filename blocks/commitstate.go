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

// CommitUpdate reports that a block reached a new commit state.
type CommitUpdate struct {
	// State is the state Block has just reached.
	State CommitState
	// Block is the block whose state changed. The same *ExecutedBlock is
	// reported for every state of one proposal; treat it as read-only.
	Block *ExecutedBlock
	// Abandoned lists the competing proposals for the same block number
	// that were dropped because Block was finalized (only with
	// CommitFinalized; nil otherwise), in the order they were proposed.
	Abandoned []*ExecutedBlock
}
