// Command ringbench measures eventring's reading speed and cross-process
// latency.
//
//	ringbench read FILE [--mode desc|payload|desc-batch|payload-batch] [--passes N] [--batch B]
//
// reads every event of a ring or snapshot N times (pass 1 is a warm-up)
// and prints one line, "events=N checksum=0x%016x ns_per_event=X", X being
// the median over passes 2..N. The checksums are the ones the reference
// testdata README defines: desc mode sums, with u64 wrap-around, the XOR of
// every descriptor field; payload mode additionally copies each payload
// (check, copy, check) and adds its first 8 bytes as a little-endian u64
// (0 when shorter). The -batch modes compute the same checksums reading B
// descriptors at a time (Reader.TryNextBatch) and copying their payloads
// with one expiry check per batch (Ring.CopyPayloads). The line format lets
// it run alternately with a C reader.
//
// FILE may also be an evcap capture file (told by its magic): every pass
// then reads its events with an evcap.Reader, decompressing the bundles,
// and prints the same line with the same checksums (the capture stores the
// ring's descriptors unchanged); the -batch modes read it the same way.
//
//	ringbench latency [--rate 1000000] [--size 100] [--duration 5s] [--dir /dev/shm]
//
// starts a writer process (this program, "write" subcommand) recording
// events of --size bytes paced at --rate per second into a fresh minimal
// ring, follows it with a busy-spinning reader and prints percentiles of the
// reader's wall clock minus each event's record_epoch_nanos. The writer is
// pinned to CPU 0 and the reader to CPU 1 (--no-pin to disable).
//
//	ringbench live DIR [--events N] [--payload B] [--capacity-shift S] [--payload-shift P] [--batch N] [--write-batch N] [--no-pin]
//
// is the recorder's throughput yardstick, the counterpart of "cref live":
// an unpaced writer process and a busy-polling reader that checks every
// payload, printing cref's "live" line (see live.go). Its writer alone
// ("live-writer" subcommand, which prints the writer's nanoseconds) is what
// the README compares with cref's writer; --batch N there records batches.
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
	"runtime"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/monadgo/events/evcap"
	"github.com/monadgo/events/eventring"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "read":
		err = cmdRead(os.Stdout, os.Args[2:])
	case "latency":
		err = cmdLatency(os.Args[2:])
	case "write":
		err = cmdWrite(os.Args[2:])
	case "live":
		err = cmdLive(os.Args[2:])
	case "live-writer":
		err = cmdLiveWriter(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ringbench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: ringbench read FILE [--mode desc|payload|desc-batch|payload-batch] [--passes N] [--batch B]\n       ringbench latency [--rate R] [--size B] [--duration D] [--dir DIR] [--no-pin]\n       ringbench live DIR [--events N] [--payload B] [--capacity-shift S] [--payload-shift P] [--batch N] [--write-batch N] [--no-pin]")
	os.Exit(2)
}

// parseInterspersed parses flags that may appear before or after the
// positional arguments (Go's flag package stops at the first positional).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func cmdRead(out io.Writer, args []string) error {
	fs := flag.NewFlagSet("read", flag.ExitOnError)
	mode := fs.String("mode", "desc", "desc: descriptors only; payload: also check/copy/check every payload; desc-batch, payload-batch: the same in batches")
	passes := fs.Int("passes", 5, "passes over the ring; the first is a warm-up")
	batch := fs.Int("batch", 16, "descriptors per batch in the -batch modes")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1, *passes < 2, *batch < 1:
		usage()
	case *mode == "desc", *mode == "payload", *mode == "desc-batch", *mode == "payload-batch":
	default:
		usage()
	}
	var ring *eventring.Ring
	var capture *evcap.File
	if isCapture(pos[0]) {
		if capture, err = evcap.Open(pos[0]); err != nil {
			return err
		}
		defer capture.Close()
	} else {
		if ring, err = eventring.OpenWithOptions(pos[0], eventring.OpenOptions{Populate: true}); err != nil {
			return err
		}
		defer ring.Close()
	}
	var times []float64
	var events, sum uint64
	// One buffer for every pass: a pass must not allocate (a GC cycle
	// during a pass distorts it).
	buf := make([]byte, 0, 1<<20)
	descs := make([]eventring.Descriptor, *batch)
	offs := make([]int, *batch)
	for p := range *passes {
		start := time.Now()
		var n uint64
		var err error
		if capture != nil {
			n, sum, err = passCapture(capture, *mode == "payload" || *mode == "payload-batch")
		} else {
			n, sum, err = passRing(*mode, ring, buf, descs, offs)
		}
		el := time.Since(start)
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("no events")
		}
		events = n
		if os.Getenv("RINGBENCH_DEBUG") != "" {
			fmt.Fprintf(os.Stderr, "pass %d: %.3f ns/event\n", p, float64(el.Nanoseconds())/float64(n))
		}
		if p > 0 {
			times = append(times, float64(el.Nanoseconds())/float64(n))
		}
	}
	slices.Sort(times)
	med := times[len(times)/2]
	if len(times)%2 == 0 {
		med = (times[len(times)/2-1] + times[len(times)/2]) / 2
	}
	fmt.Fprintf(out, "events=%d checksum=0x%016x ns_per_event=%.3f\n", events, sum, med)
	return nil
}

// passRing is one pass of the mode over a ring or snapshot.
func passRing(mode string, ring *eventring.Ring, buf []byte, descs []eventring.Descriptor, offs []int) (n, sum uint64, err error) {
	switch mode {
	case "desc":
		n, sum = passDesc(ring)
	case "payload":
		n, sum, err = passPayload(ring, buf)
	case "desc-batch":
		n, sum = passDescBatch(ring, descs)
	case "payload-batch":
		n, sum, err = passPayloadBatch(ring, descs, offs, buf[:cap(buf)])
	}
	return n, sum, err
}

func descSum(d *eventring.Descriptor) uint64 {
	return d.Seqno ^ uint64(d.EventType) ^ uint64(d.PayloadSize) ^ d.RecordEpochNanos ^ d.PayloadBufOffset ^
		d.ContentExt[0] ^ d.ContentExt[1] ^ d.ContentExt[2] ^ d.ContentExt[3]
}

// passDesc reads every event from seqno 1 (descriptors only).
func passDesc(ring *eventring.Ring) (n, sum uint64) {
	rd := ring.NewReader()
	rd.SetSeqno(1)
	var d eventring.Descriptor
	for rd.TryNext(&d) == eventring.Ready {
		sum += descSum(&d)
		n++
	}
	return n, sum
}

// passPayload reads every event from seqno 1 with a checked payload copy.
func passPayload(ring *eventring.Ring, buf []byte) (n, sum uint64, err error) {
	rd := ring.NewReader()
	rd.SetSeqno(1)
	var d eventring.Descriptor
	for rd.TryNext(&d) == eventring.Ready {
		buf, err = ring.CopyPayload(&d, buf)
		if err != nil {
			return n, sum, err
		}
		sum += descSum(&d)
		if len(buf) >= 8 {
			sum += binary.LittleEndian.Uint64(buf)
		}
		n++
	}
	return n, sum, nil
}

// passDescBatch is passDesc reading len(descs) descriptors at a time.
func passDescBatch(ring *eventring.Ring, descs []eventring.Descriptor) (n, sum uint64) {
	rd := ring.NewReader()
	rd.SetSeqno(1)
	for {
		k, _ := rd.TryNextBatch(descs)
		for i := range descs[:k] {
			sum += descSum(&descs[i])
		}
		n += uint64(k)
		if k < len(descs) {
			return n, sum
		}
	}
}

// passPayloadBatch is passPayload in batches: the descriptors of
// len(descs) events, then their payloads copied into buf with one expiry
// check per batch (or per buf-full).
func passPayloadBatch(ring *eventring.Ring, descs []eventring.Descriptor, offs []int, buf []byte) (n, sum uint64, err error) {
	rd := ring.NewReader()
	rd.SetSeqno(1)
	for {
		k, _ := rd.TryNextBatch(descs)
		for batch := descs[:k]; len(batch) > 0; {
			c, err := ring.CopyPayloads(buf, batch, offs)
			if err != nil {
				return n, sum, err
			}
			sum += batchSum(batch[:c], offs[:c], buf)
			n += uint64(c)
			batch = batch[c:]
		}
		if k < len(descs) {
			return n, sum, nil
		}
	}
}

// batchSum is the checksum of a batch whose payloads CopyPayloads put in
// buf (none expired). It reads each payload's first word without bounds
// checks: CopyPayloads guarantees buf[offs[i]:offs[i]+PayloadSize] lies in
// buf, and the checks cost more per event here than the C reader's whole
// checksum (it reads its one copy buffer in place).
func batchSum(batch []eventring.Descriptor, offs []int, buf []byte) (sum uint64) {
	if len(buf) < 8 { // then no payload of 8 bytes or more is in it
		for i := range batch {
			sum += descSum(&batch[i])
		}
		return sum
	}
	base := unsafe.Pointer(unsafe.SliceData(buf))
	offs = offs[:len(batch)]
	for i := range batch {
		d := &batch[i]
		sum += descSum(d)
		// Masks, not a branch: a fifth of the payloads are shorter than 8
		// bytes, in no order a branch predictor learns. short is all ones
		// for them, and their word is read from buf[0:8] and dropped.
		short := uint64((int64(d.PayloadSize) - 8) >> 63)
		w := binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(base, uint64(offs[i])&^short))[:])
		sum += w &^ short
	}
	return sum
}

// pin locks the goroutine to its thread and the thread to cpu.
func pin(cpu int) error {
	runtime.LockOSThread()
	var set unix.CPUSet
	set.Set(cpu)
	return unix.SchedSetaffinity(0, &set)
}

func cmdLatency(args []string) error {
	fs := flag.NewFlagSet("latency", flag.ExitOnError)
	rate := fs.Float64("rate", 1e6, "events per second")
	size := fs.Int("size", 100, "payload bytes per event")
	dur := fs.Duration("duration", 5*time.Second, "how long the writer writes")
	dir := fs.String("dir", "/dev/shm", "directory for the ring file")
	noPin := fs.Bool("no-pin", false, "do not pin writer and reader to CPUs 0 and 1")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	path := filepath.Join(*dir, fmt.Sprintf("ringbench-%d", os.Getpid()))
	defer os.Remove(path)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "write", path, "--rate", strconv.FormatFloat(*rate, 'f', -1, 64),
		"--size", strconv.Itoa(*size), "--duration", dur.String(), "--no-pin="+strconv.FormatBool(*noPin))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start, err := cmd.StdinPipe() // the writer starts when this is closed
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Wait()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("writer did not create the ring")
		}
	}
	ring, err := eventring.OpenWithOptions(path, eventring.OpenOptions{Populate: true})
	if err != nil {
		return err
	}
	defer ring.Close()
	if !*noPin {
		if err := pin(1); err != nil {
			return err
		}
	}
	lat := make([]int64, 0, int(*rate*dur.Seconds())+1024)
	rd := ring.NewReader()
	rd.SetSeqno(1)
	start.Close()
	var d eventring.Descriptor
	idle := 0
	for {
		switch rd.TryNext(&d) {
		case eventring.Ready:
			now := time.Now().UnixNano()
			lat = append(lat, now-int64(d.RecordEpochNanos))
			idle = 0
		case eventring.Gap:
			return fmt.Errorf("reader lapped at seqno %d", rd.LastSeqno()+1)
		default:
			// Busy spin; check for the writer's exit only now and then.
			if idle++; idle&(1<<20-1) == 0 {
				if pids, _ := ring.WriterPIDs(); len(pids) == 0 && rd.TryNext(&d) == eventring.NotReady {
					return report(lat, ring)
				}
			}
		}
	}
}

func report(lat []int64, ring *eventring.Ring) error {
	if len(lat) == 0 {
		return errors.New("no events")
	}
	// The first events can see the reader's start-up; drop the first 1 %.
	lat = lat[len(lat)/100:]
	slices.Sort(lat)
	pct := func(p float64) int64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("events=%d p50=%dns p90=%dns p99=%dns p99.9=%dns max=%dns\n",
		len(lat), pct(0.50), pct(0.90), pct(0.99), pct(0.999), lat[len(lat)-1])
	return nil
}

func cmdWrite(args []string) error {
	fs := flag.NewFlagSet("write", flag.ExitOnError)
	rate := fs.Float64("rate", 1e6, "events per second")
	size := fs.Int("size", 100, "payload bytes per event")
	dur := fs.Duration("duration", 5*time.Second, "how long to write")
	noPin := fs.Bool("no-pin", false, "do not pin to CPU 0")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		usage()
	}
	sizes := eventring.Sizes{DescriptorCapacity: 1 << 20, PayloadBufSize: 1 << 28}
	w, err := eventring.Create(pos[0], sizes, eventring.ContentTypeTest, [32]byte{})
	if err != nil {
		return err
	}
	defer w.Close()
	if !*noPin {
		if err := pin(0); err != nil {
			return err
		}
	}
	payload := make([]byte, *size)
	for i := range payload {
		payload[i] = byte(i)
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // wait until the reader is spinning
	period := time.Duration(float64(time.Second) / *rate)
	start := time.Now()
	end := start.Add(*dur)
	next := start
	for next.Before(end) {
		for time.Now().Before(next) {
		}
		if _, err := w.Record(2, [4]uint64{}, payload); err != nil {
			return err
		}
		next = next.Add(period)
	}
	return nil
}
