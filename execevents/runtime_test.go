package execevents_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/internal/testdata"
)

// These tests cover the runtime and the generated typed-event layer using
// only what the generator emits for every schema (the Events table, the
// Decoder, Event): they hold for any header tree. Tests of particular EXEC
// event types are in internal/exectest.

// aligned returns an n-byte slice whose first byte is 16-byte aligned, like
// every payload in a ring.
func aligned(n int) []byte {
	buf := make([]uint64, (n+16)/8+2)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(buf)*8)
	off := int((16 - uintptr(unsafe.Pointer(&b[0]))%16) % 16)
	return b[off : off+n : off+n]
}

// validSize is the size of a zero-filled payload of kind e that decodes:
// its fixed size (the first allowed size under a size rule), with every
// trailing array count 0.
func validSize(e execevents.EventInfo) int {
	if len(e.Sizes) > 0 {
		return e.Sizes[0]
	}
	return e.Size
}

// memSource is a PayloadSource over one payload whose validity checks
// answer from a script (true once it runs out).
type memSource struct {
	p     []byte
	valid []bool
}

func (s *memSource) Payload(*eventring.Descriptor) []byte { return s.p }

func (s *memSource) PayloadValid(*eventring.Descriptor) bool {
	if len(s.valid) == 0 {
		return true
	}
	v := s.valid[0]
	s.valid = s.valid[1:]
	return v
}

// codes are every code of the table, one past it and a large unknown one.
func codes() []uint16 {
	var c []uint16
	for _, e := range execevents.Events {
		c = append(c, uint16(e.Type))
	}
	return append(c, execevents.EventTypeCount, 0xfffe)
}

// info returns the table row of a code, and false for unknown codes and
// the reserved code 0 (both decode as UnknownEvent).
func info(code uint16) (execevents.EventInfo, bool) {
	if code == 0 || int(code) >= len(execevents.Events) {
		return execevents.EventInfo{}, false
	}
	return execevents.Events[code], true
}

// TestEveryKind decodes a zero payload of every event kind and checks what
// every typed event promises: its Go type, meta, size, owned clones, JSON,
// and the same event through Read and ReadEvent.
func TestEveryKind(t *testing.T) {
	for _, code := range codes() {
		e, known := info(code)
		name := e.Name
		if !known {
			name = fmt.Sprintf("code%d", code)
		}
		t.Run(name, func(t *testing.T) {
			p := aligned(validSize(e))
			if !known {
				p = []byte{1, 2, 3}
			}
			d := eventring.Descriptor{Seqno: 9, EventType: code, PayloadSize: uint32(len(p)), RecordEpochNanos: 123,
				ContentExt: [4]uint64{5, 3, 2, 0}}
			var dec execevents.Decoder
			ev, err := dec.View(&d, p)
			if err != nil {
				t.Fatal(err)
			}
			want := "UnknownEvent"
			if known {
				want = strings.ReplaceAll(e.Name, "_", "") + "EVENT"
			}
			if got := reflect.TypeOf(ev).Elem().Name(); !strings.EqualFold(got, want) {
				t.Errorf("decoded as %s, want %s", got, want)
			}
			m := ev.Meta()
			if ev.Type() != execevents.EventType(code) || m.Seqno != 9 || m.EventType != execevents.EventType(code) ||
				m.RecordEpochNanos != 123 || m.Flow != (execevents.Flow{BlockSeqno: 5, TxnID: 3, AccountIndex: 2}) {
				t.Errorf("Type %v, meta %+v", ev.Type(), *m)
			}
			if ev.PayloadSize() != len(p) {
				t.Errorf("PayloadSize %d, payload of %d bytes", ev.PayloadSize(), len(p))
			}
			if err := execevents.CheckEvent(ev); err != nil {
				t.Errorf("CheckEvent: %v", err)
			}

			j := ev.AppendJSON(nil)
			if mj, err := ev.MarshalJSON(); err != nil || !bytes.Equal(mj, j) {
				t.Errorf("MarshalJSON %s, %v; AppendJSON %s", mj, err, j)
			}
			var obj map[string]any
			if err := json.Unmarshal(j, &obj); err != nil {
				t.Fatalf("AppendJSON gave invalid JSON %s: %v", j, err)
			}
			for k, v := range map[string]any{"seqno": 9.0, "eventType": execevents.EventType(code).String(), "eventCode": float64(code),
				"recordEpochNanos": 123.0, "blockSeqno": 5.0, "txnIndex": 2.0, "accountIndex": 2.0} {
				if obj[k] != v {
					t.Errorf("JSON %s: %s is %v, want %v", j, k, obj[k], v)
				}
			}
			pj := ev.AppendPayloadJSON(nil)
			if _, ok := obj["payload"]; ok != (len(pj) > 0) || ok && !bytes.Contains(j, append([]byte(`,"payload":`), pj...)) {
				t.Errorf("JSON %s with payload JSON %s", j, pj)
			}
			if len(pj) > 0 && !json.Valid(pj) {
				t.Errorf("invalid payload JSON %s", pj)
			}

			// A clone is equal and owns its memory: overwriting the
			// payload changes the view, not the clone.
			c := ev.Clone()
			if c == ev || !reflect.DeepEqual(c, ev) {
				t.Errorf("Clone %#v differs from %#v", c, ev)
			}
			for i := range p {
				p[i] ^= 0xff
			}
			if cj := c.AppendJSON(nil); !bytes.Equal(cj, j) {
				t.Errorf("clone changed with the payload: %s, was %s", cj, j)
			}
			for i := range p {
				p[i] ^= 0xff
			}

			// Read copies into the Decoder, ReadEvent into memory of its
			// own; both decode the same event, even from a payload that is
			// not aligned for its struct.
			mis := aligned(len(p) + 1)[1:]
			copy(mis, p)
			for _, src := range [][]byte{p, mis} {
				var dec2 execevents.Decoder
				r, err := dec2.Read(&memSource{p: src}, &d)
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				o, err := execevents.ReadEvent(&memSource{p: src}, &d)
				if err != nil {
					t.Fatalf("ReadEvent: %v", err)
				}
				if rj, oj := r.AppendJSON(nil), o.AppendJSON(nil); !bytes.Equal(rj, j) || !bytes.Equal(oj, j) {
					t.Errorf("Read %s, ReadEvent %s, View %s", rj, oj, j)
				}
			}

			// A hand-made event value: CheckEvent reports a missing
			// payload struct for the kinds that have one.
			bare := reflect.New(reflect.TypeOf(ev).Elem()).Interface().(execevents.Event)
			hasStruct := known && e.PayloadCType != "" && reflect.ValueOf(ev).Elem().Field(1).Kind() == reflect.Pointer
			if err := execevents.CheckEvent(bare); (err != nil) != hasStruct || err != nil && !errors.Is(err, execevents.ErrPayloadShort) {
				t.Errorf("CheckEvent(%T{}) = %v", bare, err)
			}
			bare.AppendJSON(nil) // never panics
			bare.Clone()
		})
	}
	if err := execevents.CheckEvent(nil); !errors.Is(err, execevents.ErrBadPayload) {
		t.Errorf("CheckEvent(nil) = %v", err)
	}
}

// wantPayloadError checks that err is a *PayloadError for code matching
// sentinel (and ErrBadPayload).
func wantPayloadError(t *testing.T, what string, code uint16, err, sentinel error) {
	t.Helper()
	var pe *execevents.PayloadError
	switch {
	case err == nil:
		t.Errorf("%s: no error, want %v", what, sentinel)
	case !errors.As(err, &pe) || pe.EventType != execevents.EventType(code):
		t.Errorf("%s: error %v (%T) is not a *PayloadError for code %d", what, err, err, code)
	case !errors.Is(err, sentinel) || !errors.Is(err, execevents.ErrBadPayload):
		t.Errorf("%s: error %v does not match %v and ErrBadPayload", what, err, sentinel)
	}
}

// TestPayloadSizeErrors: every kind refuses payloads shorter or longer
// than its rule, and a payload not aligned for its struct is either
// decoded or refused as misaligned, never misread.
func TestPayloadSizeErrors(t *testing.T) {
	var dec execevents.Decoder
	view := func(code uint16, p []byte) (execevents.Event, error) {
		d := eventring.Descriptor{EventType: code, PayloadSize: uint32(len(p))}
		return dec.View(&d, p)
	}
	for _, e := range execevents.Events[1:] {
		code := uint16(e.Type)
		if e.PayloadCType == "" {
			_, err := view(code, aligned(1))
			wantPayloadError(t, e.Name+" with 1 byte", code, err, execevents.ErrPayloadLong)
			continue
		}
		_, err := view(code, aligned(e.Size-1))
		wantPayloadError(t, e.Name+" short by one", code, err, execevents.ErrPayloadShort)
		_, err = view(code, nil)
		wantPayloadError(t, e.Name+" empty", code, err, execevents.ErrPayloadShort)
		// All counts are zero in a zeroed payload, so one extra byte is
		// too long for every kind.
		_, err = view(code, aligned(validSize(e)+1))
		wantPayloadError(t, e.Name+" long by one", code, err, execevents.ErrPayloadLong)
		mis := aligned(validSize(e) + 1)[1:]
		if _, err := view(code, mis); err != nil {
			wantPayloadError(t, e.Name+" misaligned", code, err, execevents.ErrPayloadMisaligned)
		}
	}
}

// TestReadExpired: Read and ReadEvent check the payload before and after
// copying it and report eventring's expired error; a source handing out
// another size than the descriptor's is a bad descriptor.
func TestReadExpired(t *testing.T) {
	e := execevents.Events[len(execevents.Events)-1]
	p := aligned(validSize(e))
	d := eventring.Descriptor{Seqno: 4, EventType: uint16(e.Type), PayloadSize: uint32(len(p)), PayloadBufOffset: 4096}
	for _, script := range [][]bool{{false}, {true, false}} {
		var dec execevents.Decoder
		for name, read := range map[string]func(eventring.PayloadSource) (execevents.Event, error){
			"Read":      func(s eventring.PayloadSource) (execevents.Event, error) { return dec.Read(s, &d) },
			"ReadEvent": func(s eventring.PayloadSource) (execevents.Event, error) { return execevents.ReadEvent(s, &d) },
		} {
			ev, err := read(&memSource{p: p, valid: append([]bool(nil), script...)})
			var pe *eventring.ExpiredError
			if ev != nil || !errors.Is(err, eventring.ErrPayloadExpired) || !errors.As(err, &pe) || pe.Seqno != 4 || pe.Offset != 4096 {
				t.Errorf("%s with validity %v: %v, %v", name, script, ev, err)
			}
			_, err = read(&memSource{p: append(p, 0)})
			if !errors.Is(err, eventring.ErrBadDescriptor) {
				t.Errorf("%s of a payload longer than its descriptor: %v", name, err)
			}
		}
	}
}

// TestSnapshotReadPaths: every event of the recordings decodes, and View,
// Read, ReadEvent and Clone agree on it.
func TestSnapshotReadPaths(t *testing.T) {
	for name, path := range snapshots {
		t.Run(name, func(t *testing.T) {
			evs := testdata.Events(t, path(t))
			var dec, dec2 execevents.Decoder
			kinds := map[execevents.EventType]bool{}
			for _, e := range evs {
				d := e.Descriptor
				v, err := dec.View(&d, e.Payload)
				if err != nil {
					t.Fatalf("seqno %d: %v", d.Seqno, err)
				}
				j := v.AppendJSON(nil)
				r, err := dec2.Read(&memSource{p: e.Payload}, &d)
				if err != nil {
					t.Fatalf("seqno %d: Read: %v", d.Seqno, err)
				}
				o, err := execevents.ReadEvent(&memSource{p: e.Payload}, &d)
				if err != nil {
					t.Fatalf("seqno %d: ReadEvent: %v", d.Seqno, err)
				}
				for what, x := range map[string]execevents.Event{"Read": r, "ReadEvent": o, "Clone": v.Clone()} {
					if xj := x.AppendJSON(nil); !bytes.Equal(xj, j) {
						t.Fatalf("seqno %d: %s gives %s, View %s", d.Seqno, what, xj, j)
					}
				}
				if v.PayloadSize() != int(d.PayloadSize) {
					t.Fatalf("seqno %d: PayloadSize %d, payload_size %d", d.Seqno, v.PayloadSize(), d.PayloadSize)
				}
				kinds[v.Type()] = true
			}
			t.Logf("%d events of %d kinds", len(evs), len(kinds))
		})
	}
}

// TestReadOwnership: events from ReadEvent stay intact whatever is read
// next; Read's point into the Decoder's buffer, which the next Read reuses.
func TestReadOwnership(t *testing.T) {
	ring, err := execevents.Open(snapshots["demo"](t))
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	rd := ring.NewReader()
	rd.SetSeqno(1)
	var d eventring.Descriptor
	var dec execevents.Decoder
	var owned []execevents.Event
	var want [][]byte
	reused := false
	var last execevents.Event
	var lastJSON []byte
	for rd.TryNext(&d) == eventring.Ready {
		ev, err := execevents.ReadEvent(ring, &d)
		if err != nil {
			t.Fatal(err)
		}
		owned = append(owned, ev)
		want = append(want, ev.AppendJSON(nil))
		cur, err := dec.Read(ring, &d)
		if err != nil {
			t.Fatal(err)
		}
		if last != nil && !bytes.Equal(last.AppendJSON(nil), lastJSON) {
			reused = true // the previous Read's event changed under this one
		}
		last, lastJSON = cur, cur.AppendJSON(nil)
	}
	for i, ev := range owned {
		if got := ev.AppendJSON(nil); !bytes.Equal(got, want[i]) {
			t.Fatalf("event %d changed after later reads: %s, was %s", i, got, want[i])
		}
	}
	if !reused {
		t.Errorf("no Read event was overwritten by the next Read: is Read allocating?")
	}
}

// TestDecoderReadAllocs: in steady state Decoder.Read and AppendJSON into
// a reused buffer do not allocate.
func TestDecoderReadAllocs(t *testing.T) {
	ring, err := execevents.Open(snapshots["demo"](t))
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	var ds []eventring.Descriptor
	rd := ring.NewReader()
	rd.SetSeqno(1)
	var d eventring.Descriptor
	for rd.TryNext(&d) == eventring.Ready {
		ds = append(ds, d)
	}
	var dec execevents.Decoder
	buf := make([]byte, 0, 1<<16)
	pass := func() {
		for i := range ds {
			ev, err := dec.Read(ring, &ds[i])
			if err != nil {
				t.Fatal(err)
			}
			buf = ev.AppendJSON(buf[:0])
		}
	}
	pass()
	if allocs := testing.AllocsPerRun(5, pass); allocs != 0 {
		t.Errorf("%v allocations per pass over %d events, want 0", allocs, len(ds))
	}
}

// vouchingSource vouches for every payload and counts the views it hands
// out; the bytes are whatever the test put there.
type vouchingSource struct {
	p     []byte
	reads int
}

func (s *vouchingSource) Payload(*eventring.Descriptor) []byte  { s.reads++; return s.p }
func (*vouchingSource) PayloadValid(*eventring.Descriptor) bool { return true }

// TestReadRefusesImpossibleSizeBeforeCopying: a descriptor claiming a size
// its event type cannot have (by the Events table) is a *PayloadError from
// Read and ReadEvent before the payload is even looked at, so a hostile
// payload_size costs no memory.
func TestReadRefusesImpossibleSizeBeforeCopying(t *testing.T) {
	checked := 0
	for i := range execevents.Events {
		info := &execevents.Events[i]
		if i == 0 || info.Size == 0 || len(info.Trailing) > 0 || len(info.Sizes) > 0 {
			continue // only fixed-size payloads have an impossible large size
		}
		checked++
		d := eventring.Descriptor{Seqno: 1, EventType: uint16(i), PayloadSize: 64 << 20}
		src := &vouchingSource{p: make([]byte, 64<<20)}
		var dec execevents.Decoder
		var err error
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		_, err = dec.Read(src, &d)
		runtime.ReadMemStats(&m1)
		var pe *execevents.PayloadError
		if !errors.As(err, &pe) || !errors.Is(err, execevents.ErrPayloadLong) || pe.Want != uint64(info.Size) {
			t.Errorf("%s: Read of a 64 MiB payload: %v, want a *PayloadError (long, want %d)", info.Name, err, info.Size)
		}
		if _, err := execevents.ReadEvent(src, &d); !errors.As(err, &pe) {
			t.Errorf("%s: ReadEvent of a 64 MiB payload: %v, want a *PayloadError", info.Name, err)
		}
		if src.reads != 0 {
			t.Errorf("%s: the payload was looked at %d times", info.Name, src.reads)
		}
		if a := m1.TotalAlloc - m0.TotalAlloc; a > 64<<10 {
			t.Errorf("%s: %d bytes allocated for a refused payload", info.Name, a)
		}
	}
	if checked == 0 {
		t.Skip("the schema has no fixed-size payload")
	}
}
