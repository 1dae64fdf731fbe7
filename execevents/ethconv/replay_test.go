package ethconv_test

import (
	"context"
	"testing"

	"github.com/monadgo/events/execevents"
)

// replayUpdates reads the whole snapshot at path through a commit tracker
// and returns its updates. Builder and tracker errors are logged and
// skipped, as a consumer would (a recording may end inside a block).
func replayUpdates(tb testing.TB, path string) []execevents.CommitUpdate {
	tb.Helper()
	ring, err := execevents.Open(path)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	tb.Cleanup(func() { ring.Close() })
	var ups []execevents.CommitUpdate
	for u, err := range execevents.CommitUpdates(context.Background(), ring, execevents.BuilderOptions{}) {
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
func replayBlocks(tb testing.TB, path string) []*execevents.ExecutedBlock {
	tb.Helper()
	var blocks []*execevents.ExecutedBlock
	for _, u := range replayUpdates(tb, path) {
		if u.State == execevents.CommitProposed {
			blocks = append(blocks, u.Block)
		}
	}
	return blocks
}
