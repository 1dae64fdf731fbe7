package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// ---- reference snapshots recorded by the daemon (../shared) ----

// Facts from ../shared/testdata/README.md.
var emn30bCounts = map[int]int{2: 30, 4: 30, 5: 30, 6: 30, 7: 30, 8: 30, 9: 29, 10: 6187, 11: 121, 13: 6187,
	15: 6187, 16: 6187, 17: 6187, 18: 8299, 19: 21077, 20: 6187, 21: 6247, 22: 25530, 23: 38286}

const (
	emn30bEvents = 136891
	emn1bEvents  = 6597
	emn30bPath   = "exec-events/emn-30b-15m/snapshot.zst"
	emn1bPath    = "emn-1b-15m.snapshot"
)

func TestReferenceInfo(t *testing.T) {
	for _, c := range []struct {
		path      string
		lastSeqno uint64
		descCap   uint64
	}{
		{emn30bPath, emn30bEvents, 1 << 18},
		{emn1bPath, emn1bEvents, 0},
	} {
		t.Run(filepath.Base(c.path), func(t *testing.T) {
			p := sharedFile(t, c.path)
			var info ringInfo
			r := mustRun(t, "info", "--json", p)
			if err := json.Unmarshal([]byte(r.stdout), &info); err != nil {
				t.Fatalf("info --json: %v\n%s", err, r.stdout)
			}
			if info.Kind != "snapshot" || info.ContentTypeCode != 2 || !info.SchemaMatches || info.WriterAlive {
				t.Errorf("kind %q, content type %d, schema matches %v, writer alive %v; want snapshot, 2, true, false",
					info.Kind, info.ContentTypeCode, info.SchemaMatches, info.WriterAlive)
			}
			if info.SchemaHash != "8933f907c432c98ac0c8db62f9aa164c0c3f1672f41290e4ea3408df6c6723f3" {
				t.Errorf("schema hash %s", info.SchemaHash)
			}
			if info.LastSeqno != c.lastSeqno || info.OldestSeqno != 1 {
				t.Errorf("events %d..%d, want 1..%d", info.OldestSeqno, info.LastSeqno, c.lastSeqno)
			}
			if c.descCap != 0 && (info.DescriptorCapacity != c.descCap || info.PayloadBufSize != 128<<20) {
				t.Errorf("sizes %d descriptors, %d payload bytes; want %d, 128 MiB", info.DescriptorCapacity, info.PayloadBufSize, c.descCap)
			}
			if info.OldestEventTime == nil || info.NewestEventTime == nil || info.NewestEventTime.Before(*info.OldestEventTime) {
				t.Errorf("event times %v .. %v", info.OldestEventTime, info.NewestEventTime)
			}
			text := mustRun(t, "info", p).stdout
			for _, want := range []string{`zstd snapshot`, `EXEC \(2\)`, `matches the compiled bindings`,
				fmt.Sprintf(`(?m)^last seqno: +%d$`, c.lastSeqno), `(?m)^integrity: +ok`} {
				if !regexp.MustCompile(want).MatchString(text) {
					t.Errorf("info output lacks %s:\n%s", want, text)
				}
			}
		})
	}
}

var watchLine = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{9} ([A-Z_]+) \[(\d+) 0x([0-9a-f]+)\] SEQ: (\d+) LEN: (\d+) BUF_OFF: (\d+)( BLK_SEQ: \d+( BLK: \d+)?)?( TXN: \d+)?( ACCT: \d+)?$`)

// TestReferenceWatch reads the 30-block reference snapshot with watch and
// checks the per-type counts the testdata README gives, and that every
// sequence number appears once, in order.
func TestReferenceWatch(t *testing.T) {
	p := sharedFile(t, emn30bPath)
	r := mustRun(t, "watch", p)
	counts := map[int]int{}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		m := watchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("line %d does not look like an eventwatch line: %q", n+1, sc.Text())
		}
		code, _ := strconv.Atoi(m[2])
		hexCode, _ := strconv.ParseInt(m[3], 16, 32)
		seq, _ := strconv.Atoi(m[4])
		if int(hexCode) != code || seq != n+1 {
			t.Fatalf("line %d: code %s/0x%s, seqno %s", n+1, m[2], m[3], m[4])
		}
		counts[code]++
		n++
	}
	if n != emn30bEvents {
		t.Fatalf("%d events, want %d", n, emn30bEvents)
	}
	for code, want := range emn30bCounts {
		if counts[code] != want {
			t.Errorf("event type %d: %d events, want %d", code, counts[code], want)
		}
	}
	if len(counts) != len(emn30bCounts) {
		t.Errorf("types seen %v, want exactly %v", counts, emn30bCounts)
	}

	// The small snapshot, through the type filter.
	p1 := sharedFile(t, emn1bPath)
	all := strings.Count(mustRun(t, "watch", p1).stdout, "\n")
	if all != emn1bEvents {
		t.Errorf("emn-1b: %d events, want %d", all, emn1bEvents)
	}
	starts := mustRun(t, "watch", "--types", "block_start,6", p1).stdout
	if got := strings.Count(starts, "\n"); got != 2 || !strings.Contains(starts, " BLOCK_START [2 0x2] SEQ: ") || !strings.Contains(starts, " BLOCK_END [6 0x6] ") {
		t.Errorf("--types block_start,6 on one block: %q", starts)
	}
}

// TestReferenceWatchJSON checks decoded fields against the daemon's own RPC
// rendering of the first transaction of block 15 000 001.
func TestReferenceWatchJSON(t *testing.T) {
	p := sharedFile(t, emn30bPath)
	var tx struct {
		Hash, From, To, Nonce, Gas, MaxFeePerGas string
	}
	readJSON(t, sharedFile(t, "exec-events/emn-30b-15m/0.tx.0.json"), &tx)

	r := mustRun(t, "watch", "--json", "--types", "TXN_HEADER_START", "-n", "1", p)
	var ev struct {
		Seqno      uint64
		EventType  string
		EventCode  int
		TxnIndex   *uint64
		BlockSeqno uint64
		Payload    map[string]any
	}
	if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil {
		t.Fatalf("%v: %q", err, r.stdout)
	}
	if ev.EventType != "TXN_HEADER_START" || ev.EventCode != 10 || ev.TxnIndex == nil || ev.BlockSeqno == 0 {
		t.Fatalf("first TXN_HEADER_START: %+v", ev)
	}
	flat := flatten(ev.Payload)
	want := map[string]string{"txnHash": tx.Hash, "sender": tx.From, "txnHeader.to": tx.To}
	for k, v := range want {
		if !strings.EqualFold(fmt.Sprint(flat[k]), v) {
			t.Errorf("payload %s = %v, want %s (payload %v)", k, flat[k], v, ev.Payload)
		}
	}
	nonce, _ := strconv.ParseUint(strings.TrimPrefix(tx.Nonce, "0x"), 16, 64)
	if fmt.Sprint(flat["txnHeader.nonce"]) != fmt.Sprint(nonce) {
		t.Errorf("nonce %v, want %d", flat["txnHeader.nonce"], nonce)
	}
	gas, _ := strconv.ParseUint(strings.TrimPrefix(tx.Gas, "0x"), 16, 64)
	if fmt.Sprint(flat["txnHeader.gasLimit"]) != fmt.Sprint(gas) {
		t.Errorf("gas limit %v, want %d", flat["txnHeader.gasLimit"], gas)
	}
	if !strings.EqualFold(fmt.Sprint(flat["txnHeader.maxFeePerGas"]), tx.MaxFeePerGas) {
		t.Errorf("maxFeePerGas %v, want %s", flat["txnHeader.maxFeePerGas"], tx.MaxFeePerGas)
	}
}

// flatten turns nested JSON objects into "a.b" keys; numbers print as
// integers.
func flatten(m map[string]any) map[string]any {
	out := map[string]any{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if prefix != "" {
					k = prefix + "." + k
				}
				walk(k, x)
			}
		case float64:
			out[prefix] = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			out[prefix] = v
		}
	}
	walk("", m)
	return out
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// blockUpdate is the subset of a blocks --json object the tests check.
type blockUpdate struct {
	CommitState string           `json:"commitState"`
	BlockID     string           `json:"blockId"`
	BlockNumber uint64           `json:"blockNumber"`
	Abandoned   []string         `json:"abandoned"`
	Block       map[string]any   `json:"block"`
	Receipts    []map[string]any `json:"receipts"`
}

// referenceUpdatesCache keeps referenceUpdates' results by command line.
var referenceUpdatesCache sync.Map // args joined by NUL -> []blockUpdate

// referenceUpdates runs the binary with args, a blocks --json command over
// the read-only reference data, and returns its parsed updates. The same
// command on the same unchanging file prints the same updates, so the tests
// that need one share a single run and parse (tens of MB of JSON, seconds
// under -race). Callers must not modify the result.
func referenceUpdates(t *testing.T, args ...string) []blockUpdate {
	t.Helper()
	key := strings.Join(args, "\x00")
	if ups, ok := referenceUpdatesCache.Load(key); ok {
		return ups.([]blockUpdate)
	}
	ups := parseUpdates(t, mustRun(t, args...).stdout)
	referenceUpdatesCache.Store(key, ups)
	return ups
}

func parseUpdates(t *testing.T, out string) []blockUpdate {
	t.Helper()
	var ups []blockUpdate
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var u blockUpdate
		if err := dec.Decode(&u); err != nil {
			t.Fatalf("update %d: %v", len(ups), err)
		}
		ups = append(ups, u)
	}
	return ups
}

// TestReferenceBlocks compares blocks --json on the 30-block snapshot with
// the updates another SDK produced from the same recording (the first 119
// of expected.json.zst) and with Monad's RPC renderings of the first block.
func TestReferenceBlocks(t *testing.T) {
	p := sharedFile(t, emn30bPath)
	f, err := os.Open(sharedFile(t, "exec-events/emn-30b-15m/expected.json.zst"))
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
		BlockNumber uint64 `json:"block_number"`
		ID          string `json:"id"`
	}
	var expected []struct {
		Executed *struct {
			BlockTag     tag    `json:"block_tag"`
			CommitState  string `json:"commit_state"`
			EthBlockHash string `json:"eth_block_hash"`
			Transactions []struct {
				Sender  string `json:"sender"`
				Receipt struct {
					CumulativeGasUsed uint64 `json:"cumulativeGasUsed"`
					Status            uint64 `json:"status"`
					Logs              []any  `json:"logs"`
				} `json:"receipt"`
				Envelope struct {
					Hash string `json:"hash"`
				} `json:"txn_envelope"`
			} `json:"transactions"`
		}
		Referendum *struct {
			BlockTag   tag    `json:"block_tag"`
			Outcome    string `json:"outcome"`
			Superseded []any  `json:"superseded_proposals"`
		}
	}
	if err := json.NewDecoder(zr).Decode(&expected); err != nil {
		t.Fatal(err)
	}

	ups := parseUpdates(t, mustRun(t, "blocks", "--json", p).stdout)
	if len(ups) != 119 {
		t.Fatalf("%d updates, want 119 (the first 119 of expected.json)", len(ups))
	}
	for i, u := range ups {
		e := expected[i]
		var tg tag
		var state string
		switch {
		case e.Executed != nil:
			tg, state = e.Executed.BlockTag, e.Executed.CommitState
		case e.Referendum != nil:
			tg, state = e.Referendum.BlockTag, e.Referendum.Outcome
			if len(u.Abandoned) != len(e.Referendum.Superseded) {
				t.Errorf("update %d: %d abandoned, want %d", i, len(u.Abandoned), len(e.Referendum.Superseded))
			}
		}
		if u.CommitState != state || u.BlockID != tg.ID || u.BlockNumber != tg.BlockNumber {
			t.Fatalf("update %d: %s %d %s, want %s %s %#x", i, u.CommitState, u.BlockNumber, u.BlockID, state, tg.ID, tg.BlockNumber)
		}
		if (u.Block != nil) != (state == "Proposed") || (u.Receipts != nil) != (state == "Proposed") {
			t.Fatalf("update %d (%s): block and receipts must come with Proposed updates only", i, state)
		}
		if e.Executed == nil {
			continue
		}
		if u.Block["hash"] != e.Executed.EthBlockHash {
			t.Errorf("update %d: block hash %v, want %s", i, u.Block["hash"], e.Executed.EthBlockHash)
		}
		txs, _ := u.Block["transactions"].([]any)
		if len(txs) != len(e.Executed.Transactions) || len(u.Receipts) != len(txs) {
			t.Fatalf("block %d: %d transactions, %d receipts; want %d", tg.BlockNumber, len(txs), len(u.Receipts), len(e.Executed.Transactions))
		}
		for j, et := range e.Executed.Transactions {
			tx, _ := txs[j].(map[string]any)
			rc := u.Receipts[j]
			logs, _ := rc["logs"].([]any)
			if tx["hash"] != et.Envelope.Hash || tx["from"] != et.Sender || rc["transactionHash"] != et.Envelope.Hash ||
				rc["cumulativeGasUsed"] != "0x"+strconv.FormatUint(et.Receipt.CumulativeGasUsed, 16) ||
				rc["status"] != "0x"+strconv.FormatUint(et.Receipt.Status, 16) || len(logs) != len(et.Receipt.Logs) {
				t.Fatalf("block %d txn %d: got tx %v %v, receipt %v %v %v %d logs; want %s %s %d %d %d logs", tg.BlockNumber, j,
					tx["hash"], tx["from"], rc["cumulativeGasUsed"], rc["status"], rc["transactionHash"], len(logs),
					et.Envelope.Hash, et.Sender, et.Receipt.CumulativeGasUsed, et.Receipt.Status, len(et.Receipt.Logs))
			}
		}
	}

	// The first block, field by field, against Monad's RPC renderings.
	var header, tx0, receipt0 map[string]any
	readJSON(t, sharedFile(t, "exec-events/emn-30b-15m/0.header.json"), &header)
	readJSON(t, sharedFile(t, "exec-events/emn-30b-15m/0.tx.0.json"), &tx0)
	readJSON(t, sharedFile(t, "exec-events/emn-30b-15m/0.tx-receipt.0.json"), &receipt0)
	first := ups[0]
	for k, v := range header {
		if fmt.Sprint(first.Block[k]) != fmt.Sprint(v) {
			t.Errorf("block 15000001 %s = %v, want %v", k, first.Block[k], v)
		}
	}
	gotTx := first.Block["transactions"].([]any)[0].(map[string]any)
	for k, v := range tx0 {
		if fmt.Sprint(gotTx[k]) != fmt.Sprint(v) {
			t.Errorf("block 15000001 transaction 0 %s = %v, want %v", k, gotTx[k], v)
		}
	}
	for k, v := range receipt0 {
		if fmt.Sprint(first.Receipts[0][k]) != fmt.Sprint(v) {
			t.Errorf("block 15000001 receipt 0 %s = %v, want %v", k, first.Receipts[0][k], v)
		}
	}

	// Readable lines and the state filter.
	text := mustRun(t, "blocks", p).stdout
	if n := strings.Count(text, "\n"); n != 119 {
		t.Errorf("blocks: %d lines, want 119", n)
	}
	if !strings.HasPrefix(text, "Proposed   block 15000001  hash 0x7a7d7c23bb8c5e340eead8537bb5e2f3e125bfa0b588cf07e4aa140ba374295e") {
		t.Errorf("blocks: first line %q", strings.SplitN(text, "\n", 2)[0])
	}
	// The one-block snapshot holds the same block 15 000 001.
	one := parseUpdates(t, mustRun(t, "blocks", "--json", sharedFile(t, emn1bPath)).stdout)
	if len(one) == 0 {
		t.Error("emn-1b: no update")
	} else if one[0].CommitState != "Proposed" || one[0].Block["hash"] != header["hash"] {
		t.Errorf("emn-1b: first update %s of block %v, want Proposed %v", one[0].CommitState, one[0].Block["hash"], header["hash"])
	}

	fin := mustRun(t, "blocks", "--state", "finalized", p).stdout
	if n := strings.Count(fin, "\n"); n != 30 || strings.Count(fin, "Finalized  block ") != 30 {
		t.Errorf("--state finalized: %d lines, want 30 Finalized lines:\n%s", n, fin)
	}
}

// ---- the project's demo snapshot ----

// TestDemoGolden pins the output of every read command on the demo
// snapshot. After a deliberate change (or a regenerated demo), rewrite the
// files with "go test ./cmd/monad-events -run TestDemoGolden -args -update"
// and review the diff.
func TestDemoGolden(t *testing.T) {
	p := demoSnapshot(t)
	for _, c := range []struct {
		golden string
		args   []string
	}{
		{"demo.info.txt", []string{"info"}},
		{"demo.blocks.txt", []string{"blocks"}},
		{"demo.blocks.jsonl", []string{"blocks", "--json"}},
		{"demo.watch.txt", []string{"watch"}},
		{"demo.watch-consensus.txt", []string{"watch", "--types", "BLOCK_START,BLOCK_END,BLOCK_QC,BLOCK_FINALIZED,BLOCK_VERIFIED,BLOCK_REJECT,EVM_ERROR"}},
		{"demo.watch-dump.txt", []string{"watch", "-d", "-n", "40"}},
		{"demo.watch.jsonl", []string{"watch", "--json"}},
	} {
		t.Run(c.golden, func(t *testing.T) {
			r := mustRun(t, append(c.args, p)...)
			out := r.stdout
			if c.golden == "demo.info.txt" {
				// The absolute path depends on the checkout.
				out = strings.ReplaceAll(out, absPath(p), "testdata/demo.snapshot.zst")
			}
			golden(t, c.golden, out)
		})
	}
}

// TestDemoConsistency checks what the goldens cannot: the commands agree
// with each other on the demo (watch sees every event info announces; every
// block blocks reports has its BLOCK_START and BLOCK_END in watch).
func TestDemoConsistency(t *testing.T) {
	p := demoSnapshot(t)
	var info ringInfo
	if err := json.Unmarshal([]byte(mustRun(t, "info", "--json", p).stdout), &info); err != nil {
		t.Fatal(err)
	}
	if !info.SchemaMatches || info.OldestSeqno != 1 {
		t.Fatalf("demo: schema matches %v, oldest %d", info.SchemaMatches, info.OldestSeqno)
	}
	events := parseEvents(t, mustRun(t, "watch", "--json", p).stdout)
	if uint64(len(events)) != info.LastSeqno {
		t.Fatalf("watch --json: %d events, info says %d", len(events), info.LastSeqno)
	}
	ups := parseUpdates(t, mustRun(t, "blocks", "--json", p).stdout)
	starts := map[string]bool{}
	for _, ev := range events {
		if ev.EventType == "BLOCK_START" {
			var pl struct {
				BlockTag struct{ ID string } `json:"blockTag"`
			}
			if err := json.Unmarshal(ev.Payload, &pl); err != nil {
				t.Fatal(err)
			}
			starts[pl.BlockTag.ID] = true
		}
	}
	proposed := 0
	for _, u := range ups {
		if !starts[u.BlockID] {
			t.Errorf("update %s for block %s: no BLOCK_START with that id", u.CommitState, u.BlockID)
		}
		if u.CommitState == "Proposed" {
			proposed++
		}
	}
	if proposed == 0 {
		t.Fatal("the demo yields no executed block")
	}
	t.Logf("demo: %d events, %d updates (%d blocks executed)", len(events), len(ups), proposed)
}

// event is one watch --json object.
type event struct {
	Seqno            uint64          `json:"seqno"`
	EventType        string          `json:"eventType"`
	EventCode        uint16          `json:"eventCode"`
	RecordEpochNanos uint64          `json:"recordEpochNanos"`
	PayloadSize      uint32          `json:"payloadSize"`
	BlockSeqno       uint64          `json:"blockSeqno"`
	TxnIndex         *uint64         `json:"txnIndex"`
	AccountIndex     *uint64         `json:"accountIndex"`
	Payload          json.RawMessage `json:"payload"`
	PayloadHex       string          `json:"payloadHex"`
	Expired          bool            `json:"expired"`
	Gap              *struct{ From, To uint64 }
}

func parseEvents(t *testing.T, out string) []event {
	t.Helper()
	var evs []event
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %d: %v: %.200s", len(evs)+1, err, sc.Text())
		}
		evs = append(evs, ev)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return evs
}

// replaySource is the snapshot the live tests replay: the demo, or the small
// reference snapshot when the demo is absent.
func replaySource(t *testing.T) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "testdata", "demo.snapshot.zst")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return sharedFile(t, emn1bPath)
}

// TestReplayLive re-records a snapshot into a new ring while another
// process follows the ring with watch --json: every event must arrive, in
// order, with its type, flow tags (block seqnos remapped) and payload, and
// new sequence numbers and timestamps.
func TestReplayLive(t *testing.T) {
	src := replaySource(t)
	want := parseEvents(t, mustRun(t, "watch", "--json", src).stdout)
	ring := filepath.Join(t.TempDir(), "replayed-ring")
	startNs := uint64(time.Now().UnixNano())

	// Replay with the original spacing (the demo spans 2.4 s): watch attaches
	// while events are still being written.
	var info ringInfo
	if err := json.Unmarshal([]byte(mustRun(t, "info", "--json", src).stdout), &info); err != nil {
		t.Fatal(err)
	}
	span := info.NewestEventTime.Sub(*info.OldestEventTime)
	began := time.Now()
	replay := exec.Command(binPath, "replay", "--realtime", src, ring)
	var replayErr strings.Builder
	replay.Stderr = &replayErr
	if err := replay.Start(); err != nil {
		t.Fatal(err)
	}
	defer replay.Process.Kill()
	waitFile(t, ring)
	// blocks follows the same ring from a third process.
	blocks := exec.Command(binPath, "blocks", "--start", "oldest", ring)
	var blocksOut, blocksErr strings.Builder
	blocks.Stdout, blocks.Stderr = &blocksOut, &blocksErr
	if err := blocks.Start(); err != nil {
		t.Fatal(err)
	}
	defer blocks.Process.Kill()
	r := runCmd(t, 90*time.Second, "watch", "--json", "--start", "oldest", ring)
	if r.code != 0 {
		t.Fatalf("watch: exit status %d\n%s", r.code, tail(r.stderr))
	}
	if err := blocks.Wait(); err != nil {
		t.Fatalf("blocks: %v\n%s", err, tail(blocksErr.String()))
	}
	if want := mustRun(t, "blocks", src).stdout; blocksOut.String() != want {
		t.Errorf("blocks following the replay:\n%s\nwant (as from the snapshot):\n%s", blocksOut.String(), want)
	}
	if err := replay.Wait(); err != nil {
		t.Fatalf("replay: %v\n%s", err, tail(replayErr.String()))
	}
	// --realtime may be slower than the original (a loaded machine), never
	// faster.
	if took := time.Since(began); took < span*95/100 {
		t.Errorf("--realtime replay took %v; the original events span %v", took, span)
	}
	got := parseEvents(t, r.stdout)
	if len(got) != len(want) {
		t.Fatalf("watch saw %d events, the snapshot has %d", len(got), len(want))
	}
	remap := map[uint64]uint64{}
	for i := range want {
		w, g := want[i], got[i]
		if g.Seqno != uint64(i+1) {
			t.Fatalf("event %d has seqno %d", i+1, g.Seqno)
		}
		if g.EventCode != w.EventCode || g.PayloadSize != w.PayloadSize || string(g.Payload) != string(w.Payload) ||
			g.PayloadHex != w.PayloadHex || deref(g.TxnIndex) != deref(w.TxnIndex) ||
			deref(g.AccountIndex) != deref(w.AccountIndex) || g.Expired || g.Gap != nil {
			t.Fatalf("event %d differs:\n got %+v\nwant %+v", i+1, g, w)
		}
		if w.EventType == "BLOCK_START" {
			remap[w.Seqno] = g.Seqno
		}
		if wantTag := remap[w.BlockSeqno]; w.BlockSeqno != 0 && g.BlockSeqno != wantTag || w.BlockSeqno == 0 && g.BlockSeqno != 0 {
			t.Fatalf("event %d: block seqno %d, want %d (source %d)", i+1, g.BlockSeqno, wantTag, w.BlockSeqno)
		}
		if g.RecordEpochNanos < startNs {
			t.Fatalf("event %d: record time %d predates the replay (%d)", i+1, g.RecordEpochNanos, startNs)
		}
	}
	if !strings.Contains(replayErr.String(), "replay: progress") && !strings.Contains(replayErr.String(), "replay: done") {
		t.Errorf("replay printed no progress on stderr:\n%s", replayErr.String())
	}

	// The ring stays behind without a writer: info says so, and a snapshot
	// of it reads back the same events.
	text := mustRun(t, "info", ring).stdout
	if !strings.Contains(text, "live ring") || !strings.Contains(text, "writer:") || !strings.Contains(text, "none (no process") {
		t.Errorf("info on the finished replay:\n%s", text)
	}
	snap := filepath.Join(t.TempDir(), "again.zst")
	mustRun(t, "snapshot", ring, snap)
	again := parseEvents(t, mustRun(t, "watch", "--json", snap).stdout)
	if len(again) != len(got) {
		t.Fatalf("snapshot of the replayed ring: %d events, want %d", len(again), len(got))
	}
	for i := range again {
		a, g := again[i], got[i]
		if a.Seqno != g.Seqno || a.RecordEpochNanos != g.RecordEpochNanos || string(a.Payload) != string(g.Payload) {
			t.Fatalf("snapshot event %d differs from the live ring's", i+1)
		}
	}
	if r := runCmd(t, 30*time.Second, "snapshot", ring, snap); r.code != 1 || !strings.Contains(r.stderr, "--force") {
		t.Errorf("snapshot over an existing file: status %d, %s", r.code, r.stderr)
	}
}

// TestInterrupt: Ctrl-C ends a watch and a blocks following a live ring and
// an endless replay cleanly (status 0, no error line, complete output lines).
func TestInterrupt(t *testing.T) {
	src := replaySource(t)
	ring := filepath.Join(t.TempDir(), "loop-ring")
	const rate = 2000
	began := time.Now()
	replay, replayErr := start(t, "replay", "--loop", "--rate", strconv.Itoa(rate), src, ring)
	waitFile(t, ring)
	watch, watchErr := start(t, "watch", "--json", ring)
	blocks, blocksErr := start(t, "blocks", ring)
	time.Sleep(1500 * time.Millisecond)

	// info names the writer while it records.
	var live ringInfo
	if err := json.Unmarshal([]byte(mustRun(t, "info", "--json", ring).stdout), &live); err != nil {
		t.Fatal(err)
	}
	if live.Kind != "live" || !live.WriterAlive || !slices.Contains(live.WriterPIDs, replay.Process.Pid) || live.Scanned {
		t.Errorf("info on a ring being written: kind %s, writer alive %v, pids %v (replay is %d), scanned %v",
			live.Kind, live.WriterAlive, live.WriterPIDs, replay.Process.Pid, live.Scanned)
	}
	if text := mustRun(t, "info", ring).stdout; !strings.Contains(text, fmt.Sprintf("pid %d (alive", replay.Process.Pid)) {
		t.Errorf("info on a ring being written:\n%s", text)
	}

	// Capture the ring while it is being written: the snapshot must be
	// consistent (it once failed its zstd checksum when compressed straight
	// from the changing mapping).
	snap := filepath.Join(t.TempDir(), "live.zst")
	if r := mustRun(t, "snapshot", ring, snap); !strings.Contains(r.stderr, "snapshot: done") || r.stdout != "" {
		t.Errorf("snapshot: stdout %q; stderr (progress) %q", r.stdout, r.stderr)
	}
	var snapInfo ringInfo
	if err := json.Unmarshal([]byte(mustRun(t, "info", "--json", snap).stdout), &snapInfo); err != nil {
		t.Fatal(err)
	}
	// All but the events still in flight when the descriptors were copied.
	if present := snapInfo.LastSeqno - snapInfo.OldestSeqno + 1; !snapInfo.Scanned || snapInfo.EventsChecked == 0 || snapInfo.EventsChecked+100 < present {
		t.Errorf("snapshot of a live ring: %d events checked of %d present", snapInfo.EventsChecked, present)
	}
	if n := len(parseEvents(t, mustRun(t, "watch", "--json", snap).stdout)); uint64(n) != snapInfo.EventsChecked {
		t.Errorf("watch read %d events of the live capture, info checked %d", n, snapInfo.EventsChecked)
	}
	mustRun(t, "blocks", snap)

	for _, c := range []struct {
		name   string
		cmd    *exec.Cmd
		stderr *strings.Builder
	}{{"watch", watch, watchErr}, {"blocks", blocks, blocksErr}, {"replay", replay, replayErr}} {
		if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- c.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s after SIGINT: %v\n%s", c.name, err, c.stderr.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not stop after SIGINT", c.name)
		}
		if strings.Contains(c.stderr.String(), "monad-events: ") {
			t.Errorf("an interrupted %s is not an error:\n%s", c.name, c.stderr.String())
		}
	}
	// --rate may be slower than asked, never faster.
	var info ringInfo
	if err := json.Unmarshal([]byte(mustRun(t, "info", "--json", ring).stdout), &info); err != nil {
		t.Fatal(err)
	}
	if limit := uint64(time.Since(began).Seconds()*rate) + 10; info.LastSeqno > limit || info.LastSeqno == 0 {
		t.Errorf("--rate %d: %d events recorded in %v", rate, info.LastSeqno, time.Since(began))
	}
	if out := blocks.Stdout.(*strings.Builder).String(); !strings.Contains(out, "Proposed   block ") || !strings.HasSuffix(out, "\n") {
		t.Errorf("blocks printed no complete update before SIGINT: %q", out)
	}
	out := watch.Stdout.(*strings.Builder).String()
	evs := parseEvents(t, out) // every line a complete JSON object
	if len(evs) == 0 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("watch printed %d events before SIGINT (output ends %q)", len(evs), out[max(0, len(out)-40):])
	}
}

// start starts the binary in the background; the test kills it if it is
// still running at the end.
func start(t *testing.T, args ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, &stderr
}

// waitFile waits until path exists (a ring being created by a replay).
func waitFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear", path)
		}
	}
}

// TestWatchGap: a reader lapped by the writer reports the lost range and
// goes on with the newest event. An endless fast replay laps the smallest
// ring (2^16 descriptors) in a fraction of a second; watch then asks for
// seqno 1. (The rate keeps the 128 MiB payload buffer from wrapping within
// seconds, so that a capture on a loaded machine keeps its payloads.)
func TestWatchGap(t *testing.T) {
	src := replaySource(t)
	ring := filepath.Join(t.TempDir(), "lapped-ring")
	replay, replayErr := start(t, "replay", "--loop", "--rate", "200000", "--descriptors-shift", "16", src, ring)
	waitFile(t, ring)
	var info ringInfo
	for deadline := time.Now().Add(60 * time.Second); info.LastSeqno <= 70000; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the replay did not lap the ring in time (last seqno %d)\n%s", info.LastSeqno, replayErr.String())
		}
		if err := json.Unmarshal([]byte(mustRun(t, "info", "--json", ring).stdout), &info); err != nil {
			t.Fatal(err)
		}
	}
	// A capture of the lapped ring while the writer is still at full speed
	// holds a whole window of events (less those in flight), not an empty
	// one: the oldest slot of a live ring is always the writer's next.
	snap := filepath.Join(t.TempDir(), "lapped.zst")
	mustRun(t, "snapshot", ring, snap)
	var snapInfo ringInfo
	if err := json.Unmarshal([]byte(mustRun(t, "info", "--json", snap).stdout), &snapInfo); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(mustRun(t, "watch", snap).stdout, "\n"), "\n")
	for i, l := range lines {
		if want := fmt.Sprintf(" SEQ: %d ", snapInfo.OldestSeqno+uint64(i)); !strings.Contains(l, want) {
			t.Fatalf("capture of a lapped ring: line %d is %q, want%s", i, l, want)
		}
	}
	// Payloads are copied oldest first, so few (normally none) expire.
	expired := 0
	bounds := parseEvents(t, mustRun(t, "watch", "--json", "--types", "BLOCK_START,BLOCK_END", snap).stdout)
	for _, ev := range bounds {
		if ev.Expired {
			expired++
		}
	}
	if len(lines) < 1<<15 || uint64(len(lines)) != snapInfo.EventsChecked || expired > len(bounds)/2 {
		t.Errorf("capture of a lapped ring being written: %d events (%d of %d block boundaries expired), info checked %d of %d..%d",
			len(lines), expired, len(bounds), snapInfo.EventsChecked, snapInfo.OldestSeqno, snapInfo.LastSeqno)
	}

	if err := replay.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := replay.Wait(); err != nil {
		t.Fatalf("replay: %v\n%s", err, replayErr.String())
	}
	if err := json.Unmarshal([]byte(mustRun(t, "info", "--json", ring).stdout), &info); err != nil {
		t.Fatal(err)
	}
	last := info.LastSeqno
	if info.OldestSeqno != last-(1<<16)+1 || info.DescriptorCapacity != 1<<16 {
		t.Fatalf("lapped ring: events %d..%d, capacity %d", info.OldestSeqno, last, info.DescriptorCapacity)
	}

	r := mustRun(t, "watch", "--start", "1", ring)
	lines = strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 2 || lines[0] != fmt.Sprintf("GAP: events 1..%d lost (the writer overwrote them before they were read)", last-1) ||
		!strings.Contains(lines[1], fmt.Sprintf(" SEQ: %d ", last)) {
		t.Fatalf("watch --start 1 on a lapped ring:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "gap") {
		t.Errorf("no gap warning on stderr: %s", r.stderr)
	}
	evs := parseEvents(t, mustRun(t, "watch", "--json", "--start", "1", ring).stdout)
	if len(evs) != 2 || evs[0].Gap == nil || evs[0].Gap.From != 1 || evs[0].Gap.To != last-1 || evs[1].Seqno != last {
		t.Fatalf("watch --json --start 1 on a lapped ring: %+v", evs)
	}
	// The oldest events still present read normally.
	all := mustRun(t, "watch", "--start", "oldest", ring).stdout
	if n := strings.Count(all, "\n"); n != 1<<16 {
		t.Errorf("watch --start oldest: %d events, want %d", n, 1<<16)
	}
	// By default a live ring is read from its latest block start.
	i := strings.LastIndex(all, " BLOCK_START ")
	latestStart := all[strings.LastIndexByte(all[:i], '\n')+1:]
	latestStart = latestStart[:strings.IndexByte(latestStart, '\n')+1]
	if first, _, _ := strings.Cut(mustRun(t, "watch", "-n", "1", ring).stdout, "\n"); first+"\n" != latestStart {
		t.Errorf("watch on a live ring starts with\n%s\nwant its latest block start\n%s", first, latestStart)
	}
}

func deref(p *uint64) string {
	if p == nil {
		return "none"
	}
	return strconv.FormatUint(*p, 10)
}

// ---- command line behaviour ----

func TestUsageAndErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string // in stderr, or in stdout for status 0
	}{
		{nil, 1, "no command given"},
		{[]string{"frobnicate"}, 1, `unknown command "frobnicate"`},
		{[]string{"-h"}, 0, "monad-events blocks testdata/demo.snapshot.zst"},
		{[]string{"help", "blocks"}, 0, "Usage: monad-events blocks [flags] [RING]"},
		{[]string{"watch", "-h"}, 0, "Usage: monad-events watch"},
		{[]string{"replay", "--help"}, 0, "-realtime"},
		{[]string{"--bogus"}, 1, "flag provided but not defined: -bogus (run monad-events -h for usage)"},
		{[]string{"watch", "--bogus"}, 1, "watch: flag provided but not defined: -bogus (run monad-events watch -h for usage)"},
		{[]string{"watch", "-n", "x", "x/y"}, 1, `invalid value "x" for flag -n`},
		{[]string{"watch", "--types", "NOPE", "x/y"}, 1, `unknown event type "NOPE"`},
		{[]string{"blocks", "--state", "maybe", "x/y"}, 1, `unknown commit state "maybe"`},
		{[]string{"info", "a", "b"}, 1, "want at most 1 argument"},
		{[]string{"snapshot", "only-one"}, 1, "want 2 argument"},
		{[]string{"info", "./does/not/exist"}, 1, "does/not/exist"},
	} {
		r := runCmd(t, 30*time.Second, c.args...)
		where := r.stderr
		if c.code == 0 {
			where = r.stdout // asked-for help is output, not a diagnostic
		}
		if r.code != c.code || !strings.Contains(where, c.want) {
			t.Errorf("monad-events %q: status %d, stdout %q, stderr %q; want status %d and %q", c.args, r.code, r.stdout, r.stderr, c.code, c.want)
		}
		if c.code == 1 {
			last := strings.TrimSpace(r.stderr)
			if c.args != nil && strings.Contains(last, "\n") {
				t.Errorf("monad-events %q: want one error line, got:\n%s", c.args, r.stderr)
			}
			if i := strings.LastIndexByte(last, '\n'); i >= 0 {
				last = last[i+1:]
			}
			if !strings.HasPrefix(last, "monad-events: ") {
				t.Errorf("monad-events %q: last stderr line %q is not the one-line reason", c.args, last)
			}
		}
	}
}

// TestDefaultRingMissing: without RING the default execution ring is used;
// when it is absent the message says where it looked and offers a snapshot.
func TestDefaultRingMissing(t *testing.T) {
	if p, err := resolveRing(""); err == nil {
		t.Skipf("a default execution ring exists here (%s)", p)
	}
	for _, cmd := range []string{"info", "watch", "blocks"} {
		r := runCmd(t, 30*time.Second, cmd)
		if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "event-rings/monad-exec-events") ||
			!strings.Contains(r.stderr, "monad-events blocks testdata/demo.snapshot.zst") {
			t.Errorf("%s without a ring: status %d, %q; want one line naming where it looked and how to use a snapshot", cmd, r.code, r.stderr)
		}
	}
	// The usage of the bare command says the same.
	r := runCmd(t, 30*time.Second)
	if !strings.Contains(r.stderr, "event-rings/monad-exec-events") || !strings.Contains(r.stderr, "monad-events blocks testdata/demo.snapshot.zst") {
		t.Errorf("monad-events alone:\n%s", r.stderr)
	}
}
