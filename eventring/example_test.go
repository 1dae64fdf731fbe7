package eventring_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/monadgo/events/eventring"
)

// Open a snapshot and read every event it holds, from sequence number 1 to
// the end (io.EOF), copying each payload with its expiry checks.
func Example_snapshot() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	snapshot := makeSnapshot(dir) // e.g. ../shared/testdata/emn-1b-15m.snapshot

	ring, err := eventring.Open(snapshot)
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()
	h := ring.Header()
	fmt.Printf("%s ring, %d events, snapshot=%v\n", h.ContentTypeName, h.LastSeqno, ring.IsSnapshot())

	rd := ring.NewReader() // a snapshot reader starts at seqno 1
	var d eventring.Descriptor
	var buf []byte
	for {
		err := rd.Next(context.Background(), &d)
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		if buf, err = ring.CopyPayload(&d, buf); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("seqno %d type %d payload %q\n", d.Seqno, d.EventType, buf)
	}
	// Output:
	// TEST ring, 3 events, snapshot=true
	// seqno 1 type 2 payload "first"
	// seqno 2 type 2 payload "second"
	// seqno 3 type 3 payload ""
}

// Range over a reader's events: an error ends the loop (ctx done, writer
// gone, ring closed); a gap, after which reading goes on, comes as an item
// with Gap set. Each item holds its own copy of the descriptor.
func ExampleReader_Events() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ring, err := eventring.Open(makeSnapshot(dir))
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()

	var kept []eventring.Descriptor
	for it, err := range ring.NewReader().Events(context.Background()) {
		if err != nil {
			log.Fatal(err)
		}
		if it.Gap != nil {
			fmt.Println("lost", it.Gap.Lost(), "events") // reading goes on after them
			continue
		}
		p := ring.Payload(&it.Descriptor) // zero-copy view ...
		s := string(p)
		if !ring.PayloadValid(&it.Descriptor) { // ... trusted only if still valid after use
			s = "(expired)"
		}
		fmt.Printf("seqno %d type %d payload %q\n", it.Seqno, it.EventType, s)
		kept = append(kept, it.Descriptor)
	}
	// The end of a snapshot ends the loop without an error.
	fmt.Println(len(kept), "descriptors kept; the first is seqno", kept[0].Seqno)
	// Output:
	// seqno 1 type 2 payload "first"
	// seqno 2 type 2 payload "second"
	// seqno 3 type 3 payload ""
	// 3 descriptors kept; the first is seqno 1
}

// makeSnapshot records three events into a fresh ring and captures it.
func makeSnapshot(dir string) string {
	w, err := eventring.Create(filepath.Join(dir, "ring"), eventring.Sizes{
		DescriptorCapacity: eventring.MinDescriptorCapacity,
		PayloadBufSize:     eventring.MinPayloadBufSize,
	}, eventring.ContentTypeTest, [32]byte{})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	w.Record(2, [4]uint64{}, []byte("first"))
	w.Record(2, [4]uint64{}, []byte("sec"), []byte("ond")) // payload parts are concatenated
	w.Record(3, [4]uint64{})
	ring, err := w.Ring()
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()
	path := filepath.Join(dir, "ring.zst")
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := ring.WriteSnapshot(f); err != nil {
		log.Fatal(err)
	}
	return path
}

// Follow a live ring with the blocking API: Next waits for each event,
// reports lost events as a *GapError (resume with Reset) and tells when the
// writer has gone away.
func ExampleReader_Next() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ring") // for the daemon: eventring.ResolvePath(eventring.DefaultExecRingName)
	w, err := eventring.Create(path, eventring.Sizes{
		DescriptorCapacity: eventring.MinDescriptorCapacity,
		PayloadBufSize:     eventring.MinPayloadBufSize,
	}, eventring.ContentTypeTest, [32]byte{})
	if err != nil {
		log.Fatal(err)
	}

	ring, err := eventring.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()
	rd := ring.NewReader() // at the newest event: here, the (empty) start
	wait := eventring.DefaultWait
	wait.WriterCheck = 50 * time.Millisecond // notice a dead writer quickly
	rd.SetWaitStrategy(wait)

	go func() { // the writer: another process in real life
		for i := range 3 {
			time.Sleep(10 * time.Millisecond)
			w.Record(2, [4]uint64{uint64(i)}, []byte(fmt.Sprintf("event %d", i)))
		}
		w.Close() // releases the writer lock
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var d eventring.Descriptor
	for {
		err := rd.Next(ctx, &d)
		var gap *eventring.GapError
		switch {
		case err == nil:
			p := ring.Payload(&d) // zero-copy view ...
			s := string(p)
			if ring.PayloadValid(&d) { // ... trusted only if still valid after use
				fmt.Println(d.Seqno, s)
			}
		case errors.As(err, &gap):
			fmt.Println("lost", gap.Lost(), "events")
			rd.Reset()
		case errors.Is(err, eventring.ErrWriterGone):
			fmt.Println("writer gone")
			return
		default:
			log.Fatal(err)
		}
	}
	// Output:
	// 1 event 0
	// 2 event 1
	// 3 event 2
	// writer gone
}
