package blocks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/monadgo/events/archive"
	"github.com/monadgo/events/evcap"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// ArchiverOptions configure an [Archiver].
type ArchiverOptions struct {
	// BuilderOptions are the options of the inner Tracker. MaxTracked and
	// MaxBlockBytes also bound what the Archiver holds: the raw events of
	// at most MaxTracked+1 proposals, each at most MaxBlockBytes of
	// payload.
	BuilderOptions
	// Schema is the SCHEMA written into every block file; the zero value
	// means EXEC with the compiled-in execevents.SchemaHash (the ring's,
	// once the caller has checked it).
	Schema evcap.Schema
	// OnBlock, if set, is called after each finalized block is archived
	// (or found already archived).
	OnBlock func(ArchivedBlock)
	// OnNotice, if set, receives the conditions archiving went past: the
	// Tracker's notices (*eventring.GapError, *DropError, *RejectedError,
	// *eventring.ExpiredError, *EvictedError, *CommitError), and the
	// Archiver's own *MissedBlocksError and *UnarchivedError.
	OnNotice func(error)
}

// ArchivedBlock describes a finalized block the Archiver handled.
type ArchivedBlock struct {
	Number     uint64             // block number
	ID         execevents.Bytes32 // the finalized proposal's block id
	StartSeqno uint64             // seqno of its BLOCK_START in the source
	Events     int                // events in the block file
	Existed    bool               // the archive already had the block; nothing was written
}

// MissedBlocksError reports finalized block numbers the Archiver did not
// see (its reader was lapped, or it started after they left the ring) and
// that the archive does not hold: when block Next was archived, the
// archive lacked Missing, all between the previously archived block and
// Next. `archive fill` from another archive can restore them.
type MissedBlocksError struct {
	Next    uint64          // the block archived when the gap was noticed
	Missing []archive.Range // block numbers the archive lacks before Next
}

// Error names the missing ranges.
func (e *MissedBlocksError) Error() string {
	n := uint64(0)
	for _, r := range e.Missing {
		n += r.Len()
	}
	return fmt.Sprintf("blocks: archiver: %d finalized block(s) %v not archived before block %d (events lost before they were read)", n, e.Missing, e.Next)
}

// UnarchivedError reports a finalized block the Archiver could not write
// because it did not hold the proposal's events: more than MaxBlockBytes of
// payload, events that were not a run of consecutive seqnos, or events
// lost (expired) while they were copied.
type UnarchivedError struct {
	Number     uint64 // block number
	StartSeqno uint64 // BLOCK_START seqno of the finalized proposal
	Reason     string
}

// Error names the block and the reason.
func (e *UnarchivedError) Error() string {
	return fmt.Sprintf("blocks: archiver: finalized block %d (start seqno %d) not archived: %s", e.Number, e.StartSeqno, e.Reason)
}

// Archiver turns a stream of execution events into archived finalized
// blocks (evcap spec §12.9, §12.10): it feeds every event to a [Tracker]
// and keeps the raw events (descriptor and payload copy) of every proposal
// the tracker follows, keyed by the BLOCK_SEQNO flow tag; when a proposal
// is finalized, the events of its BLOCK_START through its BLOCK_END that
// carry that tag become the block's file in the archive, exactly the
// selection of the daemon's archiver (consensus events and events outside
// a block are not recorded). Abandoned, dropped and evicted proposals are
// forgotten. A block the archive already has is not written again.
//
// An Archiver is not safe for concurrent use.
type Archiver struct {
	dir    *archive.Dir
	opts   ArchiverOptions
	tr     *Tracker
	dec    execevents.Decoder
	bufs   map[uint64]*rawBlock // complete proposals, by BLOCK_START seqno
	cur    *rawBlock            // the block being copied
	free   []*rawBlock
	last   uint64 // highest block number archived or found archived
	events []evcap.Event
}

// rawBlock is the raw events of one proposal.
type rawBlock struct {
	start   uint64 // BLOCK_START seqno
	number  uint64
	exists  bool // the archive has the number already: payloads not kept
	broken  string
	descs   []eventring.Descriptor
	offs    []int
	data    []byte
	payload uint64 // payload bytes seen
}

// NewArchiver returns an Archiver that writes into dir (opened with
// archive.Create). Blocks are numbered on from the highest one dir holds:
// a finalized block above it with missing numbers in between is reported
// as a *MissedBlocksError.
func NewArchiver(dir *archive.Dir, opts ArchiverOptions) (*Archiver, error) {
	if opts.Schema.ContentType == eventring.ContentTypeNone {
		opts.Schema = evcap.Schema{ContentType: execevents.RingContentType, Hash: execevents.SchemaHash}
	}
	a := &Archiver{dir: dir, opts: opts, tr: NewTracker(opts.BuilderOptions), bufs: make(map[uint64]*rawBlock)}
	a.opts.BuilderOptions = a.tr.Builder().Options()
	hi, _, err := dir.Highest()
	if err != nil {
		return nil, err
	}
	a.last = hi
	return a, nil
}

// Tracker returns the inner Tracker.
func (a *Archiver) Tracker() *Tracker { return a.tr }

// Last returns the highest block number archived (or found archived) so
// far, starting with the highest the archive held at NewArchiver.
func (a *Archiver) Last() uint64 { return a.last }

// Held returns the number of proposals whose events the Archiver holds
// and their payload bytes.
func (a *Archiver) Held() (proposals int, bytes uint64) {
	for _, b := range a.bufs {
		bytes += b.payload
	}
	if a.cur != nil {
		proposals, bytes = 1, bytes+a.cur.payload
	}
	return proposals + len(a.bufs), bytes
}

// Reset forgets every proposal, as after a reader gap.
func (a *Archiver) Reset() {
	a.tr.Reset()
	a.dropAll()
}

func (a *Archiver) dropAll() {
	for s := range a.bufs {
		a.release(s)
	}
	if a.cur != nil {
		a.recycle(a.cur)
		a.cur = nil
	}
}

// Process consumes the event d, reading its payload from src. It returns
// an error only when the archive could not be written (an I/O error, a
// *archive.BlockError other than ErrExists): archiving cannot go on
// correctly then. Everything else is a notice (ArchiverOptions.OnNotice).
func (a *Archiver) Process(src eventring.PayloadSource, d *eventring.Descriptor) error {
	a.copyEvent(src, d)
	ups, err := a.tr.Process(src, d)
	if err != nil {
		if _, ok := err.(*eventring.ExpiredError); ok {
			a.dropAll() // the tracker reset itself
		}
		var ev *EvictedError
		if errors.As(err, &ev) {
			a.release(ev.Block.StartSeqno)
		}
		a.notice(err)
	}
	if execevents.EventType(d.EventType) == execevents.EventTypeBlockEnd && a.cur != nil &&
		d.ContentExt[execevents.FlowTypeBlockSeqno] == a.cur.start {
		// The block is complete: keep it if the tracker now follows it.
		b := a.cur
		a.cur = nil
		a.bufs[b.start] = b
		if !slices.ContainsFunc(ups, func(u Update) bool { return u.State == CommitProposed && u.Block.StartSeqno == b.start }) {
			a.release(b.start) // dropped, rejected or a re-execution the tracker ignored
		}
	}
	for _, u := range ups {
		switch u.State {
		case CommitFinalized:
			for _, o := range u.Abandoned {
				a.release(o.StartSeqno)
			}
			if err := a.archive(u.Block); err != nil {
				return err
			}
		case CommitVerified:
			a.release(u.Block.StartSeqno)
		}
	}
	// Proposals the tracker stopped following without an update (dropped
	// as stale by a BLOCK_VERIFIED) are freed here; this only runs when
	// the counts disagree.
	if len(a.bufs) > a.tr.Len() {
		for s := range a.bufs {
			if !a.tracked(s) {
				a.release(s)
			}
		}
	}
	return nil
}

// tracked reports whether the tracker still follows the proposal whose
// BLOCK_START has seqno s.
func (a *Archiver) tracked(s uint64) bool {
	for _, trs := range a.tr.byNum {
		for _, t := range trs {
			if t.blk.StartSeqno == s {
				return true
			}
		}
	}
	return false
}

// copyEvent keeps d (and a copy of its payload) if it belongs to the block
// being copied, or starts a new one at a BLOCK_START.
func (a *Archiver) copyEvent(src eventring.PayloadSource, d *eventring.Descriptor) {
	tag := d.ContentExt[execevents.FlowTypeBlockSeqno]
	if execevents.EventType(d.EventType) == execevents.EventTypeBlockStart {
		if a.cur != nil {
			a.recycle(a.cur) // never ended: the builder dropped it too
		}
		a.cur = a.newRaw(d.Seqno)
		payload := src.Payload(d)
		if ev, err := a.dec.View(d, payload); err == nil && src.PayloadValid(d) {
			if bs, ok := ev.(*execevents.BlockStartEvent); ok {
				a.cur.number = bs.BlockTag.BlockNumber
				a.cur.exists = a.dir.Has(a.cur.number)
			}
		}
	}
	b := a.cur
	if b == nil || tag == 0 || tag != b.start || b.broken != "" {
		return
	}
	b.payload += uint64(d.PayloadSize)
	if b.exists {
		return
	}
	switch {
	case b.payload > a.opts.MaxBlockBytes:
		b.broken = fmt.Sprintf("more than %d payload bytes (MaxBlockBytes)", a.opts.MaxBlockBytes)
	case len(b.descs) > 0 && d.Seqno != b.descs[len(b.descs)-1].Seqno+1:
		b.broken = fmt.Sprintf("its events are not consecutive (seqno %d after %d)", d.Seqno, b.descs[len(b.descs)-1].Seqno)
	}
	if b.broken != "" {
		b.descs, b.offs, b.data = b.descs[:0], b.offs[:0], b.data[:0]
		return
	}
	off := len(b.data)
	b.data = append(b.data, src.Payload(d)...)
	if !src.PayloadValid(d) || len(b.data)-off != int(d.PayloadSize) {
		b.broken = fmt.Sprintf("the payload of event %d expired while it was copied", d.Seqno)
		return
	}
	b.descs = append(b.descs, *d)
	b.offs = append(b.offs, off)
}

// archive writes the finalized proposal blk into the archive.
func (a *Archiver) archive(blk *ExecutedBlock) error {
	n := blk.Number()
	b := a.bufs[blk.StartSeqno]
	defer a.release(blk.StartSeqno)
	res := ArchivedBlock{Number: n, ID: blk.ID(), StartSeqno: blk.StartSeqno}
	switch {
	case b != nil && b.exists, b == nil && a.dir.Has(n):
		res.Existed = true
	case b == nil:
		a.unarchived(blk, "its events were not held")
		return nil
	case b.broken != "":
		a.unarchived(blk, b.broken)
		return nil
	default:
		a.events = a.events[:0]
		for i := range b.descs {
			off := b.offs[i]
			a.events = append(a.events, evcap.Event{Descriptor: b.descs[i], ContentType: a.opts.Schema.ContentType,
				Payload: b.data[off : off+int(b.descs[i].PayloadSize)]})
		}
		res.Events = len(a.events)
		err := a.dir.WriteBlock(n, a.opts.Schema, a.events)
		clear(a.events) // no reference to the buffer stays behind
		switch {
		case errors.Is(err, archive.ErrExists):
			res.Existed = true
		case errors.Is(err, evcap.ErrBadEvent):
			// The events themselves were refused (a corrupt ring): not a
			// reason to stop archiving.
			a.unarchived(blk, err.Error())
			return nil
		case err != nil:
			return err
		}
	}
	if n > a.last+1 && a.last != 0 {
		if miss, err := a.dir.Missing(a.last+1, n-1); err == nil && len(miss) > 0 {
			a.notice(&MissedBlocksError{Next: n, Missing: miss})
		}
	}
	a.last = max(a.last, n)
	if a.opts.OnBlock != nil {
		a.opts.OnBlock(res)
	}
	return nil
}

// unarchived reports a finalized block that cannot be written; it counts
// as seen, so it is not reported again as missed.
func (a *Archiver) unarchived(blk *ExecutedBlock, reason string) {
	a.notice(&UnarchivedError{Number: blk.Number(), StartSeqno: blk.StartSeqno, Reason: reason})
	a.last = max(a.last, blk.Number())
}

func (a *Archiver) notice(err error) {
	if a.opts.OnNotice != nil {
		a.opts.OnNotice(err)
	}
}

func (a *Archiver) newRaw(start uint64) *rawBlock {
	var b *rawBlock
	if k := len(a.free); k > 0 {
		b, a.free = a.free[k-1], a.free[:k-1]
	} else {
		b = new(rawBlock)
	}
	b.start = start
	return b
}

// release forgets the proposal whose BLOCK_START has seqno s.
func (a *Archiver) release(s uint64) {
	if b := a.bufs[s]; b != nil {
		delete(a.bufs, s)
		a.recycle(b)
	}
}

// recycle keeps a few buffers of moderate size for the next blocks.
func (a *Archiver) recycle(b *rawBlock) {
	if len(a.free) >= 4 || cap(b.data) > scratchKeepBytes {
		return
	}
	*b = rawBlock{descs: b.descs[:0], offs: b.offs[:0], data: b.data[:0]}
	a.free = append(a.free, b)
}

// Run reads events from src (blocking in its Next) and archives the finalized
// blocks, with the gap rules of [Tracker.Updates]: after a reader gap the
// Archiver is reset, the reader repositioned (a live ring: at its newest
// BLOCK_START; a snapshot: at its oldest event) and the gap passed to
// OnNotice; blocks finalized meanwhile and missing from the archive are
// reported as a *MissedBlocksError when the next block is archived.
//
// It returns nil at the end of a snapshot, and otherwise the error that
// stopped it: a write error of Process, ctx.Err(), an error wrapping
// eventring.ErrWriterGone when a live ring's writer has exited and every
// event was read, or eventring.ErrClosed.
func (a *Archiver) Run(ctx context.Context, src eventring.Source) error {
	var stop error
	follow(ctx, src, resume, a.Reset, func(u Update, err error) bool {
		if err != nil {
			stop = err
			return false
		}
		if u.Notice != nil {
			a.notice(u.Notice)
		}
		return true
	}, func(d *eventring.Descriptor) bool {
		if err := a.Process(src, d); err != nil {
			stop = err
			return false
		}
		return true
	})
	return stop
}

// BlockFromFile rebuilds the executed block an archived block file holds
// (archive.Dir.OpenBlock) by feeding its events to a Builder with opts,
// so that an archive can be compared with the blocks of a ring. It fails
// unless the file's events make exactly one block, numbered as the file's
// bundle says: a *DropError or *RejectedError of the builder, an evcap
// error, or an error wrapping archive.ErrBadBlock.
func BlockFromFile(f *evcap.File, opts BuilderOptions) (*ExecutedBlock, error) {
	b := NewBuilder(opts)
	rd := f.NewReader()
	var ev evcap.Event
	var blk *ExecutedBlock
	for n := 0; ; n++ {
		err := rd.Next(&ev)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		got, err := b.Process(rd, &ev.Descriptor)
		if err != nil {
			return nil, err
		}
		if got != nil {
			if blk != nil {
				return nil, fmt.Errorf("%s: a second block (%d) at event %d: %w", f.Path(), got.Number(), n, archive.ErrBadBlock)
			}
			blk = got
		}
	}
	if blk == nil {
		return nil, fmt.Errorf("%s: the events make no complete block: %w", f.Path(), archive.ErrBadBlock)
	}
	if bs := f.Bundles(); len(bs) != 1 || bs[0].BlockNumber != blk.Number() {
		return nil, fmt.Errorf("%s: the events make block %d, the bundle is numbered otherwise: %w", f.Path(), blk.Number(), archive.ErrBadBlock)
	}
	return blk, nil
}

// ReadArchivedBlock opens block n of dir and rebuilds it (BlockFromFile).
func ReadArchivedBlock(dir *archive.Dir, n uint64, opts BuilderOptions) (*ExecutedBlock, error) {
	f, err := dir.OpenBlock(n)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	blk, err := BlockFromFile(f, opts)
	if err != nil {
		return nil, &archive.BlockError{Number: n, Path: f.Path(), Err: err}
	}
	return blk, nil
}
