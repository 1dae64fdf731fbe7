package ethconv_test

import (
	"context"
	"testing"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/execevents"
)

// replayUpdates reads the whole snapshot at path through a commit tracker
// and returns its updates. Notices (dropped blocks, gaps) are logged and
// skipped, as a consumer would; an error fails the test.
func replayUpdates(tb testing.TB, path string) []blocks.Update {
	tb.Helper()
	ring, err := execevents.Open(path)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	tb.Cleanup(func() { ring.Close() })
	var ups []blocks.Update
	for u, err := range blocks.Updates(context.Background(), ring, blocks.BuilderOptions{}) {
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		if u.Notice != nil {
			tb.Logf("%s: %v", path, u.Notice)
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
