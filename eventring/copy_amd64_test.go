//go:build amd64 && !race

package eventring

import "testing"

// TestCopyRunSSE2: the copy loop of CPUs without AVX2 (copyRun), which a
// CPU with AVX2 never runs, passes the batch copy tests too.
func TestCopyRunSSE2(t *testing.T) {
	saved := copyRunFunc
	copyRunFunc = copyRun
	defer func() { copyRunFunc = saved }()
	t.Run("EdgeCases", TestCopyPayloadsEdgeCases)
	t.Run("SmallPayloadsNearDstEnd", TestCopyPayloadsSmallPayloadsNearDstEnd)
}
