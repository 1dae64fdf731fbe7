package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
)

// syncBuffer is an output buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listenLine = regexp.MustCompile(`msg="serve: listening" addr=(127\.0\.0\.1:\d+)`)

// startServe runs monad-events serve on a free loopback port and returns
// the process, its stderr and the address it listens on.
func startServe(t *testing.T, args ...string) (*exec.Cmd, *syncBuffer, string) {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if m := listenLine.FindStringSubmatch(stderr.String()); m != nil {
			return cmd, stderr, m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not say where it listens:\n%s", stderr.String())
		}
	}
}

// drainInto appends what ch delivers to dst until stop is closed.
func drainInto[T any](mu *sync.Mutex, ch <-chan T, dst *[]T, stop <-chan struct{}) {
	for {
		select {
		case v := <-ch:
			mu.Lock()
			*dst = append(*dst, v)
			mu.Unlock()
		case <-stop:
			return
		}
	}
}

// proposedBlocks parses blocks --json output: the Proposed updates' block
// objects (raw) by block number, and their receipts' logs (raw).
func proposedBlocks(t *testing.T, out string) (map[uint64]map[string]json.RawMessage, map[uint64][]json.RawMessage) {
	t.Helper()
	blks := map[uint64]map[string]json.RawMessage{}
	logs := map[uint64][]json.RawMessage{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var u struct {
			CommitState string                     `json:"commitState"`
			BlockNumber uint64                     `json:"blockNumber"`
			Block       map[string]json.RawMessage `json:"block"`
			Receipts    []struct {
				Logs []json.RawMessage `json:"logs"`
			} `json:"receipts"`
		}
		if err := json.Unmarshal(sc.Bytes(), &u); err != nil {
			t.Fatal(err)
		}
		if u.CommitState != "Proposed" {
			continue
		}
		blks[u.BlockNumber] = u.Block
		for _, r := range u.Receipts {
			logs[u.BlockNumber] = append(logs[u.BlockNumber], r.Logs...)
		}
	}
	return blks, logs
}

// TestServeLive runs serve on a ring that replay writes at the same time,
// with go-ethereum's ethclient subscribed: the headers and logs it receives
// equal what blocks --json renders for the same blocks, serve stops by
// itself (status 0) when the writer exits, and its clients are closed with
// "server shutting down".
func TestServeLive(t *testing.T) {
	snap := sharedFile(t, emn30bPath)
	blks, blkLogs := proposedBlocks(t, mustRun(t, "blocks", "--json", snap).stdout)
	ring := filepath.Join(t.TempDir(), "ring")
	replay, replayErr := start(t, "replay", "--rate", "25000", snap, ring)
	waitFile(t, ring)
	srv, stderr, addr := startServe(t, "--status-interval", "200ms", ring)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := ethclient.DialContext(ctx, "ws://"+addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	heads := make(chan *types.Header, 64)
	if _, err := cl.SubscribeNewHead(ctx, heads); err != nil {
		t.Fatal(err)
	}
	rawHeads := make(chan json.RawMessage, 64)
	if _, err := cl.Client().EthSubscribe(ctx, rawHeads, "newHeads"); err != nil {
		t.Fatal(err)
	}
	rawLogs := make(chan json.RawMessage, 20000)
	if _, err := cl.Client().EthSubscribe(ctx, rawLogs, "logs", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	// A second, bare client sees how the connection ends.
	ws, _, err := websocket.Dial(ctx, "ws://"+addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	wsEnd := make(chan error, 1)
	go func() {
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				wsEnd <- err
				return
			}
		}
	}()

	// Collect while the ring is written (never closing go-ethereum's
	// channels: its subscriptions send on them).
	var cmu sync.Mutex
	var gotRaw, gotLogs []json.RawMessage
	var gotHeads []*types.Header
	stopCollect := make(chan struct{})
	go drainInto(&cmu, rawHeads, &gotRaw, stopCollect)
	go drainInto(&cmu, rawLogs, &gotLogs, stopCollect)
	go drainInto(&cmu, heads, &gotHeads, stopCollect)

	if err := replay.Wait(); err != nil {
		t.Fatalf("replay: %v\n%s", err, tail(replayErr.String()))
	}
	if code := waitExit(t, srv, 30*time.Second); code != 0 {
		t.Fatalf("serve exited with status %d after the writer:\n%s", code, tail(stderr.String()))
	}
	for _, want := range []string{"serve: status", "writer exited", "server stopped"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("serve's stderr lacks %q:\n%s", want, tail(stderr.String()))
		}
	}
	var ce websocket.CloseError
	if err := <-wsEnd; !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "server shutting down" {
		t.Errorf("client connection ended with %v; want 1001 \"server shutting down\"", err)
	}

	// serve starts at the newest block start of a live ring, so it may
	// have joined after the first blocks: every block from there on must
	// have come, each equal to blocks --json's.
	var last uint64
	for n := range blks {
		last = max(last, n)
	}
	// Everything was sent before the close frame: wait until it has all
	// come through the client (the last block's header, as many ethclient
	// headers, and the logs of the blocks from the first header on).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		cmu.Lock()
		complete := false
		if n := len(gotRaw); n > 0 && len(gotHeads) == n {
			var first, lastGot hexutil.Uint64
			var h0, h1 struct {
				Number hexutil.Uint64 `json:"number"`
			}
			json.Unmarshal(gotRaw[0], &h0)
			json.Unmarshal(gotRaw[n-1], &h1)
			first, lastGot = h0.Number, h1.Number
			want := 0
			for b := uint64(first); b <= uint64(lastGot); b++ {
				want += len(blkLogs[b])
			}
			complete = uint64(lastGot) == last && len(gotLogs) == want
		}
		cmu.Unlock()
		if complete {
			break
		}
		if time.Now().After(deadline) {
			break // the comparisons below say what is missing
		}
	}
	close(stopCollect)
	cmu.Lock()
	defer cmu.Unlock()
	var numbers []uint64
	for _, raw := range gotRaw {
		var h map[string]json.RawMessage
		if err := json.Unmarshal(raw, &h); err != nil {
			t.Fatal(err)
		}
		var n hexutil.Uint64
		json.Unmarshal(h["number"], &n)
		want, ok := blks[uint64(n)]
		if !ok {
			t.Fatalf("header of block %d, which blocks --json does not have", n)
		}
		for k := range want {
			if k == "transactions" || k == "uncles" || k == "withdrawals" {
				continue
			}
			if string(h[k]) != string(want[k]) {
				t.Fatalf("block %d: %s = %s, blocks --json has %s", n, k, h[k], want[k])
			}
		}
		if len(h) != len(want)-2 {
			t.Fatalf("block %d: header has %d members, blocks --json's block %d besides transactions and uncles", n, len(h), len(want)-2)
		}
		numbers = append(numbers, uint64(n))
	}
	if len(numbers) < 20 || numbers[len(numbers)-1] != numbers[0]+uint64(len(numbers))-1 {
		t.Fatalf("headers of blocks %v; blocks --json has %d blocks", numbers, len(blks))
	}
	i := 0
	for _, h := range gotHeads {
		var hash common.Hash
		json.Unmarshal(blks[numbers[i]]["hash"], &hash)
		// An Ethereum mainnet replay of London blocks: their hash covers none
		// of the Prague-shape fields Monad renders (see serve's tests).
		h.BlobGasUsed, h.ExcessBlobGas, h.ParentBeaconRoot, h.RequestsHash = nil, nil, nil, nil
		if h.Number.Uint64() != numbers[i] || h.Hash() != hash {
			t.Fatalf("ethclient header %d: block %v hashes to %s, want %s", i, h.Number, h.Hash(), hash)
		}
		i++
	}
	if i != len(numbers) {
		t.Fatalf("ethclient got %d headers, the raw subscription %d", i, len(numbers))
	}
	var wantLogs []json.RawMessage
	for _, n := range numbers {
		wantLogs = append(wantLogs, blkLogs[n]...)
	}
	j := 0
	for _, l := range gotLogs {
		if j >= len(wantLogs) {
			t.Fatalf("more than the %d logs of blocks %d..%d", len(wantLogs), numbers[0], numbers[len(numbers)-1])
		}
		var g, w any
		json.Unmarshal(l, &g)
		json.Unmarshal(wantLogs[j], &w)
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		if string(gb) != string(wb) {
			t.Fatalf("log %d:\n got %s\nwant %s", j, gb, wb)
		}
		j++
	}
	if j != len(wantLogs) {
		t.Fatalf("%d logs, blocks --json has %d for blocks %d..%d", j, len(wantLogs), numbers[0], numbers[len(numbers)-1])
	}
	t.Logf("blocks %d..%d: %d headers and %d logs equal to blocks --json", numbers[0], numbers[len(numbers)-1], len(numbers), j)
}

// TestServeShutdown: serve on a snapshot keeps serving what it read until
// SIGTERM, requires the token of --token-file, then closes its clients with
// 1001 "server shutting down" and exits with status 0.
func TestServeShutdown(t *testing.T) {
	snap := sharedFile(t, emn30bPath)
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("  t0ken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, stderr, addr := startServe(t, "--token-file", tok, snap)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, resp, err := websocket.Dial(ctx, "ws://"+addr, nil); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("without the token: %v %v", err, resp)
	}
	ws, _, err := websocket.Dial(ctx, "ws://"+addr, &websocket.DialOptions{HTTPHeader: map[string][]string{"Authorization": {"Bearer t0ken"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	// The snapshot's 30 blocks are read at once; the last is 15000030.
	var result string
	for deadline := time.Now().Add(20 * time.Second); result != `"0xe4e1de"`; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("eth_blockNumber = %s, want 0xe4e1de", result)
		}
		ws.Write(ctx, websocket.MessageText, []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}`))
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var r struct{ Result json.RawMessage }
		json.Unmarshal(b, &r)
		result = string(r.Result)
	}
	srv.Process.Signal(syscall.SIGTERM)
	_, _, err = ws.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "server shutting down" {
		t.Errorf("after SIGTERM the client got %v; want 1001 \"server shutting down\"", err)
	}
	if code := waitExit(t, srv, 20*time.Second); code != 0 || !strings.Contains(stderr.String(), "serve: shutting down") {
		t.Errorf("serve exited with %d:\n%s", code, tail(stderr.String()))
	}
}
