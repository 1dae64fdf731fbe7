package serve_test

import (
	"context"
	"encoding/json"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/ethereum/go-ethereum/trie"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/internal/testdata"
	"github.com/monadgo/events/serve"
)

// monadHead is the part of a monadNewHeads / monadLogs result compared.
type monadHead struct {
	BlockID     common.Hash    `json:"blockId"`
	CommitState string         `json:"commitState"`
	Number      hexutil.Uint64 `json:"number"`
	BlockNumber hexutil.Uint64 `json:"blockNumber"` // logs
	Hash        common.Hash    `json:"hash"`
	BlockHash   common.Hash    `json:"blockHash"` // logs
}

var stepsCache struct {
	sync.Mutex
	ups []blocks.Update
}

// snapshotSteps is the sequence of commit-state updates package blocks
// yields for the reference snapshot (computed once per test binary).
// Callers must not modify the result.
func snapshotSteps(t testing.TB) []blocks.Update {
	t.Helper()
	stepsCache.Lock()
	defer stepsCache.Unlock()
	if stepsCache.ups == nil {
		stepsCache.ups = updatesOfSnapshot(t)
	}
	return stepsCache.ups
}

func updatesOfSnapshot(t testing.TB) []blocks.Update {
	t.Helper()
	ring, err := eventring.Open(testdata.Shared(t, emn30b+"/snapshot.zst"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ring.Close() })
	var ups []blocks.Update
	for u, err := range blocks.Updates(context.Background(), ring, blocks.BuilderOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if u.Notice == nil {
			ups = append(ups, u)
		}
	}
	return ups
}

// memSource serves the recording's payloads (seqno n at index n-1), as a
// ring would.
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

// firstBlocks cuts the recording before the BLOCK_START of its block n+1
// and returns the events kept and the updates they cause (a Tracker over
// the snapshot's events, as blocks.Updates runs it).
func firstBlocks(t testing.TB, evs []testdata.Event, n int) ([]testdata.Event, []blocks.Update) {
	t.Helper()
	cut, starts := len(evs), 0
	for i := range evs {
		if execevents.EventType(evs[i].Descriptor.EventType) == execevents.EventTypeBlockStart {
			if starts++; starts == n+1 {
				cut = i
				break
			}
		}
	}
	src := memSource(evs)
	tr := blocks.NewTracker(blocks.BuilderOptions{})
	var ups []blocks.Update
	for i := range evs[:cut] {
		u, err := tr.Process(src, &evs[i].Descriptor)
		if err != nil {
			t.Fatal(err)
		}
		ups = append(ups, u...)
	}
	return evs[:cut], ups
}

// TestEthclientSubscriptions follows a ring written while the test runs
// with go-ethereum's ethclient and raw rpc subscriptions: every header
// arrives, hashing (as go-ethereum recomputes it from the fields received)
// to the reference block hash; every log arrives, equal to the reference
// receipts' logs; a filtered subscription gets exactly the logs the filter
// selects from the reference; the first header and log equal the reference
// renderings byte for byte (as parsed JSON); monadNewHeads and monadLogs
// send one notification per commit state per block, in the order
// blocks.Updates yields them for the snapshot.
func TestEthclientSubscriptions(t *testing.T) {
	evs := recording(t)
	want, wantSteps := loadExpected(t)
	steps := snapshotSteps(t)
	minBlocks := 25
	if raceEnabled || testing.Short() {
		// The first 8 blocks only: the race detector makes the whole
		// recording take half a minute on a loaded machine.
		evs, steps = firstBlocks(t, evs, 8)
		minBlocks = 8
	}
	// The reference output runs a little past the snapshot (as ethconv's
	// TestReferenceOutput notes): the snapshot's updates are its prefix.
	executed := 0
	for i, u := range steps {
		w := wantSteps[i]
		if w.Number != u.Block.Number() || w.ID != common.Hash(u.Block.ID()) || w.State != u.State.String() {
			t.Fatalf("update %d of the snapshot: %s block %d, reference %s block %d", i, u.State, u.Block.Number(), w.State, w.Number)
		}
		if u.State == blocks.CommitProposed {
			executed++
		}
	}
	if executed < minBlocks || minBlocks == 25 && len(steps) < len(wantSteps)-8 {
		t.Fatalf("the snapshot yields %d blocks and %d updates; the reference %d and %d", executed, len(steps), len(want), len(wantSteps))
	}
	want = want[:executed]
	rec, ring := newRing(t, eventring.Sizes{})
	ts := startServer(t, ring, serve.Options{})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := ethclient.DialContext(ctx, ts.url)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rc := cl.Client()

	heads := make(chan *types.Header, 64)
	headSub, err := cl.SubscribeNewHead(ctx, heads)
	if err != nil {
		t.Fatal(err)
	}
	defer headSub.Unsubscribe()
	logs := make(chan types.Log, 20000)
	logSub, err := cl.SubscribeFilterLogs(ctx, ethereum.FilterQuery{}, logs)
	if err != nil {
		t.Fatal(err)
	}
	defer logSub.Unsubscribe()

	// A filter with an address list and OR'ed topics in position 0 and a
	// wildcard in position 1 (go-ethereum's semantics), built from the
	// reference's first log and the most common event signature.
	first := firstLog(want)
	transfer := common.HexToHash("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")
	fq := ethereum.FilterQuery{
		Addresses: []common.Address{first.Address, common.HexToAddress("0xdac17f958d2ee523a2206206994597c13d831ec7"), common.HexToAddress("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48")},
		Topics:    [][]common.Hash{{first.Topics[0], transfer}, nil},
	}
	flogs := make(chan types.Log, 20000)
	fSub, err := cl.SubscribeFilterLogs(ctx, fq, flogs)
	if err != nil {
		t.Fatal(err)
	}
	defer fSub.Unsubscribe()

	rawHeads := make(chan json.RawMessage, 64)
	rawHeadSub, err := rc.EthSubscribe(ctx, rawHeads, "newHeads")
	if err != nil {
		t.Fatal(err)
	}
	defer rawHeadSub.Unsubscribe()
	rawLogs := make(chan json.RawMessage, 20000)
	rawLogSub, err := rc.EthSubscribe(ctx, rawLogs, "logs", map[string]any{"address": first.Address})
	if err != nil {
		t.Fatal(err)
	}
	defer rawLogSub.Unsubscribe()
	mHeads := make(chan json.RawMessage, 256)
	mHeadSub, err := rc.EthSubscribe(ctx, mHeads, "monadNewHeads")
	if err != nil {
		t.Fatal(err)
	}
	defer mHeadSub.Unsubscribe()
	mLogs := make(chan json.RawMessage, 20000)
	mLogSub, err := rc.EthSubscribe(ctx, mLogs, "monadLogs", map[string]any{"address": first.Address})
	if err != nil {
		t.Fatal(err)
	}
	defer mLogSub.Unsubscribe()

	// Write the ring now, in bursts, while the clients are subscribed.
	go newReplayer(rec).record(t, evs, time.Millisecond)

	// newHeads through ethclient: go-ethereum recomputes each hash from
	// the fields received. Monad's RPC renders every header in the Prague
	// shape (zero blob gas, beacon root and requests hash: the reference
	// 0.header.json has them), which is the hashed shape on Monad chains.
	// The recording is an Ethereum mainnet replay of London-era blocks,
	// whose hash covers none of those fields: go-ethereum recomputes the
	// recorded hash once they are left out, so every other field arrived
	// exactly.
	got := collect(t, heads, headSub.Err(), len(want), time.Minute, "newHeads")
	for i, h := range got {
		if h.BlobGasUsed == nil || *h.BlobGasUsed != 0 || h.ParentBeaconRoot == nil || h.RequestsHash == nil {
			t.Fatalf("header %d lacks the Prague-shape fields Monad renders", i)
		}
		london := types.CopyHeader(h)
		london.BlobGasUsed, london.ExcessBlobGas, london.ParentBeaconRoot, london.RequestsHash = nil, nil, nil, nil
		if h.Number.Uint64() != want[i].Number || london.Hash() != want[i].Hash {
			t.Fatalf("header %d: block %v hash %s, want block %d hash %s", i, h.Number, london.Hash(), want[i].Number, want[i].Hash)
		}
	}
	// Every log, in block order, as the reference receipts hold them.
	var allWant, filtWant, addrWant []types.Log
	for _, b := range want {
		idx := uint(0)
		for ti, txLogs := range b.Logs {
			for _, l := range txLogs {
				tl := types.Log{Address: l.Address, Topics: l.Topics, Data: common.FromHex(l.Data), BlockNumber: b.Number,
					TxHash: b.Txs[ti], TxIndex: uint(ti), BlockHash: b.Hash, Index: idx}
				idx++
				allWant = append(allWant, tl)
				if referenceMatch(fq, &tl) {
					filtWant = append(filtWant, tl)
				}
				if tl.Address == first.Address {
					addrWant = append(addrWant, tl)
				}
			}
		}
	}
	if len(filtWant) == 0 || len(filtWant) == len(allWant) {
		t.Fatalf("the filter selects %d of %d logs: not a useful test", len(filtWant), len(allWant))
	}
	checkLogs(t, "logs", collect(t, logs, logSub.Err(), len(allWant), time.Minute, "logs"), allWant)
	checkLogs(t, "filtered logs", collect(t, flogs, fSub.Err(), len(filtWant), time.Minute, "filtered logs"), filtWant)
	t.Logf("%d headers, %d logs, %d filtered logs", len(got), len(allWant), len(filtWant))

	// Raw renderings: the first header and log equal the reference files.
	rh := collect(t, rawHeads, rawHeadSub.Err(), len(want), time.Minute, "raw newHeads")
	requireJSONEqual(t, readShared(t, emn30b+"/0.header.json"), rh[0], "first newHeads result")
	rl := collect(t, rawLogs, rawLogSub.Err(), len(addrWant), time.Minute, "raw logs")
	requireJSONEqual(t, readShared(t, emn30b+"/0.log.0.json"), rl[0], "first logs result")
	for i, raw := range rl {
		var l struct {
			Removed *bool          `json:"removed"`
			Address common.Address `json:"address"`
		}
		json.Unmarshal(raw, &l)
		if l.Removed == nil || *l.Removed || l.Address != first.Address {
			t.Fatalf("raw log %d: %s", i, raw)
		}
	}

	// monadNewHeads: one per commit-state update, in blocks.Updates order.
	mh := collect(t, mHeads, mHeadSub.Err(), len(steps), time.Minute, "monadNewHeads")
	requireJSONEqual(t, readShared(t, emn30b+"/0.monad-header.json"), mh[0], "first monadNewHeads result")
	for i, raw := range mh {
		var h monadHead
		if err := json.Unmarshal(raw, &h); err != nil {
			t.Fatal(err)
		}
		u := steps[i]
		if h.BlockID != common.Hash(u.Block.ID()) || h.CommitState != u.State.String() || uint64(h.Number) != u.Block.Number() ||
			h.Hash != common.Hash(u.Block.End.EthBlockHash) {
			t.Fatalf("monadNewHeads %d: %s %s block %d; want %s %s block %d", i, h.CommitState, h.BlockID, h.Number, u.State, u.Block.ID(), u.Block.Number())
		}
	}
	// monadLogs: the address's logs of a block again at each of its states.
	perBlock := map[uint64]int{}
	for _, l := range addrWant {
		perBlock[l.BlockNumber]++
	}
	var mlWant []blocks.Update
	for _, u := range steps {
		for range perBlock[u.Block.Number()] {
			mlWant = append(mlWant, u)
		}
	}
	ml := collect(t, mLogs, mLogSub.Err(), len(mlWant), time.Minute, "monadLogs")
	requireJSONEqual(t, readShared(t, emn30b+"/0.monad-log.0.json"), ml[0], "first monadLogs result")
	for i, raw := range ml {
		var h monadHead
		json.Unmarshal(raw, &h)
		u := mlWant[i]
		if h.BlockID != common.Hash(u.Block.ID()) || h.CommitState != u.State.String() || uint64(h.BlockNumber) != u.Block.Number() {
			t.Fatalf("monadLogs %d: %s block %d, want %s block %d", i, h.CommitState, h.BlockNumber, u.State, u.Block.Number())
		}
	}

	// Nothing more comes: once the server has read the whole ring, every
	// channel is empty.
	waitRead(t, ts, uint64(len(evs)))
	time.Sleep(200 * time.Millisecond)
	for name, n := range map[string]int{"newHeads": len(heads), "logs": len(logs), "filtered": len(flogs), "raw heads": len(rawHeads),
		"raw logs": len(rawLogs), "monadNewHeads": len(mHeads), "monadLogs": len(mLogs)} {
		if n != 0 {
			t.Errorf("%s: %d notifications beyond the expected ones", name, n)
		}
	}

	// The query methods clients call on connect.
	id, err := cl.ChainID(ctx)
	if err != nil || id.Uint64() != 1 {
		t.Errorf("eth_chainId = %v, %v; want 1 (the recording's chain)", id, err)
	}
	bn, err := cl.BlockNumber(ctx)
	if err != nil || bn != want[len(want)-1].Number {
		t.Errorf("eth_blockNumber = %d, %v; want %d", bn, err, want[len(want)-1].Number)
	}
	blk, err := cl.BlockByNumber(ctx, new(big.Int).SetUint64(want[3].Number))
	if err != nil {
		t.Fatal(err)
	}
	london := types.CopyHeader(blk.Header())
	london.BlobGasUsed, london.ExcessBlobGas, london.ParentBeaconRoot, london.RequestsHash = nil, nil, nil, nil
	if london.Hash() != want[3].Hash || len(blk.Transactions()) != len(want[3].Txs) || types.DeriveSha(blk.Transactions(), trie.NewStackTrie(nil)) != blk.TxHash() {
		t.Errorf("eth_getBlockByNumber(%d): hash %s, %d transactions", want[3].Number, london.Hash(), len(blk.Transactions()))
	}
	for i, tx := range blk.Transactions() {
		if tx.Hash() != want[3].Txs[i] {
			t.Fatalf("eth_getBlockByNumber: transaction %d hashes to %s, want %s", i, tx.Hash(), want[3].Txs[i])
		}
	}
	rcpts, err := cl.BlockReceipts(ctx, rpc.BlockNumberOrHashWithNumber(rpc.BlockNumber(want[3].Number)))
	if err != nil {
		t.Fatal(err)
	}
	if len(rcpts) != len(want[3].Txs) || types.DeriveSha(types.Receipts(rcpts), trie.NewStackTrie(nil)) != blk.ReceiptHash() {
		t.Errorf("eth_getBlockReceipts: %d receipts, root differs from the header's", len(rcpts))
	}
	if _, err := cl.BlockByNumber(ctx, big.NewInt(1)); err == nil || err.Error() != "not found" {
		t.Errorf("a block not held: %v, want not found", err)
	}
}

func firstLog(bs []expBlock) expLog {
	for _, b := range bs {
		for _, tl := range b.Logs {
			if len(tl) > 0 {
				return tl[0]
			}
		}
	}
	return expLog{}
}

// referenceMatch is go-ethereum's log filter rule, written out again.
func referenceMatch(q ethereum.FilterQuery, l *types.Log) bool {
	okAddr := len(q.Addresses) == 0
	for _, a := range q.Addresses {
		okAddr = okAddr || a == l.Address
	}
	if !okAddr || len(q.Topics) > len(l.Topics) {
		return false
	}
	for i, pos := range q.Topics {
		if len(pos) == 0 {
			continue
		}
		found := false
		for _, h := range pos {
			found = found || h == l.Topics[i]
		}
		if !found {
			return false
		}
	}
	return true
}

func checkLogs(t *testing.T, what string, got, want []types.Log) {
	t.Helper()
	for i := range want {
		g, w := got[i], want[i]
		if g.Address != w.Address || len(g.Topics) != len(w.Topics) || string(g.Data) != string(w.Data) ||
			g.BlockNumber != w.BlockNumber || g.BlockHash != w.BlockHash || g.TxHash != w.TxHash ||
			g.TxIndex != w.TxIndex || g.Index != w.Index || g.Removed {
			t.Fatalf("%s %d:\n got %+v\nwant %+v", what, i, g, w)
		}
		for j := range w.Topics {
			if g.Topics[j] != w.Topics[j] {
				t.Fatalf("%s %d: topic %d %s, want %s", what, i, j, g.Topics[j], w.Topics[j])
			}
		}
	}
}

// waitRead waits until the server's ring reader has processed seqno.
func waitRead(t testing.TB, ts *testServer, seqno uint64) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ts.Health().LastSeqno < seqno; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the server read up to %d, want %d", ts.Health().LastSeqno, seqno)
		}
	}
}
