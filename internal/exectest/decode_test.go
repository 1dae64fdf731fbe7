package exectest_test

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"unsafe"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/internal/testdata"
)

// aligned returns an n-byte slice whose first byte is 16-byte aligned, like
// every payload in a ring (payload offsets advance in 16-byte granules).
func aligned(n int) []byte {
	buf := make([]uint64, (n+16)/8+2)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(buf)*8)
	off := int((16 - uintptr(unsafe.Pointer(&b[0]))%16) % 16)
	return b[off : off+n : off+n]
}

// fill sets every settable field of v (a pointer to a payload struct) to
// random non-zero values; padding fields ("_") cannot be set and stay zero.
func fill(rng *rand.Rand, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		fill(rng, v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).Name != "_" {
				fill(rng, v.Field(i))
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			fill(rng, v.Index(i))
		}
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(rng.Uint64() | 1)
	case reflect.Int32, reflect.Int64:
		v.SetInt(int64(rng.Uint64() | 1))
	}
}

// decode decodes payload p of an event of type typ with a fresh Decoder,
// as Decoder.View does for a descriptor of that type.
func decode(typ execevents.EventType, p []byte) (execevents.Event, error) {
	var dec execevents.Decoder
	d := eventring.Descriptor{Seqno: 1, EventType: uint16(typ), PayloadSize: uint32(len(p))}
	return dec.View(&d, p)
}

// viewAs decodes p as an event of type typ and returns it as E.
func viewAs[E execevents.Event](typ execevents.EventType, p []byte) (E, error) {
	var zero E
	ev, err := decode(typ, p)
	if err != nil {
		return zero, err
	}
	return ev.(E), nil
}

// payloadOf returns the payload value of a typed event: what its embedded
// pointer points to, or its scalar Code.
func payloadOf(ev execevents.Event) any {
	v := reflect.ValueOf(ev).Elem().Field(1)
	if v.Kind() == reflect.Pointer {
		return v.Elem().Interface()
	}
	return v.Interface()
}

// bytesOf returns the memory of *p.
func bytesOf[T any](p *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), unsafe.Sizeof(*p))
}

// sample is one payload to round-trip and what decoding it must give.
type sample struct {
	typ     execevents.EventType
	payload []byte
	check   func(t *testing.T, got execevents.Event)
}

// samples builds, for every event type, a payload with random field values
// and trailing arrays whose lengths match their counts.
func samples(rng *rand.Rand) []sample {
	var s []sample
	fixed := func(typ execevents.EventType, v any) {
		rv := reflect.ValueOf(v)
		fill(rng, rv)
		mem := unsafe.Slice((*byte)(rv.UnsafePointer()), rv.Elem().Type().Size())
		want := rv.Elem().Interface()
		s = append(s, sample{typ, append([]byte(nil), mem...), func(t *testing.T, got execevents.Event) {
			if got.Type() != typ {
				t.Fatalf("%v: decoded %T", typ, got)
			}
			if g := payloadOf(got); !reflect.DeepEqual(g, want) {
				t.Errorf("%v: decoded %+v, want %+v", typ, g, want)
			}
		}})
	}
	randBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	randHashes := func(n int) []execevents.Bytes32 {
		h := make([]execevents.Bytes32, n)
		for i := range h {
			copy(h[i][:], randBytes(32))
		}
		return h
	}
	hashBytes := func(h []execevents.Bytes32) []byte {
		var b []byte
		for _, x := range h {
			b = append(b, x[:]...)
		}
		return b
	}

	for _, e := range execevents.Events {
		switch e.Type {
		case execevents.EventTypeNone:
		case execevents.EventTypeRecordError:
			for _, trunc := range []int{0, 8176} {
				re := eventring.RecordError{ErrorType: eventring.RecordErrorOverflowExpire, DroppedEventType: 19,
					TruncatedPayloadSize: uint32(trunc), RequestedPayloadSize: 1 << 30}
				tail := randBytes(trunc)
				s = append(s, sample{e.Type, append(append([]byte(nil), bytesOf(&re)...), tail...), func(t *testing.T, got execevents.Event) {
					v := got.(*execevents.RecordErrorEvent)
					if *v.RecordError != re || string(v.Truncated) != string(tail) {
						t.Errorf("RECORD_ERROR: decoded %+v with %d truncated bytes, want %+v with %d", *v.RecordError, len(v.Truncated), re, len(tail))
					}
				}})
			}
		case execevents.EventTypeBlockStart:
			fixed(e.Type, new(execevents.BlockStart))
		case execevents.EventTypeBlockReject:
			fixed(e.Type, new(execevents.BlockReject))
		case execevents.EventTypeBlockEnd:
			fixed(e.Type, new(execevents.BlockEnd))
		case execevents.EventTypeBlockQC:
			fixed(e.Type, new(execevents.BlockQC))
		case execevents.EventTypeBlockFinalized:
			fixed(e.Type, new(execevents.BlockTag))
		case execevents.EventTypeBlockVerified:
			fixed(e.Type, new(execevents.BlockVerified))
		case execevents.EventTypeTxnAuthListEntry:
			fixed(e.Type, new(execevents.TxnAuthListEntry))
		case execevents.EventTypeTxnReject:
			fixed(e.Type, new(execevents.TxnReject))
		case execevents.EventTypeTxnEVMOutput:
			fixed(e.Type, new(execevents.TxnEVMOutput))
		case execevents.EventTypeAccountAccessListHeader:
			fixed(e.Type, new(execevents.AccountAccessListHeader))
		case execevents.EventTypeAccountAccess:
			fixed(e.Type, new(execevents.AccountAccess))
		case execevents.EventTypeStorageAccess:
			fixed(e.Type, new(execevents.StorageAccess))
		case execevents.EventTypeEVMError:
			fixed(e.Type, new(execevents.EVMError))
		case execevents.EventTypeTxnHeaderStart:
			for _, n := range [][2]int{{0, 0}, {100, 0}, {3, 2}, {0, 6}} {
				var h execevents.TxnHeaderStart
				fill(rng, reflect.ValueOf(&h))
				h.TxnHeader.DataLength, h.TxnHeader.BlobVersionedHashLength = uint32(n[0]), uint32(n[1])
				data, blobs := randBytes(n[0]), randHashes(n[1])
				p := append(append(append([]byte(nil), bytesOf(&h)...), data...), hashBytes(blobs)...)
				s = append(s, sample{e.Type, p, func(t *testing.T, got execevents.Event) {
					v := got.(*execevents.TxnHeaderStartEvent)
					if *v.TxnHeaderStart != h || string(v.Data) != string(data) || !sameHashes(v.BlobVersionedHashes, blobs) {
						t.Errorf("TXN_HEADER_START %v: decoded %d data bytes, %d blob hashes, header equal %v", n, len(v.Data), len(v.BlobVersionedHashes), *v.TxnHeaderStart == h)
					}
				}})
			}
		case execevents.EventTypeTxnAccessListEntry:
			for _, n := range []int{0, 1, 5} {
				var a execevents.TxnAccessListEntry
				fill(rng, reflect.ValueOf(&a))
				a.Entry.StorageKeyCount = uint32(n)
				keys := randHashes(n)
				p := append(append([]byte(nil), bytesOf(&a)...), hashBytes(keys)...)
				s = append(s, sample{e.Type, p, func(t *testing.T, got execevents.Event) {
					v := got.(*execevents.TxnAccessListEntryEvent)
					if *v.TxnAccessListEntry != a || !sameHashes(v.StorageKeys, keys) {
						t.Errorf("TXN_ACCESS_LIST_ENTRY %d: decoded %d keys", n, len(v.StorageKeys))
					}
				}})
			}
		case execevents.EventTypeTxnLog:
			for _, n := range [][2]int{{0, 0}, {4, 0}, {0, 77}, {2, 64}} {
				var l execevents.EthTxnLog
				fill(rng, reflect.ValueOf(&l))
				l.TopicCount, l.DataLength = uint8(n[0]), uint32(n[1])
				topics, data := randHashes(n[0]), randBytes(n[1])
				p := append(append(append([]byte(nil), bytesOf(&l)...), hashBytes(topics)...), data...)
				s = append(s, sample{e.Type, p, func(t *testing.T, got execevents.Event) {
					v := got.(*execevents.TxnLogEvent)
					if *v.EthTxnLog != l || !sameHashes(v.Topics, topics) || string(v.Data) != string(data) {
						t.Errorf("TXN_LOG %v: decoded %d topics, %d data bytes", n, len(v.Topics), len(v.Data))
					}
				}})
			}
		case execevents.EventTypeTxnCallFrame:
			for _, n := range [][2]int{{0, 0}, {68, 0}, {0, 32}, {5, 9}} {
				var c execevents.TxnCallFrame
				fill(rng, reflect.ValueOf(&c))
				c.InputLength, c.ReturnLength = uint64(n[0]), uint64(n[1])
				in, ret := randBytes(n[0]), randBytes(n[1])
				p := append(append(append([]byte(nil), bytesOf(&c)...), in...), ret...)
				s = append(s, sample{e.Type, p, func(t *testing.T, got execevents.Event) {
					v := got.(*execevents.TxnCallFrameEvent)
					if *v.TxnCallFrame != c || string(v.Input) != string(in) || string(v.ReturnData) != string(ret) {
						t.Errorf("TXN_CALL_FRAME %v: decoded %d input, %d return bytes", n, len(v.Input), len(v.ReturnData))
					}
				}})
			}
		default:
			if e.PayloadCType != "" {
				panic("samples: no sample for " + e.Name)
			}
			s = append(s, sample{e.Type, nil, func(t *testing.T, got execevents.Event) {
				if got.Type() != e.Type || got.PayloadSize() != 0 || reflect.ValueOf(got).Elem().NumField() != 1 {
					t.Errorf("%v: decoded %#v from an empty payload", e.Type, got)
				}
			}})
		}
	}
	return s
}

func sameHashes(a, b []execevents.Bytes32) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

// TestDecodeRoundTrip records a sample of every event type with the
// eventring Recorder, reads the ring back and decodes every payload in
// place.
func TestDecodeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ss := samples(rng)
	covered := map[execevents.EventType]bool{}
	path := filepath.Join(t.TempDir(), "ring")
	w, err := eventring.Create(path, eventring.Sizes{DescriptorCapacity: 1 << 16, PayloadBufSize: 1 << 27},
		execevents.RingContentType, execevents.SchemaHash)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i, s := range ss {
		if _, err := w.Record(uint16(s.typ), [4]uint64{uint64(i)}, s.payload); err != nil {
			t.Fatalf("Record(%v): %v", s.typ, err)
		}
	}
	ring, err := execevents.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	rd := ring.NewReader()
	rd.SetSeqno(1)
	var d eventring.Descriptor
	var dec, dec2 execevents.Decoder
	for i := 0; ; i++ {
		if res := rd.TryNext(&d); res != eventring.Ready {
			if i != len(ss) {
				t.Fatalf("read %d events (%v), recorded %d", i, res, len(ss))
			}
			break
		}
		s := ss[d.ContentExt[0]]
		if execevents.EventType(d.EventType) != s.typ || int(d.PayloadSize) != len(s.payload) {
			t.Fatalf("seqno %d: type %d size %d, recorded %v size %d", d.Seqno, d.EventType, d.PayloadSize, s.typ, len(s.payload))
		}
		got, err := dec.View(&d, ring.Payload(&d))
		if err != nil {
			t.Errorf("View(%v): %v", s.typ, err)
			continue
		}
		if got.PayloadSize() != len(s.payload) {
			t.Errorf("%v: PayloadSize %d, payload of %d bytes", s.typ, got.PayloadSize(), len(s.payload))
		}
		s.check(t, got)
		// Read and ReadEvent (owned copies) decode the same event.
		for _, read := range []func() (execevents.Event, error){
			func() (execevents.Event, error) { return dec2.Read(ring, &d) },
			func() (execevents.Event, error) { return execevents.ReadEvent(ring, &d) },
		} {
			c, err := read()
			if err != nil {
				t.Errorf("%v: %v", s.typ, err)
				continue
			}
			s.check(t, c)
		}
		covered[s.typ] = true
	}
	for _, e := range execevents.Events[1:] {
		if !covered[e.Type] {
			t.Errorf("event type %v not round-tripped", e.Type)
		}
	}
}

// TestDecodeRecordErrorOverflow records a TXN_CALL_FRAME too large for the
// ring: the recorder stores an 8192-byte RECORD_ERROR instead (spec §5.6),
// which must decode with the dropped event's first 8176 bytes.
func TestDecodeRecordErrorOverflow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ring")
	w, err := eventring.Create(path, eventring.Sizes{DescriptorCapacity: 1 << 16, PayloadBufSize: 1 << 27},
		execevents.RingContentType, execevents.SchemaHash)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// 128 MiB of input: past S - 2·16 MiB, so it would expire at birth.
	var cf execevents.TxnCallFrame
	cf.Index, cf.InputLength = 3, 1<<27
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i)
	}
	parts := [][]byte{bytesOf(&cf)}
	for range 128 {
		parts = append(parts, chunk)
	}
	if _, err := w.Record(uint16(execevents.EventTypeTxnCallFrame), [4]uint64{}, parts...); !errors.Is(err, eventring.ErrPayloadTooLarge) {
		t.Fatalf("Record of a 128 MiB payload: %v, want ErrPayloadTooLarge", err)
	}
	ring, err := execevents.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	rd := ring.NewReader()
	rd.SetSeqno(1)
	var d eventring.Descriptor
	if rd.TryNext(&d) != eventring.Ready {
		t.Fatal("no event")
	}
	if execevents.EventType(d.EventType) != execevents.EventTypeRecordError || d.PayloadSize != 8192 {
		t.Fatalf("recorded %v with %d bytes", execevents.EventType(d.EventType), d.PayloadSize)
	}
	v, err := viewAs[*execevents.RecordErrorEvent](execevents.EventTypeRecordError, ring.Payload(&d))
	if err != nil {
		t.Fatal(err)
	}
	if v.ErrorType != eventring.RecordErrorOverflowExpire || v.DroppedEventType != uint16(execevents.EventTypeTxnCallFrame) ||
		v.TruncatedPayloadSize != 8176 || v.RequestedPayloadSize != 128+1<<27 || len(v.Truncated) != 8176 {
		t.Fatalf("RECORD_ERROR %+v with %d truncated bytes", *v.RecordError, len(v.Truncated))
	}
	// The truncated bytes start with the dropped fixed struct, then its
	// input; they must not decode as a complete event.
	if got, err := decode(execevents.EventTypeTxnCallFrame, v.Truncated); !errors.Is(err, execevents.ErrPayloadShort) {
		t.Errorf("truncated TXN_CALL_FRAME decoded: %v, %v", got, err)
	}
	frame := (*execevents.TxnCallFrame)(unsafe.Pointer(&v.Truncated[0]))
	if *frame != cf || v.Truncated[128+200] != 200 {
		t.Errorf("truncated payload does not start with the dropped event")
	}
}

// TestDecodeSpecOffsets writes values at the absolute payload offsets the
// spec documents (§7.6, §8.2) and checks the decoded fields.
func TestDecodeSpecOffsets(t *testing.T) {
	le := binary.LittleEndian
	p := aligned(528)
	le.PutUint64(p[32:], 15000001)    // block_tag.block_number
	le.PutUint64(p[64:], 1<<63|5)     // proposal_epoch_nanos lo
	le.PutUint64(p[72:], 7)           // proposal_epoch_nanos hi
	le.PutUint64(p[280:], 15000001)   // eth_block_input.number
	le.PutUint64(p[296:], 1656612345) // eth_block_input.timestamp
	le.PutUint64(p[384:], 42)         // eth_block_input.base_fee_per_gas limb 0
	le.PutUint64(p[448:], 93)         // eth_block_input.txn_count
	p[145] = 0xAB                     // parent_eth_hash[0]
	b, err := viewAs[*execevents.BlockStartEvent](execevents.EventTypeBlockStart, p)
	if err != nil {
		t.Fatal(err)
	}
	if b.BlockTag.BlockNumber != 15000001 || b.EthBlockInput.Number != 15000001 || b.EthBlockInput.Timestamp != 1656612345 ||
		b.EthBlockInput.BaseFeePerGas.Uint64() != 42 || b.EthBlockInput.TxnCount != 93 || b.ParentEthHash[0] != 0xAB ||
		b.ProposalEpochNanos != (execevents.Uint128{Lo: 1<<63 | 5, Hi: 7}) {
		t.Errorf("BLOCK_START fields at spec offsets decoded as %+v", b)
	}
	if got, want := b.ProposalEpochNanos.String(), "138350580552821637125"; got != want {
		t.Errorf("Uint128.String() = %s, want %s", got, want) // 7·2^64 + 2^63 + 5
	}

	h := aligned(352 + 3 + 64)
	le.PutUint32(h[336:], 3) // txn_header.data_length
	le.PutUint32(h[340:], 2) // txn_header.blob_versioned_hash_length
	le.PutUint32(h[344:], 9) // txn_header.access_list_count
	h[352], h[355] = 1, 0xEE
	v, err := viewAs[*execevents.TxnHeaderStartEvent](execevents.EventTypeTxnHeaderStart, h)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Data) != 3 || v.Data[0] != 1 || len(v.BlobVersionedHashes) != 2 || v.BlobVersionedHashes[0][0] != 0xEE || v.TxnHeader.AccessListCount != 9 {
		t.Errorf("TXN_HEADER_START decoded as data %x, %d blob hashes, access list count %d", v.Data, len(v.BlobVersionedHashes), v.TxnHeader.AccessListCount)
	}

	l := aligned(32 + 32 + 5)
	l[24] = 1               // topic_count
	le.PutUint32(l[28:], 5) // data_length
	if lv, err := viewAs[*execevents.TxnLogEvent](execevents.EventTypeTxnLog, l); err != nil || len(lv.Topics) != 1 || len(lv.Data) != 5 {
		t.Errorf("TXN_LOG: %d topics, %d data bytes, err %v", len(lv.Topics), len(lv.Data), err)
	}
	a := aligned(28 + 64)
	le.PutUint32(a[24:], 2) // entry.storage_key_count
	if av, err := viewAs[*execevents.TxnAccessListEntryEvent](execevents.EventTypeTxnAccessListEntry, a); err != nil || len(av.StorageKeys) != 2 {
		t.Errorf("TXN_ACCESS_LIST_ENTRY: %d keys, err %v", len(av.StorageKeys), err)
	}
	c := aligned(128 + 4 + 2)
	le.PutUint64(c[112:], 4) // input_length
	le.PutUint64(c[120:], 2) // return_length
	if cv, err := viewAs[*execevents.TxnCallFrameEvent](execevents.EventTypeTxnCallFrame, c); err != nil || len(cv.Input) != 4 || len(cv.ReturnData) != 2 {
		t.Errorf("TXN_CALL_FRAME: %d input, %d return bytes, err %v", len(cv.Input), len(cv.ReturnData), err)
	}
}

// wantPayloadError checks that err is a *PayloadError for typ matching
// sentinel (and ErrBadPayload).
func wantPayloadError(t *testing.T, what string, typ execevents.EventType, err, sentinel error) {
	t.Helper()
	var pe *execevents.PayloadError
	switch {
	case err == nil:
		t.Errorf("%s: no error, want %v", what, sentinel)
	case !errors.As(err, &pe) || pe.EventType != typ:
		t.Errorf("%s: error %v (%T) is not a *PayloadError for %v", what, err, err, typ)
	case !errors.Is(err, sentinel) || !errors.Is(err, execevents.ErrBadPayload):
		t.Errorf("%s: error %v does not match %v and ErrBadPayload", what, err, sentinel)
	}
}

// TestDecodeErrors feeds short, long, misaligned and overflowing payloads
// to every decoder.
func TestDecodeErrors(t *testing.T) {
	for _, e := range execevents.Events {
		if e.Type == execevents.EventTypeNone {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			if e.Size == 0 {
				_, err := decode(e.Type, aligned(1))
				wantPayloadError(t, "1-byte payload", e.Type, err, execevents.ErrPayloadLong)
				return
			}
			_, err := decode(e.Type, aligned(e.Size-1))
			wantPayloadError(t, "short by one", e.Type, err, execevents.ErrPayloadShort)
			_, err = decode(e.Type, aligned(0))
			wantPayloadError(t, "empty", e.Type, err, execevents.ErrPayloadShort)
			// All counts are zero in a zeroed payload, so one extra byte
			// is too long for every type.
			_, err = decode(e.Type, aligned(e.Size+1))
			wantPayloadError(t, "long by one", e.Type, err, execevents.ErrPayloadLong)
			if e.Type != execevents.EventTypeRecordError {
				if _, err := decode(e.Type, aligned(e.Size)); err != nil {
					t.Errorf("zeroed %d-byte payload: %v", e.Size, err)
				}
			}
			// Misaligned: a view one byte into an aligned buffer. Every
			// payload type holds integers wider than a byte.
			buf := aligned(e.Size + 1)
			_, err = decode(e.Type, buf[1:])
			wantPayloadError(t, "misaligned", e.Type, err, execevents.ErrPayloadMisaligned)
		})
	}
	_, err := decode(execevents.EventTypeBlockStart, aligned(532)[4:])
	wantPayloadError(t, "misaligned BLOCK_START", execevents.EventTypeBlockStart, err, execevents.ErrPayloadMisaligned)

	// Codes the schema does not define, and NONE, are UnknownEvents.
	for _, typ := range []execevents.EventType{execevents.EventTypeCount, execevents.EventTypeNone} {
		if ev, err := decode(typ, []byte{1}); err != nil || ev.(*execevents.UnknownEvent).Payload[0] != 1 {
			t.Errorf("code %d: %T, %v", typ, ev, err)
		}
	}
	_, err = decode(execevents.EventTypeRecordError, aligned(100))
	wantPayloadError(t, "100-byte RECORD_ERROR", execevents.EventTypeRecordError, err, execevents.ErrPayloadLong)

	le := binary.LittleEndian
	// Trailing counts that exceed the payload, including ones whose byte
	// length overflows 64 bits.
	cf := aligned(128 + 10)
	le.PutUint64(cf[112:], math.MaxUint64)
	le.PutUint64(cf[120:], 1)
	_, err = decode(execevents.EventTypeTxnCallFrame, cf)
	wantPayloadError(t, "input_length 2^64-1", execevents.EventTypeTxnCallFrame, err, execevents.ErrPayloadShort)
	le.PutUint64(cf[112:], 9)
	le.PutUint64(cf[120:], math.MaxUint64-8) // sum overflows
	_, err = decode(execevents.EventTypeTxnCallFrame, cf)
	wantPayloadError(t, "lengths summing past 2^64", execevents.EventTypeTxnCallFrame, err, execevents.ErrPayloadShort)
	le.PutUint64(cf[120:], 0)
	_, err = decode(execevents.EventTypeTxnCallFrame, cf)
	wantPayloadError(t, "one byte left over", execevents.EventTypeTxnCallFrame, err, execevents.ErrPayloadLong)

	h := aligned(352 + 40)
	le.PutUint32(h[336:], 8)
	le.PutUint32(h[340:], math.MaxUint32) // blob hash count × 32 overflows 32 bits
	_, err = decode(execevents.EventTypeTxnHeaderStart, h)
	wantPayloadError(t, "blob hash count 2^32-1", execevents.EventTypeTxnHeaderStart, err, execevents.ErrPayloadShort)
	var pe *execevents.PayloadError
	if errors.As(err, &pe) && pe.Want != 352+8+32*math.MaxUint32 {
		t.Errorf("Want = %d, want %d", pe.Want, uint64(352+8+32*math.MaxUint32))
	}

	l := aligned(32 + 31)
	l[24] = 1
	_, err = decode(execevents.EventTypeTxnLog, l)
	wantPayloadError(t, "topic cut short", execevents.EventTypeTxnLog, err, execevents.ErrPayloadShort)

	a := aligned(28 + 32)
	le.PutUint32(a[24:], 2)
	_, err = decode(execevents.EventTypeTxnAccessListEntry, a)
	wantPayloadError(t, "one of two keys", execevents.EventTypeTxnAccessListEntry, err, execevents.ErrPayloadShort)
}

// snapshotCounts are the event counts per type of the emn-30b-15m
// snapshot, from shared/testdata/README.md.
var snapshotCounts = map[execevents.EventType]int{
	2: 30, 4: 30, 5: 30, 6: 30, 7: 30, 8: 30, 9: 29, 10: 6187, 11: 121, 13: 6187, 15: 6187, 16: 6187,
	17: 6187, 18: 8299, 19: 21077, 20: 6187, 21: 6247, 22: 25530, 23: 38286,
}

// specFixedSize are the fixed payload sizes of spec §8.2-§8.4 (0 for the
// empty payloads of §8.3).
var specFixedSize = map[execevents.EventType]int{
	2: 528, 3: 4, 6: 360, 7: 56, 8: 40, 9: 8, 10: 352, 11: 28, 12: 168, 14: 4, 17: 24, 18: 32, 19: 128,
	21: 8, 22: 152, 23: 124, 24: 16,
}

// TestDecodeSnapshotSmall decodes every event of the one-block reference
// snapshot.
func TestDecodeSnapshotSmall(t *testing.T) {
	ring, err := execevents.Open(testdata.Shared(t, "emn-1b-15m.snapshot"))
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	rd := ring.NewReader()
	rd.SetSeqno(1)
	var d eventring.Descriptor
	var dec execevents.Decoder
	n := 0
	for ; rd.TryNext(&d) == eventring.Ready; n++ {
		if _, err := dec.View(&d, ring.Payload(&d)); err != nil {
			t.Fatalf("seqno %d: %v", d.Seqno, err)
		}
	}
	if n != 6597 {
		t.Errorf("decoded %d events, the snapshot has 6597", n)
	}
}

// TestDecodeSnapshot decodes every event of the emn-30b-15m reference
// snapshot in place; decoders insist on an exact length match.
func TestDecodeSnapshot(t *testing.T) {
	path := testdata.Shared(t, "exec-events/emn-30b-15m/snapshot.zst")
	ring, err := execevents.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	rd := ring.NewReader()
	rd.SetSeqno(1)
	counts := map[execevents.EventType]int{}
	var d eventring.Descriptor
	var dec execevents.Decoder
	var trailingBytes uint64
	for rd.TryNext(&d) == eventring.Ready {
		typ := execevents.EventType(d.EventType)
		p := ring.Payload(&d)
		v, err := dec.View(&d, p)
		if err != nil {
			t.Fatalf("seqno %d: %v", d.Seqno, err)
		}
		// Spec §8.1: payload_size == fixed size (§8.2-§8.4) + the
		// trailing arrays, exactly.
		var trail int
		switch x := v.(type) {
		case *execevents.TxnHeaderStartEvent:
			trail = len(x.Data) + 32*len(x.BlobVersionedHashes)
		case *execevents.TxnLogEvent:
			trail = 32*len(x.Topics) + len(x.Data)
		case *execevents.TxnCallFrameEvent:
			trail = len(x.Input) + len(x.ReturnData)
		case *execevents.TxnAccessListEntryEvent:
			trail = 32 * len(x.StorageKeys)
		}
		if v.PayloadSize() != int(d.PayloadSize) {
			t.Fatalf("seqno %d %v: PayloadSize %d, payload_size %d", d.Seqno, typ, v.PayloadSize(), d.PayloadSize)
		}
		if want := specFixedSize[typ] + trail; int(d.PayloadSize) != want || len(p) != want {
			t.Fatalf("seqno %d %v: payload_size %d, spec size %d + %d trailing bytes", d.Seqno, typ, d.PayloadSize, specFixedSize[typ], trail)
		}
		trailingBytes += uint64(trail)
		counts[typ]++
	}
	if !reflect.DeepEqual(counts, snapshotCounts) {
		t.Errorf("decoded events per type %v, want %v", counts, snapshotCounts)
	}
	t.Logf("%d trailing-array bytes", trailingBytes)
}

// BenchmarkView decodes the events of the small reference snapshot,
// cycling through them.
func BenchmarkView(b *testing.B) {
	path := testdata.Shared(b, "emn-1b-15m.snapshot")
	ring, err := execevents.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer ring.Close()
	type ev struct {
		d eventring.Descriptor
		p []byte
	}
	var evs []ev
	rd := ring.NewReader()
	rd.SetSeqno(1)
	var d eventring.Descriptor
	for rd.TryNext(&d) == eventring.Ready {
		evs = append(evs, ev{d, ring.Payload(&d)})
	}
	var dec execevents.Decoder
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		e := &evs[i%len(evs)]
		if _, err := dec.View(&e.d, e.p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkViewTxnLog decodes one TXN_LOG payload (two topics, 64 data
// bytes), which does not allocate.
func BenchmarkViewTxnLog(b *testing.B) {
	p := aligned(32 + 64 + 64)
	p[24] = 2
	binary.LittleEndian.PutUint32(p[28:], 64)
	d := eventring.Descriptor{EventType: uint16(execevents.EventTypeTxnLog), PayloadSize: uint32(len(p))}
	var dec execevents.Decoder
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dec.View(&d, p); err != nil {
			b.Fatal(err)
		}
	}
}
