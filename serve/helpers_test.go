package serve_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/klauspost/compress/zstd"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/internal/testdata"
	"github.com/monadgo/events/serve"
)

const emn30b = "exec-events/emn-30b-15m"

// recording returns the events of the emn-30b reference snapshot (skipping
// the test without ../shared).
func recording(t testing.TB) []testdata.Event {
	t.Helper()
	return testdata.Events(t, testdata.Shared(t, emn30b+"/snapshot.zst"))
}

// newRing creates an empty live ring in a temporary directory, with room
// for the whole recording, and opens it as a reader would.
func newRing(t testing.TB, sizes eventring.Sizes) (*eventring.Recorder, *eventring.Ring) {
	t.Helper()
	if sizes.DescriptorCapacity == 0 {
		sizes = eventring.Sizes{DescriptorCapacity: 1 << 18, PayloadBufSize: 1 << 27}
	}
	rec, err := eventring.Create(filepath.Join(t.TempDir(), "ring"), sizes, execevents.RingContentType, execevents.SchemaHash)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := rec.Ring()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ring.Close(); rec.Close() })
	return rec, ring
}

// replayer re-records a recording into a live ring the way monad-events
// replay does: same types, payloads and flow tags, BLOCK_SEQNO tags remapped
// to the new sequence numbers.
type replayer struct {
	rec   *eventring.Recorder
	remap map[uint64]uint64
}

func newReplayer(rec *eventring.Recorder) *replayer {
	return &replayer{rec: rec, remap: make(map[uint64]uint64)}
}

// record writes evs; with a positive pause it sleeps that long every 1000
// events. It returns the new seqno of the last event.
func (r *replayer) record(t testing.TB, evs []testdata.Event, pause time.Duration) uint64 {
	t.Helper()
	var last uint64
	for i := range evs {
		d := &evs[i].Descriptor
		ext := d.ContentExt
		next := r.rec.LastSeqno() + 1
		switch {
		case execevents.EventType(d.EventType) == execevents.EventTypeBlockStart:
			r.remap[d.Seqno] = next
			ext[execevents.FlowTypeBlockSeqno] = next
		case ext[execevents.FlowTypeBlockSeqno] != 0:
			ext[execevents.FlowTypeBlockSeqno] = r.remap[ext[execevents.FlowTypeBlockSeqno]]
		}
		seq, err := r.rec.Record(d.EventType, ext, evs[i].Payload)
		if err != nil {
			t.Error(err)
			return last
		}
		last = seq
		if pause > 0 && i%1000 == 999 {
			time.Sleep(pause)
		}
	}
	return last
}

// testServer is a Server on an httptest listener with Run going.
type testServer struct {
	*serve.Server
	hs  *httptest.Server
	url string // ws://host:port/
	run chan error
}

func startServer(t testing.TB, ring *eventring.Ring, opts serve.Options) *testServer {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	s, err := serve.New(ring, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{Server: s, hs: httptest.NewServer(s.Handler()), run: make(chan error, 1)}
	ts.url = "ws" + strings.TrimPrefix(ts.hs.URL, "http") + "/"
	go func() { ts.run <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		s.Close()
		ts.hs.Close()
		<-ts.run
	})
	return ts
}

func quietLogger() *slog.Logger {
	if testing.Verbose() && os.Getenv("SERVE_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// ---- the reference output expected.json.zst, reduced to what is compared ----

type expLog struct {
	Address common.Address `json:"address"`
	Topics  []common.Hash  `json:"topics"`
	Data    string         `json:"data"`
}

type expBlock struct {
	Number uint64
	ID     common.Hash
	Hash   common.Hash
	Txs    []common.Hash // transaction hashes
	Logs   [][]expLog    // per transaction
}

type expStep struct {
	Number uint64
	ID     common.Hash
	State  string
}

var expCache struct {
	sync.Mutex
	blocks []expBlock
	steps  []expStep
}

// loadExpected reads the executed blocks (in order) and the sequence of
// commit-state steps from the reference output (once per test binary:
// decoding it is slow under the race detector). Callers must not modify
// the result.
func loadExpected(t testing.TB) ([]expBlock, []expStep) {
	t.Helper()
	expCache.Lock()
	defer expCache.Unlock()
	if expCache.blocks == nil {
		expCache.blocks, expCache.steps = decodeExpected(t)
	}
	return expCache.blocks, expCache.steps
}

func decodeExpected(t testing.TB) ([]expBlock, []expStep) {
	t.Helper()
	f, err := os.Open(testdata.Shared(t, emn30b+"/expected.json.zst"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	type tag struct {
		BlockNumber uint64      `json:"block_number"`
		ID          common.Hash `json:"id"`
	}
	var raw []struct {
		Executed *struct {
			BlockTag     tag         `json:"block_tag"`
			EthBlockHash common.Hash `json:"eth_block_hash"`
			Transactions []struct {
				Receipt struct {
					Logs []expLog `json:"logs"`
				} `json:"receipt"`
				Envelope struct {
					Hash common.Hash `json:"hash"`
				} `json:"txn_envelope"`
			} `json:"transactions"`
		}
		Referendum *struct {
			BlockTag tag    `json:"block_tag"`
			Outcome  string `json:"outcome"`
		}
	}
	if err := json.NewDecoder(zr).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	var bs []expBlock
	var steps []expStep
	for _, u := range raw {
		if e := u.Executed; e != nil {
			b := expBlock{Number: e.BlockTag.BlockNumber, ID: e.BlockTag.ID, Hash: e.EthBlockHash}
			for _, tx := range e.Transactions {
				b.Txs = append(b.Txs, tx.Envelope.Hash)
				b.Logs = append(b.Logs, tx.Receipt.Logs)
			}
			bs = append(bs, b)
			steps = append(steps, expStep{b.Number, b.ID, "Proposed"})
		} else {
			steps = append(steps, expStep{u.Referendum.BlockTag.BlockNumber, u.Referendum.BlockTag.ID, u.Referendum.Outcome})
		}
	}
	return bs, steps
}

// readShared reads a reference file.
func readShared(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(testdata.Shared(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// requireJSONEqual compares two JSON documents as parsed values.
func requireJSONEqual(t testing.TB, want, got []byte, what string) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	wb, _ := json.Marshal(w)
	gb, _ := json.Marshal(g)
	if string(wb) != string(gb) {
		t.Fatalf("%s differs:\n got %s\nwant %s", what, gb, wb)
	}
}

// collect receives n values from ch, failing the test after timeout.
func collect[T any](t testing.TB, ch <-chan T, errc <-chan error, n int, timeout time.Duration, what string) []T {
	t.Helper()
	out := make([]T, 0, n)
	deadline := time.After(timeout)
	for len(out) < n {
		select {
		case v := <-ch:
			out = append(out, v)
		case err := <-errc:
			t.Fatalf("%s: subscription ended after %d of %d: %v", what, len(out), n, err)
		case <-deadline:
			t.Fatalf("%s: %d of %d received within %v", what, len(out), n, timeout)
		}
	}
	return out
}
