package main

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/holiman/uint256"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

func TestJSONName(t *testing.T) {
	for in, want := range map[string]string{
		"ChainID": "chainId", "BlockTag": "blockTag", "YParity": "yParity", "EVMOutput": "evmOutput",
		"TxnHash": "txnHash", "ID": "id", "Lo": "lo", "MaxFeePerBlobGas": "maxFeePerBlobGas", "EIP2930": "eip2930",
	} {
		if got := jsonName(in); got != want {
			t.Errorf("jsonName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAppendJSONValue(t *testing.T) {
	type inner struct{ A uint8 }
	type view struct {
		*inner
		Hash  execevents.Bytes32
		Data  []byte
		Big   uint256.Int
		Flag  bool
		Kind  execevents.EventType
		Items []uint16
		skip  int
	}
	v := view{inner: &inner{A: 7}, Data: []byte{1, 0xab}, Big: *uint256.NewInt(255), Flag: true,
		Kind: execevents.EventTypeTxnLog, Items: []uint16{1, 2}}
	v.Hash[31] = 1
	_ = v.skip
	got := string(appendJSONValue(nil, reflect.ValueOf(v)))
	want := `{"a":7,"hash":"0x0000000000000000000000000000000000000000000000000000000000000001","data":"0x01ab","big":"0xff","flag":true,"kind":"TXN_LOG","items":[1,2]}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestParseArgs(t *testing.T) {
	for _, c := range []struct {
		args []string
		pos  []string
		json bool
		n    int
	}{
		{[]string{"--json", "RING"}, []string{"RING"}, true, 0},
		{[]string{"RING", "--json", "-n", "3"}, []string{"RING"}, true, 3},
		{[]string{"A", "-n=2", "B"}, []string{"A", "B"}, false, 2},
		{[]string{"--", "-weird-name"}, []string{"-weird-name"}, false, 0},
		{[]string{"A", "--", "--json"}, []string{"A", "--json"}, false, 0},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		j := fs.Bool("json", false, "")
		n := fs.Int("n", 0, "")
		pos, err := parseArgs(io.Discard, fs, c.args, 0, 2)
		if err != nil || !slices.Equal(pos, c.pos) || *j != c.json || *n != c.n {
			t.Errorf("parseArgs(%q) = %q, json %v, n %d, %v; want %q, %v, %d", c.args, pos, *j, *n, err, c.pos, c.json, c.n)
		}
	}
}

func TestParseTypesAndStates(t *testing.T) {
	keep, err := parseTypes(" block_start, TXN_LOG ,0x18,monad_exec_block_end")
	if err != nil {
		t.Fatal(err)
	}
	for code := range keep {
		want := code == 2 || code == 18 || code == 24 || code == 6
		if keep[code] != want {
			t.Errorf("code %d kept: %v", code, keep[code])
		}
	}
	if _, err := parseTypes("BLOCK_STRAT"); err == nil {
		t.Error("a misspelt type must be refused")
	}
	states, err := parseStates("Finalized,verified")
	if err != nil || len(states) != 2 || !states[blocks.CommitFinalized] || !states[blocks.CommitVerified] {
		t.Errorf("parseStates: %v %v", states, err)
	}
}

// TestLogBuildError: an eviction is not logged as a dropped block (the
// block was delivered; only its commit tracking ended), and a byte-limit
// drop says which limit it hit, with the numbers as fields.
func TestLogBuildError(t *testing.T) {
	var buf bytes.Buffer
	e := &env{log: slog.New(slog.NewTextHandler(&buf, nil))}
	old := &blocks.ExecutedBlock{StartSeqno: 10}
	old.Start.BlockTag = execevents.BlockTag{BlockNumber: 7}
	old.Start.BlockTag.ID[31] = 0xaa
	n := 0
	logBuildError(e, &blocks.EvictedError{Block: old, State: blocks.CommitVoted, Limit: 64, Seqno: 99,
		Next: execevents.BlockTag{BlockNumber: 71}}, &n)
	evicted := buf.String()
	buf.Reset()
	logBuildError(e, &blocks.DropError{Reason: blocks.DropByteLimit, Block: execevents.BlockTag{BlockNumber: 8},
		StartSeqno: 20, Seqno: 25, TxnIndex: -1, Expected: 1 << 30, Actual: 1<<30 + 5}, &n)
	dropped := buf.String()

	for _, want := range []string{"level=WARN", "commit tracking stopped", "block=7", "state=Voted", "tracked=64", `"new block"=71`} {
		if !strings.Contains(evicted, want) {
			t.Errorf("eviction log %q lacks %q", evicted, want)
		}
	}
	if strings.Contains(evicted, "dropped") {
		t.Errorf("eviction logged as a drop: %q", evicted)
	}
	for _, want := range []string{"level=WARN", "byte limit", "block=8", `"payload bytes"=1073741829`, "limit=1073741824"} {
		if !strings.Contains(dropped, want) {
			t.Errorf("byte-limit log %q lacks %q", dropped, want)
		}
	}
}

// TestHalfRingBehind: after a lap, record resumes at most half a ring
// behind the writer in descriptors and in payload bytes, whichever binds.
func TestHalfRingBehind(t *testing.T) {
	for _, c := range []struct {
		name    string
		payload int    // bytes per event
		want    uint64 // the first event resumed at, of 300 000
	}{
		// 2^16 descriptors bind (16 B payloads: 128 MiB hold 8 M events).
		{"descriptors", 16, 300000 - 1<<15},
		// 4 KiB payloads: half the 128 MiB buffer holds 16 384 events.
		{"payload bytes", 4096, 300000 - 1<<14 + 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ring")
			rec, err := eventring.Create(path, eventring.Sizes{DescriptorCapacity: 1 << 16, PayloadBufSize: eventring.MinPayloadBufSize},
				eventring.ContentTypeExec, execevents.SchemaHash)
			if err != nil {
				t.Fatal(err)
			}
			defer rec.Close()
			p := make([]byte, c.payload)
			for range 300000 {
				if _, err := rec.Record(uint16(execevents.EventTypeBlockPerfEVMEnter), [4]uint64{}, p); err != nil {
					t.Fatal(err)
				}
			}
			ring, err := eventring.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer ring.Close()
			if got := halfRingBehind(ring, ring.OldestSeqno()); got != c.want {
				h := ring.Header()
				t.Fatalf("resumed at %d, want %d (last %d, next payload byte %d)", got, c.want, h.LastSeqno, h.NextPayloadByte)
			}
		})
	}
}
