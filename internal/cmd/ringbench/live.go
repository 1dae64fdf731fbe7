package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/monadgo/events/eventring"
)

// cmdLive is the recorder throughput yardstick, the counterpart of
// "cref live" (../shared/bench): a writer process records --events events
// of --payload bytes as fast as it can (each payload carries its seqno in
// its first and last 8 bytes) into a fresh ring in DIR, while this process
// follows it with a busy-polling reader that copies and checks every
// payload. It prints cref's "live" line: write_eps is the writer's rate,
// read_eps the reader's, lat_* the reader's wall clock minus each event's
// record_epoch_nanos. Writer on CPU 1, reader on CPU 0, as cref pins them.
// With --batch N the reader reads batches (one latency sample per event,
// taken when its batch was read); with --write-batch N the writer records
// batches (RecordBatch: the events of a batch share one timestamp).
func cmdLive(args []string) error {
	fs := flag.NewFlagSet("live", flag.ExitOnError)
	events := fs.Uint64("events", 10_000_000, "events to record")
	payload := fs.Int("payload", 64, "payload bytes per event")
	capShift := fs.Uint("capacity-shift", 20, "log2 of the descriptor capacity")
	payShift := fs.Uint("payload-shift", 28, "log2 of the payload buffer size")
	noPin := fs.Bool("no-pin", false, "do not pin reader and writer to CPUs 0 and 1")
	batch := fs.Int("batch", 0, "read in batches of this many events (TryNextBatch, CopyPayloads); 0: one event at a time, like cref")
	writeBatch := fs.Int("write-batch", 0, "record in batches of this many events (RecordBatch: one clock read per batch); 0: one event at a time (RecordFunc), like cref")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *payload < 0 {
		usage()
	}
	path := filepath.Join(pos[0], fmt.Sprintf("ringbench-live-%d.ring", os.Getpid()))
	defer os.Remove(path)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "live-writer", path, "--events", strconv.FormatUint(*events, 10),
		"--payload", strconv.Itoa(*payload), "--capacity-shift", strconv.FormatUint(uint64(*capShift), 10),
		"--payload-shift", strconv.FormatUint(uint64(*payShift), 10), "--no-pin="+strconv.FormatBool(*noPin), "--batch", strconv.Itoa(*writeBatch))
	cmd.Stderr = os.Stderr
	start, err := cmd.StdinPipe() // the writer starts when this is closed
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe() // "ready", then the writer's elapsed nanoseconds
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Wait()
	var ready string
	if _, err := fmt.Fscan(out, &ready); err != nil || ready != "ready" {
		return fmt.Errorf("writer did not start: %q %v", ready, err)
	}
	ring, err := eventring.OpenWithOptions(path, eventring.OpenOptions{Populate: true})
	if err != nil {
		return err
	}
	defer ring.Close()
	if !*noPin {
		if err := pin(0); err != nil {
			return err
		}
	}
	lat := make([]int64, 0, *events)
	buf := make([]byte, 0, *payload+64)
	rd := ring.NewReader()
	rd.SetSeqno(1)
	var d eventring.Descriptor
	var got, gaps, expired, bad uint64
	start.Close()
	t0 := time.Now()
	if *batch > 0 {
		got, gaps, expired, bad = readLiveBatches(ring, rd, *events, *payload, *batch, &lat)
	}
	for rd.LastSeqno() < *events {
		switch rd.TryNext(&d) {
		case eventring.Ready:
			lat = append(lat, time.Now().UnixNano()-int64(d.RecordEpochNanos))
			got++
			buf, err = ring.CopyPayload(&d, buf)
			if err != nil {
				expired++
				continue
			}
			ok := d.EventType == 2 && d.ContentExt[0] == d.Seqno-1 && len(buf) == *payload
			if ok && len(buf) >= 8 {
				ok = binary.LittleEndian.Uint64(buf) == d.Seqno
			}
			if ok && len(buf) >= 16 {
				ok = binary.LittleEndian.Uint64(buf[len(buf)-8:]) == d.Seqno
			}
			if !ok {
				bad++
			}
		case eventring.Gap:
			gaps++
			rd.Reset()
		}
	}
	rsec := time.Since(t0).Seconds()
	var wns int64
	if _, err := fmt.Fscan(out, &wns); err != nil {
		return fmt.Errorf("writer: %w", err)
	}
	_, _ = io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("writer: %w", err)
	}
	slices.Sort(lat)
	pct := func(p float64) int64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	fmt.Printf("live events=%d read=%d lost=%d gaps=%d expired=%d bad=%d write_eps=%.0f read_eps=%.0f lat_p50_ns=%d lat_p99_ns=%d lat_p999_ns=%d\n",
		*events, got, *events-got, gaps, expired, bad, float64(*events)/(float64(wns)/1e9), float64(got)/rsec,
		pct(0.50), pct(0.99), pct(0.999))
	if bad > 0 {
		return errors.New("payloads failed their check")
	}
	return nil
}

// readLiveBatches is cmdLive's reader with TryNextBatch and CopyPayloads:
// one expiry check per batch instead of two per event.
func readLiveBatches(ring *eventring.Ring, rd *eventring.Reader, events uint64, payload, batch int, lat *[]int64) (got, gaps, expired, bad uint64) {
	descs := make([]eventring.Descriptor, batch)
	offs := make([]int, batch)
	buf := make([]byte, batch*((payload+31)&^15))
	for rd.LastSeqno() < events {
		n, res := rd.TryNextBatch(descs)
		if n == 0 {
			if res == eventring.Gap {
				gaps++
				rd.Reset()
			}
			continue
		}
		now := time.Now().UnixNano()
		for i := range descs[:n] {
			*lat = append(*lat, now-int64(descs[i].RecordEpochNanos))
		}
		got += uint64(n)
		for b := descs[:n]; len(b) > 0; {
			k, err := ring.CopyPayloads(buf, b, offs)
			var be *eventring.BatchExpiredError
			if err != nil && !errors.As(err, &be) {
				bad += uint64(len(b))
				break
			}
			for i, d := range b[:k] {
				if offs[i] < 0 {
					expired++
					continue
				}
				p := buf[offs[i] : offs[i]+int(d.PayloadSize)]
				ok := d.EventType == 2 && d.ContentExt[0] == d.Seqno-1 && len(p) == payload
				if ok && len(p) >= 8 {
					ok = binary.LittleEndian.Uint64(p) == d.Seqno
				}
				if ok && len(p) >= 16 {
					ok = binary.LittleEndian.Uint64(p[len(p)-8:]) == d.Seqno
				}
				if !ok {
					bad++
				}
			}
			b = b[k:]
		}
	}
	return got, gaps, expired, bad
}

// cmdLiveWriter is cmdLive's writer process.
func cmdLiveWriter(args []string) error {
	fs := flag.NewFlagSet("live-writer", flag.ExitOnError)
	events := fs.Uint64("events", 10_000_000, "")
	payload := fs.Int("payload", 64, "")
	capShift := fs.Uint("capacity-shift", 20, "")
	payShift := fs.Uint("payload-shift", 28, "")
	noPin := fs.Bool("no-pin", false, "")
	batch := fs.Int("batch", 0, "")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *batch < 0 {
		usage()
	}
	sizes := eventring.Sizes{DescriptorCapacity: 1 << *capShift, PayloadBufSize: 1 << *payShift}
	w, err := eventring.CreateWithOptions(pos[0], sizes, eventring.ContentTypeTest, [32]byte{},
		eventring.RecorderOptions{Populate: true})
	if err != nil {
		return err
	}
	defer w.Close()
	if !*noPin {
		if err := pin(1); err != nil {
			return err
		}
	}
	src := make([]byte, *payload)
	for i := range src {
		src[i] = byte(i*131 + 7)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin) // wait until the reader is spinning
	size := uint64(*payload)
	fill := func(seqno uint64, p []byte) {
		copy(p, src)
		if len(p) >= 8 {
			binary.LittleEndian.PutUint64(p, seqno)
		}
		if len(p) >= 16 {
			binary.LittleEndian.PutUint64(p[len(p)-8:], seqno)
		}
	}
	if *batch > 0 {
		return writeLiveBatches(w, *events, src, *batch)
	}
	t0 := time.Now()
	for i := range *events {
		// RecordFunc, not Reserve and Commit: one fault guard per event.
		if _, err := w.RecordFunc(2, [4]uint64{i}, size, fill); err != nil {
			return err
		}
	}
	fmt.Println(time.Since(t0).Nanoseconds())
	return nil
}

// writeLiveBatches is cmdLiveWriter with Recorder.RecordBatch: each batch's
// payloads are built in one buffer, then copied into the ring. The writer is
// the ring's only one, so event i gets seqno i+1, which its payload carries
// before it is recorded (RecordBatch's result confirms it).
func writeLiveBatches(w *eventring.Recorder, events uint64, src []byte, batch int) error {
	buf := make([]byte, batch*len(src))
	evs := make([]eventring.BatchEvent, batch)
	t0 := time.Now()
	for i := uint64(0); i < events; {
		n := min(uint64(batch), events-i)
		for j := range n {
			p := buf[j*uint64(len(src)):][:len(src)]
			copy(p, src)
			seqno := i + j + 1
			if len(p) >= 8 {
				binary.LittleEndian.PutUint64(p, seqno)
			}
			if len(p) >= 16 {
				binary.LittleEndian.PutUint64(p[len(p)-8:], seqno)
			}
			evs[j] = eventring.BatchEvent{EventType: 2, ContentExt: [4]uint64{i + j}, Payload: p}
		}
		first, err := w.RecordBatch(evs[:n])
		if err != nil {
			return err
		}
		if first != i+1 {
			return fmt.Errorf("batch recorded at seqno %d, want %d: another writer?", first, i+1)
		}
		i += n
	}
	fmt.Println(time.Since(t0).Nanoseconds())
	return nil
}
