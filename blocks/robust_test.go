package blocks_test

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// The robustness tests feed the builder and the tracker a reference stream
// that was damaged on purpose (events shuffled, dropped, duplicated, foreign
// events from another recording inserted, payloads expired, garbage forged)
// and check that
//
//   - nothing panics and every error is one of the package's typed errors;
//   - every block whose events are intact is still emitted, equal to the
//     block built from the clean stream: the builder recovers at the next
//     BLOCK_START whatever happened before;
//   - without forged events (which are indistinguishable from real ones),
//     every emitted block equals the clean block with the same BLOCK_START.

// perturbKind is one kind of damage.
type perturbKind uint8

const (
	opDrop perturbKind = iota
	opDup
	opSwapNear
	opMoveFar
	opForeign
	opExpire
	opForge
	opKinds
)

// perturbOp describes one piece of damage; pos and arg are scaled to the
// stream at the time it is applied.
type perturbOp struct {
	kind     perturbKind
	pos, arg uint32
	garbage  []byte // forged payload bytes (opForge)
}

// robustFixture is the clean stream and what it builds.
type robustFixture struct {
	clean   []memEvent
	foreign []memEvent // events of another recording, retagged
	// base is clean ++ foreign with PayloadBufOffset set to the index and
	// PayloadSize to the payload's length, as a memSource would have them;
	// run shares it read-only between trials instead of copying it.
	base  []memEvent
	built map[uint64]*blocks.ExecutedBlock
	spans [][2]int // [start, end] clean indexes of each block
	opts  blocks.BuilderOptions
}

func newRobustFixture(t testing.TB, clean []memEvent, opts blocks.BuilderOptions) *robustFixture {
	f := &robustFixture{clean: clean, opts: opts, built: map[uint64]*blocks.ExecutedBlock{}}
	for _, blk := range buildAll(t, clean, opts) {
		f.built[blk.StartSeqno] = blk
		f.spans = append(f.spans, [2]int{int(blk.StartSeqno - 1), int(blk.EndSeqno - 1)})
	}
	// Foreign events: the other reference recording, with its block tags
	// moved out of this stream's seqno range (a stale or unrelated block).
	for _, e := range loadSnapshot(t, snap1) {
		if e.d.ContentExt[execevents.FlowTypeBlockSeqno] != 0 {
			e.d.ContentExt[execevents.FlowTypeBlockSeqno] += 1 << 40
		}
		f.foreign = append(f.foreign, e)
	}
	f.base = newMemSource(append(append([]memEvent(nil), f.clean...), f.foreign...)).evs
	return f
}

// trialSource is the PayloadSource of one trial: the fixture's base events
// (shared, never written) followed by the trial's forged events, indexed by
// PayloadBufOffset like a memSource over base ++ forged.
type trialSource struct {
	base, forged []memEvent
	expired      map[uint64]bool
}

func (s *trialSource) event(id int) *memEvent {
	if id < len(s.base) {
		return &s.base[id]
	}
	return &s.forged[id-len(s.base)]
}

func (s *trialSource) len() int { return len(s.base) + len(s.forged) }

func (s *trialSource) Payload(d *eventring.Descriptor) []byte {
	if d.PayloadBufOffset >= uint64(s.len()) {
		return nil
	}
	return s.event(int(d.PayloadBufOffset)).p
}

func (s *trialSource) PayloadValid(d *eventring.Descriptor) bool {
	return d.PayloadBufOffset < uint64(s.len()) && !s.expired[d.PayloadBufOffset]
}

// run applies ops to the clean stream, feeds the result to a tracker and
// checks the properties.
func (f *robustFixture) run(t testing.TB, ops []perturbOp) (errs, intactChecked int) {
	t.Helper()
	// ids index into base ++ forged = clean ++ foreign ++ forged.
	src := &trialSource{base: f.base, expired: map[uint64]bool{}}
	ids := make([]int, len(f.clean))
	for i := range ids {
		ids[i] = i
	}
	expired := map[int]bool{}
	forged := false
	// Foreign events (tagged with another block) must be ignored outright
	// unless one of them is a BLOCK_START, which interrupts the block.
	onlyForeign, foreignStart := true, false
	for _, op := range ops {
		onlyForeign = onlyForeign && op.kind == opForeign
		n := len(ids)
		if n == 0 {
			break
		}
		i := int(op.pos) % n
		switch op.kind {
		case opDrop:
			ids = append(ids[:i], ids[i+1:]...)
		case opDup:
			j := min(n, i+1+int(op.arg)%64)
			ids = insertAt(ids, j, ids[i])
		case opSwapNear:
			j := min(n-1, i+1+int(op.arg)%16)
			ids[i], ids[j] = ids[j], ids[i]
		case opMoveFar:
			id := ids[i]
			ids = append(ids[:i], ids[i+1:]...)
			ids = insertAt(ids, int(op.arg)%len(ids), id)
		case opForeign:
			id := len(f.clean) + int(op.arg)%len(f.foreign)
			foreignStart = foreignStart || src.event(id).d.EventType == uint16(execevents.EventTypeBlockStart)
			ids = insertAt(ids, i, id)
		case opExpire:
			expired[ids[i]] = true
		case opForge:
			// A forged event inside the block at i: the tags of the event
			// there, an arbitrary type and arbitrary payload bytes.
			forged = true
			e := memEvent{d: src.event(ids[i]).d, p: op.garbage}
			e.d.EventType = uint16(op.arg % 32)
			if len(e.p) >= 4 && e.p[0]&1 == 0 {
				// Sometimes the exact fixed size of the type, so that the
				// decoder accepts it and the builder has to cope.
				if s := fixedSize(execevents.EventType(e.d.EventType)); s > 0 {
					e.p = append(append([]byte(nil), e.p...), make([]byte, s)...)[:s]
				}
			}
			if len(e.p) >= 8 {
				e.d.ContentExt[execevents.FlowTypeTxnID] = uint64(e.p[1]) % 300
			}
			// Like a ring, the source holds payload_size bytes for each
			// descriptor: a forged payload carries its own size.
			id := src.len()
			e.d.PayloadBufOffset, e.d.PayloadSize = uint64(id), uint32(len(e.p))
			src.forged = append(src.forged, e)
			ids = insertAt(ids, i, id)
		}
	}

	for id := range expired {
		src.expired[uint64(id)] = true
	}
	tr := blocks.NewTracker(f.opts)
	buildErrs := 0
	emitted := map[uint64]*blocks.ExecutedBlock{}
	for _, id := range ids {
		d := src.event(id).d
		ups, err := tr.Process(src, &d)
		if err != nil && !errors.Is(err, blocks.ErrImplicitDrop) && !errors.Is(err, blocks.ErrRejected) &&
			!errors.Is(err, eventring.ErrPayloadExpired) && !errors.Is(err, blocks.ErrInconsistent) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		if err != nil {
			errs++
			if !errors.Is(err, blocks.ErrInconsistent) {
				buildErrs++
			}
			if err.Error() == "" {
				t.Fatalf("empty error message for %T", err)
			}
		}
		for _, u := range ups {
			if u.Block == nil {
				t.Fatalf("update without a block: %+v", u)
			}
			if u.State == blocks.CommitProposed {
				emitted[u.Block.StartSeqno] = u.Block
			}
		}
	}

	// Intact blocks must come out equal to the clean ones.
	pos := make([]int, src.len()) // first position of each id, -1 if absent
	for i := range pos {
		pos[i] = -1
	}
	for p := len(ids) - 1; p >= 0; p-- {
		pos[ids[p]] = p
	}
	for _, sp := range f.spans {
		p := pos[sp[0]]
		intact := p >= 0 && p+sp[1]-sp[0] < len(ids)
		for k := 0; intact && k <= sp[1]-sp[0]; k++ {
			intact = ids[p+k] == sp[0]+k && !expired[sp[0]+k]
		}
		if !intact {
			continue
		}
		start := f.clean[sp[0]].d.Seqno
		got := emitted[start]
		if got == nil {
			t.Fatalf("intact block (BLOCK_START seqno %d) was not emitted", start)
		}
		if !equalBlocks(got, f.built[start]) {
			t.Fatalf("intact block (BLOCK_START seqno %d) differs from the clean build", start)
		}
		intactChecked++
	}
	if onlyForeign && !foreignStart && (buildErrs != 0 || len(emitted) != len(f.spans)) {
		t.Fatalf("foreign events only: %d builder errors, %d of %d blocks emitted", buildErrs, len(emitted), len(f.spans))
	}
	if forged {
		return errs, intactChecked
	}
	for start, got := range emitted {
		want := f.built[start]
		if want == nil {
			t.Fatalf("emitted a block for BLOCK_START seqno %d, which is not a clean block", start)
		}
		if !equalBlocks(got, want) {
			t.Fatalf("block with BLOCK_START seqno %d differs from the clean build", start)
		}
	}
	return errs, intactChecked
}

func insertAt(s []int, i, v int) []int {
	s = append(s, 0)
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

func fixedSize(t execevents.EventType) int {
	if int(t) < len(execevents.Events) {
		return int(execevents.Events[t].Size)
	}
	return 0
}

// TestRobustnessProperty applies random damage to the emn-30b stream.
func TestRobustnessProperty(t *testing.T) {
	evs := loadSnapshot(t, snap30)
	trials := 15
	if testing.Short() {
		trials = 4
	}
	var errs, intact int
	for _, opts := range []blocks.BuilderOptions{{}, {CallFrames: true, Accesses: true}} {
		f := newRobustFixture(t, evs, opts)
		for trial := range trials {
			rng := rand.New(rand.NewPCG(uint64(trial), 42))
			var ops []perturbOp
			for range 1 + rng.IntN(8) {
				op := perturbOp{kind: perturbKind(rng.IntN(int(opKinds))), pos: rng.Uint32(), arg: rng.Uint32()}
				if op.kind == opForge {
					op.garbage = make([]byte, rng.IntN(600))
					for i := range op.garbage {
						op.garbage[i] = byte(rng.Uint32())
					}
				}
				ops = append(ops, op)
			}
			e, n := f.run(t, ops)
			errs += e
			intact += n
		}
	}
	// Guard against a vacuous pass: the damage must have caused errors and
	// left intact blocks to check.
	if errs == 0 || intact == 0 {
		t.Fatalf("%d errors, %d intact blocks checked", errs, intact)
	}
	t.Logf("%d errors, %d intact blocks rebuilt identically", errs, intact)
}

// TestRobustnessEachKind applies one kind of damage many times, so that each
// is exercised on its own (and the no-forgery property is checked for all
// but opForge).
func TestRobustnessEachKind(t *testing.T) {
	evs := loadSnapshot(t, snap30)
	f := newRobustFixture(t, evs[:40000], blocks.BuilderOptions{CallFrames: true, Accesses: true})
	for kind := range opKinds {
		rng := rand.New(rand.NewPCG(uint64(kind), 7))
		errs := 0
		for range 12 {
			var ops []perturbOp
			for range 5 {
				op := perturbOp{kind: kind, pos: rng.Uint32(), arg: rng.Uint32()}
				if kind == opForge {
					op.garbage = binary.LittleEndian.AppendUint64(nil, rng.Uint64())
				}
				ops = append(ops, op)
			}
			e, _ := f.run(t, ops)
			errs += e
		}
		if errs == 0 && kind != opForeign {
			t.Errorf("damage kind %d never caused an error", kind)
		}
	}
}

// FuzzBuilder interprets the fuzz input as a list of damage operations on
// the first blocks of emn-30b.
func FuzzBuilder(f *testing.F) {
	evs := loadSnapshot(f, snap30)
	fx := newRobustFixture(f, evs[:25000], blocks.BuilderOptions{CallFrames: true, Accesses: true})
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{6, 0x10, 0x20, 2, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88})
	f.Add([]byte{1, 0xaa, 0x55, 0x10, 3, 0x01, 0x02, 0x40, 4, 9, 9, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		var ops []perturbOp
		for len(data) >= 4 && len(ops) < 16 {
			op := perturbOp{
				kind: perturbKind(data[0] % byte(opKinds)),
				pos:  uint32(data[1])<<16 | uint32(data[2])<<8 | uint32(data[1]^data[2]),
				arg:  uint32(data[3]),
			}
			data = data[4:]
			if op.kind == opForge {
				n := min(len(data), int(op.arg)%64+8)
				op.garbage, data = data[:n], data[n:]
			}
			ops = append(ops, op)
		}
		fx.run(t, ops)
	})
}

// TestPayloadExpired: an expired payload discards the block in progress and
// reports the event; the next block is built normally.
func TestPayloadExpired(t *testing.T) {
	evs := loadSnapshot(t, snap30)
	blks := buildAll(t, evs, blocks.BuilderOptions{})
	src := newMemSource(evs)
	// Expire a TXN_LOG of the first block.
	victim := -1
	for i := blks[0].StartSeqno; i < blks[0].EndSeqno; i++ {
		if evs[i-1].d.EventType == uint16(execevents.EventTypeTxnLog) {
			victim = int(i - 1)
			break
		}
	}
	src.expired = map[uint64]bool{uint64(victim): true}
	tr := blocks.NewTracker(blocks.BuilderOptions{})
	var got []*blocks.ExecutedBlock
	var expiredErrs int
	for i := range src.evs {
		ups, err := tr.Process(src, &src.evs[i].d)
		var pe *eventring.ExpiredError
		if errors.As(err, &pe) {
			expiredErrs++
			if pe.Seqno != evs[victim].d.Seqno || !errors.Is(err, eventring.ErrPayloadExpired) {
				t.Errorf("expired error for seqno %d, want %d: %v", pe.Seqno, evs[victim].d.Seqno, err)
			}
		} else if err != nil {
			t.Fatalf("seqno %d: %v", src.evs[i].d.Seqno, err)
		}
		for _, u := range ups {
			if u.State == blocks.CommitProposed {
				got = append(got, u.Block)
			}
		}
	}
	if expiredErrs != 1 || len(got) != len(blks)-1 || got[0].StartSeqno != blks[1].StartSeqno {
		t.Fatalf("%d expired errors, %d blocks (first at %d); want 1, %d, first at %d",
			expiredErrs, len(got), got[0].StartSeqno, len(blks)-1, blks[1].StartSeqno)
	}
	if !reflect.DeepEqual(got[0], blks[1]) {
		t.Errorf("block after the expired one differs from the clean build")
	}
}

// TestBuilderErrors checks the typed error of each kind of damage on a
// single block (emn-1b), and that the block is built again afterwards.
func TestBuilderErrors(t *testing.T) {
	evs := loadSnapshot(t, snap1)
	clean := buildAll(t, evs, blocks.BuilderOptions{})[0]
	find := func(ty execevents.EventType, nth int) int {
		for i, e := range evs {
			if e.d.EventType == uint16(ty) {
				if nth == 0 {
					return i
				}
				nth--
			}
		}
		t.Fatalf("no event of type %d", ty)
		return -1
	}
	cases := []struct {
		name   string
		edit   func([]memEvent) []memEvent
		reason blocks.DropReason
		reject bool
	}{
		{"unterminated", func(s []memEvent) []memEvent {
			// The block stops half way; the next BLOCK_START interrupts it.
			return s[:find(execevents.EventTypeTxnLog, 3)]
		}, blocks.DropUnterminatedBlock, false},
		{"missing header", func(s []memEvent) []memEvent {
			i := find(execevents.EventTypeTxnHeaderStart, 5)
			return append(s[:i:i], s[i+1:]...)
		}, blocks.DropBadIndex, false}, // its TXN_EVM_OUTPUT reveals it
		{"missing transaction", func(s []memEvent) []memEvent {
			var out []memEvent
			for _, e := range s {
				if e.d.ContentExt[execevents.FlowTypeTxnID] != 6 {
					out = append(out, e)
				}
			}
			return out
		}, blocks.DropMissingTransaction, false},
		{"missing log", func(s []memEvent) []memEvent {
			i := find(execevents.EventTypeTxnLog, 7)
			return append(s[:i:i], s[i+1:]...)
		}, blocks.DropMissingLog, false},
		{"duplicate log", func(s []memEvent) []memEvent {
			i := find(execevents.EventTypeTxnLog, 7)
			return append(s[:i+1:i+1], s[i:]...)
		}, blocks.DropBadIndex, false},
		{"log before output", func(s []memEvent) []memEvent {
			i := find(execevents.EventTypeTxnLog, 0)
			j := 0
			for j < i && (s[j].d.EventType != uint16(execevents.EventTypeTxnEVMOutput) || s[j].d.ContentExt[1] != s[i].d.ContentExt[1]) {
				j++
			}
			c := append([]memEvent(nil), s...)
			c[i], c[j] = c[j], c[i]
			return c
		}, blocks.DropBadIndex, false},
		{"txn reject", func(s []memEvent) []memEvent {
			i := find(execevents.EventTypeTxnEnd, 2)
			e := memEvent{d: s[i].d, p: []byte{3, 0, 0, 0}}
			e.d.EventType = uint16(execevents.EventTypeTxnReject)
			return append(s[:i:i], append([]memEvent{e}, s[i+1:]...)...)
		}, 0, true},
		{"block reject", func(s []memEvent) []memEvent {
			i := find(execevents.EventTypeBlockEnd, 0)
			e := memEvent{d: s[i].d, p: []byte{3, 0, 0, 0}}
			e.d.EventType = uint16(execevents.EventTypeBlockReject)
			return append(s[:i:i], append([]memEvent{e}, s[i+1:]...)...)
		}, 0, true},
		{"block-scope EVM error", func(s []memEvent) []memEvent {
			i := find(execevents.EventTypeBlockEnd, 0)
			e := memEvent{d: s[i].d, p: make([]byte, 16)}
			e.p[0], e.p[8] = 3, 3
			e.d.EventType = uint16(execevents.EventTypeEVMError)
			return append(s[:i:i], append([]memEvent{e}, s[i+1:]...)...)
		}, 0, true},
		{"log lost by the recorder", func(s []memEvent) []memEvent {
			return replaceByRecordError(s, find(execevents.EventTypeTxnLog, 4))
		}, blocks.DropLostEvent, false},
		{"perf marker lost by the recorder: harmless", func(s []memEvent) []memEvent {
			return replaceByRecordError(s, find(execevents.EventTypeTxnPerfEVMExit, 4))
		}, 0, false},
		{"malformed log", func(s []memEvent) []memEvent {
			i := find(execevents.EventTypeTxnLog, 2)
			c := append([]memEvent(nil), s...)
			c[i].p = c[i].p[:len(c[i].p)-1]
			return c
		}, blocks.DropMalformed, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := c.edit(append([]memEvent(nil), evs...))
			s = append(s, evs...) // the clean block again
			src := newMemSource(s)
			b := blocks.NewBuilder(blocks.BuilderOptions{})
			var errs []error
			var blks []*blocks.ExecutedBlock
			for i := range src.evs {
				blk, err := b.Process(src, &src.evs[i].d)
				if err != nil {
					errs = append(errs, err)
				}
				if blk != nil {
					blks = append(blks, blk)
				}
			}
			if c.reason == 0 && !c.reject {
				if len(errs) != 0 || len(blks) != 2 || !equalBlocks(blks[0], clean) || !equalBlocks(blks[1], clean) {
					t.Fatalf("errors %v, %d blocks; want no error and the clean block twice", errs, len(blks))
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("errors %v, want exactly one", errs)
			}
			var de *blocks.DropError
			var re *blocks.RejectedError
			switch {
			case c.reject:
				if !errors.As(errs[0], &re) || !errors.Is(errs[0], blocks.ErrRejected) ||
					(re.RejectCode != 3 && re.EVMError.StatusCode != 3) || re.StartSeqno != clean.StartSeqno {
					t.Fatalf("error %v, want a rejection of the block with code 3", errs[0])
				}
			case !errors.As(errs[0], &de) || de.Reason != c.reason || !errors.Is(errs[0], blocks.ErrImplicitDrop):
				t.Fatalf("error %v, want a drop with reason %v", errs[0], c.reason)
			case de.Block != clean.Start.BlockTag || de.StartSeqno != clean.StartSeqno:
				t.Fatalf("drop names block %v start %d, want %v start %d", de.Block, de.StartSeqno, clean.Start.BlockTag, clean.StartSeqno)
			}
			if len(blks) != 1 || !reflect.DeepEqual(blks[0], clean) {
				t.Fatalf("%d blocks after the damage, want the clean block once", len(blks))
			}
			t.Log(errs[0])
		})
	}
}

// replaceByRecordError replaces event i by the RECORD_ERROR the recorder
// writes when a payload does not fit (spec §5.6): same flow tags, a 16-byte
// record-error payload naming the dropped type.
func replaceByRecordError(s []memEvent, i int) []memEvent {
	c := append([]memEvent(nil), s...)
	p := make([]byte, 16)
	binary.LittleEndian.PutUint16(p[0:], uint16(eventring.RecordErrorOverflowExpire))
	binary.LittleEndian.PutUint16(p[2:], c[i].d.EventType)
	binary.LittleEndian.PutUint64(p[8:], 1<<30)
	c[i].d.EventType = uint16(execevents.EventTypeRecordError)
	c[i].p = p
	return c
}

// rawType maps a fuzz byte to an event code, including unknown ones.
func rawType(b byte) uint16 { return uint16(b % 30) }

// FuzzTrackerRaw feeds the tracker events made entirely of fuzz bytes (no
// reference data needed): every event kind, arbitrary flow tags and
// payloads. It must never panic and only return the package's errors.
func FuzzTrackerRaw(f *testing.F) {
	f.Add([]byte{2, 1, 0, 0}, uint16(600))
	f.Add([]byte{2, 1, 0, 0, 10, 1, 1, 9, 17, 1, 1, 0, 18, 1, 1, 0, 6, 1, 0, 0}, uint16(40))
	f.Add([]byte{2, 0, 0, 0, 21, 1, 0, 0, 22, 1, 0, 0, 23, 1, 0, 0, 6, 1, 0, 0, 7, 0, 0, 0, 8, 0, 0, 0, 9, 0, 0, 0}, uint16(7))
	f.Fuzz(func(t *testing.T, data []byte, size uint16) {
		var evs []memEvent
		// Each event: type, BLOCK_SEQNO (0 or 1), TXN_ID, ACCOUNT_INDEX,
		// then a payload of the type's fixed size (or of size%300 when the
		// first bit of size says so) filled from the remaining bytes.
		lastStart := uint64(0)
		for len(data) >= 4 && len(evs) < 64 {
			e := memEvent{}
			e.d.Seqno = uint64(len(evs) + 1)
			e.d.EventType = rawType(data[0])
			if e.d.EventType == uint16(execevents.EventTypeBlockStart) {
				lastStart = e.d.Seqno
			}
			// BLOCK_SEQNO: none, the current block's, or a foreign one.
			tag := [3]uint64{0, lastStart, 1 << 40}[data[1]%3]
			e.d.ContentExt = [4]uint64{tag, uint64(data[2] % 8), uint64(data[3] % 4)}
			data = data[4:]
			n := fixedSize(execevents.EventType(e.d.EventType))
			if size&1 != 0 || n == 0 {
				n = int(size % 300)
			}
			size = size>>1 | size<<15
			e.p = make([]byte, n)
			copy(e.p, data)
			if len(e.p) >= 264+184+8 && e.d.EventType == uint16(execevents.EventTypeBlockStart) {
				e.p[448] %= 8 // keep txn_count small so that blocks can complete
				clear(e.p[449:456])
			}
			data = data[min(len(data), n):]
			evs = append(evs, e)
		}
		src := newMemSource(evs)
		for _, opts := range []blocks.BuilderOptions{{}, {CallFrames: true, Accesses: true, MaxTxns: 4, MaxLogs: 4, MaxCallFrames: 4}} {
			tr := blocks.NewTracker(opts)
			for i := range src.evs {
				_, err := tr.Process(src, &src.evs[i].d)
				if err != nil && !errors.Is(err, blocks.ErrImplicitDrop) && !errors.Is(err, blocks.ErrRejected) &&
					!errors.Is(err, eventring.ErrPayloadExpired) && !errors.Is(err, blocks.ErrInconsistent) {
					t.Fatalf("untyped error %T: %v", err, err)
				}
			}
		}
	})
}
