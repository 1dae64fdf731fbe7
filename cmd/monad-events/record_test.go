package main

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/monadgo/events/evcap"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/internal/testdata"
)

// captureEvent is an event read back from a capture.
type captureEvent struct {
	d eventring.Descriptor
	p []byte
}

// readCaptures reads the events of capture files in order with evcap,
// failing on any error or gap, and returns them.
func readCaptures(t *testing.T, paths ...string) []captureEvent {
	t.Helper()
	var evs []captureEvent
	for _, p := range paths {
		f, err := evcap.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Verify(context.Background()); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		src := f.NewSource()
		var d eventring.Descriptor
		for {
			err := src.Next(context.Background(), &d)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if !src.PayloadValid(&d) {
				t.Fatalf("%s: seqno %d: payload not valid", p, d.Seqno)
			}
			evs = append(evs, captureEvent{d, append([]byte(nil), src.Payload(&d)...)})
		}
		f.Close()
	}
	return evs
}

// checksums are the two sums of ../shared/testdata/README.md.
func checksums(evs []captureEvent) (desc, payload uint64) {
	for _, e := range evs {
		d := &e.d
		desc += d.Seqno ^ uint64(d.EventType) ^ uint64(d.PayloadSize) ^ d.RecordEpochNanos ^ d.PayloadBufOffset ^
			d.ContentExt[0] ^ d.ContentExt[1] ^ d.ContentExt[2] ^ d.ContentExt[3]
		if len(e.p) >= 8 {
			payload += binary.LittleEndian.Uint64(e.p)
		}
	}
	return desc, desc + payload
}

// TestRecordSnapshots records the daemon's two reference snapshots with
// record (compressed; uncompressed in small bundles; rotated into several
// files) and reads the captures back with evcap: the same events as the
// snapshot, event for event, with the checksums the testdata READMEs give,
// and a commit tracker fed from the capture gives the same updates (as
// blocks --json renders them) as one fed from the snapshot.
func TestRecordSnapshots(t *testing.T) {
	for _, c := range []struct {
		path          string
		events        int
		desc, payload uint64
	}{
		{emn1bPath, emn1bEvents, 0xa53a7d7b7f27f464, 0x890bd29b0325c9cb},
		{emn30bPath, emn30bEvents, 0xc335b1710fbd9b71, 0x2eb87ffbe3b57c05},
	} {
		snap := sharedFile(t, c.path)
		want := testdata.Events(t, snap)
		wantUpdates := mustRun(t, "blocks", "--json", snap).stdout
		for _, v := range []struct {
			name  string
			flags []string
		}{
			{"zstd", nil},
			{"plain", []string{"--no-compress", "--bundle-events", "1000"}},
			{"direct", []string{"--direct", "--no-compress", "--bundle-events", "3000"}},
			{"rotated", []string{"--rotate-size", "1M", "--bundle-events", "5000"}},
		} {
			t.Run(filepath.Base(c.path)+"/"+v.name, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "rec.evcap")
				r := mustRun(t, append(append([]string{"record"}, v.flags...), snap, out)...)
				if !strings.Contains(r.stderr, "record: done") || !strings.Contains(r.stderr, "lost=0") {
					t.Errorf("stderr:\n%s", r.stderr)
				}
				if v.name == "direct" && !strings.Contains(r.stderr, "direct=true") {
					// The file was still checked below, written the ordinary way.
					defer t.Skip("the file system of t.TempDir() refused O_DIRECT")
				}
				files := []string{out}
				if v.name == "rotated" {
					files, _ = filepath.Glob(filepath.Join(filepath.Dir(out), "rec-*.evcap"))
					if c.events > 100000 && len(files) < 2 || files[0] != filepath.Join(filepath.Dir(out), "rec-0001.evcap") {
						t.Fatalf("rotated files: %v", files)
					}
				}
				got := readCaptures(t, files...)
				if len(got) != c.events {
					t.Fatalf("%d events read back, want %d", len(got), c.events)
				}
				for i := range got {
					if got[i].d != want[i].Descriptor || string(got[i].p) != string(want[i].Payload) {
						t.Fatalf("event %d differs from the snapshot's", i+1)
					}
				}
				if desc, payload := checksums(got); desc != c.desc || payload != c.payload {
					t.Errorf("checksums %#x %#x, want %#x %#x", desc, payload, c.desc, c.payload)
				}
				if len(files) == 1 {
					if got := mustRun(t, "blocks", "--json", files[0]).stdout; got != wantUpdates {
						t.Errorf("blocks --json on the capture differs from blocks --json on the snapshot")
					}
				}
			})
		}
	}
}

var recordRate = regexp.MustCompile(`events=(\d+) lost=(\d+) .*elapsed=(\S+)`)

// TestRecordLive records emn-30b while replay writes it into a live ring
// at full speed (the ring holds the whole recording: 2^18 descriptors):
// every event is recorded, none lost, and the capture reads back as the
// snapshot's events with the ring's new sequence numbers and times. Then,
// with --wait, a recorder follows two more replays onto the same path and
// writes one numbered file per ring.
func TestRecordLive(t *testing.T) {
	snap := sharedFile(t, emn30bPath)
	dir := t.TempDir()
	ring := filepath.Join(dir, "live-ring")
	replay, replayErr := start(t, "replay", snap, ring)
	waitFile(t, ring)
	out := filepath.Join(dir, "live.evcap")
	r := runCmd(t, 2*time.Minute, "record", ring, out)
	if r.code != 0 {
		t.Fatalf("record: status %d\n%s", r.code, tail(r.stderr))
	}
	if code := waitExit(t, replay, time.Minute); code != 0 {
		t.Fatalf("replay: %d\n%s", code, replayErr.String())
	}
	m := recordRate.FindStringSubmatch(r.stderr)
	if m == nil || m[1] != "136891" || m[2] != "0" {
		t.Fatalf("record's summary: %s", tail(r.stderr))
	}
	el, _ := time.ParseDuration(m[3])
	t.Logf("recorded %s events of a full-speed replay in %v: %.0f events/s", m[1], el, float64(emn30bEvents)/el.Seconds())
	got := readCaptures(t, out)
	want := testdata.Events(t, snap)
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].d.Seqno != uint64(i+1) || got[i].d.EventType != want[i].Descriptor.EventType || string(got[i].p) != string(want[i].Payload) {
			t.Fatalf("event %d differs from the replayed one", i+1)
		}
	}

	// --wait: two more runs onto the same path, one file each.
	small := sharedFile(t, emn1bPath)
	rec, recErr := start(t, "record", "--wait", "--bundle-interval", "100ms", ring, filepath.Join(dir, "w.evcap"))
	time.Sleep(500 * time.Millisecond) // it reads the finished ring, then waits
	for range 2 {
		mustRun(t, "replay", small, ring)
		time.Sleep(700 * time.Millisecond)
	}
	if err := rec.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, rec, 20*time.Second); code != 0 {
		t.Fatalf("record --wait: %d\n%s", code, recErr.String())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "w-*.evcap"))
	if len(files) != 3 || strings.Count(recErr.String(), "new ring:") != 2 {
		t.Fatalf("record --wait wrote %v\n%s", files, recErr.String())
	}
	for i, f := range files[1:] {
		if n := len(readCaptures(t, f)); n != emn1bEvents {
			t.Errorf("%s (run %d): %d events, want %d", f, i+1, n, emn1bEvents)
		}
	}
}

// TestRecordKilled: a recorder killed with SIGKILL mid-run leaves a file
// that opens and verifies, holding consecutive events up to its last
// closed bundle, each equal to the ring's.
func TestRecordKilled(t *testing.T) {
	src := replaySource(t)
	dir := t.TempDir()
	ring := filepath.Join(dir, "ring")
	start(t, "replay", "--loop", "--rate", "50000", src, ring)
	waitFile(t, ring)
	out := filepath.Join(dir, "killed.evcap")
	rec, _ := start(t, "record", "--bundle-events", "1000", "--progress", "0", ring, out)
	time.Sleep(1500 * time.Millisecond)
	if err := rec.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	waitExit(t, rec, 10*time.Second)
	got := readCaptures(t, out)
	if len(got) < 1000 {
		t.Fatalf("%d events survived the kill", len(got))
	}
	r, err := eventring.Open(ring)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i, e := range got {
		var d eventring.Descriptor
		if i > 0 && e.d.Seqno != got[i-1].d.Seqno+1 {
			t.Fatalf("seqno %d after %d", e.d.Seqno, got[i-1].d.Seqno)
		}
		if r.TryCopy(e.d.Seqno, &d) && d != e.d {
			t.Fatalf("seqno %d differs from the ring's", e.d.Seqno)
		}
	}
	t.Logf("%d events (seqnos %d..%d) read back from the killed recorder's file", len(got), got[0].d.Seqno, got[len(got)-1].d.Seqno)
}

// TestRecordAdaptive: a recorder that falls more than half the ring
// behind its writer (here: zstd level 19, far slower than the replay
// into the smallest ring) writes uncompressed bundles until it has caught
// up, and says so; the file mixes both and verifies.
func TestRecordAdaptive(t *testing.T) {
	src := replaySource(t)
	dir := t.TempDir()
	ring := filepath.Join(dir, "ring")
	start(t, "replay", "--loop", "--rate", "400000", "--descriptors-shift", "16", src, ring)
	waitFile(t, ring)
	out := filepath.Join(dir, "adaptive.evcap")
	rec, recErr := start(t, "record", "--level", "19", "--bundle-events", "2048", "--progress", "0", ring, out)
	time.Sleep(2500 * time.Millisecond)
	if err := rec.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, rec, 20*time.Second); code != 0 {
		t.Fatalf("record: %d\n%s", code, recErr.String())
	}
	if !strings.Contains(recErr.String(), "falling behind the ring's writer: writing uncompressed bundles") {
		t.Fatalf("no switch to uncompressed bundles:\n%s", tail(recErr.String()))
	}
	f, err := evcap.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Verify(context.Background()); err != nil {
		t.Fatal(err)
	}
	count := map[evcap.Compression]int{}
	for _, b := range f.Bundles() {
		count[b.Compression]++
	}
	if count[evcap.CompressionNone] == 0 || count[evcap.CompressionZstdStreaming] == 0 {
		t.Fatalf("bundles by compression: %v", count)
	}
	t.Logf("bundles by compression: %v", count)
}

// TestRecordAdaptivePayloadBound: the switch to uncompressed bundles
// watches both halves of the ring. Here 2^22 descriptors outlast the
// 128 MiB payload buffer five times over (emn-30b's payloads average 160
// bytes), so a recorder that measured its lag in descriptors alone would
// lose events to the payload buffer long before it switched; it must
// switch before any event is lost.
func TestRecordAdaptivePayloadBound(t *testing.T) {
	src := replaySource(t)
	dir := t.TempDir()
	ring := filepath.Join(dir, "ring")
	start(t, "replay", "--loop", "--rate", "300000", "--descriptors-shift", "22", "--payload-shift", "27", src, ring)
	waitFile(t, ring)
	out := filepath.Join(dir, "adaptive.evcap")
	rec := exec.Command(binPath, "record", "--level", "19", "--bundle-events", "2048", "--progress", "0", ring, out)
	recErr := &syncBuffer{}
	rec.Stderr = recErr
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Process.Kill(); rec.Wait() })
	// Until it switches or loses events: the replay runs about twice as
	// fast as the level-19 recorder, so the lag reaches half the payload
	// buffer (about 400 000 events) within a few seconds.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if log := recErr.String(); strings.Contains(log, "falling behind") || strings.Contains(log, "record: gap:") {
			break
		}
	}
	if err := rec.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, rec, 20*time.Second); code != 0 {
		t.Fatalf("record: %d\n%s", code, recErr.String())
	}
	log := recErr.String()
	switched := strings.Index(log, "falling behind the ring's writer")
	if switched < 0 {
		t.Fatalf("no switch to uncompressed bundles:\n%s", tail(log))
	}
	// Losses are reported when their run ends: the switch's own line says
	// how many were lost before it.
	line := log[switched:]
	line = line[:strings.IndexByte(line+"\n", '\n')]
	if lost := strings.Index(log, "record: gap:"); lost >= 0 && lost < switched || !strings.Contains(line, " lost=0") {
		t.Fatalf("events were lost before the switch to uncompressed bundles:\n%s", tail(log))
	}
}
