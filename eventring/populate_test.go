package eventring

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRecorderPopulate: a Recorder created with Populate allocates its whole
// (otherwise sparse) file up front and records as usual.
func TestRecorderPopulate(t *testing.T) {
	if os.Getenv("EVENTRING_TEST_EMULATOR") != "" {
		t.Skip("qemu-user ignores MADV_POPULATE_WRITE")
	}
	path := filepath.Join(t.TempDir(), "ring")
	w, err := CreateWithOptions(path, minSizes, ContentTypeTest, testHash, RecorderOptions{Populate: true})
	require.NoError(t, err)
	defer w.Close()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	if allocatedBytes(t, fi) == 0 {
		t.Skip("st_blocks not reported by this file system")
	}
	require.GreaterOrEqual(t, allocatedBytes(t, fi), int64(minSizes.Total())-LargePageSize,
		"the ring's pages are allocated (a kernel older than 5.14 would refuse the hint)")
	seq := recordSelfCheck(t, w, 100)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	var d Descriptor
	require.True(t, ring.TryCopy(seq, &d))
	p, err := ring.CopyPayload(&d, nil)
	require.NoError(t, err)
	require.NoError(t, checkSelf(&d, p))
}
