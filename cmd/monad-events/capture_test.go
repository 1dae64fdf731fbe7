package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/monadgo/events/evcap"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/internal/testdata"
)

// writeCapture records every event of a snapshot into a release-layout
// capture, in bundles of bundleEvents events.
func writeCapture(t *testing.T, snapshot string, bundleEvents int) string {
	t.Helper()
	ring, err := eventring.Open(snapshot)
	if err != nil {
		t.Fatal(err)
	}
	hdr := ring.Header()
	ring.Close()
	path := filepath.Join(t.TempDir(), "capture.evcap")
	w, err := evcap.Create(path, []evcap.Schema{{ContentType: hdr.ContentType, Hash: hdr.SchemaHash}}, evcap.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range testdata.Events(t, snapshot) {
		if i > 0 && i%bundleEvents == 0 {
			if err := w.EndBundle(); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Write(&e.Descriptor, hdr.ContentType, e.Payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCaptureInput: watch and blocks read capture files as they read the
// ring recorded: the daemon's own captures of emn-1b (three files, two
// layouts) and a capture of emn-30b written here give output identical to
// the snapshots', for every --start and --end form.
func TestCaptureInput(t *testing.T) {
	snap1 := sharedFile(t, "emn-1b-15m.snapshot")
	for _, name := range []string{"emn-1b-15m.evcap", "emn-1b-15m-plain.evcap", "emn-1b-15m-preview.evcap"} {
		capPath := sharedFile(t, "evcap/"+name)
		for _, args := range [][]string{{"blocks", "--json"}, {"watch", "--json"}, {"watch", "--start", "6000", "--end", "6100"}} {
			want := mustRun(t, append(args, snap1)...).stdout
			if got := mustRun(t, append(args, capPath)...).stdout; got != want {
				t.Errorf("%s %s: output differs from the snapshot's (%d vs %d bytes)", strings.Join(args, " "), name, len(got), len(want))
			}
		}
	}

	snap30 := sharedFile(t, emn30bPath)
	capPath := writeCapture(t, snap30, 4096)
	for _, args := range [][]string{
		{"blocks", "--json"},
		{"blocks", "--state", "finalized", "--start", "finalized:15000010", "--end", "finalized:15000020"},
		{"blocks", "--start", "block:15000007", "--end", "block:15000009"},
		{"watch", "--types", "BLOCK_START,BLOCK_END", "--start", "id:0x" + strings.Repeat("0", 56) + "00e4e1cb"},
		{"watch", "--types", "BLOCK_START", "--start", "2025-08-29T20:26:15Z", "--end", "2025-08-29T20:26:15.5Z"},
		{"watch", "--start", "100000", "--end", "100100"},
	} {
		want := mustRun(t, append(args, snap30)...)
		if want.stdout == "" {
			t.Fatalf("%s: no output from the snapshot", strings.Join(args, " "))
		}
		if got := mustRun(t, append(args, capPath)...); got.stdout != want.stdout {
			t.Errorf("%s: the capture's output differs from the snapshot's:\n%s\nwant:\n%s", strings.Join(args, " "), head(got.stdout), head(want.stdout))
		}
	}
}

func head(s string) string {
	if l := strings.SplitN(s, "\n", 6); len(l) == 6 {
		return strings.Join(l[:5], "\n") + "\n..."
	}
	return s
}

// TestPositions: the --start and --end forms on the emn-30b snapshot land
// where the recording's own facts say, and bad forms are refused with one
// line and status 1.
func TestPositions(t *testing.T) {
	snap30 := sharedFile(t, emn30bPath)
	// Finalized blocks after 15000010 up to 15000020: exactly 11..20.
	r := mustRun(t, "blocks", "--json", "--state", "finalized", "--start", "finalized:15000010", "--end", "finalized:15000020", snap30)
	ups := parseUpdates(t, r.stdout)
	if len(ups) != 10 || ups[0].BlockNumber != 15000011 || ups[9].BlockNumber != 15000020 {
		t.Errorf("finalized:15000010 .. finalized:15000020: %d updates %+v", len(ups), ups)
	}
	// block:N starts with that block's BLOCK_START.
	r = mustRun(t, "watch", "-n", "1", "--start", "block:15000017", snap30)
	if !strings.Contains(r.stdout, "BLOCK_START") || !strings.Contains(r.stdout, " BLK: 15000017\n") {
		t.Errorf("block:15000017: %s", r.stdout)
	}
	// A time before the first event starts at it; the end time stops.
	r = mustRun(t, "watch", "--start", "2000-01-01T00:00:00Z", "--end", time.Unix(0, 0).UTC().Format(time.RFC3339), snap30)
	if r.stdout != "" {
		t.Errorf("an end before the start printed %q", head(r.stdout))
	}
	for _, bad := range []string{"block:x", "id:0x12", "0", "F:", "2025-13-01T00:00:00Z", "block:9"} {
		r := runCmd(t, time.Minute, "watch", "--start", bad, snap30)
		if r.code != 1 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, "--start") {
			t.Errorf("--start %s: status %d, stderr %q; want one line naming --start and status 1", bad, r.code, r.stderr)
		}
	}
}

// TestCaptureInfoAndHostile: info summarizes the daemon's capture with
// the facts its README states; damaged copies of it (truncated, a lying
// section offset, a bundle's bytes overwritten) make info, watch and blocks
// exit with status 1 and one line, never a crash or a hang.
func TestCaptureInfoAndHostile(t *testing.T) {
	src := sharedFile(t, "evcap/emn-1b-15m.evcap")
	var info captureInfo
	if err := json.Unmarshal([]byte(mustRun(t, "info", "--json", src).stdout), &info); err != nil {
		t.Fatal(err)
	}
	if info.Events != 6597 || info.FirstSeqno != 1 || info.LastSeqno != 6597 || info.Bundles != 4 || info.Sections != 9 ||
		len(info.Schemas) != 1 || !strings.HasPrefix(info.Schemas[0].SchemaHash, "8933f907") || !info.Verified {
		t.Errorf("info: %+v", info)
	}
	orig, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	damage := map[string]func([]byte) []byte{
		"truncated":       func(b []byte) []byte { return b[:len(b)/2] },
		"lying offset":    func(b []byte) []byte { binary.LittleEndian.PutUint64(b[4096+128+16:], 1<<50); return b },
		"bundle garbage":  func(b []byte) []byte { copy(b[8192+100:], bytes.Repeat([]byte{0xa5}, 4096)); return b },
		"header only":     func(b []byte) []byte { return b[:32] },
		"zero section 1":  func(b []byte) []byte { clear(b[4096+128 : 4096+256]); return b },
		"huge event size": func(b []byte) []byte { binary.LittleEndian.PutUint64(b[4096+128+40:], 1<<40); return b },
	}
	for name, f := range damage {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".evcap")
		if err := os.WriteFile(p, f(bytes.Clone(orig)), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range [][]string{{"info"}, {"watch", "--json"}, {"blocks"}} {
			r := runCmd(t, time.Minute, append(cmd, p)...)
			msg := strings.TrimSpace(r.stderr)
			if r.code != 1 || msg == "" || strings.Contains(msg, "\n") || strings.Contains(msg, "internal error") {
				t.Errorf("%s on %s: status %d, stderr %q; want status 1 and one line", cmd[0], name, r.code, tail(r.stderr))
			}
		}
	}
}

// TestBlocksWithBlock: with --with-block finalized, finalized-only output
// carries each block and its receipts, equal to what the block's Proposed
// update carries (so no join is needed).
func TestBlocksWithBlock(t *testing.T) {
	snap30 := sharedFile(t, emn30bPath)
	proposed := map[string]blockUpdate{}
	for _, u := range referenceUpdates(t, "blocks", "--json", "--state", "proposed", snap30) {
		proposed[u.BlockID] = u
	}
	fin := referenceUpdates(t, "blocks", "--json", "--state", "finalized", "--with-block", "finalized", snap30)
	if len(fin) < 20 {
		t.Fatalf("%d finalized updates", len(fin))
	}
	for _, u := range fin {
		p, ok := proposed[u.BlockID]
		if u.CommitState != "Finalized" || !ok || u.Block == nil || !reflect.DeepEqual(u.Block, p.Block) || !reflect.DeepEqual(u.Receipts, p.Receipts) {
			t.Errorf("block %d: the Finalized update's block differs from the Proposed one's", u.BlockNumber)
		}
	}
}

// TestReplayPieces: replay takes captures and positions, so a daemon
// restart can be simulated by replaying a recording in overlapping pieces
// onto the same ring path: the second piece starts after finalized block
// 15000008 while the first went on to finalize 15000010, so blocks 9 and 10
// are executed again, as a restarted daemon re-executes what it had not
// finalized. Between them the pieces finalize every block of the recording.
func TestReplayPieces(t *testing.T) {
	snap30 := sharedFile(t, emn30bPath)
	ring := filepath.Join(t.TempDir(), "ring")
	finalized := func() []uint64 {
		var ns []uint64
		for _, u := range parseUpdates(t, mustRun(t, "blocks", "--json", "--state", "finalized", "--start", "oldest", ring).stdout) {
			ns = append(ns, u.BlockNumber)
		}
		return ns
	}
	all := referenceUpdates(t, "blocks", "--json", "--state", "finalized", snap30)
	mustRun(t, "replay", "--end", "finalized:15000010", snap30, ring)
	first := finalized()
	mustRun(t, "replay", "--start", "F:15000008", snap30, ring)
	second := finalized()
	if len(first) == 0 || first[len(first)-1] != 15000010 || len(second) == 0 || second[0] != 15000009 ||
		second[len(second)-1] != all[len(all)-1].BlockNumber || len(first)+len(second) != len(all)+2 {
		t.Errorf("pieces finalized %v and %v; the recording %d blocks up to %d", first, second, len(all), all[len(all)-1].BlockNumber)
	}

	// A capture replays into a ring that reads as the snapshot it came from.
	capRing := filepath.Join(t.TempDir(), "from-capture")
	mustRun(t, "replay", sharedFile(t, "evcap/emn-1b-15m-preview.evcap"), capRing)
	want := mustRun(t, "blocks", "--json", sharedFile(t, "emn-1b-15m.snapshot")).stdout
	if got := mustRun(t, "blocks", "--json", "--start", "oldest", capRing).stdout; got != want {
		t.Errorf("a replayed capture's blocks differ from the snapshot's")
	}
}

// TestPathRule: the command line takes paths as the library does — a bare
// name is a file in the current directory — for the ring replay creates
// and for the commands that read it.
func TestPathRule(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) result {
		cmd := exec.Command(binPath, args...)
		cmd.Dir = dir
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return result{out.String(), errb.String(), code}
	}
	if r := run("replay", sharedFile(t, "emn-1b-15m.snapshot"), "wrap.ring"); r.code != 0 {
		t.Fatalf("replay: %d %s", r.code, r.stderr)
	}
	ring, err := eventring.Open(filepath.Join(dir, "wrap.ring")) // the library, with the same name
	if err != nil {
		t.Fatalf("replay did not create ./wrap.ring: %v", err)
	}
	last := ring.Header().LastSeqno
	ring.Close()
	if r := run("watch", "--start", "oldest", "wrap.ring"); r.code != 0 || strings.Count(r.stdout, "\n") != int(last) {
		t.Errorf("watch wrap.ring: status %d, %d lines, want %d", r.code, strings.Count(r.stdout, "\n"), last)
	}
}

// TestArchiveInput: watch and blocks read a finalized-block archive
// directory as a source: the finalized blocks of an archive written by the
// archive command equal the snapshot's, block and receipts included (not
// the ids of abandoned proposals, which an archive does not keep), and
// --start block:N begins with block N.
func TestArchiveInput(t *testing.T) {
	snap30 := sharedFile(t, emn30bPath)
	dir := filepath.Join(t.TempDir(), "archive")
	mustRun(t, "archive", snap30, dir)
	args := []string{"blocks", "--json", "--state", "finalized", "--with-block", "finalized"}
	want := referenceUpdates(t, append(args, snap30)...)
	got := parseUpdates(t, mustRun(t, append(args, dir)...).stdout)
	if len(got) != len(want) || len(got) == 0 {
		t.Fatalf("%d finalized blocks from the archive, %d from the snapshot", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if g.BlockNumber != w.BlockNumber || g.BlockID != w.BlockID || !reflect.DeepEqual(g.Block, w.Block) || !reflect.DeepEqual(g.Receipts, w.Receipts) {
			t.Errorf("block %d: the archive's rendering differs from the snapshot's", w.BlockNumber)
		}
	}
	r := mustRun(t, "watch", "-n", "1", "--start", "block:15000017", dir)
	if !strings.Contains(r.stdout, "BLOCK_START") || !strings.Contains(r.stdout, " BLK: 15000017\n") {
		t.Errorf("watch --start block:15000017 on the archive: %s", r.stdout)
	}
	if r := runCmd(t, time.Minute, "watch", "--start", "2025-01-01T00:00:00Z", dir); r.code != 1 {
		t.Errorf("a time position on an archive: status %d, %s", r.code, r.stderr)
	}
}

// TestBlocksAfter: blocks --after N prints each finalized block above N
// once; with --archive, the archived blocks come first and the ring's
// after them, whichever holds which.
func TestBlocksAfter(t *testing.T) {
	snap30 := sharedFile(t, emn30bPath)
	all := referenceUpdates(t, "blocks", "--json", "--state", "finalized", "--with-block", "finalized", snap30)
	numbers := func(ups []blockUpdate) []uint64 {
		var ns []uint64
		for _, u := range ups {
			ns = append(ns, u.BlockNumber)
		}
		return ns
	}
	got := parseUpdates(t, mustRun(t, "blocks", "--json", "--after", "15000020", snap30).stdout)
	if ns := numbers(got); len(ns) != 10 || ns[0] != 15000021 || ns[9] != 15000030 {
		t.Errorf("--after 15000020: %v", ns)
	}
	// An archive holding 15000001..15000024 only.
	tmp := t.TempDir()
	dir, ring := filepath.Join(tmp, "archive"), filepath.Join(tmp, "ring")
	mustRun(t, "replay", "--end", "finalized:15000024", snap30, ring)
	mustRun(t, "archive", ring, dir)
	r := mustRun(t, "info", "--json", dir)
	if !strings.Contains(r.stdout, `"highest": 15000024`) {
		t.Fatalf("the archive: %s", r.stdout)
	}
	got = parseUpdates(t, mustRun(t, "blocks", "--json", "--after", "15000003", "--archive", dir, snap30).stdout)
	if ns := numbers(got); !slices.Equal(ns, numbers(all)[3:]) {
		t.Errorf("--after 15000003 --archive: %v", ns)
	}
	for i, u := range got {
		if w := all[i+3]; !reflect.DeepEqual(u.Block, w.Block) || !reflect.DeepEqual(u.Receipts, w.Receipts) {
			t.Errorf("block %d differs from the snapshot's", u.BlockNumber)
		}
	}
}
