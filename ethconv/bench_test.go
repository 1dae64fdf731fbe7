package ethconv_test

import (
	"encoding/json"
	"io"
	"path/filepath"
	"testing"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/ethconv"
	"github.com/monadgo/events/internal/testdata"
)

// benchBlock returns the largest block of the first reference case, or the
// synthetic block when the reference data is absent.
func benchBlock(b *testing.B) *blocks.ExecutedBlock {
	b.Helper()
	snaps, _ := filepath.Glob(filepath.Join(testdata.SharedDir, "exec-events", "*", "snapshot.zst"))
	if len(snaps) == 0 {
		b.Logf("no reference data under %s: using the synthetic block", testdata.SharedDir)
		return synthBlock()
	}
	var best *blocks.ExecutedBlock
	for _, eb := range replayBlocks(b, snaps[0]) {
		if best == nil || len(eb.Txns) > len(best.Txns) {
			best = eb
		}
	}
	if best == nil {
		b.Fatalf("%s yields no executed blocks", snaps[0])
	}
	return best
}

// BenchmarkConvert measures Convert (header, transactions, receipts, logs).
func BenchmarkConvert(b *testing.B) {
	eb := benchBlock(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := ethconv.Convert(eb); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(eb.Txns)), "ns/txn")
}

// BenchmarkUpdateJSON measures conversion plus the RPC rendering and
// JSON encoding of a whole block and its receipts, as cmd/monad-events does
// for each update.
func BenchmarkUpdateJSON(b *testing.B) {
	eb := benchBlock(b)
	u := blocks.Update{State: blocks.CommitProposed, Block: eb}
	enc := json.NewEncoder(io.Discard)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		obj, err := ethconv.NewUpdateJSON(u)
		if err != nil {
			b.Fatal(err)
		}
		if err := enc.Encode(obj); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(eb.Txns)), "ns/txn")
}
