//go:build amd64 && !race

package eventring

import "testing"

// TestSSE2Loops: the loops of CPUs without AVX2 (copyRun, readBatchAsm's
// SSE2 loop), which a CPU with AVX2 never runs, pass the batch tests too.
func TestSSE2Loops(t *testing.T) {
	saved := useAVX2
	useAVX2 = false
	defer func() { useAVX2 = saved }()
	t.Run("EdgeCases", TestCopyPayloadsEdgeCases)
	t.Run("SmallPayloadsNearDstEnd", TestCopyPayloadsSmallPayloadsNearDstEnd)
	t.Run("MatchesPerEvent", TestBatchMatchesPerEvent)
	t.Run("StopsAtGapAndUncommitted", TestTryNextBatchStopsAtGapAndUncommitted)
	t.Run("OverwrittenDuringCopy", TestCopyPayloadsOverwrittenDuringCopy)
	t.Run("SmallOldestExpire", TestCopyPayloadsSmallOldestExpire)
	t.Run("TornCopies", TestTryNextBatchTornCopies)
}
