package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventjson"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// EventFilter is the parameter object of a monadEvents subscription:
//
//	{"fromSeqno": N, "fromBlock": N, "toBlock": N, "types": ["TXN_LOG", ...], "addresses": ["0x…", ...]}
//
// Every member is optional; numbers may be JSON numbers, decimal strings or
// 0x-hex strings.
type EventFilter struct {
	// FromSeqno is the first event to send (to resume: the last seqno
	// received + 1). 0: not given.
	FromSeqno uint64
	// FromBlock and ToBlock keep only the events of blocks in the range
	// (block-internal events by their BLOCK_START's number, consensus
	// events by the number they carry); events of no known block are
	// dropped when a bound is set. Without FromSeqno, FromBlock also starts
	// the stream at the oldest event still in the ring.
	FromBlock, ToBlock *uint64
	// Types keeps only these event types (nil: all).
	Types map[execevents.EventType]bool
	// Addresses keeps only the TXN_LOG events emitted by these contracts
	// (other types are not affected).
	Addresses []common.Address
}

// quantity is a JSON number, decimal string or 0x-hex string.
type quantity uint64

func (q *quantity) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	n, err := parseQuantity(s)
	if err != nil {
		return fmt.Errorf("bad number %s", b)
	}
	*q = quantity(n)
	return nil
}

func (f *EventFilter) parse(raw json.RawMessage) error {
	var in struct {
		FromSeqno *quantity       `json:"fromSeqno"`
		FromBlock *quantity       `json:"fromBlock"`
		ToBlock   *quantity       `json:"toBlock"`
		Types     []string        `json:"types"`
		Addresses json.RawMessage `json:"addresses"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return fmt.Errorf("monadEvents filter: %w", err)
	}
	if in.FromSeqno != nil {
		f.FromSeqno = uint64(*in.FromSeqno)
	}
	if in.FromBlock != nil {
		n := uint64(*in.FromBlock)
		f.FromBlock = &n
	}
	if in.ToBlock != nil {
		n := uint64(*in.ToBlock)
		f.ToBlock = &n
	}
	if in.Types != nil {
		f.Types = make(map[execevents.EventType]bool)
		for _, name := range in.Types {
			t, ok := eventTypeByName(name)
			if !ok {
				return fmt.Errorf("monadEvents filter: unknown event type %q", name)
			}
			f.Types[t] = true
		}
	}
	if a := bytes.TrimSpace(in.Addresses); len(a) > 0 && !bytes.Equal(a, []byte("null")) {
		lf := LogFilter{}
		if err := lf.UnmarshalJSON(append(append([]byte(`{"address":`), a...), '}')); err != nil {
			return fmt.Errorf("monadEvents filter addresses: %w", err)
		}
		f.Addresses = lf.Addresses
	}
	return nil
}

// eventTypeByName looks an event type up by its schema name (BLOCK_START,
// txn_log; an optional MONAD_EXEC_ prefix) or its code.
func eventTypeByName(name string) (execevents.EventType, bool) {
	if n, err := strconv.ParseUint(name, 0, 16); err == nil {
		return execevents.EventType(n), true
	}
	name = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(name)), "MONAD_EXEC_")
	for i := range execevents.EventTypeCount {
		if t := execevents.EventType(i); t.String() == name {
			return t, true
		}
	}
	return 0, false
}

// rawStream feeds one monadEvents subscription from a ring reader of its
// own, at the pace its client reads: it waits for room in the connection's
// raw queue, so a slow raw subscriber holds back no one but itself, and
// when the writer laps it the lost range is sent as a gap notice.
type rawStream struct {
	c      *conn
	id     string
	f      EventFilter
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	enc        eventjson.Encoder // renders as monad-events watch --json
	blockSeqno uint64            // the BLOCK_START whose number is blockNumber
	blockNum   uint64
}

func newRawStream(c *conn, id string, f EventFilter) *rawStream {
	ctx, cancel := context.WithCancel(c.ctx)
	return &rawStream{c: c, id: id, f: f, ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

func (r *rawStream) start() { go r.run() }

func (r *rawStream) stop() { r.cancel() }

// GapNotice is the result of a monadEvents notification reporting events
// that can no longer be sent: From..To (inclusive) were overwritten by the
// writer before this subscription read them.
type GapNotice struct {
	Gap struct {
		From uint64 `json:"from"`
		To   uint64 `json:"to"`
	} `json:"gap"`
}

func (r *rawStream) run() {
	defer close(r.done)
	ring := r.c.s.ring
	rd := ring.NewReader()
	rd.SetWaitStrategy(eventring.WaitStrategy{Spin: 50, Yield: 20, MinSleep: 20 * time.Microsecond,
		MaxSleep: 2 * time.Millisecond, WriterCheck: time.Second})
	switch {
	case r.f.FromSeqno != 0:
		rd.SetSeqno(r.f.FromSeqno)
	case r.f.FromBlock != nil || ring.IsSnapshot():
		rd.SetSeqno(ring.OldestSeqno())
	default:
		blocks.RewindToLatestBlockStart(rd)
	}
	var d eventring.Descriptor
	for {
		err := rd.Next(r.ctx, &d)
		if err != nil {
			var gap *eventring.GapError
			switch {
			case errors.As(err, &gap):
				resume := max(gap.Oldest, gap.Expected+1)
				if !r.send(fmt.Appendf(nil, `{"gap":{"from":%d,"to":%d}}`, gap.Expected, resume-1)) {
					return
				}
				r.c.s.m.rawGaps.Inc()
				rd.SetSeqno(resume)
				continue
			case errors.Is(err, io.EOF):
				<-r.ctx.Done() // a snapshot: everything was sent
			}
			return
		}
		msg, keep := r.render(&d)
		if keep && !r.send(msg) {
			return
		}
	}
}

func (r *rawStream) send(result []byte) bool {
	msg := appendNotification(make([]byte, 0, len(result)+len(r.id)+notificationOverhead), r.id, result)
	select {
	case r.c.raw <- msg:
		r.c.s.m.notifications.WithLabelValues(kindMonadEvents.String()).Inc()
		return true
	case <-r.ctx.Done():
		return false
	}
}

// blockOf returns the number of the block d belongs to.
func (r *rawStream) blockOf(d *eventring.Descriptor) (uint64, bool) {
	bs := d.ContentExt[execevents.FlowTypeBlockSeqno]
	if bs == 0 {
		n, err := blocks.BlockNumberOf(r.c.s.ring, d) // a consensus event, or none
		return n, err == nil
	}
	if bs == r.blockSeqno {
		return r.blockNum, true
	}
	n, err := blocks.BlockNumberOf(r.c.s.ring, d)
	if err == nil {
		r.blockSeqno, r.blockNum = bs, n
	}
	return n, err == nil
}

// render filters d and renders it as monad-events watch --json does.
func (r *rawStream) render(d *eventring.Descriptor) ([]byte, bool) {
	ring := r.c.s.ring
	et := execevents.EventType(d.EventType)
	if et == execevents.EventTypeBlockStart {
		if ev, err := r.enc.Read(ring, d); err == nil {
			r.blockSeqno, r.blockNum = d.Seqno, ev.(*execevents.BlockStartEvent).BlockTag.BlockNumber
		}
	}
	if r.f.Types != nil && !r.f.Types[et] {
		return nil, false
	}
	if r.f.FromBlock != nil || r.f.ToBlock != nil {
		n, ok := r.blockOf(d)
		if !ok || r.f.FromBlock != nil && n < *r.f.FromBlock || r.f.ToBlock != nil && n > *r.f.ToBlock {
			return nil, false
		}
	}
	ev, err := r.enc.Read(ring, d)
	if len(r.f.Addresses) > 0 && et == execevents.EventTypeTxnLog {
		l, ok := ev.(*execevents.TxnLogEvent)
		if err != nil || !ok || !containsAddress(r.f.Addresses, common.Address(l.Address)) {
			return nil, false
		}
	}
	var n uint64
	var known bool
	if d.ContentExt[execevents.FlowTypeBlockSeqno] != 0 {
		n, known = r.blockOf(d)
	}
	return r.enc.Append(make([]byte, 0, 256+d.PayloadSize*2), ring, d, ev, err, n, known), true
}

func containsAddress(list []common.Address, a common.Address) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}
