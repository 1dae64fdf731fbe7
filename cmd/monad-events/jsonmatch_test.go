package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/monadgo/events/eventjson"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/internal/testdata"
)

// eventJSONReflect is watcher.eventJSON as it was before the generated
// encoders: fmt for the descriptor facts, reflectPayloadJSON for the
// payload. It is the reference of TestWatchJSONMatchesReflect and the
// baseline of BenchmarkWatchJSONReflect.
func (w *watcher) eventJSONReflect(d *eventring.Descriptor) error {
	b := w.line[:0]
	b = fmt.Appendf(b, `{"seqno":%d,"eventType":%q,"eventCode":%d,"time":%q,"recordEpochNanos":%d,"payloadSize":%d,"payloadBufOffset":%d`,
		d.Seqno, eventName(d.EventType), d.EventType,
		time.Unix(0, int64(d.RecordEpochNanos)).UTC().Format(eventjson.NanoTime), d.RecordEpochNanos,
		d.PayloadSize, d.PayloadBufOffset)
	if bs := d.ContentExt[execevents.FlowTypeBlockSeqno]; bs != 0 {
		b = fmt.Appendf(b, `,"blockSeqno":%d`, bs)
		if bs == w.blockSeqno {
			b = fmt.Appendf(b, `,"blockNumber":%d`, w.blockNumber)
		}
	}
	if id := d.ContentExt[execevents.FlowTypeTxnID]; id != 0 {
		b = fmt.Appendf(b, `,"txnIndex":%d`, id-1)
	}
	if execevents.EventType(d.EventType) == execevents.EventTypeStorageAccess {
		b = fmt.Appendf(b, `,"accountIndex":%d`, d.ContentExt[execevents.FlowTypeAccountIndex])
	}
	mark := len(b)
	p := w.src.Payload(d)
	ev, derr := w.enc.Decoder.View(d, p)
	if derr != nil {
		b = fmt.Appendf(b, `,"payloadError":%q,"payloadHex":"0x%x"`, derr.Error(), p)
	} else {
		b = reflectPayloadJSON(b, ev)
	}
	if !w.src.PayloadValid(d) {
		b = append(b[:mark], `,"expired":true`...)
	}
	b = append(b, "}\n"...)
	w.line = b
	_, err := w.out.Write(b)
	return err
}

// TestWatchJSONMatchesReflect: for every event of the demo snapshot and of
// the emn-30b reference recording, `watch --json` with the generated
// encoders prints exactly the line the reflect renderer printed.
func TestWatchJSONMatchesReflect(t *testing.T) {
	for name, path := range map[string]func(testing.TB) string{
		"demo":    func(tb testing.TB) string { return testdata.Project(tb, "demo.snapshot.zst") },
		"emn-30b": func(tb testing.TB) string { return testdata.Shared(tb, "exec-events/emn-30b-15m/snapshot.zst") },
	} {
		t.Run(name, func(t *testing.T) {
			path := path(t)
			r, err := eventring.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			o := &openedRing{Ring: r, path: path, snapshot: true}
			var got, want bytes.Buffer
			wg := &watcher{src: o, out: bufio.NewWriter(&got), json: true}
			wr := &watcher{src: o, out: bufio.NewWriter(&want), json: true}
			rd := r.NewReader()
			rd.SetSeqno(1)
			var d eventring.Descriptor
			n := 0
			kinds := map[uint16]bool{}
			for rd.TryNext(&d) == eventring.Ready {
				got.Reset()
				want.Reset()
				wg.track(&d)
				wr.track(&d)
				if err := wg.event(&d); err != nil {
					t.Fatal(err)
				}
				if err := wr.eventJSONReflect(&d); err != nil {
					t.Fatal(err)
				}
				wg.out.Flush()
				wr.out.Flush()
				if !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Fatalf("seqno %d (%s):\ngenerated %s\nreflect   %s", d.Seqno, eventName(d.EventType), got.Bytes(), want.Bytes())
				}
				n++
				kinds[d.EventType] = true
			}
			t.Logf("%d events of %d kinds render identically", n, len(kinds))
		})
	}
}

// alignedBuf returns n bytes at an 8-byte aligned address, as payloads are.
func alignedBuf(n int) []byte {
	words := make([]uint64, (n+7)/8+1)
	return unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), n)
}

// randomize sets every settable exported field reachable from v (payload
// structs, their nested structs and arrays, trailing slices) to random
// values; bool fields get true or false.
func randomize(rng *rand.Rand, v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			randomize(rng, v.Elem(), depth)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.Type == reflect.TypeFor[execevents.EventMeta]() || !f.IsExported() {
				continue
			}
			randomize(rng, v.Field(i), depth+1)
		}
	case reflect.Array:
		for i := range v.Len() {
			randomize(rng, v.Index(i), depth+1)
		}
	case reflect.Slice:
		n := rng.IntN(5)
		if v.Type().Elem().Kind() == reflect.Uint8 {
			n = rng.IntN(70)
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			randomize(rng, s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 1)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		x := rng.Uint64()
		switch rng.IntN(4) {
		case 0:
			x = 0
		case 1:
			x &= 0xff // small values hit the enums' names
		case 2:
			x &= 3
		}
		v.SetUint(x)
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(rng.Uint64()) >> rng.IntN(64))
	}
}

// TestPayloadJSONEveryKind: for every event kind of the schema and for
// unknown codes, with random field values, trailing arrays and values
// beyond the enums' names, the generated payload JSON equals the reflect
// rendering.
func TestPayloadJSONEveryKind(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	var dec execevents.Decoder
	codes := []uint16{}
	for _, e := range execevents.Events {
		codes = append(codes, uint16(e.Type))
	}
	codes = append(codes, execevents.EventTypeCount, 999)
	for _, code := range codes {
		size := 0
		if int(code) < len(execevents.Events) {
			e := execevents.Events[code]
			size = e.Size
			if len(e.Sizes) > 0 {
				size = e.Sizes[0]
			}
		}
		for round := range 200 {
			p := alignedBuf(size)
			d := eventring.Descriptor{Seqno: 1, EventType: code, PayloadSize: uint32(size)}
			ev, err := dec.View(&d, p)
			if err != nil {
				t.Fatalf("code %d: zero payload of %d bytes: %v", code, size, err)
			}
			randomize(rng, reflect.ValueOf(ev), 0)
			if round == 0 {
				// A hand-made event without its payload struct.
				if v := reflect.ValueOf(ev).Elem(); v.NumField() > 1 && v.Field(1).Kind() == reflect.Pointer {
					v.Field(1).Set(reflect.Zero(v.Field(1).Type()))
				}
			}
			want := reflectPayloadJSON(nil, ev)
			got := []byte(`,"payload":`)
			if got = ev.AppendPayloadJSON(got); len(got) == len(`,"payload":`) {
				got = nil
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%T:\ngenerated %s\nreflect   %s", ev, got, want)
			}
		}
	}
}

// benchmarkWatch formats every event of a snapshot as watch does, to
// io.Discard; ns/op is per event.
func benchmarkWatch(b *testing.B, path string, json, reflectJSON bool) {
	r, err := eventring.Open(path)
	if err != nil {
		b.Skip(err)
	}
	defer r.Close()
	o := &openedRing{Ring: r, path: path, snapshot: true}
	out := bufio.NewWriter(io.Discard)
	w := &watcher{src: o, out: out, json: json}
	var d eventring.Descriptor
	rd := r.NewReader()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if rd.TryNext(&d) != eventring.Ready {
			rd.SetSeqno(1)
			if rd.TryNext(&d) != eventring.Ready {
				b.Fatal("empty ring")
			}
		}
		w.track(&d)
		var err error
		if reflectJSON {
			err = w.eventJSONReflect(&d)
		} else {
			err = w.event(&d)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
