package eventring

import (
	"testing"
	"time"
)

// TestWallClock: the recorder's default clock agrees with time.Now to well
// within a millisecond and never runs backwards, across reference
// refreshes.
func TestWallClock(t *testing.T) {
	prev := wallClock()
	deadline := time.Now().Add(3 * wallClockRefresh)
	for n := 0; time.Now().Before(deadline) || n < 1000; n++ {
		before := time.Now().UnixNano()
		c := wallClock()
		after := time.Now().UnixNano()
		if int64(c) < before-int64(time.Millisecond) || int64(c) > after+int64(time.Millisecond) {
			t.Fatalf("wallClock %d outside [%d, %d] ± 1 ms", c, before, after)
		}
		if c+uint64(time.Millisecond) < prev {
			t.Fatalf("wallClock went back from %d to %d", prev, c)
		}
		prev = c
	}
}
