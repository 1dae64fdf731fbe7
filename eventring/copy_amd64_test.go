//go:build amd64 && !race

package eventring

import "testing"

// TestCopyRunSSE2: the loops of CPUs without AVX2 (copyRun,
// readBatchSSE2), which a CPU with AVX2 never runs, pass the batch tests
// too.
func TestCopyRunSSE2(t *testing.T) {
	saved := useAVX2
	useAVX2 = false
	defer func() { useAVX2 = saved }()
	t.Run("EdgeCases", TestCopyPayloadsEdgeCases)
	t.Run("SmallPayloadsNearDstEnd", TestCopyPayloadsSmallPayloadsNearDstEnd)
	t.Run("MatchesPerEvent", TestBatchMatchesPerEvent)
	t.Run("StopsAtGapAndUncommitted", TestTryNextBatchStopsAtGapAndUncommitted)
	t.Run("OverwrittenDuringCopy", TestCopyPayloadsOverwrittenDuringCopy)
}
