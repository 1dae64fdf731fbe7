package gen

import (
	"testing"
)

// newEventTest runs in the package generated from headers/ with a new
// event type (editAddEvent: BLOCK_EXTRA, code 25, struct
// monad_exec_block_extra { uint64_t gas; monad_c_bytes32 digest; }, a new
// schema hash): a ring of that schema is recorded and read back through
// the generated bindings alone.
const newEventTest = `package newevent

import (
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/monadgo/events/eventring"
)

func TestNewEvent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ring")
	sizes := eventring.Sizes{DescriptorCapacity: eventring.MinDescriptorCapacity, PayloadBufSize: eventring.MinPayloadBufSize}
	w, err := eventring.Create(path, sizes, RingContentType, SchemaHash)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	x := BlockExtra{Gas: 7}
	x.Digest[0] = 0xab
	if _, err := w.Record(uint16(EventTypeBlockExtra), [4]uint64{3}, unsafe.Slice((*byte)(unsafe.Pointer(&x)), unsafe.Sizeof(x))); err != nil {
		t.Fatal(err)
	}
	ring, err := Open(path) // checks the new schema hash
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
	ev, err := ReadEvent(ring, &d)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := ev.(*BlockExtraEvent)
	if !ok || e.Gas != 7 || e.Digest[0] != 0xab || e.PayloadSize() != 40 || e.Flow.BlockSeqno != 3 {
		t.Fatalf("decoded %#v", ev)
	}
	payload := ` + "`" + `{"gas":7,"digest":"0xab` + "`" + ` + strings.Repeat("00", 31) + ` + "`" + `"}` + "`" + `
	j := string(ev.AppendJSON(nil))
	if !strings.HasPrefix(j, ` + "`" + `{"seqno":1,"eventType":"BLOCK_EXTRA","eventCode":25,` + "`" + `) ||
		!strings.HasSuffix(j, ` + "`" + `,"blockSeqno":3,"payload":` + "`" + `+payload+"}") {
		t.Errorf("JSON %s", j)
	}
	if Events[EventTypeBlockExtra].Description != "something new" || EventTypeBlockExtra.String() != "BLOCK_EXTRA" || SchemaHash[0] != 0x8a {
		t.Errorf("table row %+v, hash %x", Events[EventTypeBlockExtra], SchemaHash)
	}
}
`

// TestNewEventTypeEndToEnd: an event type with a payload struct of its
// own added to a copy of headers/ (and a new schema hash) regenerates into
// a package that builds, vets and decodes a recorded event of that type
// into its own typed event with the right fields and JSON, with nothing
// written by hand but the test.
func TestNewEventTypeEndToEnd(t *testing.T) {
	m, err := buildModel(osDirFS(editedTree(t, editAddEvent...)), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := generate(m, config{Package: "newevent", Command: "eventgen (new event test)"})
	if err != nil {
		t.Fatal(err)
	}
	files["newevent_test.go"] = []byte(newEventTest)
	checkPackage(t, "newevent", files, "TestNewEvent")
}

// TestSpecTreeCompiles: the daemon's schema as exec-layout.json records it
// (written as a header tree of its own, spelled unlike headers/)
// regenerates into a package that builds, vets and passes the runtime's
// tests.
func TestSpecTreeCompiles(t *testing.T) {
	m, err := buildModel(osDirFS(specTree(t)), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := generate(m, config{Package: "spectree", Command: "eventgen (spec tree test)"})
	if err != nil {
		t.Fatal(err)
	}
	checkPackage(t, "spectree", files)
}
