package blocks_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/internal/testdata"
)

const (
	snap30 = "exec-events/emn-30b-15m/snapshot.zst"
	snap1  = "emn-1b-15m.snapshot"
)

// memEvent is an event copied out of a ring: its descriptor and an owned
// copy of its payload.
type memEvent struct {
	d eventring.Descriptor
	p []byte
}

// memSource is an in-memory PayloadSource over a list of events. The
// payload of a descriptor is found through PayloadBufOffset, which the
// tests set to the event's index in evs; expired marks payloads that
// PayloadValid must reject.
type memSource struct {
	evs     []memEvent
	expired map[uint64]bool
}

func (m *memSource) Payload(d *eventring.Descriptor) []byte {
	if d.PayloadBufOffset >= uint64(len(m.evs)) {
		return nil
	}
	return m.evs[d.PayloadBufOffset].p
}

func (m *memSource) PayloadValid(d *eventring.Descriptor) bool {
	return d.PayloadBufOffset < uint64(len(m.evs)) && !m.expired[d.PayloadBufOffset]
}

// stream returns the events of src in order, with PayloadBufOffset
// rewritten to their index and PayloadSize to their payload's length.
func newMemSource(evs []memEvent) *memSource {
	m := &memSource{evs: make([]memEvent, len(evs))}
	for i, e := range evs {
		// Like a ring, the source holds exactly payload_size bytes for a
		// descriptor: forged payloads carry their own size.
		e.d.PayloadBufOffset, e.d.PayloadSize = uint64(i), uint32(len(e.p))
		m.evs[i] = e
	}
	return m
}

// loadSnapshot returns every event of a reference snapshot, from seqno 1 to
// the end, with payloads copied out (testdata.Events checks them).
func loadSnapshot(t testing.TB, rel string) []memEvent {
	t.Helper()
	all := testdata.Events(t, testdata.Shared(t, rel))
	evs := make([]memEvent, len(all))
	for i, e := range all {
		evs[i] = memEvent{e.Descriptor, e.Payload}
	}
	return evs
}

// equalBlocks compares two blocks field by field (reflect.DeepEqual is too
// slow for the robustness tests' thousands of transactions).
func equalBlocks(a, b *blocks.ExecutedBlock) bool {
	if a.Start != b.Start || a.End != b.End || a.StartSeqno != b.StartSeqno || a.EndSeqno != b.EndSeqno ||
		len(a.Txns) != len(b.Txns) || !equalAccesses(a.Prologue, b.Prologue) || !equalAccesses(a.Epilogue, b.Epilogue) {
		return false
	}
	for i := range a.Txns {
		x, y := &a.Txns[i], &b.Txns[i]
		if x.Index != y.Index || x.Header != y.Header || x.Receipt != y.Receipt ||
			!bytes.Equal(x.Input, y.Input) || !slices.Equal(x.BlobHashes, y.BlobHashes) ||
			!slices.Equal(x.AuthList, y.AuthList) || !equalAccesses(x.Accesses, y.Accesses) ||
			!slices.EqualFunc(x.AccessList, y.AccessList, func(p, q blocks.AccessTuple) bool {
				return p.Address == q.Address && slices.Equal(p.StorageKeys, q.StorageKeys)
			}) ||
			!slices.EqualFunc(x.Logs, y.Logs, func(p, q blocks.Log) bool {
				return p.Index == q.Index && p.BlockIndex == q.BlockIndex && p.Address == q.Address && slices.Equal(p.Topics, q.Topics) && bytes.Equal(p.Data, q.Data)
			}) ||
			!slices.EqualFunc(x.CallFrames, y.CallFrames, func(p, q blocks.CallFrame) bool {
				return p.TxnCallFrame == q.TxnCallFrame && bytes.Equal(p.Input, q.Input) && bytes.Equal(p.ReturnData, q.ReturnData)
			}) {
			return false
		}
	}
	return true
}

func equalAccesses(a, b []blocks.AccountAccessRecord) bool {
	return slices.EqualFunc(a, b, func(p, q blocks.AccountAccessRecord) bool {
		return p.AccountAccess == q.AccountAccess && slices.Equal(p.Storage, q.Storage) && slices.Equal(p.Transient, q.Transient)
	})
}

// specTagNumberOffset is where spec §7.5 puts the block number in the
// payloads that begin with a block tag (BLOCK_START, BLOCK_QC,
// BLOCK_FINALIZED): after the tag's 32-byte id. BLOCK_VERIFIED's payload is
// the number alone. Tests write and read it by the spec's numbers rather
// than through the generated layout, so that they check the latter.
const specTagNumberOffset = 32
