package execevents_test

import (
	"fmt"
	"log"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// ReadEvent returns events that own their memory: they can be kept, sent
// to other goroutines or printed later.
func ExampleReadEvent() {
	ring, err := execevents.Open("../testdata/demo.snapshot.zst")
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()
	rd := ring.NewReader()
	rd.SetSeqno(1)
	var d eventring.Descriptor
	for rd.TryNext(&d) == eventring.Ready && d.Seqno <= 3 {
		ev, err := execevents.ReadEvent(ring, &d)
		if err != nil {
			log.Fatal(err) // e.g. the writer reused the payload
		}
		if d.Seqno != 2 { // the second, a BLOCK_START, is long
			fmt.Printf("%s\n", ev.AppendJSON(nil))
		}
	}
	// Output:
	// {"seqno":1,"eventType":"BLOCK_QC","eventCode":7,"recordEpochNanos":1767225600010001789,"payload":{"blockTag":{"id":"0x4e3877eae6f22badb43781345bcdab94a74c034404ebe851ff72427219d21fae","blockNumber":999999},"round":4200009,"epoch":7}}
	// {"seqno":3,"eventType":"BLOCK_PERF_EVM_ENTER","eventCode":4,"recordEpochNanos":1767225600010004793,"blockSeqno":2}
}

// A Decoder reads events without allocating: each event lives in the
// Decoder until its next Read, so what is kept must be cloned.
func ExampleDecoder_Read() {
	ring, err := execevents.Open("../testdata/demo.snapshot.zst")
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()
	rd := ring.NewReader()
	rd.SetSeqno(1)
	var dec execevents.Decoder
	var d eventring.Descriptor
	var bytes [execevents.EventTypeCount]int // payload bytes per event type
	var first execevents.Event
	for rd.TryNext(&d) == eventring.Ready {
		ev, err := dec.Read(ring, &d)
		if err != nil {
			log.Fatal(err)
		}
		if int(ev.Type()) < len(bytes) {
			bytes[ev.Type()] += ev.PayloadSize()
		}
		if first == nil {
			first = ev.Clone()
		}
	}
	fmt.Println("first:", first.Type(), first.Meta().Seqno)
	for t, n := range bytes {
		if n > 5000 {
			fmt.Println(execevents.EventType(t), n)
		}
	}
	// Output:
	// first: BLOCK_QC 1
	// TXN_HEADER_START 7158
	// ACCOUNT_ACCESS 7752
}
