package eventring

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPayloadValidDuringClose races payload reads against Ring.Close: a
// reader copies a payload view and keeps the copy only if PayloadValid
// confirms it afterwards (spec §4.4). Whatever moment Close swaps in the
// inert image, a confirmed copy must be the intact payload, never the inert
// image's zeros, and after Close returns PayloadValid is false.
func TestPayloadValidDuringClose(t *testing.T) {
	w, _ := newTestRecorder(t)
	recordSelfCheck(t, w, 4096)
	rounds := 300
	if testing.Short() {
		rounds = 30
	}
	var confirmed, refused atomic.Int64
	for range rounds {
		ring, err := w.Ring()
		require.NoError(t, err)
		var d Descriptor
		require.True(t, ring.TryCopy(1, &d))
		view := ring.Payload(&d)
		var wg sync.WaitGroup
		var started, bad atomic.Bool
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, len(view))
			for !ring.closed.Load() || !started.Load() {
				started.Store(true)
				copy(buf, view)
				if !ring.PayloadValid(&d) {
					refused.Add(1)
					continue
				}
				confirmed.Add(1)
				if checkSelf(&d, buf) != nil {
					bad.Store(true)
					return
				}
			}
		}()
		for !started.Load() {
			runtime.Gosched()
		}
		require.NoError(t, ring.Close())
		wg.Wait()
		require.False(t, bad.Load(), "PayloadValid confirmed a payload read from the inert image")
		require.False(t, ring.PayloadValid(&d), "after Close")
	}
	t.Logf("%d confirmed and %d refused reads over %d closes", confirmed.Load(), refused.Load(), rounds)
}
