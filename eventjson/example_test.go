package eventjson_test

import (
	"fmt"

	"github.com/monadgo/events/eventjson"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// Render the first event of the demo snapshot as watch --json prints it.
func Example() {
	ring, err := execevents.Open("../testdata/demo.snapshot.zst")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ring.Close()
	rd := ring.NewReader()
	var d eventring.Descriptor
	if rd.TryNext(&d) != eventring.Ready {
		return
	}
	var enc eventjson.Encoder
	ev, err := enc.Read(ring, &d)
	b := enc.Append(nil, ring, &d, ev, err, 0, false)
	fmt.Println(string(b[:60]))
	// Output:
	// {"seqno":1,"eventType":"BLOCK_QC","eventCode":7,"time":"2026
}
