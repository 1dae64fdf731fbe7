package eventring

import (
	"sync/atomic"
	"time"
)

// wallClock is the Recorder's default clock: CLOCK_REALTIME in nanoseconds
// since the UNIX epoch, as the daemon records, with one clock read per
// event. time.Now reads two clocks (the wall clock and the monotonic one:
// 40 to 80 ns on a VM without a TSC-based vDSO clock, a fifth of the
// recorder's time per event). Linux keeps CLOCK_REALTIME at a fixed offset
// from CLOCK_MONOTONIC, both slewed alike by NTP, except when the wall clock
// is stepped; so wallClock adds the monotonic time elapsed since a recent
// time.Now to that reading's wall time. It takes a new reference every
// wallClockRefresh, so a step of the wall clock shows within that long;
// otherwise it differs from a direct CLOCK_REALTIME read only by the time
// between time.Now's two reads (tens of nanoseconds, early).
func wallClock() uint64 {
	if ref := wallRef.Load(); ref != nil {
		if d := time.Since(ref.t); d >= 0 && d < wallClockRefresh {
			return uint64(ref.wall + int64(d))
		}
	}
	t := time.Now()
	wallRef.Store(&wallClockRef{t: t, wall: t.UnixNano()})
	return uint64(t.UnixNano())
}

// wallClockRefresh is how often wallClock re-reads the wall clock.
const wallClockRefresh = 50 * time.Millisecond

// wallClockRef is a time.Now reading: both clocks, and the wall time in
// nanoseconds.
type wallClockRef struct {
	t    time.Time
	wall int64
}

var wallRef atomic.Pointer[wallClockRef]
