package jetstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/internal/testdata"
	"github.com/monadgo/events/jetstream"
)

// TestSubjectsAndMsgIDs pins the documented subject scheme and message
// ids: consumers and restarted publishers depend on them.
func TestSubjectsAndMsgIDs(t *testing.T) {
	id := execevents.Bytes32{31: 0xc1, 30: 0xe1, 29: 0xe4}
	const hexID = "0x0000000000000000000000000000000000000000000000000000000000e4e1c1"
	for _, c := range []struct{ got, want string }{
		{jetstream.BlockSubject("monad.exec", blocks.CommitProposed), "monad.exec.block.proposed"},
		{jetstream.BlockSubject("monad.exec", blocks.CommitFinalized), "monad.exec.block.finalized"},
		{jetstream.CommitSubject("monad.exec", blocks.CommitProposed), "monad.exec.commit.proposed"},
		{jetstream.CommitSubject("monad.exec", blocks.CommitVoted), "monad.exec.commit.voted"},
		{jetstream.CommitSubject("monad.exec", blocks.CommitFinalized), "monad.exec.commit.finalized"},
		{jetstream.CommitSubject("a.b", blocks.CommitVerified), "a.b.commit.verified"},
		{jetstream.EventSubject("monad.exec", execevents.EventTypeTxnLog), "monad.exec.event.TXN_LOG"},
		{jetstream.EventSubject("monad.exec", execevents.EventTypeBlockStart), "monad.exec.event.BLOCK_START"},
		{jetstream.BlockMsgID(id, blocks.CommitFinalized), hexID + ":block.finalized"},
		{jetstream.BlockMsgID(id, blocks.CommitProposed), hexID + ":block.proposed"},
		{jetstream.CommitMsgID(id, blocks.CommitVerified), hexID + ":commit.verified"},
		{jetstream.EventMsgID(id, 0), hexID + ":event.0"},
		{jetstream.EventMsgID(id, 4711), hexID + ":event.4711"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if _, err := jetstream.NewPublisher(nil, jetstream.Options{}); err == nil {
		t.Error("NewPublisher(nil) succeeded")
	}
	for _, o := range []jetstream.Options{{Prefix: "a.*"}, {Prefix: "a..b"}, {Prefix: "a b"}, {Stream: "a.b"}, {Replicas: 7}, {Duplicates: time.Hour, MaxAge: time.Minute}} {
		var oe *jetstream.OptionError
		if _, err := jetstream.NewPublisher(fakeJS{}, o); !errors.As(err, &oe) {
			t.Errorf("options %+v: error %v, want an *OptionError", o, err)
		}
	}
	cfg := jetstream.Options{}.StreamConfig()
	if cfg.Name != "MONAD_EXEC" || len(cfg.Subjects) != 1 || cfg.Subjects[0] != "monad.exec.>" || cfg.Duplicates != 2*time.Minute ||
		cfg.Retention != natsjs.LimitsPolicy || cfg.Discard != natsjs.DiscardOld || cfg.MaxAge != 24*time.Hour || cfg.Storage != natsjs.FileStorage {
		t.Errorf("default stream config %+v", cfg)
	}
}

// TestRawEvents publishes every event of the demo snapshot, then runs a
// second publisher on the same stream: the first stores one message per
// event on <prefix>.event.<TYPE> with the event's generated JSON and an id
// after the documented scheme (computed here from the descriptors); the
// second, resuming, re-publishes only duplicates.
func TestRawEvents(t *testing.T) {
	snap := testdata.Project(t, "demo.snapshot.zst")
	ring := openRing(t, snap)
	// The events, read here rather than with testdata.Events: opening a
	// snapshot costs seconds under the race detector.
	var evs memSource
	rd := ring.NewReader()
	for it, err := range rd.Events(context.Background()) {
		if err != nil || it.Gap != nil {
			t.Fatalf("demo snapshot: %v %v", err, it.Gap)
		}
		p, err := ring.CopyPayload(&it.Descriptor, nil)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, testdata.Event{Descriptor: it.Descriptor, Payload: p})
		if it.Descriptor.Seqno != uint64(len(evs)) {
			t.Fatalf("seqno %d at position %d", it.Descriptor.Seqno, len(evs))
		}
	}
	dir := t.TempDir()
	_, url := startServer(t, dir, 0)
	_, js := connect(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := jetstream.Options{Prefix: "test.exec", Stream: "TEST", Events: true, Logger: testLogger(t, "publisher")}
	p1, err := jetstream.NewPublisher(js, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := p1.Run(ctx, ring); err != nil {
		t.Fatal(err)
	}

	// Expected ids: the newest BLOCK_START at or before the event, and
	// the distance from it.
	want := make(map[string]uint64) // msg id -> seqno
	var start execevents.Bytes32
	var startSeqno uint64
	blockAt := map[uint64]uint64{} // BLOCK_START seqno -> block number
	for i := range evs {
		d := &evs[i].Descriptor
		ev, err := execevents.ReadEvent(evs, d)
		if err != nil {
			t.Fatal(err)
		}
		if bs, ok := ev.(*execevents.BlockStartEvent); ok {
			start, startSeqno = bs.BlockTag.ID, d.Seqno
			blockAt[d.Seqno] = bs.BlockTag.BlockNumber
		}
		if startSeqno == 0 {
			continue // a run starts reading at a BLOCK_START
		}
		id := start.String() + ":event." + strconv.FormatUint(d.Seqno-startSeqno, 10)
		if _, dup := want[id]; dup {
			t.Fatalf("id %s twice", id)
		}
		want[id] = d.Seqno
	}
	skipped := len(evs) - len(want) // before the first BLOCK_START
	msgs := fetchAll(t, js, "TEST", "events", "test.exec.event.>", len(want), 20*time.Second)
	if len(msgs) != len(want) {
		t.Fatalf("%d event messages, want %d", len(msgs), len(want))
	}
	for i, m := range msgs {
		d := &evs[skipped+i].Descriptor
		et := execevents.EventType(d.EventType)
		if m.Subject() != "test.exec.event."+et.String() || m.Headers().Get(natsjs.MsgIDHeader) == "" ||
			want[m.Headers().Get(natsjs.MsgIDHeader)] != d.Seqno || m.Headers().Get(jetstream.HeaderSeqno) != itoa(d.Seqno) {
			t.Fatalf("message %d: subject %s headers %v, want event %d (%v)", i, m.Subject(), m.Headers(), d.Seqno, et)
		}
		ev, err := execevents.ReadEvent(evs, d)
		if err != nil {
			t.Fatal(err)
		}
		// The body is the event object of watch --json: the descriptor's
		// facts, the block number of the headers, the generated payload JSON.
		var body struct {
			Seqno            uint64          `json:"seqno"`
			EventType        string          `json:"eventType"`
			EventCode        uint64          `json:"eventCode"`
			Time             time.Time       `json:"time"`
			RecordEpochNanos uint64          `json:"recordEpochNanos"`
			PayloadSize      uint64          `json:"payloadSize"`
			PayloadBufOffset uint64          `json:"payloadBufOffset"`
			BlockNumber      *uint64         `json:"blockNumber"`
			Payload          json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(m.Data(), &body); err != nil {
			t.Fatalf("event %d: %v: %s", d.Seqno, err, m.Data())
		}
		if body.Seqno != d.Seqno || body.EventType != et.String() || body.EventCode != uint64(et) ||
			body.RecordEpochNanos != d.RecordEpochNanos || body.Time.UnixNano() != int64(d.RecordEpochNanos) ||
			body.PayloadSize != uint64(d.PayloadSize) || body.PayloadBufOffset != d.PayloadBufOffset {
			t.Fatalf("event %d: body %s, descriptor %+v", d.Seqno, m.Data(), *d)
		}
		// blockNumber: that of the BLOCK_START the flow tag names, as this
		// test's own scan of the recording found it; absent without one.
		if bs := d.ContentExt[execevents.FlowTypeBlockSeqno]; bs == 0 {
			if body.BlockNumber != nil {
				t.Fatalf("event %d: blockNumber %d without a block flow tag", d.Seqno, *body.BlockNumber)
			}
		} else if n, ok := blockAt[bs]; ok && (body.BlockNumber == nil || *body.BlockNumber != n) {
			t.Fatalf("event %d: blockNumber %v, want %d", d.Seqno, body.BlockNumber, n)
		}
		if p := ev.AppendPayloadJSON(nil); len(p) > 0 && !jsonEqual(t, body.Payload, p) {
			t.Fatalf("event %d: payload %s, want %s", d.Seqno, body.Payload, p)
		}
	}

	// A restarted publisher: only duplicates.
	before := subjectCounts(t, js, "TEST", "test.exec")
	p2, err := jetstream.NewPublisher(js, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := p2.Run(ctx, ring); err != nil {
		t.Fatal(err)
	}
	st := p2.Stats()
	after := subjectCounts(t, js, "TEST", "test.exec")
	if st.Messages != 0 || st.Duplicates == 0 || len(after) != len(before) {
		t.Errorf("restart: %d new messages, %d duplicates; want only duplicates", st.Messages, st.Duplicates)
	}
	for subj, n := range before {
		if after[subj] != n {
			t.Errorf("%s: %d messages after the restart, %d before", subj, after[subj], n)
		}
	}
}

// fakeJS stands for a JetStream that option checks never reach.
type fakeJS struct{ natsjs.JetStream }
