package serve_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/serve"
)

// rawEvent is the part of a monadEvents result compared.
type rawEvent struct {
	Seqno            uint64          `json:"seqno"`
	EventType        string          `json:"eventType"`
	EventCode        uint16          `json:"eventCode"`
	RecordEpochNanos uint64          `json:"recordEpochNanos"`
	PayloadSize      uint32          `json:"payloadSize"`
	BlockNumber      *uint64         `json:"blockNumber"`
	Payload          json.RawMessage `json:"payload"`
	Expired          bool            `json:"expired"`
	Gap              *struct {
		From uint64 `json:"from"`
		To   uint64 `json:"to"`
	} `json:"gap"`
}

// ringEvent reads event seqno from the ring itself and renders its payload
// with the generated encoder: what a monadEvents notification must carry.
func ringEvent(t testing.TB, ring *eventring.Ring, seqno uint64) (eventring.Descriptor, []byte) {
	t.Helper()
	var d eventring.Descriptor
	if !ring.TryCopy(seqno, &d) {
		t.Fatalf("event %d is not in the ring", seqno)
	}
	ev, err := execevents.ReadEvent(ring, &d)
	if err != nil {
		t.Fatalf("event %d: %v", seqno, err)
	}
	return d, ev.AppendPayloadJSON(nil)
}

func checkRawEvent(t testing.TB, ring *eventring.Ring, e rawEvent) {
	t.Helper()
	d, payload := ringEvent(t, ring, e.Seqno)
	if e.EventCode != d.EventType || e.EventType != execevents.EventType(d.EventType).String() || e.RecordEpochNanos != d.RecordEpochNanos ||
		e.PayloadSize != d.PayloadSize || e.Expired {
		t.Fatalf("event %d: got %+v, ring has %+v", e.Seqno, e, d)
	}
	if len(payload) == 0 {
		if e.Payload != nil {
			t.Fatalf("event %d: payload %s for an event without one", e.Seqno, e.Payload)
		}
		return
	}
	// The notification embeds the generated encoder's bytes as they are.
	if !bytes.Equal(payload, e.Payload) {
		t.Fatalf("payload of event %d:\n got %s\nwant %s", e.Seqno, e.Payload, payload)
	}
}

func nextRaw(t testing.TB, c *wsClient) rawEvent {
	t.Helper()
	m, err := c.next(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var e rawEvent
	if err := json.Unmarshal(m.Params.Result, &e); err != nil {
		t.Fatalf("%v: %s", err, m.Params.Result)
	}
	return e
}

// TestMonadEventsResume subscribes to the raw stream, disconnects in the
// middle, and resumes on a new connection from the seqno after the last one
// received: the two parts together are the ring's events, each exactly once,
// in order, each equal to what the ring holds.
func TestMonadEventsResume(t *testing.T) {
	evs := recording(t)[:3000]
	rec, ring := newRing(t, eventring.Sizes{})
	ts := startServer(t, ring, serve.Options{})
	last := newReplayer(rec).record(t, evs, 0)

	c1 := mustDial(t, ts.url)
	c1.subscribe("monadEvents", map[string]any{"fromSeqno": 1})
	var got []rawEvent
	for len(got) < 1200 {
		got = append(got, nextRaw(t, c1))
	}
	c1.c.CloseNow() // the client goes away mid-stream
	resume := got[len(got)-1].Seqno + 1
	c2 := mustDial(t, ts.url)
	c2.subscribe("monadEvents", map[string]any{"fromSeqno": resume})
	for got[len(got)-1].Seqno < last {
		got = append(got, nextRaw(t, c2))
	}
	if len(got) != int(last) {
		t.Fatalf("%d events received, the ring holds %d", len(got), last)
	}
	for i, e := range got {
		if e.Gap != nil || e.Seqno != uint64(i+1) {
			t.Fatalf("notification %d: seqno %d, gap %v", i, e.Seqno, e.Gap)
		}
		checkRawEvent(t, ring, e)
	}
	// Block numbers are given with the block seqno flow tag.
	if got[0].EventType != "BLOCK_START" || got[1].BlockNumber == nil || *got[1].BlockNumber != 15000001 {
		t.Errorf("first events: %+v %+v", got[0], got[1])
	}
}

// TestMonadEventsGap resumes from a seqno the writer has overwritten: the
// first notification is the gap notice naming exactly the lost range, and
// the stream goes on with the oldest event still in the ring.
func TestMonadEventsGap(t *testing.T) {
	evs := recording(t)
	rec, ring := newRing(t, eventring.Sizes{DescriptorCapacity: 1 << 16, PayloadBufSize: 1 << 27})
	ts := startServer(t, ring, serve.Options{})
	last := newReplayer(rec).record(t, evs, 0)
	oldest := ring.OldestSeqno()
	if oldest <= 100 || oldest != last-(1<<16)+1 {
		t.Fatalf("the ring did not wrap as planned: oldest %d, last %d", oldest, last)
	}
	c := mustDial(t, ts.url)
	c.subscribe("monadEvents", map[string]any{"fromSeqno": "0x64"}) // 100
	g := nextRaw(t, c)
	if g.Gap == nil || g.Gap.From != 100 || g.Gap.To != oldest-1 {
		t.Fatalf("first notification %+v, want the gap 100..%d", g, oldest-1)
	}
	for want := oldest; want < oldest+1000; want++ {
		e := nextRaw(t, c)
		if e.Gap != nil || e.Seqno != want {
			t.Fatalf("after the gap: %+v, want event %d", e, want)
		}
		checkRawEvent(t, ring, e)
	}
	var raw strings.Builder
	json.NewEncoder(&raw).Encode(g)
	t.Logf("gap notice: %s", strings.TrimSpace(raw.String()))
}

// TestMonadEventsFilter checks the server-side filters against a count
// made from the ring directly: TXN_LOG events of one contract in a block
// range, and BLOCK_START/BLOCK_END of the same range.
func TestMonadEventsFilter(t *testing.T) {
	evs := recording(t)
	want, _ := loadExpected(t)
	rec, ring := newRing(t, eventring.Sizes{})
	ts := startServer(t, ring, serve.Options{})
	newReplayer(rec).record(t, evs, 0)
	addr := firstLog(want).Address
	from, to := want[2].Number, want[5].Number
	var wantLogs uint64
	for _, b := range want[2:6] {
		for _, tl := range b.Logs {
			for _, l := range tl {
				if l.Address == addr {
					wantLogs++
				}
			}
		}
	}
	c := mustDial(t, ts.url)
	c.subscribe("monadEvents", map[string]any{"types": []string{"TXN_LOG"}, "addresses": []common.Address{addr},
		"fromBlock": from, "toBlock": to})
	c2 := mustDial(t, ts.url)
	c2.subscribe("monadEvents", map[string]any{"types": []string{"block_start", "MONAD_EXEC_BLOCK_END"}, "fromBlock": from, "toBlock": to})
	for range wantLogs {
		e := nextRaw(t, c)
		var p struct {
			Address common.Address `json:"address"`
		}
		json.Unmarshal(e.Payload, &p)
		if e.EventType != "TXN_LOG" || p.Address != addr || e.BlockNumber == nil || *e.BlockNumber < from || *e.BlockNumber > to {
			t.Fatalf("filtered event %+v", e)
		}
		checkRawEvent(t, ring, e)
	}
	for n := from; n <= to; n++ {
		for _, typ := range []string{"BLOCK_START", "BLOCK_END"} {
			e := nextRaw(t, c2)
			if e.EventType != typ || e.BlockNumber == nil || *e.BlockNumber != n {
				t.Fatalf("block events of %d..%d: %+v, want %s of block %d", from, to, e, typ, n)
			}
		}
	}
	// Nothing else comes for either.
	for _, cl := range []*wsClient{c, c2} {
		if m, err := cl.next(300 * time.Millisecond); err == nil {
			t.Fatalf("unexpected notification %s", m.Params.Result)
		}
	}
	// Bad filters are refused with invalid params.
	c3 := mustDial(t, ts.url)
	for _, bad := range []any{map[string]any{"types": []string{"NO_SUCH_EVENT"}}, map[string]any{"fromSeqno": "x"},
		map[string]any{"bogus": 1}, []int{1}} {
		if m := c3.call("eth_subscribe", "monadEvents", bad); m.Error == nil || m.Error.Code != -32602 {
			t.Errorf("monadEvents %v: %+v", bad, m)
		}
	}
}
