package eventring

import (
	"strconv"
	"sync/atomic"
	"unsafe"
)

// Result is the outcome of [Reader.TryNext] and [Reader.TryCopy].
type Result int

const (
	// Ready: the descriptor was copied consistently.
	Ready Result = iota
	// NotReady: the next event has not been committed yet (or, on a
	// snapshot, the end was reached).
	NotReady
	// Gap: the writer overwrote the next event before it was read; it is
	// lost. The reader stays where it is until Reset or SetSeqno.
	Gap
)

// String returns "Ready", "NotReady" or "Gap".
func (r Result) String() string {
	switch r {
	case Ready:
		return "Ready"
	case NotReady:
		return "NotReady"
	case Gap:
		return "Gap"
	}
	return "Result(" + strconv.Itoa(int(r)) + ")"
}

// resetSpins bounds how long Reset waits for the newest reservation to be
// committed before scanning backwards (spec §3.3).
const resetSpins = 100

// Reader iterates over a ring's descriptors (the C event ring iterator). Its
// whole state is the last sequence number read. A Reader must be used by one
// goroutine at a time; create one Reader per goroutine.
type Reader struct {
	descs unsafe.Pointer // ring.descs, cached for the hot path
	mask  uint64         // ring.maskD
	last  uint64         // R: the last sequence number read; the next is last+1
	ring  *Ring

	wait *WaitStrategy // nil: DefaultWait
}

// NewReader returns a Reader over the ring. On a live ring it is positioned
// at the newest committed event exactly like the C iterator constructor
// (Reset); on a snapshot at sequence number 1, the first event ever
// recorded, like the reference SDK (spec §3.6). If the snapshot's ring had
// wrapped, that event is gone and the first read is a Gap: [Reader.Events]
// then goes on with the oldest event present, and a TryNext or Next loop can
// call SetSeqno([Ring.OldestSeqno]) first. The Reader waits with
// DefaultWait.
func (r *Ring) NewReader() *Reader {
	rd := &Reader{descs: r.descs, mask: r.maskD, ring: r}
	if !r.snapshot {
		rd.Reset()
	}
	return rd
}

// Ring returns the ring the reader reads.
func (rd *Reader) Ring() *Ring { return rd.ring }

// TryNext copies the next event's descriptor into d and advances on Ready.
// It never blocks and never allocates (spec §3.2).
func (rd *Reader) TryNext(d *Descriptor) Result {
	r := rd.last
	s := (*Descriptor)(unsafe.Add(rd.descs, (r&rd.mask)*DescriptorSize))
	seq := atomic.LoadUint64(&s.Seqno)
	if seq != r+1 {
		return notReadyOrGap(seq, r)
	}
	*d = *s
	loadFence() // the copy completes before the re-check (a no-op on amd64)
	// The writer zeroes seqno before touching a slot, so an unchanged
	// seqno after the copy proves the copy is not torn.
	if d.Seqno = atomic.LoadUint64(&s.Seqno); d.Seqno != seq {
		return Gap
	}
	rd.last = seq
	return Ready
}

// TryCopy is TryNext without advancing: it copies the next event's
// descriptor into d on Ready and leaves the reader in place.
func (rd *Reader) TryCopy(d *Descriptor) Result {
	res := rd.TryNext(d)
	if res == Ready {
		rd.last-- // step back over the event TryNext consumed
	}
	return res
}

// notReadyOrGap classifies a first seqno load seq != r+1 (spec §3.2): an
// older lap or a slot being filled is NotReady, as is the empty ring read
// from the start; anything newer is a Gap.
func notReadyOrGap(seq, r uint64) Result {
	if seq < r || seq == 0 {
		return NotReady
	}
	return Gap
}

// SetSeqno positions the reader so that the next TryNext returns event n.
// n must be at least 1; SetSeqno(0) behaves like SetSeqno(1).
func (rd *Reader) SetSeqno(n uint64) {
	if n == 0 {
		n = 1 // the C code would wrap to 2^64-1; never do that
	}
	rd.last = n - 1
}

// LastSeqno returns the sequence number of the last event read (0 if none):
// the next TryNext attempts LastSeqno()+1.
func (rd *Reader) LastSeqno() uint64 { return rd.last }

// Reset positions the reader at the newest committed event and returns its
// sequence number (0 if none is found); the next TryNext returns that event
// (spec §3.3). Reservations that are not committed within a short bounded
// spin (a writer that died between reserve and commit, or a slow writer
// thread) are skipped by scanning backwards.
//
// Unlike the C code the scan is bounded: it probes at most one lap of
// slots, and spins only on the newest resetSpinSlots of them, so a corrupt
// ring whose last_seqno points at nothing cannot make Reset hang.
func (rd *Reader) Reset() uint64 {
	r := rd.ring
	w := atomic.LoadUint64(&r.hdr.Control.LastSeqno)
	found := uint64(0)
	for probes := uint64(0); w > 0 && probes < r.sizes.DescriptorCapacity; probes, w = probes+1, w-1 {
		s := r.slot(w - 1)
		if probes < resetSpinSlots {
			if waitSeqno(&s.Seqno, w) {
				found = w
				break
			}
		} else if atomic.LoadUint64(&s.Seqno) == w {
			found = w
			break
		}
	}
	if found > 0 {
		rd.last = found - 1
	} else {
		rd.last = 0
	}
	return found
}

// resetSpinSlots is how many of the newest slots Reset spins on; older
// reservations are probed once (only the newest can legitimately be in
// flight: one per writer thread, or what is left of a batch being recorded,
// which commits its events in order within microseconds).
const resetSpinSlots = 64

// waitSeqno polls *p for want, at most resetSpins extra times with a CPU
// pause hint between polls.
func waitSeqno(p *uint64, want uint64) bool {
	for i := 0; i <= resetSpins; i++ {
		if atomic.LoadUint64(p) == want {
			return true
		}
		cpuPause()
	}
	return atomic.LoadUint64(p) == want
}
