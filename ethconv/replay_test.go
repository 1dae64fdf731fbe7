package ethconv_test

import (
	"context"
	"testing"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/execevents"
)

// replayUpdates reads the whole snapshot at path through a commit tracker
// and returns its updates. Builder and tracker errors are logged and
// skipped, as a consumer would (a recording may end inside a block).
func replayUpdates(tb testing.TB, path string) []blocks.CommitUpdate {
	tb.Helper()
	ring, err := execevents.Open(path)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	tb.Cleanup(func() { ring.Close() })
	var ups []blocks.CommitUpdate
	for u, err := range blocks.CommitUpdates(context.Background(), ring, blocks.BuilderOptions{}) {
		if err != nil {
			tb.Logf("%s: %v", path, err)
			continue
		}
		ups = append(ups, u)
	}
	return ups
}

// replayBlocks returns the executed blocks of the snapshot at path, in
// execution order (each block's Proposed update).
func replayBlocks(tb testing.TB, path string) []*blocks.ExecutedBlock {
	tb.Helper()
	var blks []*blocks.ExecutedBlock
	for _, u := range replayUpdates(tb, path) {
		if u.State == blocks.CommitProposed {
			blks = append(blks, u.Block)
		}
	}
	return blks
}
