package execevents_test

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/monadgo/events/execevents"
)

// FuzzDecodePayload feeds arbitrary payloads to every decoder: nothing may
// panic, and an accepted payload must be exactly accounted for by the fixed
// struct and the trailing arrays, which must lie inside it.
func FuzzDecodePayload(f *testing.F) {
	le := binary.LittleEndian
	for _, e := range execevents.Events {
		f.Add(uint16(e.Type), make([]byte, e.Size))
	}
	h := make([]byte, 352+5+32)
	le.PutUint32(h[336:], 5)
	le.PutUint32(h[340:], 1)
	f.Add(uint16(execevents.EventTypeTxnHeaderStart), h)
	l := make([]byte, 32+64+3)
	l[24] = 2
	le.PutUint32(l[28:], 3)
	f.Add(uint16(execevents.EventTypeTxnLog), l)
	c := make([]byte, 128+7)
	le.PutUint64(c[112:], 3)
	le.PutUint64(c[120:], 4)
	f.Add(uint16(execevents.EventTypeTxnCallFrame), c)
	f.Add(uint16(execevents.EventTypeRecordError), make([]byte, 8192))
	f.Add(uint16(999), []byte{1, 2, 3})

	f.Fuzz(func(t *testing.T, typ uint16, data []byte) {
		// Decode both from an aligned copy (as in a ring) and from the
		// fuzzer's own buffer, whatever its alignment.
		p := aligned(len(data))
		copy(p, data)
		for _, buf := range [][]byte{p, data} {
			v, err := execevents.DecodePayload(execevents.EventType(typ), buf)
			if err != nil {
				continue
			}
			within := func(s []byte) {
				if len(s) == 0 {
					return
				}
				lo := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
				at := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
				if at < lo || at+uintptr(len(s)) > lo+uintptr(len(buf)) {
					t.Fatalf("%v: trailing array outside the payload", execevents.EventType(typ))
				}
			}
			h32 := func(h []execevents.Bytes32) []byte {
				if len(h) == 0 {
					return nil
				}
				return unsafe.Slice((*byte)(unsafe.Pointer(&h[0])), 32*len(h))
			}
			e := execevents.Events[typ]
			var n int
			switch x := v.(type) {
			case execevents.TxnHeaderStartView:
				within(x.Data)
				within(h32(x.BlobVersionedHashes))
				n = e.Size + len(x.Data) + 32*len(x.BlobVersionedHashes)
				if len(x.Data) != int(x.TxnHeader.DataLength) || len(x.BlobVersionedHashes) != int(x.TxnHeader.BlobVersionedHashLength) {
					t.Fatalf("TXN_HEADER_START arrays disagree with their counts")
				}
			case execevents.TxnAccessListEntryView:
				within(h32(x.StorageKeys))
				n = e.Size + 32*len(x.StorageKeys)
			case execevents.TxnLogView:
				within(h32(x.Topics))
				within(x.Data)
				n = e.Size + 32*len(x.Topics) + len(x.Data)
			case execevents.TxnCallFrameView:
				within(x.Input)
				within(x.ReturnData)
				n = e.Size + len(x.Input) + len(x.ReturnData)
			case execevents.RecordErrorView:
				within(x.Truncated)
				n = e.Size + len(x.Truncated)
				if n != 16 && n != 8192 {
					t.Fatalf("RECORD_ERROR of %d bytes accepted", n)
				}
			default:
				n = e.Size
			}
			if n != len(buf) {
				t.Fatalf("%v: accepted %d bytes, decoded %d", execevents.EventType(typ), len(buf), n)
			}
		}
	})
}
