package jetstream

import (
	"strconv"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// eventNamer gives raw events their message ids (see EventMsgID and the
// package documentation): every event is named after the newest
// BLOCK_START at or before it in the ring and its distance from it. The
// ring's contents fix both, and a run always starts reading at a
// BLOCK_START, so every run reading the same ring gives an event the same
// id. It also finds the block an event belongs to, for the headers.
type eventNamer struct {
	ring        *eventring.Ring
	owners      [16]owner // recent BLOCK_STARTs, by seqno modulo 16
	anchor      execevents.Bytes32
	anchorSeqno uint64 // 0: no BLOCK_START read yet
}

type owner struct {
	seqno uint64
	tag   execevents.BlockTag
}

func (n *eventNamer) reset() {
	*n = eventNamer{ring: n.ring}
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
// payload could not be read) and the block it is about, if known: its
// own block tag, or its owner's (BLOCK_SEQNO flow tag).
func (n *eventNamer) name(d *eventring.Descriptor, ev execevents.Event) (id string, tag execevents.BlockTag, hasTag, hasID bool) {
	switch ev := ev.(type) {
	case *execevents.BlockStartEvent:
		n.addOwner(d.Seqno, ev.BlockTag)
		n.anchor, n.anchorSeqno = ev.BlockTag.ID, d.Seqno
		tag, hasTag, hasID = ev.BlockTag, true, true
	case *execevents.BlockQCEvent:
		tag, hasTag, hasID = ev.BlockTag, true, true
	case *execevents.BlockFinalizedEvent:
		tag, hasTag, hasID = *ev.BlockTag, true, true
	case *execevents.BlockVerifiedEvent:
		tag, hasTag = execevents.BlockTag{BlockNumber: ev.BlockNumber}, true
	default:
		if b := d.ContentExt[execevents.FlowTypeBlockSeqno]; b != 0 && b < d.Seqno {
			tag, hasTag = n.ownerOf(b)
			hasID = hasTag
		}
	}
	if n.anchorSeqno == 0 || d.Seqno < n.anchorSeqno {
		// No BLOCK_START read yet (the first events of a ring) or its
		// payload was already gone: not stable across runs.
		return "seqno." + strconv.FormatUint(d.Seqno, 10), tag, hasTag, hasID
	}
	return EventMsgID(n.anchor, d.Seqno-n.anchorSeqno), tag, hasTag, hasID
}

// eventMsg renders the raw event d as the object `watch --json` prints
// and serve's monadEvents sends (package eventjson): descriptor facts,
// flow tags, the block number when known and the decoded payload, or
// "expired": true if the writer already reused the payload.
func (r *reader) eventMsg(d *eventring.Descriptor) *outMsg {
	et := execevents.EventType(d.EventType)
	ev, err := r.enc.Read(r.ring, d)
	if err != nil {
		ev = nil
	}
	id, tag, hasTag, hasID := r.names.name(d, ev)
	m := nats.NewMsg(EventSubject(r.p.opts.Prefix, et))
	m.Data = r.enc.Append(nil, r.ring, d, ev, err, tag.BlockNumber, hasTag)
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
