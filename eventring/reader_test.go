package eventring

import (
	"context"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestTryNextResultTable writes seqno values straight into a slot and
// checks TryNext against the table of spec §3.2, where R is the last
// sequence number read and s the slot's seqno: s == R+1 is Ready; s < R
// is NotReady; s == R == 0 is NotReady; s > R+1 and s == R != 0 are Gap.
// Only Ready advances the reader; TryCopy never does.
func TestTryNextResultTable(t *testing.T) {
	w, _ := newTestRecorder(t)
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	const C = MinDescriptorCapacity
	for _, tc := range []struct {
		name string
		r, s uint64
		want Result
	}{
		{"first event", 0, 1, Ready},
		{"next event", 5, 6, Ready},
		{"next event, second lap", C + 5, C + 6, Ready},
		{"empty ring from the start", 0, 0, NotReady},
		{"slot being filled", 5, 0, NotReady},
		{"previous lap", C + 5, 6, NotReady},
		{"s just below R", 5, 4, NotReady},
		{"s == R != 0", 5, 5, Gap},
		{"one event skipped", 5, 7, Gap},
		{"lapped", 5, C + 6, Gap},
		{"far future", 0, 1 << 40, Gap},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The slot TryNext reads is R & (C-1), written through the
			// recorder's own mapping of the file.
			raw := (*Descriptor)(unsafe.Add(w.descs, (tc.r&(C-1))*DescriptorSize))
			raw.Seqno, raw.EventType, raw.PayloadSize = tc.s, 9, 0
			require.Equal(t, tc.s, ring.slot(tc.r).Seqno, "the reader's mapping shows the slot")

			rd := ring.NewReader()
			rd.SetSeqno(tc.r + 1)
			var d Descriptor
			require.Equal(t, tc.want, rd.TryCopy(&d), "TryCopy")
			require.Equal(t, tc.r, rd.LastSeqno(), "TryCopy never advances")
			require.Equal(t, tc.want, rd.TryNext(&d), "TryNext")
			if tc.want == Ready {
				require.Equal(t, tc.s, d.Seqno)
				require.Equal(t, uint16(9), d.EventType)
				require.Equal(t, tc.s, rd.LastSeqno(), "Ready advances")
			} else {
				require.Equal(t, tc.r, rd.LastSeqno(), "%v leaves the reader in place", tc.want)
			}
			raw.Seqno = 0
		})
	}
}

// TestReadingDoesNotAllocate: TryNext, Payload, PayloadValid, CopyPayload
// into a large enough buffer and Next allocate nothing per event.
func TestReadingDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	w, _ := newTestRecorder(t)
	for i := range 1000 {
		recordSelfCheck(t, w, uint64(16+i%500))
	}
	ring, err := w.Ring()
	require.NoError(t, err)
	defer ring.Close()
	rd := ring.NewReader()
	var d Descriptor
	buf := make([]byte, 0, 4096)
	ctx := context.Background()
	next := uint64(1)
	allocs := testing.AllocsPerRun(5000, func() {
		if next > 1000 {
			next = 1
		}
		rd.SetSeqno(next)
		next++
		if rd.TryNext(&d) != Ready {
			t.Fatal("not ready")
		}
		if !ring.PayloadValid(&d) || len(ring.Payload(&d)) != int(d.PayloadSize) {
			t.Fatal("bad payload")
		}
		var err error
		if buf, err = ring.CopyPayload(&d, buf); err != nil {
			t.Fatal(err)
		}
		rd.SetSeqno(d.Seqno)
		if err := rd.Next(ctx, &d); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}
