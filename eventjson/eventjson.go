// Package eventjson renders one execution event of a ring or capture as
// the JSON object that `monad-events watch --json` prints, the
// `monadEvents` subscription of package serve sends and package jetstream
// publishes on its event subjects:
//
//	{"seqno":…,"eventType":"TXN_LOG","eventCode":…,"time":"RFC 3339 with nanoseconds",
//	 "recordEpochNanos":…,"payloadSize":…,"payloadBufOffset":…,
//	 "blockSeqno":…,"blockNumber":…,"txnIndex":…,"accountIndex":…,"payload":{…}}
//
// The flow tags appear when set (blockNumber when the caller knows it,
// accountIndex for STORAGE_ACCESS); "payload" is the event's generated
// AppendPayloadJSON, left out for events without payload fields. A payload
// the writer reclaimed gives "expired": true instead, and one that does not
// decode "payloadError" and "payloadHex".
package eventjson

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// Encoder renders events. Its zero value is ready; it reuses its memory
// (the Decoder's buffer, a scratch buffer for undecodable payloads), so an
// Encoder is used by one goroutine at a time.
type Encoder struct {
	// Decoder decodes payloads; an event returned by Read lives in it
	// until its next Read or View.
	Decoder execevents.Decoder
	scratch []byte
}

// Read reads d's payload from src (checked, copied, checked again: see
// execevents.Decoder.Read), for Append and for callers that filter on
// the decoded event first.
func (e *Encoder) Read(src eventring.PayloadSource, d *eventring.Descriptor) (execevents.Event, error) {
	return e.Decoder.Read(src, d)
}

// Append appends the JSON object of d to dst. ev and readErr are what Read
// returned for d; block is the number of the block d belongs to, shown
// when known is true.
func (e *Encoder) Append(dst []byte, src eventring.PayloadSource, d *eventring.Descriptor, ev execevents.Event, readErr error, block uint64, known bool) []byte {
	// strconv and append rather than fmt: no allocation per event.
	b := append(dst, `{"seqno":`...)
	b = strconv.AppendUint(b, d.Seqno, 10)
	b = append(b, `,"eventType":`...)
	b = strconv.AppendQuote(b, execevents.EventType(d.EventType).String())
	b = append(b, `,"eventCode":`...)
	b = strconv.AppendUint(b, uint64(d.EventType), 10)
	b = append(b, `,"time":"`...)
	b = time.Unix(0, int64(d.RecordEpochNanos)).UTC().AppendFormat(b, NanoTime)
	b = append(b, `","recordEpochNanos":`...)
	b = strconv.AppendUint(b, d.RecordEpochNanos, 10)
	b = append(b, `,"payloadSize":`...)
	b = strconv.AppendUint(b, uint64(d.PayloadSize), 10)
	b = append(b, `,"payloadBufOffset":`...)
	b = strconv.AppendUint(b, d.PayloadBufOffset, 10)
	if bs := d.ContentExt[execevents.FlowTypeBlockSeqno]; bs != 0 {
		b = append(b, `,"blockSeqno":`...)
		b = strconv.AppendUint(b, bs, 10)
		if known {
			b = append(b, `,"blockNumber":`...)
			b = strconv.AppendUint(b, block, 10)
		}
	}
	if id := d.ContentExt[execevents.FlowTypeTxnID]; id != 0 {
		b = append(b, `,"txnIndex":`...)
		b = strconv.AppendUint(b, id-1, 10)
	}
	if execevents.EventType(d.EventType) == execevents.EventTypeStorageAccess {
		b = append(b, `,"accountIndex":`...)
		b = strconv.AppendUint(b, d.ContentExt[execevents.FlowTypeAccountIndex], 10)
	}
	// Not a descriptor that lies about its payload (ErrBadDescriptor):
	// that is shown as an undecodable payload below.
	expired := errors.Is(readErr, eventring.ErrPayloadExpired)
	switch {
	case readErr == nil:
		mark := len(b)
		b = append(b, `,"payload":`...)
		n := len(b)
		if b = ev.AppendPayloadJSON(b); len(b) == n {
			b = b[:mark] // an event without payload fields
		}
	case expired:
		b = append(b, `,"expired":true`...)
	default: // a payload that does not decode: show its bytes
		p, err := eventring.CopyPayload(src, d, e.scratch)
		if err != nil {
			b = append(b, `,"expired":true`...)
			break
		}
		e.scratch = p
		b = fmt.Appendf(b, `,"payloadError":%q,"payloadHex":"0x%x"`, readErr.Error(), p)
	}
	return append(b, '}')
}

// NanoTime is the layout of "time": RFC 3339 with all nine fractional
// digits, so that times line up and sort as text.
const NanoTime = "2006-01-02T15:04:05.000000000Z07:00"
