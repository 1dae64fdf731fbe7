package blocks_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/internal/testdata"
)

// snapshotRings holds the reference snapshots opened so far, by path.
var snapshotRings struct {
	sync.Mutex
	m map[string]*eventring.Ring
}

// openSnapshotRing returns a reference snapshot opened as a ring
// (decompressed in memory), skipping when the reference data is absent.
// A snapshot never changes, and each caller reads it through its own
// Reader, so the ring is opened once per test binary and shared (never
// closed): decompressing emn-30b takes seconds under -race.
func openSnapshotRing(tb testing.TB, rel string) *eventring.Ring {
	tb.Helper()
	path := testdata.Shared(tb, rel)
	snapshotRings.Lock()
	defer snapshotRings.Unlock()
	if ring, ok := snapshotRings.m[path]; ok {
		return ring
	}
	ring, err := execevents.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	if snapshotRings.m == nil {
		snapshotRings.m = map[string]*eventring.Ring{}
	}
	snapshotRings.m[path] = ring
	return ring
}

// passUpdates reads the whole ring from seqno 1 into tr and returns the
// number of events and of updates.
func passUpdates(tb testing.TB, ring *eventring.Ring, rd *eventring.Reader, tr *blocks.Tracker) (events, updates int) {
	var d eventring.Descriptor
	rd.SetSeqno(1)
	for rd.TryNext(&d) == eventring.Ready {
		ups, err := tr.Process(ring, &d)
		if err != nil {
			tb.Fatal(err)
		}
		events++
		updates += len(ups)
	}
	return events, updates
}

// builderModes are the builder's two modes the benchmarks measure.
var builderModes = []struct {
	name string
	opts blocks.BuilderOptions
}{
	{"default", blocks.BuilderOptions{}},
	{"frames+accesses", blocks.BuilderOptions{CallFrames: true, Accesses: true}},
}

// BenchmarkTrackerSnapshot measures full reassembly plus commit tracking
// over the emn-30b snapshot (136 891 events, 30 blocks, 6 187 transactions,
// 119 updates), reading descriptors from the mapped ring and payloads in
// place, as a live consumer does.
func BenchmarkTrackerSnapshot(b *testing.B) {
	for _, c := range builderModes {
		b.Run(c.name, func(b *testing.B) {
			ring := openSnapshotRing(b, snap30)
			rd := ring.NewReader()
			tr := blocks.NewTracker(c.opts)
			passUpdates(b, ring, rd, tr) // warm the builder's scratch memory
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			events := 0
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0 := threadCPU()
			for b.Loop() {
				tr.Reset()
				n, _ := passUpdates(b, ring, rd, tr)
				events += n
			}
			cpu := threadCPU() - cpu0
			runtime.ReadMemStats(&ms1)
			// The machine is shared: CPU time of this thread is the steadier
			// figure (it excludes time spent descheduled and the GC's own
			// threads).
			reportPerEvent(b, events, cpu)
			b.ReportMetric(float64(events)/b.Elapsed().Seconds()/1e6, "Mevents/s")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(events), "allocs/event")
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(events), "B/event")
		})
	}
}

// threadCPU returns the CPU time consumed by the calling OS thread.
func threadCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReadOnly is the floor: the same pass with no processing.
func BenchmarkReadOnly(b *testing.B) {
	ring := openSnapshotRing(b, snap30)
	rd := ring.NewReader()
	var d eventring.Descriptor
	events := 0
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	for b.Loop() {
		rd.SetSeqno(1)
		for rd.TryNext(&d) == eventring.Ready {
			events++
		}
	}
	reportPerEvent(b, events, threadCPU()-cpu0)
}

func reportPerEvent(b *testing.B, events int, cpu time.Duration) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(events), "cpu-ns/event")
}

// BenchmarkDecode measures the typed decoder alone over every event.
func BenchmarkDecode(b *testing.B) {
	ring := openSnapshotRing(b, snap30)
	rd := ring.NewReader()
	var d eventring.Descriptor
	var dec execevents.Decoder
	events := 0
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	for b.Loop() {
		rd.SetSeqno(1)
		for rd.TryNext(&d) == eventring.Ready {
			if _, err := dec.View(&d, ring.Payload(&d)); err != nil {
				b.Fatal(err)
			}
			events++
		}
	}
	reportPerEvent(b, events, threadCPU()-cpu0)
}

// TestNoAllocsWithoutOutput checks that, once warmed up, the tracker
// allocates only in calls that return updates (a block compacted at its
// BLOCK_END, a finalization with abandoned blocks): every other event of
// the snapshot is processed without a heap allocation.
func TestNoAllocsWithoutOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the snapshot twice")
	}
	ring := openSnapshotRing(t, snap30)
	rd := ring.NewReader()
	tr := blocks.NewTracker(blocks.BuilderOptions{CallFrames: true, Accesses: true})
	passUpdates(t, ring, rd, tr)

	// Mallocs counts the whole process: a cleanup, finalizer or leftover
	// goroutine of an earlier test may allocate meanwhile. Settle those first
	// and retry: the code under test is deterministic, so an allocation of
	// its own repeats on every pass, and one clean pass proves there is none.
	var n, outputAllocs uint64
	var quiet int
	for range 8 {
		runtime.GC()
		runtime.GC()
		tr.Reset()
		n, outputAllocs, quiet = quietAllocs(t, ring, rd, tr)
		if n == 0 {
			break
		}
	}
	// Nearly all of the 136 891 events produce no update.
	if quiet < 130000 {
		t.Fatalf("only %d quiet events", quiet)
	}
	if n != 0 {
		t.Errorf("%d allocations over %d events that produced no output, want 0", n, quiet)
	}
	t.Logf("%d quiet events: %d allocations; output events: %d allocations for 30 blocks", quiet, n, outputAllocs)
}

// quietAllocs makes one pass and returns the allocations made while
// processing events that cannot produce output, those of the events that
// can, and the number of the former.
func quietAllocs(t *testing.T, ring *eventring.Ring, rd *eventring.Reader, tr *blocks.Tracker) (quietN, outputN uint64, quiet int) {
	var d eventring.Descriptor
	var before, after, total0, total1 runtime.MemStats
	rd.SetSeqno(1)
	runtime.ReadMemStats(&total0)
	for {
		// Only events that may produce output are measured one by one
		// (ReadMemStats is slow); the rest must add up to zero.
		et := execevents.EventType(0)
		if rd.TryCopy(&d) == eventring.Ready {
			et = execevents.EventType(d.EventType)
		}
		mayOutput := et == execevents.EventTypeBlockEnd || et == execevents.EventTypeBlockQC ||
			et == execevents.EventTypeBlockFinalized || et == execevents.EventTypeBlockVerified
		if mayOutput {
			runtime.ReadMemStats(&before)
		}
		if rd.TryNext(&d) != eventring.Ready {
			break
		}
		ups, err := tr.Process(ring, &d)
		if err != nil {
			t.Fatal(err)
		}
		if mayOutput {
			runtime.ReadMemStats(&after)
			outputN += after.Mallocs - before.Mallocs
		} else {
			quiet++
			if len(ups) != 0 {
				t.Fatalf("event type %d produced an update", d.EventType)
			}
		}
	}
	runtime.ReadMemStats(&total1)
	// ReadMemStats itself does not allocate.
	return total1.Mallocs - total0.Mallocs - outputN, outputN, quiet
}

// BenchmarkUpdatesSnapshot is BenchmarkTrackerSnapshot through
// Tracker.Updates, the iterator a consumer ranges over: the reading loop
// (follow) included.
func BenchmarkUpdatesSnapshot(b *testing.B) {
	for _, c := range builderModes {
		b.Run(c.name, func(b *testing.B) {
			ring := openSnapshotRing(b, snap30)
			rd := ring.NewReader()
			tr := blocks.NewTracker(c.opts)
			pass := func() int {
				tr.Reset()
				rd.SetSeqno(1)
				n := 0
				for u, err := range tr.Updates(context.Background(), rd) {
					if err != nil {
						b.Fatal(err)
					}
					if u.Notice != nil {
						b.Fatal(u.Notice)
					}
					n++
				}
				if n != 119 {
					b.Fatalf("%d updates, want 119", n)
				}
				return int(rd.LastSeqno())
			}
			pass() // warm the builder's scratch memory
			events := 0
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0 := threadCPU()
			for b.Loop() {
				events += pass()
			}
			reportPerEvent(b, events, threadCPU()-cpu0)
		})
	}
}
