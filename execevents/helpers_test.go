package execevents_test

import (
	"testing"

	"github.com/monadgo/events/internal/testdata"
)

const snap30 = "exec-events/emn-30b-15m/snapshot.zst"

// snapshots are the recordings the snapshot tests read: the project's demo
// and, when ../shared/testdata is there, the 30-block reference.
var snapshots = map[string]func(testing.TB) string{
	"demo":    func(tb testing.TB) string { return testdata.Project(tb, "demo.snapshot.zst") },
	"emn-30b": func(tb testing.TB) string { return testdata.Shared(tb, snap30) },
}
