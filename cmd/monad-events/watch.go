package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/monadgo/events/eventjson"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

func runWatch(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "watch")
	dump := fs.Bool("d", false, "add a hexdump of each event's payload")
	asJSON := fs.Bool("json", false, "print one JSON object per event, with its decoded payload")
	types := fs.String("types", "", "only these event types: comma-separated names (BLOCK_START, txn_log, ...) or codes")
	start, end := startFlag(fs), endFlag(fs)
	count := fs.Uint64("n", 0, "stop after printing this many events (0: no limit)")
	wait := waitFlag(fs)
	pos, err := parseArgs(e.stdout, fs, args, 0, 1)
	if err != nil {
		return err
	}
	filter, err := parseTypes(*types)
	if err != nil {
		return err
	}
	s, out, err := follow(e, argOrEmpty(pos), *start, *end, *wait)
	if err != nil {
		return err
	}
	defer s.Close()
	w := &watcher{src: s.src, out: out, dump: *dump, json: *asJSON}
	s.onRestart = func() { w.blockSeqno = 0 } // seqnos start over
	s.onGap = func(from, to uint64) {
		e.log.Warn("gap: events lost, continuing with the newest", "from", from, "to", to)
		w.gap(from, to)
	}

	var d eventring.Descriptor
	for printed := uint64(0); *count == 0 || printed < *count; {
		if err := s.next(ctx, &d); err != nil {
			return s.finish(e, err, out)
		}
		w.track(&d)
		if filter != nil && !filter[d.EventType] {
			continue
		}
		if err := w.event(&d); err != nil {
			return err
		}
		printed++
	}
	return out.Flush()
}

// parseTypes turns the --types list into a lookup table indexed by event
// code; nil means "every type".
func parseTypes(list string) ([]bool, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	keep := make([]bool, 1<<16)
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if n, err := strconv.ParseUint(f, 0, 16); err == nil {
			keep[n] = true
			continue
		}
		t, ok := eventTypeByName(f)
		if !ok {
			return nil, fmt.Errorf("--types: unknown event type %q (names as in the schema, e.g. BLOCK_START, TXN_LOG)", f)
		}
		keep[t] = true
	}
	return keep, nil
}

// watcher formats events.
type watcher struct {
	src  eventring.PayloadSource
	out  *bufio.Writer
	dump bool
	json bool

	// The block being executed, to show block numbers next to the
	// BLOCK_SEQNO flow tag (blocks never interleave, spec §7.3).
	blockSeqno, blockNumber uint64

	enc  eventjson.Encoder // its Decoder also decodes BLOCK_START for track
	line []byte
	buf  []byte
}

// track remembers the current block's number when d is a BLOCK_START.
func (w *watcher) track(d *eventring.Descriptor) {
	if execevents.EventType(d.EventType) != execevents.EventTypeBlockStart {
		return
	}
	if ev, err := w.enc.Read(w.src, d); err == nil {
		w.blockSeqno, w.blockNumber = d.Seqno, ev.(*execevents.BlockStartEvent).BlockTag.BlockNumber
	}
}

func (w *watcher) gap(from, to uint64) {
	if w.json {
		fmt.Fprintf(w.out, "{\"gap\":{\"from\":%d,\"to\":%d}}\n", from, to)
		return
	}
	fmt.Fprintf(w.out, "GAP: events %d..%d lost (the writer overwrote them before they were read)\n", from, to)
}

func (w *watcher) event(d *eventring.Descriptor) error {
	if w.json {
		return w.eventJSON(d)
	}
	// Like the C and Rust eventwatch examples:
	// HH:MM:SS.nnnnnnnnn NAME [code 0xcode] SEQ: n LEN: n BUF_OFF: n BLK_SEQ: n BLK: n TXN: n
	b := w.line[:0]
	b = time.Unix(0, int64(d.RecordEpochNanos)).AppendFormat(b, "15:04:05.000000000")
	b = append(b, ' ')
	b = append(b, eventName(d.EventType)...)
	// strconv rather than fmt: no allocation per event.
	b = append(b, " ["...)
	b = strconv.AppendUint(b, uint64(d.EventType), 10)
	b = append(b, " 0x"...)
	b = strconv.AppendUint(b, uint64(d.EventType), 16)
	b = append(b, "] SEQ: "...)
	b = strconv.AppendUint(b, d.Seqno, 10)
	b = append(b, " LEN: "...)
	b = strconv.AppendUint(b, uint64(d.PayloadSize), 10)
	b = append(b, " BUF_OFF: "...)
	b = strconv.AppendUint(b, d.PayloadBufOffset, 10)
	if bs := d.ContentExt[execevents.FlowTypeBlockSeqno]; bs != 0 {
		b = append(b, " BLK_SEQ: "...)
		b = strconv.AppendUint(b, bs, 10)
		if bs == w.blockSeqno {
			b = append(b, " BLK: "...)
			b = strconv.AppendUint(b, w.blockNumber, 10)
		}
	}
	if id := d.ContentExt[execevents.FlowTypeTxnID]; id != 0 {
		b = append(b, " TXN: "...)
		b = strconv.AppendUint(b, id-1, 10)
	}
	if execevents.EventType(d.EventType) == execevents.EventTypeStorageAccess {
		b = append(b, " ACCT: "...)
		b = strconv.AppendUint(b, d.ContentExt[execevents.FlowTypeAccountIndex], 10)
	}
	b = append(b, '\n')
	if w.dump && d.PayloadSize > 0 {
		p, err := eventring.CopyPayload(w.src, d, w.buf)
		if err != nil {
			b = fmt.Appendf(b, "  (payload unavailable: %v)\n", err)
		} else {
			w.buf = p
			for _, l := range strings.SplitAfter(hex.Dump(p), "\n") {
				if l != "" {
					b = append(b, "  "...)
					b = append(b, l...)
				}
			}
		}
	}
	w.line = b
	_, err := w.out.Write(b)
	return err
}

func (w *watcher) eventJSON(d *eventring.Descriptor) error {
	ev, err := w.enc.Read(w.src, d)
	w.line = w.enc.Append(w.line[:0], w.src, d, ev, err, w.blockNumber, d.ContentExt[execevents.FlowTypeBlockSeqno] == w.blockSeqno)
	w.line = append(w.line, '\n')
	_, err = w.out.Write(w.line)
	return err
}
