package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// TestWrappedSnapshotUncommittedOldest: in a capture of a wrapped ring
// whose oldest candidate event (last_seqno-C+1) is a reservation that was
// never committed, watch and info start with the event after it
// (Ring.OldestSeqno) instead of stopping at the empty slot and showing
// nothing.
func TestWrappedSnapshotUncommittedOldest(t *testing.T) {
	const (
		c       = eventring.MinDescriptorCapacity
		stuck   = 4001          // reserved, never committed
		last    = stuck + c - 1 // makes stuck the oldest candidate
		resumed = stuck + 1
	)
	dir := t.TempDir()
	path := filepath.Join(dir, "ring")
	rec, err := eventring.Create(path, eventring.Sizes{DescriptorCapacity: c, PayloadBufSize: eventring.MinPayloadBufSize},
		execevents.RingContentType, execevents.SchemaHash)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	typ := uint16(execevents.EventTypeBlockPerfEVMEnter) // no payload
	for i := uint64(1); i <= last; i++ {
		if i == stuck {
			if _, err := rec.Reserve(typ, [4]uint64{}, 0); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := rec.Record(typ, [4]uint64{}); err != nil {
			t.Fatal(err)
		}
	}
	live, err := rec.Ring()
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	snap := filepath.Join(dir, "wrapped.zst")
	f, err := os.Create(snap)
	if err != nil {
		t.Fatal(err)
	}
	if err := live.WriteSnapshot(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	lines := strings.Split(strings.TrimSuffix(mustRun(t, "watch", snap).stdout, "\n"), "\n")
	if len(lines) != last-resumed+1 {
		t.Fatalf("watch printed %d lines, want events %d..%d", len(lines), resumed, last)
	}
	for i, l := range []string{lines[0], lines[len(lines)-1]} {
		if want := fmt.Sprintf(" SEQ: %d ", []int{resumed, last}[i]); !strings.Contains(l, want) {
			t.Fatalf("line %q, want%s", l, want)
		}
	}
	out := mustRun(t, "watch", "--start", "oldest", "-n", "1", snap).stdout
	if want := fmt.Sprintf(" SEQ: %d ", resumed); !strings.Contains(out, want) {
		t.Fatalf("watch --start oldest: %q, want%s", out, want)
	}
}
