package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/monadgo/events/archive"
	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/evcap"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// positionHelp is the grammar of --start and --end.
const positionHelp = "a sequence number, block:N (the block's BLOCK_START; newest proposal on a ring), " +
	"finalized:N or F:N (after finalized block N: where a consumer that processed N resumes), " +
	"id:0x… (the proposal's BLOCK_START), or an RFC 3339 time"

// startFlag defines --start and endFlag --end, which parsePosition reads.
func startFlag(fs *flag.FlagSet) *string {
	return fs.String("start", "block", "where to begin: block (the latest block start on a live ring; the first event of a snapshot or capture), latest, oldest, or "+positionHelp)
}

func endFlag(fs *flag.FlagSet) *string {
	return fs.String("end", "", "where to stop (inclusive): "+positionHelp+"; a block or id ends after its BLOCK_END, a finalized:N after BLOCK_FINALIZED of N, a time before the first later event")
}

// positionKind is the form of a --start or --end value.
type positionKind uint8

const (
	posBlockDefault positionKind = iota // "block": the latest BLOCK_START of a live ring
	posLatest
	posOldest
	posSeqno
	posBlock
	posFinalized
	posID
	posTime
)

// position is a parsed --start or --end value.
type position struct {
	kind positionKind
	n    uint64 // seqno or block number
	id   execevents.Bytes32
	t    time.Time

	startSeqno, number uint64 // the current block, for end checks
}

// parsePosition parses a --start or --end value; "" gives nil.
func parsePosition(flagName, v string) (*position, error) {
	v = strings.TrimSpace(v)
	bad := func(why string) error {
		return fmt.Errorf("%s %q: %s; want %s", flagName, v, why, positionHelp)
	}
	num := func(s string) (uint64, error) {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, bad("not a decimal number")
		}
		return n, nil
	}
	switch lv := strings.ToLower(v); {
	case v == "":
		return nil, nil
	case lv == "block":
		return &position{kind: posBlockDefault}, nil
	case lv == "latest":
		return &position{kind: posLatest}, nil
	case lv == "oldest":
		return &position{kind: posOldest}, nil
	case strings.HasPrefix(lv, "block:"):
		n, err := num(v[len("block:"):])
		return &position{kind: posBlock, n: n}, err
	case strings.HasPrefix(lv, "finalized:"), strings.HasPrefix(lv, "f:"):
		n, err := num(v[strings.IndexByte(v, ':')+1:])
		return &position{kind: posFinalized, n: n}, err
	case strings.HasPrefix(lv, "id:"):
		h := strings.TrimPrefix(strings.TrimPrefix(lv[len("id:"):], "0x"), "0X")
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 32 {
			return nil, bad("not a 32-byte hex block id")
		}
		return &position{kind: posID, id: execevents.Bytes32(b)}, nil
	case strings.ContainsAny(v, "T:-"):
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, bad("not an RFC 3339 time")
		}
		return &position{kind: posTime, t: t}, nil
	}
	n, err := num(v)
	if err == nil && n == 0 {
		return nil, bad("sequence numbers start at 1")
	}
	return &position{kind: posSeqno, n: n}, err
}

// reached reports, for the event d just read, whether the stream must stop
// before delivering it (stop) or after it (last).
func (p *position) reached(dec *execevents.Decoder, src eventring.PayloadSource, d *eventring.Descriptor) (stop, last bool) {
	typ := execevents.EventType(d.EventType)
	switch p.kind {
	case posSeqno:
		return d.Seqno > p.n, d.Seqno == p.n
	case posTime:
		return time.Unix(0, int64(d.RecordEpochNanos)).After(p.t), false
	case posBlock, posID:
		switch typ {
		case execevents.EventTypeBlockStart:
			ev, err := dec.Read(src, d)
			if err != nil {
				return false, false
			}
			tag := ev.(*execevents.BlockStartEvent).BlockTag
			p.startSeqno, p.number = 0, tag.BlockNumber
			if p.kind == posBlock && tag.BlockNumber == p.n || p.kind == posID && tag.ID == p.id {
				p.startSeqno = d.Seqno
			}
			return p.kind == posBlock && tag.BlockNumber > p.n, false
		case execevents.EventTypeBlockEnd:
			return false, p.startSeqno != 0 && d.ContentExt[execevents.FlowTypeBlockSeqno] == p.startSeqno
		}
	case posFinalized:
		if typ == execevents.EventTypeBlockFinalized {
			ev, err := dec.Read(src, d)
			if err != nil {
				return false, false
			}
			m := ev.(*execevents.BlockFinalizedEvent).BlockNumber
			return m > p.n, m == p.n
		}
	}
	return false, false
}

// positionReader returns a ring reader at the first event to show, and its
// sequence number. Without --start a snapshot starts at its first event
// (or the oldest still present) and a live ring at its latest block start,
// so that the first lines a user sees are a whole block.
func positionReader(e *env, o *openedRing, from *position) (*eventring.Reader, uint64, error) {
	rd := o.NewReader()
	oldest := o.OldestSeqno()
	if from == nil {
		from = &position{kind: posBlockDefault}
	}
	var d eventring.Descriptor
	var err error
	switch from.kind {
	case posBlockDefault:
		if o.snapshot {
			rd.SetSeqno(oldest)
			break
		}
		if err := blocks.LatestConsensus(rd, execevents.EventTypeBlockStart, &d); err != nil {
			// No block start found (an empty ring, or its block start is
			// gone already): begin with the newest event instead.
			e.log.Debug("no block start to rewind to; starting at the newest event", "why", err)
		}
	case posLatest:
		if o.snapshot {
			rd.SetSeqno(max(o.Header().LastSeqno, 1))
		}
		// A live reader starts at the newest event.
	case posOldest:
		rd.SetSeqno(oldest)
	case posSeqno:
		rd.SetSeqno(from.n)
	case posBlock, posID:
		// The Prev helpers search before the event the reader points at:
		// look at the newest event first.
		rd.Reset()
		if rd.TryCopy(&d) == eventring.Ready && execevents.EventType(d.EventType) == execevents.EventTypeBlockStart &&
			(from.kind == posBlock && blockNumberIs(o.Ring, &d, from.n) || from.kind == posID && blocks.BlockIDMatches(o.Ring, &d, from.id)) {
			break
		}
		if from.kind == posBlock {
			err = blocks.BlockNumberPrev(rd, from.n, execevents.EventTypeBlockStart, &d)
		} else {
			err = blocks.BlockIDPrev(rd, from.id, execevents.EventTypeBlockStart, &d)
		}
	case posFinalized:
		err = blocks.RewindForSimpleReplay(rd, from.n, &d)
	case posTime:
		rd.SetSeqno(firstAtOrAfter(o.Ring, oldest, from.t))
	}
	if err != nil {
		return nil, 0, fmt.Errorf("--start: %w", err)
	}
	return rd, rd.LastSeqno() + 1, nil
}

func blockNumberIs(r *eventring.Ring, d *eventring.Descriptor, n uint64) bool {
	m, err := blocks.BlockNumberOf(r, d)
	return err == nil && m == n
}

// firstAtOrAfter returns the sequence number of the first event of the
// ring recorded at or after t (binary search: record times do not
// decrease), or the one after the newest if there is none yet.
func firstAtOrAfter(r *eventring.Ring, oldest uint64, t time.Time) uint64 {
	lo, hi := oldest, r.Header().LastSeqno+1
	want := t.UnixNano()
	var d eventring.Descriptor
	for lo < hi {
		mid := lo + (hi-lo)/2
		if !r.TryCopy(mid, &d) {
			lo = mid + 1 // overwritten meanwhile: later is safe
			continue
		}
		if int64(d.RecordEpochNanos) < want {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// openCaptureStream opens a capture file of execution events, positioned
// at from: a capture is read forwards, so block, id and finalized
// positions are found by a scan from its first event.
func openCaptureStream(e *env, path string, from *position) (*stream, error) {
	f, err := evcap.Open(path)
	if err != nil {
		return nil, err
	}
	if err := f.CheckSchema(execevents.RingContentType, execevents.SchemaHash); err != nil {
		f.Close()
		return nil, err
	}
	e.log.Debug("opened", "path", path, "kind", "capture", "layout", f.Layout())
	src := f.NewSource()
	seqno := uint64(0)
	if from != nil {
		seqno, err = findInCapture(f, from)
		if err == nil && seqno != 0 {
			err = src.Seek(seqno)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("--start: %s: %w", path, err)
		}
	}
	if seqno == 0 && len(f.Bundles()) > 0 {
		seqno = f.Bundles()[0].StartSeqno
	}
	return &stream{capture: src, src: src, last: max(seqno, 1) - 1}, nil
}

// findInCapture returns the sequence number a capture's reading starts at
// for from (0: its first event).
func findInCapture(f *evcap.File, from *position) (uint64, error) {
	switch from.kind {
	case posBlockDefault, posOldest:
		return 0, nil
	case posSeqno:
		return from.n, nil
	}
	src := f.NewSource()
	ctx := context.Background()
	var (
		d      eventring.Descriptor
		dec    execevents.Decoder
		latest uint64 // posLatest: the newest event
		startN uint64 // posFinalized: the newest BLOCK_START of block n
		afterN uint64 // posFinalized: the first consensus event after it
	)
	for {
		err := src.Next(ctx, &d)
		var gap *eventring.GapError
		switch {
		case errors.As(err, &gap):
			if err := src.Seek(gap.Oldest); err != nil {
				return 0, err
			}
			continue
		case errors.Is(err, io.EOF):
			if from.kind == posLatest && latest != 0 {
				return latest, nil
			}
			return 0, fmt.Errorf("%w: no event for that position", blocks.ErrNotFound)
		case err != nil:
			return 0, err
		}
		latest = d.Seqno
		typ := execevents.EventType(d.EventType)
		switch from.kind {
		case posTime:
			if int64(d.RecordEpochNanos) >= from.t.UnixNano() {
				return d.Seqno, nil
			}
		case posBlock, posID:
			if typ != execevents.EventTypeBlockStart {
				continue
			}
			if ev, err := dec.Read(src, &d); err == nil {
				tag := ev.(*execevents.BlockStartEvent).BlockTag
				if from.kind == posBlock && tag.BlockNumber == from.n || from.kind == posID && tag.ID == from.id {
					return d.Seqno, nil
				}
			}
		case posFinalized:
			isStartN := false
			if typ == execevents.EventTypeBlockStart {
				ev, err := dec.Read(src, &d)
				isStartN = err == nil && ev.(*execevents.BlockStartEvent).BlockTag.BlockNumber == from.n
			}
			switch {
			case isStartN:
				startN, afterN = d.Seqno, 0
			case startN != 0 && afterN == 0 && blocks.IsConsensus(&d):
				afterN = d.Seqno // any consensus event, another block's BLOCK_START included
			}
			if typ == execevents.EventTypeBlockFinalized && afterN != 0 {
				if ev, err := dec.Read(src, &d); err == nil && ev.(*execevents.BlockFinalizedEvent).BlockNumber == from.n {
					return afterN, nil
				}
			}
		}
	}
}

// openArchiveStream opens a finalized-block archive directory as a stream
// of its blocks' events, in block order, from the block from names
// (block:N, finalized:N: the blocks after N; the default and oldest: all).
func openArchiveStream(e *env, path string, from *position) (*stream, error) {
	dir, err := archive.Open(path, archive.Options{SchemaHash: execevents.SchemaHash})
	if err != nil {
		return nil, err
	}
	var after uint64
	if from != nil {
		switch from.kind {
		case posBlockDefault, posOldest:
		case posBlock:
			after = max(from.n, 1) - 1
		case posFinalized:
			after = from.n
		default:
			dir.Close()
			return nil, fmt.Errorf("--start: an archive is read by block: give block:N or finalized:N")
		}
	}
	src, err := dir.NewSource(after)
	if err != nil {
		dir.Close()
		return nil, err
	}
	e.log.Debug("opened", "path", path, "kind", "archive")
	return &stream{archive: src, src: src, archiveAfter: after}, nil
}
