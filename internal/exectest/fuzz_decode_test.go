package exectest_test

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// FuzzView feeds arbitrary payloads to the decoder of every event type:
// nothing may panic, and an accepted payload must be exactly accounted for
// by the fixed struct and the trailing arrays, which must lie inside it.
func FuzzView(f *testing.F) {
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
			var dec execevents.Decoder
			d := eventring.Descriptor{EventType: typ, PayloadSize: uint32(len(buf))}
			v, err := dec.View(&d, buf)
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
			var n int
			switch x := v.(type) {
			case *execevents.TxnHeaderStartEvent:
				within(x.Data)
				within(h32(x.BlobVersionedHashes))
				n = 352 + len(x.Data) + 32*len(x.BlobVersionedHashes)
				if len(x.Data) != int(x.TxnHeader.DataLength) || len(x.BlobVersionedHashes) != int(x.TxnHeader.BlobVersionedHashLength) {
					t.Fatalf("TXN_HEADER_START arrays disagree with their counts")
				}
			case *execevents.TxnAccessListEntryEvent:
				within(h32(x.StorageKeys))
				n = 28 + 32*len(x.StorageKeys)
			case *execevents.TxnLogEvent:
				within(h32(x.Topics))
				within(x.Data)
				n = 32 + 32*len(x.Topics) + len(x.Data)
			case *execevents.TxnCallFrameEvent:
				within(x.Input)
				within(x.ReturnData)
				n = 128 + len(x.Input) + len(x.ReturnData)
			case *execevents.RecordErrorEvent:
				within(x.Truncated)
				n = 16 + len(x.Truncated)
				if n != 16 && n != 8192 {
					t.Fatalf("RECORD_ERROR of %d bytes accepted", n)
				}
			case *execevents.UnknownEvent:
				n = len(x.Payload)
			default:
				n = execevents.Events[typ].Size
			}
			if v.PayloadSize() != n {
				t.Fatalf("%v: PayloadSize %d, decoded %d", execevents.EventType(typ), v.PayloadSize(), n)
			}
			if n != len(buf) {
				t.Fatalf("%v: accepted %d bytes, decoded %d", execevents.EventType(typ), len(buf), n)
			}
		}
	})
}
