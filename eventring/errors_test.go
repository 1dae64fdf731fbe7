package eventring

import (
	"strings"
	"testing"
)

// TestSentinelPrefix: every sentinel names its package, like the wrapped
// errors built around them.
func TestSentinelPrefix(t *testing.T) {
	sentinels := []error{ErrUnsupported, ErrBadMagic, ErrBadContentType, ErrBadSize, ErrFileTooShort,
		ErrBadHeader, ErrNotSnapshot, ErrSnapshotCorrupt, ErrSnapshotTrailingData, ErrSnapshotTooLarge,
		ErrSchemaMismatch, ErrClosed, ErrPayloadExpired, ErrBadDescriptor, ErrWriterGone, ErrRingInUse,
		ErrNoHugetlbfs, ErrPayloadTooLarge}
	for _, err := range sentinels {
		if !strings.HasPrefix(err.Error(), "eventring: ") {
			t.Errorf("sentinel %q does not start with \"eventring: \"", err)
		}
	}
}
