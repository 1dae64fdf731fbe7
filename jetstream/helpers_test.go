package jetstream_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/klauspost/compress/zstd"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/ethconv"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/internal/testdata"
	"github.com/monadgo/events/jetstream"
)

const emn30b = "exec-events/emn-30b-15m"

// reference is what the tests compare published messages with: the
// snapshot's blocks as ethconv renders them (what `monad-events blocks
// --json` prints), and the block hashes of the daemon's reference file.
type reference struct {
	snapshot string
	events   []testdata.Event
	// finalized lists the snapshot's finalized blocks in order.
	finalized []*refBlock
	byID      map[common.Hash]*refBlock
	// verifiedAt holds the seqnos of the BLOCK_VERIFIED events that
	// verified a block, in order.
	verifiedAt []uint64
	// hashes are expected.json's eth_block_hash by block id, and
	// refFinalized its finalized block ids.
	hashes       map[common.Hash]common.Hash
	refFinalized map[common.Hash]bool
}

type refBlock struct {
	number      uint64
	id          common.Hash
	abandoned   []common.Hash
	finalizedAt uint64 // seqno of its BLOCK_FINALIZED
	exec        *blocks.ExecutedBlock

	once sync.Once
	// block and receipts as blocks --json renders them on Proposed.
	block, receipts []byte
}

// rendering returns the block and receipts as ethconv renders them (once).
func (b *refBlock) rendering(t testing.TB) (block, receipts []byte) {
	b.once.Do(func() {
		uj, err := ethconv.NewUpdateJSON(blocks.Update{State: blocks.CommitProposed, Block: b.exec})
		if err != nil {
			t.Error(err)
			return
		}
		b.block, b.receipts = mustJSON(t, uj.Block), mustJSON(t, uj.Receipts)
	})
	return b.block, b.receipts
}

// prefix returns the events of the recording up to the finalization of
// its k-th finalized block (all of them for k <= 0), with the blocks
// finalized and the number verified among them.
func (r *reference) prefix(k int) (evs []testdata.Event, fin []*refBlock, verified int) {
	if k <= 0 || k >= len(r.finalized) {
		return r.events, r.finalized, len(r.verifiedAt)
	}
	cut := r.finalized[k-1].finalizedAt
	for _, v := range r.verifiedAt {
		if v <= cut {
			verified++
		}
	}
	return r.events[:cut], r.finalized[:k], verified
}

var (
	refOnce sync.Once
	ref     *reference
)

// loadReference reads the emn-30b recording (skipping t when absent).
func loadReference(t testing.TB) *reference {
	t.Helper()
	snap := testdata.Shared(t, emn30b+"/snapshot.zst")
	expected := testdata.Shared(t, emn30b+"/expected.json.zst")
	refOnce.Do(func() {
		r := &reference{snapshot: snap, byID: make(map[common.Hash]*refBlock)}
		r.events = testdata.Events(t, snap)
		src := memSource(r.events)
		tr := blocks.NewTracker(blocks.BuilderOptions{})
		for i := range r.events {
			d := &r.events[i].Descriptor
			ups, err := tr.Process(src, d)
			if err != nil {
				t.Fatalf("reference: seqno %d: %v", d.Seqno, err)
			}
			for _, u := range ups {
				id := common.Hash(u.Block.ID())
				switch u.State {
				case blocks.CommitProposed:
					r.byID[id] = &refBlock{number: u.Block.Number(), id: id, exec: u.Block}
				case blocks.CommitFinalized:
					rb := r.byID[id]
					rb.abandoned, rb.finalizedAt = ethconv.AbandonedIDs(u.Abandoned), d.Seqno
					r.finalized = append(r.finalized, rb)
				case blocks.CommitVerified:
					r.verifiedAt = append(r.verifiedAt, d.Seqno)
				}
			}
		}
		r.hashes, r.refFinalized = readExpected(t, expected)
		ref = r
	})
	if ref == nil {
		t.Fatal("reference data failed to load")
	}
	return ref
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readExpected reads the block hashes and finalized ids of the reference
// file written by another SDK.
func readExpected(t testing.TB, path string) (map[common.Hash]common.Hash, map[common.Hash]bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	// The file is large and the tests only need two facts per block, so
	// it is scanned with bytes.Index (fast under the race detector)
	// rather than decoded: in an "Executed" object the block tag's "id"
	// is the last id before "eth_block_hash", in a "Referendum" object
	// the last id before "outcome".
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	hashes, fin := make(map[common.Hash]common.Hash), make(map[common.Hash]bool)
	hexAt := func(b []byte) (common.Hash, bool) {
		if len(b) < 66 || b[0] != '0' || b[1] != 'x' {
			return common.Hash{}, false
		}
		var h common.Hash
		if err := h.UnmarshalText(b[:66]); err != nil {
			return h, false
		}
		return h, true
	}
	const idKey, hashKey, outcomeKey = `"id": "`, `"eth_block_hash": "`, `"outcome": "`
	lastID := func(upto int) (common.Hash, bool) {
		i := bytes.LastIndex(data[:upto], []byte(idKey))
		if i < 0 {
			return common.Hash{}, false
		}
		return hexAt(data[i+len(idKey):])
	}
	for off := 0; ; {
		i := bytes.Index(data[off:], []byte(hashKey))
		if i < 0 {
			break
		}
		i += off
		id, ok1 := lastID(i)
		h, ok2 := hexAt(data[i+len(hashKey):])
		if !ok1 || !ok2 {
			t.Fatalf("%s: unexpected layout at byte %d", path, i)
		}
		hashes[id] = h
		off = i + len(hashKey)
	}
	for off := 0; ; {
		i := bytes.Index(data[off:], []byte(outcomeKey+"Finalized\""))
		if i < 0 {
			break
		}
		i += off
		id, ok := lastID(i)
		if !ok {
			t.Fatalf("%s: unexpected layout at byte %d", path, i)
		}
		fin[id] = true
		off = i + len(outcomeKey)
	}
	if len(hashes) == 0 || len(fin) == 0 {
		t.Fatalf("%s: no executed or finalized blocks", path)
	}
	return hashes, fin
}

// memSource serves the payloads of a recording's events, whose seqnos
// are 1, 2, ... (testdata.Events checks it).
type memSource []testdata.Event

func (m memSource) Payload(d *eventring.Descriptor) []byte {
	if d.Seqno == 0 || d.Seqno > uint64(len(m)) {
		return nil
	}
	return m[d.Seqno-1].Payload
}

func (m memSource) PayloadValid(d *eventring.Descriptor) bool {
	return d.Seqno != 0 && d.Seqno <= uint64(len(m))
}

// startServer runs an embedded server storing in dir until the test ends.
func startServer(t testing.TB, dir string, port int) (*server.Server, string) {
	t.Helper()
	s, url, err := jetstream.RunEmbedded(context.Background(), dir, jetstream.EmbeddedOptions{Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s, url
}

func connect(t testing.TB, url string) (*nats.Conn, natsjs.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, js, err := jetstream.Connect(ctx, url, testLogger(t, "conn"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc, js
}

// testLogger logs to the test at Info and above.
func testLogger(t testing.TB, who string) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})).With("who", who)
}

type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// newRing creates a live ring in dir with the given descriptor capacity.
func newRing(t testing.TB, dir string, descriptors uint64) (*eventring.Recorder, string) {
	t.Helper()
	path := filepath.Join(dir, "exec-ring")
	rec, err := eventring.Create(path, eventring.Sizes{DescriptorCapacity: descriptors, PayloadBufSize: eventring.MinPayloadBufSize},
		execevents.RingContentType, execevents.SchemaHash)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	return rec, path
}

// openRing opens the ring at path for the test's duration.
func openRing(t testing.TB, path string) *eventring.Ring {
	t.Helper()
	ring, err := execevents.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ring.Close() })
	return ring
}

// replay records the reference events into rec, spread over about d
// (0: as fast as possible). The seqnos are the snapshot's, as the ring is
// fresh.
func replay(ctx context.Context, rec *eventring.Recorder, evs []testdata.Event, d time.Duration) error {
	start := time.Now()
	for i, e := range evs {
		if d > 0 && i%512 == 0 {
			due := start.Add(time.Duration(int64(d) * int64(i) / int64(len(evs))))
			select {
			case <-time.After(time.Until(due)):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		seq, err := rec.Record(e.Descriptor.EventType, e.Descriptor.ContentExt, e.Payload)
		if err != nil {
			return err
		}
		if seq != e.Descriptor.Seqno {
			return errors.New("replay: seqno differs from the snapshot's")
		}
	}
	return nil
}

// fetchAll reads subject with a durable pull consumer until it has want
// messages, then once more to see that no more come; it acks each.
func fetchAll(t testing.TB, js natsjs.JetStream, stream, durable, subject string, want int, timeout time.Duration) []natsjs.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cons, err := js.CreateOrUpdateConsumer(ctx, stream, natsjs.ConsumerConfig{
		Durable: durable, FilterSubject: subject, AckPolicy: natsjs.AckExplicitPolicy, DeliverPolicy: natsjs.DeliverAllPolicy,
		MaxAckPending: 10000,
	})
	if err != nil {
		t.Error(err)
		return nil
	}
	// One pull subscription for the whole read: a Fetch loop on a loaded
	// machine loses what the server delivers after a fetch's expiry (it
	// stays unacknowledged until AckWait, then comes back out of order).
	msgs, err := cons.Messages()
	if err != nil {
		t.Error(err)
		return nil
	}
	defer msgs.Stop()
	deadline, _ := ctx.Deadline()
	var got []natsjs.Msg
	for {
		// Once want are in, a short wait for any message too many.
		wait := time.Until(deadline)
		if len(got) >= want {
			wait = 500 * time.Millisecond
		} else if wait <= 0 {
			return got // the caller reports the shortfall
		}
		m, err := msgs.Next(natsjs.NextMaxWait(wait))
		if errors.Is(err, nats.ErrTimeout) {
			return got
		}
		if err != nil {
			t.Error(err)
			return got
		}
		got = append(got, m)
		if err := m.Ack(); err != nil {
			t.Error(err)
			return got
		}
	}
}

// checkFinalized checks that msgs are the given finalized blocks, each
// exactly once and in order, rendered as blocks --json renders them, with
// the reference file's hashes.
func checkFinalized(t testing.TB, r *reference, want []*refBlock, msgs []natsjs.Msg) {
	t.Helper()
	if len(msgs) != len(want) {
		t.Errorf("block.finalized: %d messages, want %d (one per finalized block)", len(msgs), len(want))
	}
	for i, m := range msgs {
		if i >= len(want) {
			break
		}
		w := want[i]
		h := m.Headers()
		if h.Get(natsjs.MsgIDHeader) != jetstream.BlockMsgID(execevents.Bytes32(w.id), blocks.CommitFinalized) ||
			h.Get(jetstream.HeaderBlockNumber) != itoa(w.number) || h.Get(jetstream.HeaderBlockID) != w.id.Hex() ||
			h.Get(jetstream.HeaderCommitState) != "Finalized" {
			t.Fatalf("message %d: headers %v, want block %d id %s", i, h, w.number, w.id)
		}
		block, receipts := w.rendering(t)
		if !bodyMatches(t, m.Data(), "Finalized", w, block, receipts) {
			t.Errorf("block %d: the message differs from what blocks --json renders", w.number)
		}
		// The hash is the first member of the rendered block.
		hash, ok := r.hashes[w.id]
		if !ok || !r.refFinalized[w.id] || !bytes.HasPrefix(block, []byte(`{"hash":"`+hash.Hex()+`"`)) {
			t.Errorf("block %d: hash differs from the reference file's %s (in it: %v, finalized there: %v)", w.number, hash, ok, r.refFinalized[w.id])
		}
	}
}

// bodyMatches reports whether a block message's body is the update object
// of w in state with the given block and receipts renderings: compared as
// bytes when laid out the same way (fast under the race detector), else as
// JSON values.
func bodyMatches(t testing.TB, body []byte, state string, w *refBlock, block, receipts []byte) bool {
	t.Helper()
	var got struct {
		CommitState string        `json:"commitState"`
		BlockID     common.Hash   `json:"blockId"`
		BlockNumber uint64        `json:"blockNumber"`
		Abandoned   []common.Hash `json:"abandoned"`
	}
	if i := bytes.Index(body, []byte(`,"block":`)); i > 0 && bytes.HasSuffix(body, append(append([]byte(`,"receipts":`), receipts...), '}')) &&
		bytes.HasPrefix(body[i+len(`,"block":`):], block) {
		if err := json.Unmarshal(append(append([]byte{}, body[:i]...), '}'), &got); err != nil {
			t.Errorf("body head: %v", err)
			return false
		}
		return got.CommitState == state && got.BlockID == w.id && got.BlockNumber == w.number && reflect.DeepEqual(got.Abandoned, nonNil(w.abandoned))
	}
	full := mustJSON(t, map[string]any{
		"commitState": state, "blockId": w.id, "blockNumber": w.number, "abandoned": nonNil(w.abandoned),
		"block": json.RawMessage(block), "receipts": json.RawMessage(receipts),
	})
	return jsonEqual(t, body, full)
}

func nonNil(h []common.Hash) []common.Hash {
	if h == nil {
		return []common.Hash{}
	}
	return h
}

func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// subjectCounts returns the number of messages per subject in the stream.
func subjectCounts(t testing.TB, js natsjs.JetStream, stream, prefix string) map[string]uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, natsjs.WithSubjectFilter(prefix+".>"))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects
}

// waitStream waits until the publisher has created the stream.
func waitStream(t testing.TB, js natsjs.JetStream, name string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := js.Stream(ctx, name)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s: %v", name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
