package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/monadgo/events/archive"
	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/evcap"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/internal/testdata"
)

// sourceBlocks is what blocks --json printed for a source: the finalized
// block numbers and ids in order (--state finalized), and the Proposed
// rendering (block and receipts) of every executed proposal by id.
type sourceBlocks struct {
	finalized []blockUpdate
	proposed  map[string]blockUpdate
}

// sourceCache keeps sourceBlocksOf's results: blocks --json of a source
// does not change.
var sourceCache sync.Map // path -> sourceBlocks

func sourceBlocksOf(t *testing.T, src string) sourceBlocks {
	t.Helper()
	if s, ok := sourceCache.Load(src); ok {
		return s.(sourceBlocks)
	}
	s := sourceBlocks{proposed: map[string]blockUpdate{}}
	s.finalized = referenceUpdates(t, "blocks", "--json", "--state", "finalized", src)
	for _, u := range referenceUpdates(t, "blocks", "--json", "--state", "proposed", src) {
		s.proposed[u.BlockID] = u
	}
	if len(s.finalized) == 0 {
		t.Fatalf("%s: no finalized block", src)
	}
	sourceCache.Store(src, s)
	return s
}

// requireArchiveEquals checks that the archive in dir holds exactly the
// finalized blocks of src, once each, each equal (as blocks --json renders
// it: block and receipts) to the finalized proposal's Proposed update, and
// that nothing is left in .inprogress.
func requireArchiveEquals(t *testing.T, root string, src sourceBlocks) {
	t.Helper()
	dir, err := archive.Open(root, archive.Options{SchemaHash: execevents.SchemaHash})
	if err != nil {
		t.Fatal(err)
	}
	nums, err := dir.Blocks()
	if err != nil {
		t.Fatal(err)
	}
	var want []uint64
	for _, u := range src.finalized {
		want = append(want, u.BlockNumber)
	}
	if !slices.Equal(nums, want) {
		t.Fatalf("archive holds blocks %v, want the finalized blocks %v", nums, want)
	}
	for _, u := range src.finalized {
		blk, err := blocks.ReadArchivedBlock(dir, u.BlockNumber, blocks.BuilderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		v, err := renderUpdate(blocks.Update{State: blocks.CommitProposed, Block: blk}, true)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var got blockUpdate
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		w, ok := src.proposed[u.BlockID]
		if got.BlockID != u.BlockID || !ok {
			t.Fatalf("block %d: archived proposal %s, finalized %s", u.BlockNumber, got.BlockID, u.BlockID)
		}
		if !reflect.DeepEqual(got.Block, w.Block) || !reflect.DeepEqual(got.Receipts, w.Receipts) {
			t.Fatalf("block %d: the archived block renders differently from the source's", u.BlockNumber)
		}
	}
	ents, err := os.ReadDir(filepath.Join(root, archive.InProgressDir))
	if err != nil || len(ents) != 0 {
		t.Fatalf(".inprogress: %v, %v", ents, err)
	}
}

// TestArchiveSnapshot archives the emn-30b snapshot with the command: every
// finalized block once, equal to blocks --json; the files of blocks
// 15000001..15000003 decode to the events of the daemon's own archive
// files; info and archive missing describe it; a second run writes nothing.
func TestArchiveSnapshot(t *testing.T) {
	src := sharedFile(t, emn30bPath)
	root := filepath.Join(t.TempDir(), "arch")
	r := mustRun(t, "archive", src, root)
	if !strings.Contains(r.stderr, "archive: done") || !strings.Contains(r.stderr, `"blocks archived"=30`) {
		t.Errorf("stderr lacks the progress report:\n%s", r.stderr)
	}
	requireArchiveEquals(t, root, sourceBlocksOf(t, src))

	ours, err := archive.Open(root, archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := archive.Open(sharedFile(t, "evcap/archive-preview"), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for n := uint64(15000001); n <= 15000003; n++ {
		if a, b := blockEvents(t, ours, n), blockEvents(t, theirs, n); !reflect.DeepEqual(a, b) {
			t.Fatalf("block %d: our file and the daemon's hold different events", n)
		}
	}

	if out := mustRun(t, "archive", "missing", root).stdout; out != "" {
		t.Errorf("archive missing on a complete archive: %q", out)
	}
	var info archiveInfo
	if err := json.Unmarshal([]byte(mustRun(t, "info", "--json", root).stdout), &info); err != nil {
		t.Fatal(err)
	}
	if info.Kind != "archive" || info.Blocks != 30 || info.Lowest != 15000001 || info.Highest != 15000030 ||
		info.MissingBlocks != 0 || info.Bytes == 0 || info.LastFinalized == nil || *info.LastFinalized != 15000030 || info.Events == 0 {
		t.Errorf("info --json: %+v", info)
	}
	text := mustRun(t, "info", root).stdout
	if !strings.Contains(text, "finalized block archive") || !strings.Contains(text, "15000001 .. 15000030") {
		t.Errorf("info:\n%s", text)
	}

	// Again: it resumes after the last archived block (the ring's last
	// finalization), so there is nothing left to write: the archive is
	// byte for byte the one requireArchiveEquals checked above (the same
	// files, .inprogress included, with the same contents), so it still
	// holds exactly the finalized blocks, each equal to the source's.
	verified := treeContents(t, root)
	r = mustRun(t, "archive", src, root)
	if !strings.Contains(r.stderr, "resuming after the last archived block") || !strings.Contains(r.stderr, `"blocks archived"=0`) {
		t.Errorf("second run:\n%s", r.stderr)
	}
	after := treeContents(t, root)
	for path, before := range verified {
		if now, ok := after[path]; !ok {
			t.Errorf("the second run removed %s", path)
		} else if now != before {
			t.Errorf("the second run rewrote %s", path)
		}
	}
	for path := range after {
		if _, ok := verified[path]; !ok {
			t.Errorf("the second run added %s", path)
		}
	}
}

// treeContents returns every file and directory under root by its path
// relative to root: a file's modification time and contents, "" for a
// directory.
func treeContents(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil || d.IsDir() {
			out[rel+"/"] = ""
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		out[rel] = info.ModTime().Format(time.RFC3339Nano) + "\n" + string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func blockEvents(t *testing.T, dir *archive.Dir, n uint64) []evcap.Event {
	t.Helper()
	f, err := dir.OpenBlock(n)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []evcap.Event
	for ev, err := range f.Events(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev.Clone())
	}
	return out
}

// writePiece records the source events [from, to) (a run that starts at a
// BLOCK_START) into a new ring file nobody writes afterwards, with the
// block seqno tags renumbered as a writer would have assigned them: a
// stand-in for what a daemon writes between two restarts, for replay.
func writePiece(t *testing.T, evs []testdata.Event, from, to int, path string) {
	t.Helper()
	sizes := eventring.Sizes{DescriptorCapacity: 1 << 18, PayloadBufSize: 1 << 27}
	rec, err := eventring.Create(path, sizes, eventring.ContentTypeExec, execevents.SchemaHash)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	remap := map[uint64]uint64{} // source BLOCK_START seqno -> piece seqno
	for i, e := range evs[from:to] {
		next := uint64(i + 1) // a new ring's seqnos start at 1
		ext := e.Descriptor.ContentExt
		if execevents.EventType(e.Descriptor.EventType) == execevents.EventTypeBlockStart {
			remap[e.Descriptor.Seqno] = next
		}
		if tag := ext[execevents.FlowTypeBlockSeqno]; tag != 0 {
			m, ok := remap[tag]
			if !ok {
				t.Fatalf("piece [%d, %d) holds an event of a block that starts before it", from, to)
			}
			ext[execevents.FlowTypeBlockSeqno] = m
		}
		seq, err := rec.Record(e.Descriptor.EventType, ext, e.Payload)
		if err != nil || seq != next {
			t.Fatalf("recording event %d: seqno %d, %v", e.Descriptor.Seqno, seq, err)
		}
	}
}

// finalizedIn returns the block numbers Updates reports Finalized in a
// ring file.
func finalizedIn(t *testing.T, path string) []uint64 {
	t.Helper()
	ring, err := eventring.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	rd := ring.NewReader()
	rd.SetSeqno(1)
	var out []uint64
	for u, err := range blocks.NewTracker(blocks.BuilderOptions{}).Updates(context.Background(), rd) {
		if err != nil {
			break // the writer is gone: the end
		}
		if u.Notice == nil && u.State == blocks.CommitFinalized {
			out = append(out, u.Block.Number())
		}
	}
	return out
}

// watchArchive lists the archive's block directories until stop is
// closed, verifying every block file the moment it is seen: a partial file
// must never be visible under a block's name. It returns the problems and
// how often it saw a temporary file in .inprogress (a block being written).
func watchArchive(root string, stop <-chan struct{}) func() ([]string, int) {
	var mu sync.Mutex
	var problems []string
	inProgressSeen := 0
	seen := map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if tmp, _ := os.ReadDir(filepath.Join(root, archive.InProgressDir)); len(tmp) > 0 {
				mu.Lock()
				inProgressSeen++
				mu.Unlock()
			}
			subs, _ := os.ReadDir(root)
			for _, sub := range subs {
				if !sub.IsDir() || sub.Name() == archive.InProgressDir {
					continue
				}
				files, _ := os.ReadDir(filepath.Join(root, sub.Name()))
				for _, f := range files {
					name := filepath.Join(sub.Name(), f.Name())
					if seen[name] {
						continue
					}
					seen[name] = true
					n, err := strconv.ParseUint(strings.TrimSuffix(f.Name(), archive.Ext), 10, 64)
					if err != nil || !strings.HasSuffix(f.Name(), archive.Ext) {
						mu.Lock()
						problems = append(problems, "unexpected name "+name)
						mu.Unlock()
						continue
					}
					dir, err := archive.Open(root, archive.Options{})
					if err == nil {
						err = dir.VerifyBlock(context.Background(), n)
					}
					if err != nil {
						mu.Lock()
						problems = append(problems, err.Error())
						mu.Unlock()
					}
				}
			}
		}
	}()
	return func() ([]string, int) {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return problems, inProgressSeen
	}
}

// TestArchiveCrash: replay (standing in for the daemon) writes a ring in
// three overlapping pieces, restarted on the same path each time (the
// restarted writer re-executes blocks it had executed before); archive
// follows it, killed with SIGKILL at random (seeded) moments and
// restarted. At the end the archive holds every finalized block exactly
// once, equal to what blocks printed from the source, and a watcher
// listing the directory throughout never saw a block file that failed to
// open and verify.
func TestArchiveCrash(t *testing.T) {
	srcPath := sharedFile(t, emn30bPath)
	evs := testdata.Events(t, srcPath)
	src := sourceBlocksOf(t, srcPath)
	var starts []int // indexes of BLOCK_STARTs
	for i, e := range evs {
		if execevents.EventType(e.Descriptor.EventType) == execevents.EventTypeBlockStart {
			starts = append(starts, i)
		}
	}
	tmp := t.TempDir()
	bounds := [][2]int{{0, starts[12]}, {starts[8], starts[22]}, {starts[18], len(evs)}}
	var pieces []string
	covered := map[uint64]bool{}
	for k, b := range bounds {
		p := filepath.Join(tmp, fmt.Sprintf("piece-%d", k))
		writePiece(t, evs, b[0], b[1], p)
		pieces = append(pieces, p)
		for _, n := range finalizedIn(t, p) {
			covered[n] = true
		}
	}
	for _, u := range src.finalized {
		if !covered[u.BlockNumber] {
			t.Fatalf("block %d is finalized in no piece: the test's pieces are wrong", u.BlockNumber)
		}
	}

	ring := filepath.Join(tmp, "ring")
	root := filepath.Join(tmp, "archive")
	stop := make(chan struct{})
	problems := watchArchive(root, stop)
	rng := rand.New(rand.NewPCG(9, 2026))
	kills := 0
	began := time.Now()
	for k, piece := range pieces {
		replay := exec.Command(binPath, "replay", "--rate", "20000", piece, ring)
		var replayErr strings.Builder
		replay.Stderr = &replayErr
		if err := replay.Start(); err != nil {
			t.Fatal(err)
		}
		replayDone := make(chan error, 1)
		go func() { replayDone <- replay.Wait() }()
		t.Cleanup(func() { replay.Process.Kill() })
		// Wait for the new ring: the file at the path whose writer is
		// this replay.
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(2 * time.Millisecond) {
			if writtenBy(ring, replay.Process.Pid) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("piece %d: the replay did not create the ring", k)
			}
		}
		// Kill and restart the archiver while the writer runs.
		running := true
		for running {
			arch := exec.Command(binPath, "archive", ring, root)
			var archErr strings.Builder
			arch.Stderr = &archErr
			if err := arch.Start(); err != nil {
				t.Fatal(err)
			}
			archDone := make(chan error, 1)
			go func() { archDone <- arch.Wait() }()
			select {
			case <-time.After(time.Duration(100+rng.IntN(700)) * time.Millisecond):
				arch.Process.Signal(syscall.SIGKILL)
				<-archDone
				kills++
			case err := <-archDone:
				if err != nil {
					t.Fatalf("piece %d: archive: %v\n%s", k, err, tail(archErr.String()))
				}
			}
			select {
			case err := <-replayDone:
				if err != nil {
					t.Fatalf("piece %d: replay: %v\n%s", k, err, tail(replayErr.String()))
				}
				running = false
			default:
			}
		}
		// The writer is gone: one more archiver reads what is left and
		// ends by itself.
		r := runCmd(t, 60*time.Second, "archive", ring, root)
		if r.code != 0 {
			t.Fatalf("piece %d: final archive run: status %d\n%s", k, r.code, tail(r.stderr))
		}
	}
	close(stop)
	p, writing := problems()
	if len(p) > 0 {
		t.Fatalf("the watcher saw %d bad block files, first: %s", len(p), p[0])
	}
	t.Logf("%d pieces, %d archivers killed, %v; the watcher saw a block being written %d times",
		len(pieces), kills, time.Since(began).Round(time.Millisecond), writing)
	if kills < 5 {
		t.Errorf("only %d archivers were killed", kills)
	}
	requireArchiveEquals(t, root, src)
}

// writtenBy reports whether the ring file at path has writer pid.
func writtenBy(path string, pid int) bool {
	r, err := eventring.Open(path)
	if err != nil {
		return false
	}
	defer r.Close()
	pids, err := r.WriterPIDs()
	return err == nil && slices.Contains(pids, pid)
}

// TestArchiveLapped: an archiver stopped (SIGSTOP) while a fast writer laps
// its reader reports the gap and the finalized blocks it missed; archive
// missing lists them; archive fill from a complete archive restores them.
func TestArchiveLapped(t *testing.T) {
	srcPath := sharedFile(t, emn30bPath)
	src := sourceBlocksOf(t, srcPath)
	tmp := t.TempDir()
	full := filepath.Join(tmp, "full")
	mustRun(t, "archive", "--uncompressed", srcPath, full)

	ring := filepath.Join(tmp, "ring")
	root := filepath.Join(tmp, "lapped")
	replay, replayErr := start(t, "replay", "--rate", "25000", "--descriptors-shift", "16", srcPath, ring)
	waitFile(t, ring)
	arch, archErr := start(t, "archive", ring, root)
	time.Sleep(500 * time.Millisecond)
	if err := arch.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3500 * time.Millisecond) // > 65536 events at 25000/s
	if err := arch.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if err := replay.Wait(); err != nil {
		t.Fatalf("replay: %v\n%s", err, replayErr.String())
	}
	if err := arch.Wait(); err != nil {
		t.Fatalf("archive: %v\n%s", err, archErr.String())
	}
	if !strings.Contains(archErr.String(), "gap") || !strings.Contains(archErr.String(), "missing from the archive") {
		t.Fatalf("the archiver reported no gap and no missing blocks:\n%s", tail(archErr.String()))
	}
	missing := mustRun(t, "archive", "missing", root).stdout
	if missing == "" {
		t.Fatalf("archive missing lists nothing after a gap")
	}
	r := mustRun(t, "archive", "fill", root, "--from", full)
	if !strings.Contains(r.stderr, "archive fill: done") {
		t.Errorf("fill: %s", r.stderr)
	}
	if out := mustRun(t, "archive", "missing", root).stdout; out != "" {
		t.Errorf("archive missing after fill: %q (before: %q)", out, missing)
	}
	requireArchiveEquals(t, root, src)
}

// TestArchiveHostile: hostile archive directories and block files give one
// error line and status 1 from archive, archive fill and info.
func TestArchiveHostile(t *testing.T) {
	tmp := t.TempDir()
	good := sharedFile(t, "evcap/archive-preview/15000000/15000001.bcap")
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	put := func(root, rel string, data []byte) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lying := filepath.Join(tmp, "lying")
	put(lying, "15000000/15000002.bcap", b) // its bundle says 15000001
	truncated := filepath.Join(tmp, "truncated")
	put(truncated, "15000000/15000001.bcap", b[:len(b)/3])
	garbage := filepath.Join(tmp, "garbage")
	put(garbage, "15000000/15000001.bcap", bytes.Repeat([]byte("EVCAP_01"), 1000))
	notDir := filepath.Join(tmp, "file")
	put(tmp, "file", b)
	badTmp := filepath.Join(tmp, "badtmp")
	put(badTmp, archive.InProgressDir, []byte("a file where .inprogress should be"))

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"info", lying}, "holds block 15000001"},
		{[]string{"info", truncated}, "shorter"},
		{[]string{"info", garbage}, "block 15000001"},
		{[]string{"archive", "fill", filepath.Join(tmp, "dst1"), "--from", lying}, "failed verification"},
		{[]string{"archive", "fill", filepath.Join(tmp, "dst2"), "--from", truncated}, "failed verification"},
		{[]string{"archive", "fill", filepath.Join(tmp, "dst3"), "--from", notDir}, "not an archive directory"},
		{[]string{"archive", "missing", notDir}, "not an archive directory"},
		{[]string{"archive", "fill", filepath.Join(tmp, "dst4")}, "--from OTHER is required"},
		{[]string{"archive", demoOrSkip(t), notDir}, ""},
		{[]string{"archive", demoOrSkip(t), badTmp}, ""},
	} {
		r := runCmd(t, time.Minute, c.args...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		last := lines[len(lines)-1]
		if r.code != 1 || !strings.HasPrefix(last, "monad-events: ") || !strings.Contains(last, c.want) || strings.Contains(r.stderr, "panic") {
			t.Errorf("%v: status %d, stderr:\n%s", c.args, r.code, r.stderr)
		}
	}
}

func demoOrSkip(t *testing.T) string {
	return demoSnapshot(t)
}
