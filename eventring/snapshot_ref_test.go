package eventring

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// sharedTestdata returns the path of a file under ../shared/testdata (the
// team's read-only reference data, outside the module), skipping the test
// when it is absent.
func sharedTestdata(t testing.TB, rel string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	// eventring/ -> module root -> ../shared/testdata
	p := filepath.Join(filepath.Dir(file), "..", "..", "shared", "testdata", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("reference data %s not available (needs ../shared/testdata next to the repository): %v", p, err)
	}
	return p
}

// refChecksums computes the two checksums the testdata README defines.
func refChecksums(d *Descriptor, payload []byte) (desc, pay uint64) {
	desc = d.Seqno ^ uint64(d.EventType) ^ uint64(d.PayloadSize) ^ d.RecordEpochNanos ^ d.PayloadBufOffset ^
		d.ContentExt[0] ^ d.ContentExt[1] ^ d.ContentExt[2] ^ d.ContentExt[3]
	if len(payload) >= 8 {
		pay = binary.LittleEndian.Uint64(payload)
	}
	return desc, pay
}

func TestReferenceSnapshotEMN30B(t *testing.T) {
	path := sharedTestdata(t, "exec-events/emn-30b-15m/snapshot.zst")
	ring, err := Open(path)
	require.NoError(t, err)
	defer ring.Close()

	h := ring.Header()
	require.True(t, ring.IsSnapshot())
	require.Equal(t, ContentTypeExec, h.ContentType)
	require.Equal(t, "EXEC", h.ContentTypeName)
	require.Equal(t, uint64(1<<18), h.Sizes.DescriptorCapacity)
	require.Equal(t, uint64(128<<20), h.Sizes.PayloadBufSize)
	require.Equal(t, uint64(136891), h.LastSeqno)
	requireRefSchemaHash(t, h.SchemaHash)

	rd := ring.NewReader()
	var d Descriptor
	counts := map[uint16]int{}
	var sumDesc, sumPay uint64
	buf := make([]byte, 0, 1<<20)
	n := uint64(0)
	for {
		res := rd.TryNext(&d)
		if res != Ready {
			require.Equal(t, NotReady, res, "after seqno %d", n)
			break
		}
		n++
		require.Equal(t, n, d.Seqno)
		buf, err = ring.CopyPayload(&d, buf)
		require.NoError(t, err, "seqno %d", d.Seqno)
		require.True(t, ring.PayloadValid(&d))
		a, b := refChecksums(&d, buf)
		sumDesc += a
		sumPay += a + b
		counts[d.EventType]++
	}
	require.Equal(t, h.LastSeqno, n)
	want := map[uint16]int{2: 30, 4: 30, 5: 30, 6: 30, 7: 30, 8: 30, 9: 29, 10: 6187, 11: 121, 13: 6187,
		15: 6187, 16: 6187, 17: 6187, 18: 8299, 19: 21077, 20: 6187, 21: 6247, 22: 25530, 23: 38286}
	require.Equal(t, want, counts)
	require.Equal(t, uint64(0xc335b1710fbd9b71), sumDesc)
	require.Equal(t, uint64(0x2eb87ffbe3b57c05), sumPay)
}

// requireRefSchemaHash checks the schema hash the testdata README gives for
// the reference snapshots: 8933f907…23f3.
func requireRefSchemaHash(t *testing.T, h [32]byte) {
	t.Helper()
	require.Equal(t, []byte{0x89, 0x33, 0xf9, 0x07}, h[:4])
	require.Equal(t, []byte{0x23, 0xf3}, h[30:])
}
