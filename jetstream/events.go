package jetstream

import (
	"strconv"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// eventNamer gives raw events their message ids (see EventMsgID and the
// package documentation): it remembers the recent BLOCK_STARTs, to name
// the events they own, and the last event that had an id of its own, to
// anchor those that have none.
type eventNamer struct {
	ring        *eventring.Ring
	owners      [16]owner // recent BLOCK_STARTs, by seqno modulo 16
	anchor      string
	anchorSeqno uint64
}

type owner struct {
	seqno uint64
	tag   execevents.BlockTag
}

func (n *eventNamer) reset() {
	n.owners = [16]owner{}
	n.anchor, n.anchorSeqno = "", 0
}

func (n *eventNamer) addOwner(seqno uint64, tag execevents.BlockTag) {
	n.owners[seqno%16] = owner{seqno, tag}
}

// ownerOf returns the block tag of the BLOCK_START with seqno s: from
// memory, else from the ring if it still holds it.
func (n *eventNamer) ownerOf(s uint64) (execevents.BlockTag, bool) {
	if o := n.owners[s%16]; o.seqno == s && s != 0 {
		return o.tag, true
	}
	var d eventring.Descriptor
	if !n.ring.TryCopy(s, &d) || execevents.EventType(d.EventType) != execevents.EventTypeBlockStart {
		return execevents.BlockTag{}, false
	}
	ev, err := execevents.ReadEvent(n.ring, &d)
	if err != nil {
		return execevents.BlockTag{}, false
	}
	bs, ok := ev.(*execevents.BlockStartEvent)
	if !ok {
		return execevents.BlockTag{}, false
	}
	n.addOwner(s, bs.BlockTag)
	return bs.BlockTag, true
}

// name returns the message id of the event d (decoded as ev, nil if its
// payload could not be read) and the block it belongs to, if known.
func (n *eventNamer) name(d *eventring.Descriptor, ev execevents.Event) (id string, tag execevents.BlockTag, hasTag, hasID bool) {
	et := execevents.EventType(d.EventType)
	switch ev := ev.(type) {
	case *execevents.BlockStartEvent:
		n.addOwner(d.Seqno, ev.BlockTag)
		id, tag, hasTag, hasID = EventMsgID(ev.BlockTag.ID, 0), ev.BlockTag, true, true
	case *execevents.BlockQCEvent:
		id, tag, hasTag, hasID = consensusEventMsgID(ev.BlockTag.ID, et), ev.BlockTag, true, true
	case *execevents.BlockFinalizedEvent:
		id, tag, hasTag, hasID = consensusEventMsgID(ev.BlockTag.ID, et), *ev.BlockTag, true, true
	case *execevents.BlockVerifiedEvent:
		id, tag, hasTag = verifiedEventMsgID(ev.BlockNumber), execevents.BlockTag{BlockNumber: ev.BlockNumber}, true
	default:
		if b := d.ContentExt[execevents.FlowTypeBlockSeqno]; b != 0 && b < d.Seqno {
			if t, ok := n.ownerOf(b); ok {
				id, tag, hasTag, hasID = EventMsgID(t.ID, d.Seqno-b), t, true, true
			}
		}
	}
	if id != "" {
		n.anchor, n.anchorSeqno = id, d.Seqno
		return id, tag, hasTag, hasID
	}
	if n.anchor == "" {
		// Only before the first block event of a run (a ring whose
		// first events belong to no block): not stable across rings.
		return "seqno." + strconv.FormatUint(d.Seqno, 10), tag, false, false
	}
	return anchoredEventMsgID(n.anchor, d.Seqno-n.anchorSeqno), tag, false, false
}

// eventMsg renders the raw event d: the event object the generated JSON
// encoders write (execevents.Event.AppendJSON), or, if the writer already
// reused its payload, the descriptor's facts and "expired": true.
func (r *reader) eventMsg(d *eventring.Descriptor) *outMsg {
	et := execevents.EventType(d.EventType)
	ev, err := r.dec.Read(r.ring, d)
	var body []byte
	if err == nil {
		body = ev.AppendJSON(nil)
	} else {
		ev = nil
		body = append(body, `{"seqno":`...)
		body = strconv.AppendUint(body, d.Seqno, 10)
		body = append(body, `,"eventType":`...)
		body = strconv.AppendQuote(body, et.String())
		body = append(body, `,"eventCode":`...)
		body = strconv.AppendUint(body, uint64(et), 10)
		body = append(body, `,"recordEpochNanos":`...)
		body = strconv.AppendUint(body, d.RecordEpochNanos, 10)
		if b := d.ContentExt[execevents.FlowTypeBlockSeqno]; b != 0 {
			body = append(body, `,"blockSeqno":`...)
			body = strconv.AppendUint(body, b, 10)
		}
		if _, expired := err.(*eventring.ExpiredError); expired {
			body = append(body, `,"expired":true}`...)
		} else {
			body = append(body, `,"payloadError":`...)
			body = strconv.AppendQuote(body, err.Error())
			body = append(body, '}')
		}
	}
	id, tag, hasTag, hasID := r.names.name(d, ev)
	m := nats.NewMsg(EventSubject(r.p.opts.Prefix, et))
	m.Data = body
	m.Header.Set(natsjs.MsgIDHeader, id)
	m.Header.Set(HeaderEventType, et.String())
	m.Header.Set(HeaderSeqno, strconv.FormatUint(d.Seqno, 10))
	if hasTag {
		m.Header.Set(HeaderBlockNumber, strconv.FormatUint(tag.BlockNumber, 10))
	}
	if hasID {
		m.Header.Set(HeaderBlockID, tag.ID.String())
	}
	return &outMsg{msg: m, kind: kindEventMsg, number: tag.BlockNumber}
}
