// Tests of the bindings generated from the synthetic schema: TestSynthCompiles
// (golden_test.go) runs them next to the generated files and a copy of the
// execevents runtime. The go tool ignores this file where it is (testdata).

package synthcheck

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/monadgo/events/eventring"
)

func TestBitFields(t *testing.T) {
	var b SynthBig
	p := unsafe.Slice((*byte)(unsafe.Pointer(&b)), unsafe.Sizeof(b))
	// low = 5 (bits 560-562), mid = 0x2AB (563-572), neg = -3 (576-580).
	v := uint64(5)<<(560-544) | uint64(0x2AB)<<(563-544) | uint64(0b11101)<<(576-544)
	for i := 0; i < 8 && 68+i < len(p); i++ {
		p[68+i] = byte(v >> (8 * i))
	}
	if b.Low() != 5 || b.Mid() != 0x2AB || b.Neg() != -3 {
		t.Errorf("Low %d Mid %#x Neg %d, want 5 0x2ab -3", b.Low(), b.Mid(), b.Neg())
	}
}

// view decodes payload p of an event of type typ, with flow tags block
// seqno 4 and transaction index 1.
func view(typ EventType, p []byte) (Event, error) {
	var dec Decoder
	d := eventring.Descriptor{Seqno: 1, EventType: uint16(typ), PayloadSize: uint32(len(p)), ContentExt: [4]uint64{4, 2}}
	return dec.View(&d, p)
}

// bytesOf returns the memory of *x.
func bytesOf[T any](x *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(x)), unsafe.Sizeof(*x))
}

func TestDecodeBlob(t *testing.T) {
	buf := make([]uint64, 16)
	p := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), 128)[:16+3+64]
	p[0] = 2 // key_count
	p[8] = 3 // len
	ev, err := view(EventTypeBlob, p)
	v, _ := ev.(*BlobEvent)
	if err != nil || v == nil || len(v.Data) != 3 || len(v.Keys) != 2 || v.KeyCount != 2 || v.PayloadSize() != len(p) {
		t.Fatalf("BLOB: %#v, %v", ev, err)
	}
	if _, err := view(EventTypeBlob, p[:len(p)-1]); !errors.Is(err, ErrPayloadShort) {
		t.Errorf("short blob: %v", err)
	}
	if _, err := view(EventTypeBig, p[:0]); !errors.Is(err, ErrPayloadShort) {
		t.Errorf("empty BIG: %v", err)
	}
	if SynthFlagsHigh != 1<<63 || SynthFlagsHigh.String() != "HIGH" {
		t.Errorf("SynthFlagsHigh = %d (%v)", uint64(SynthFlagsHigh), SynthFlagsHigh)
	}
	if SynthKindB.String() != "B" || SynthSigned(-5).String() != "LOW" || SynthKind(7).String() != "SynthKind(7)" {
		t.Errorf("enum strings %v %v %v", SynthKindB, SynthSigned(-5), SynthKind(7))
	}
	pk := make([]byte, 7)
	pk[1], pk[4], pk[5] = 0x78, 0x12, 0xCD
	ev, err = view(EventTypePacked, pk)
	if v2, _ := ev.(*PackedEvent); err != nil || v2.Value != [4]byte{0x78, 0, 0, 0x12} || v2.More != [2]byte{0xCD, 0} {
		t.Errorf("PACKED: %#v, %v", ev, err)
	}
	// ATTRS: 32 or 48 bytes, the rest after the struct is Tail.
	a := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), 128)[:48]
	ev, err = view(EventTypeAttrs, a)
	if v3, _ := ev.(*AttrsEvent); err != nil || len(v3.Tail) != 16 || v3.PayloadSize() != 48 {
		t.Errorf("48-byte ATTRS: %#v, %v", ev, err)
	}
	if _, err := view(EventTypeAttrs, a[:40]); !errors.Is(err, ErrPayloadLong) || !strings.Contains(err.Error(), "valid sizes are 32 or 48") {
		t.Errorf("40-byte ATTRS: %v", err)
	}
	if _, err := view(EventTypeAttrs, a[:16]); !errors.Is(err, ErrPayloadShort) {
		t.Errorf("16-byte ATTRS: %v", err)
	}
	ping := SynthPing(7)
	if ev, err := view(EventTypePing, bytesOf(&ping)); err != nil || ev.(*PingEvent).Code != 7 {
		t.Errorf("PING: %#v, %v", ev, err)
	}
	tag := SynthTag{N: 9}
	if ev, err := view(EventTypeTagged, bytesOf(&tag)); err != nil || ev.(*TaggedEvent).N != 9 {
		t.Errorf("TAGGED: %#v, %v", ev, err)
	}
	if ev, err := view(EventTypeEmpty, []byte{0}); !errors.Is(err, ErrPayloadLong) {
		t.Errorf("EMPTY with a byte: %#v, %v", ev, err)
	}
	if SynthPairA != 2 || SynthPairB != 6 {
		t.Errorf("SynthPairA %d SynthPairB %d, want 2 and 6", SynthPairA, SynthPairB)
	}
	if SynthMacroCount != 12 || SynthMacroMask != 1<<40 || SynthMacroBig != math.MaxUint64 || SynthMacroNeg != -5 ||
		SynthMacroSum != 18 || SynthMacroSize != 4 || SynthMacroName != "synth-macro" || SynthGuardedValue != 7 {
		t.Errorf("macro constants %d %d %d %d %d %d %q %d", SynthMacroCount, SynthMacroMask, uint64(SynthMacroBig), SynthMacroNeg,
			SynthMacroSum, SynthMacroSize, SynthMacroName, SynthGuardedValue)
	}
	if SynthSlots != 3 || SynthFileName != "synth-events" || SynthWideMask != 1<<40-1 || SynthAllOnes != math.MaxUint64 {
		t.Errorf("constants %d %q %d", SynthSlots, SynthFileName, SynthWideMask)
	}
}

// TestSynthJSON checks the generated JSON of every kind of member: enums
// by name, bool, integers, __uint128_t in decimal, arrays of structs and
// of integers, raw bytes of packed members, byte strings; and of every
// kind of payload: a struct, a scalar, trailing arrays, a size-rule
// remainder, a byte string and none.
func TestSynthJSON(t *testing.T) {
	var big SynthBig
	big.Kind, big.Flag, big.Hot = SynthKindB, true, 9
	big.Wide = Uint128{Lo: 5, Hi: 1}
	big.Inner[0] = SynthInner{A: 1, B: 2}
	big.Words[0] = 3
	big.S = SynthSigned(-5)
	buf := make([]uint64, 32)
	blob := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), 256)[:16+2+32]
	blob[0], blob[8], blob[16], blob[17] = 1, 2, 0xab, 0xcd
	for i := range 32 {
		blob[18+i] = 0x11
	}
	var digest SynthDigest
	digest[0] = 0xff
	ping := SynthPing(70000)
	packed := []byte{1, 0x78, 0, 0, 0x12, 0xcd, 0}
	attrs := make([]uint64, 6)
	cases := []struct {
		typ     EventType
		p       []byte
		payload string
	}{
		{EventTypeBig, bytesOf(&big), `{"kind":"B","flag":true,"hot":9,"wide":"18446744073709551621","inner":[{"a":1,"b":2},{"a":0,"b":0},{"a":0,"b":0}],"words":[3,0],"s":"LOW"}`},
		{EventTypeBlob, blob, `{"keyCount":1,"pad":0,"len":2,"data":"0xabcd","keys":["0x` + strings.Repeat("11", 32) + `"]}`},
		{EventTypeDigest, bytesOf(&digest), `{"synthDigest":"0xff` + strings.Repeat("00", 31) + `"}`},
		{EventTypePing, bytesOf(&ping), `{"code":70000}`},
		{EventTypePacked, packed, `{"tag":1,"value":"0x78000012","more":"0xcd00"}`},
		{EventTypeAttrs, bytesOf((*[48]byte)(unsafe.Pointer(&attrs[0]))), `{"a":0,"b":0,"c":0,"d":0,"tail":"0x` + strings.Repeat("00", 16) + `"}`},
		{EventTypeEmpty, nil, ""},
	}
	for _, c := range cases {
		ev, err := view(c.typ, c.p)
		if err != nil {
			t.Fatalf("%v: %v", c.typ, err)
		}
		if got := string(ev.AppendPayloadJSON(nil)); got != c.payload {
			t.Errorf("%v payload:\n got %s\nwant %s", c.typ, got, c.payload)
		}
		want := `{"seqno":1,"eventType":"` + c.typ.String() + `","eventCode":` + strconv.Itoa(int(c.typ)) +
			`,"recordEpochNanos":0,"blockSeqno":4,"txnIndex":1`
		if c.payload != "" {
			want += `,"payload":` + c.payload
		}
		want += "}"
		if got := string(ev.AppendJSON(nil)); got != want {
			t.Errorf("%v event:\n got %s\nwant %s", c.typ, got, want)
		}
	}
	var tag SynthTag
	tag.ID[31], tag.N = 1, 2
	if got, want := string(tag.AppendJSON(nil)), `{"id":"0x`+strings.Repeat("00", 31)+`01","n":2}`; got != want {
		t.Errorf("SynthTag JSON %s, want %s", got, want)
	}
	if m, err := tag.MarshalJSON(); err != nil || string(m) != string(tag.AppendJSON(nil)) {
		t.Errorf("MarshalJSON %s, %v", m, err)
	}
}
