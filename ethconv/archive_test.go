package ethconv_test

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/monadgo/events/archive"
	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/ethconv"
	"github.com/monadgo/events/internal/testdata"
)

// TestArchiveSampleMatchesReference rebuilds the blocks of the daemon's
// block archive sample (../shared/testdata/evcap/archive-preview) and
// compares each with the finalized proposal of the same number in the
// emn-30b reference output (expected.json.zst), field for field, after
// recomputing its hashes and roots with go-ethereum (checkBlock).
func TestArchiveSampleMatchesReference(t *testing.T) {
	dir, err := archive.Open(testdata.Shared(t, "evcap/archive-preview"), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := loadExpected(t, filepath.Join(testdata.Shared(t, "exec-events/emn-30b-15m"), "expected.json.zst"))
	finalized := map[uint64]common.Hash{}
	executed := map[common.Hash]expUpdate{}
	for _, u := range want {
		if r := u.Referendum; r != nil && r.Outcome == "Finalized" {
			finalized[r.BlockTag.BlockNumber] = r.BlockTag.ID
		}
		if e := u.Executed; e != nil {
			executed[e.BlockTag.ID] = u
		}
	}
	for _, n := range []uint64{15000001, 15000002, 15000003} {
		eb, err := blocks.ReadArchivedBlock(dir, n, blocks.BuilderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkBlock(t, eb)
		id, ok := finalized[n]
		if !ok {
			t.Fatalf("the reference finalizes no block %d", n)
		}
		if common.Hash(eb.ID()) != id {
			t.Fatalf("block %d: archived proposal %v, the reference finalized %v", n, common.Hash(eb.ID()), id)
		}
		got := modelUpdate(t, blocks.Update{State: blocks.CommitProposed, Block: eb}, func(eb *blocks.ExecutedBlock) *ethconv.Block {
			b, err := ethconv.Convert(eb)
			if err != nil {
				t.Fatal(err)
			}
			return b
		})
		if w := executed[id]; !reflect.DeepEqual(w, got) {
			t.Fatalf("block %d differs from the reference: %s", n, firstDiff(w, got))
		}
	}
}
