package blocks_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// The indexer scenario (issue "Nothing lost across restarts"): a consumer
// of finalized blocks, written against the public API only, is killed with
// SIGKILL at random moments and restarted while a writer replays emn-30b
// into a ring that wraps, once while the consumer is down. Its "database"
// is a file of one line per block, appended and synced; the last complete
// line is its checkpoint.
//
// The consumer is this test binary run again (TestMain-free re-exec): the
// environment variables below make TestIndexerConsumer act as it.
const (
	envIndexerRing = "BLOCKS_TEST_INDEXER_RING"
	envIndexerDB   = "BLOCKS_TEST_INDEXER_DB"
	envIndexerLast = "BLOCKS_TEST_INDEXER_LAST"
)

// TestIndexerConsumer is the consumer process; it does nothing in a normal
// test run.
func TestIndexerConsumer(t *testing.T) {
	ringPath := os.Getenv(envIndexerRing)
	if ringPath == "" {
		t.Skip("run by TestIndexerKilled as its consumer process")
	}
	if err := runIndexer(ringPath, os.Getenv(envIndexerDB), os.Getenv(envIndexerLast)); err != nil {
		fmt.Fprintln(os.Stderr, "indexer:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// runIndexer is the whole consumer: resume after the checkpoint, store
// each finalized block (number and id) and each missed range.
func runIndexer(ringPath, dbPath, lastArg string) error {
	last, err := strconv.ParseUint(lastArg, 10, 64)
	if err != nil {
		return err
	}
	after, err := checkpoint(dbPath)
	if err != nil {
		return err
	}
	if after >= last {
		return nil
	}
	ring, err := execevents.Open(ringPath)
	if err != nil {
		return err
	}
	defer ring.Close()
	db, err := os.OpenFile(dbPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer db.Close()
	store := func(line string) error {
		if _, err := db.WriteString(line); err != nil {
			return err
		}
		return db.Sync()
	}
	// For the test's judgement, not the indexer's: what the ring still
	// held when this run began.
	if err := store(fmt.Sprintf("start %d\n", ring.OldestSeqno())); err != nil {
		return err
	}
	for u, err := range blocks.Finalized(context.Background(), ring.NewReader(), blocks.FinalizedOptions{After: after}) {
		if err != nil {
			return err
		}
		var missed *blocks.MissedError
		switch {
		case errors.As(u.Notice, &missed):
			if err := store(fmt.Sprintf("missed %d %d\n", missed.After+1, missed.Next-1)); err != nil {
				return err
			}
		case u.Notice != nil:
			// gaps and dropped proposals: the stream repositions itself
		default:
			id := u.Block.ID()
			if err := store(fmt.Sprintf("block %d %s\n", u.Block.Number(), hex.EncodeToString(id[:]))); err != nil {
				return err
			}
			if u.Block.Number() == last {
				return nil
			}
		}
	}
	return nil
}

// checkpoint drops an incomplete last line of the database (a kill in the
// middle of a write) and returns the number of the last block stored.
func checkpoint(dbPath string) (uint64, error) {
	b, err := os.ReadFile(dbPath)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if i := strings.LastIndexByte(string(b), '\n'); i+1 != len(b) {
		b = b[:i+1]
		if err := os.WriteFile(dbPath, b, 0o644); err != nil {
			return 0, err
		}
	}
	var after uint64
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == "block" {
			after, _ = strconv.ParseUint(f[1], 10, 64)
		}
		if len(f) == 3 && f[0] == "missed" {
			after, _ = strconv.ParseUint(f[2], 10, 64)
		}
	}
	return after, nil
}

// TestIndexerKilled runs the scenario. Expected blocks come from the
// recording itself: every BLOCK_FINALIZED's number and the id of the
// BLOCK_START it finalizes (spec §7.5 offsets).
func TestIndexerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes for several seconds")
	}
	evs := loadSnapshot(t, snap30)
	s := scanFacts{evs}
	type fin struct {
		number uint64
		id     string
		start  uint64 // seqno of its BLOCK_START
	}
	var want []fin
	for i, e := range evs {
		if execevents.EventType(e.d.EventType) != execevents.EventTypeBlockFinalized {
			continue
		}
		f := fin{number: s.number(i), id: hex.EncodeToString(e.p[:32])}
		f.start = evs[s.last(i, func(j int) bool {
			return execevents.EventType(evs[j].d.EventType) == execevents.EventTypeBlockStart && s.number(j) == f.number &&
				hex.EncodeToString(evs[j].p[:32]) == f.id
		})].d.Seqno
		want = append(want, f)
	}
	last := want[len(want)-1].number

	dir := t.TempDir()
	ringPath, dbPath := filepath.Join(dir, "ring"), filepath.Join(dir, "db")
	rec, err := eventring.Create(ringPath, eventring.Sizes{DescriptorCapacity: eventring.MinDescriptorCapacity,
		PayloadBufSize: eventring.MinPayloadBufSize}, execevents.RingContentType, execevents.SchemaHash)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	if uint64(len(evs)) < 2*eventring.MinDescriptorCapacity {
		t.Fatalf("test setup: %d events do not wrap the ring twice", len(evs))
	}
	ring, err := execevents.Open(ringPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()

	// The writer: the whole recording at about 40 000 events/s (3.4 s);
	// seqnos equal the recording's, so its flow tags hold as they are.
	// It pauses while a consumer starts (see below).
	var written atomic.Uint64
	var paused atomic.Bool
	writerDone := make(chan error, 1)
	go func() {
		t0 := time.Now()
		for i, e := range evs {
			if i%1000 == 0 {
				time.Sleep(time.Until(t0.Add(time.Duration(i) * 25 * time.Microsecond)))
				for paused.Load() {
					time.Sleep(time.Millisecond)
					t0 = t0.Add(time.Millisecond)
				}
			}
			if _, err := rec.Record(e.d.EventType, e.d.ContentExt, e.p); err != nil {
				writerDone <- err
				return
			}
			written.Add(1)
		}
		writerDone <- nil
	}()

	rng := rand.New(rand.NewPCG(2026, 12))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	startConsumer := func() (*exec.Cmd, chan error) {
		cmd := exec.Command(exe, "-test.run=^TestIndexerConsumer$", "-test.v=false")
		cmd.Env = append(os.Environ(), envIndexerRing+"="+ringPath, envIndexerDB+"="+dbPath, envIndexerLast+"="+strconv.FormatUint(last, 10))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		return cmd, done
	}
	// startedRuns counts the "start" lines of the database.
	startedRuns := func() int {
		b, _ := os.ReadFile(dbPath)
		return strings.Count(string(b), "start ")
	}
	kills, runs := 0, 0
	for finished := false; !finished; runs++ {
		// The writer pauses from before the consumer starts until shortly
		// after it noted what the ring holds, so that the note is what the
		// consumer positioned itself in: a missed block whose BLOCK_START
		// is in it is the library's fault.
		paused.Store(true)
		cmd, done := startConsumer()
		for deadline := time.Now().Add(10 * time.Second); startedRuns() <= runs && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		paused.Store(false)
		// Kill after a random time, except once the writer is done: then
		// let the consumer finish (bounded).
		writing := written.Load() < uint64(len(evs))
		if writing {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("consumer run %d: %v", runs, err)
				}
				finished = true // it stored the last block
				continue
			case <-time.After(time.Duration(100+rng.IntN(500)) * time.Millisecond):
			}
			cmd.Process.Kill() // SIGKILL
			<-done
			kills++
			down := time.Duration(20+rng.IntN(200)) * time.Millisecond
			if kills == 2 {
				// Down long enough for the writer to lap the ring.
				for w0 := written.Load(); written.Load() < w0+eventring.MinDescriptorCapacity+1000 && written.Load() < uint64(len(evs)); {
					time.Sleep(10 * time.Millisecond)
				}
			} else {
				time.Sleep(down)
			}
			continue
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("final consumer run: %v", err)
			}
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			t.Fatal("final consumer run did not finish")
		}
		finished = true
	}
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	if kills < 3 {
		t.Fatalf("only %d kills: the writer was too fast for the scenario", kills)
	}

	// The database: each block once, in order, equal to the recording's;
	// a missed range only for blocks the ring no longer held.
	b, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	byNumber := map[uint64]fin{}
	for _, f := range want {
		byNumber[f.number] = f
	}
	var prev, oldest uint64 // oldest: what the ring held when the run that wrote the line began
	delivered, missed := 0, 0
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "start":
			oldest, _ = strconv.ParseUint(f[1], 10, 64)
		case len(f) == 3 && f[0] == "block":
			n, _ := strconv.ParseUint(f[1], 10, 64)
			if w, ok := byNumber[n]; !ok || w.id != f[2] {
				t.Errorf("block %d id %s: not what the recording finalized", n, f[2])
			}
			if prev != 0 && n != prev+1 {
				t.Errorf("block %d follows %d", n, prev)
			}
			prev = n
			delivered++
		case len(f) == 3 && f[0] == "missed":
			from, _ := strconv.ParseUint(f[1], 10, 64)
			to, _ := strconv.ParseUint(f[2], 10, 64)
			if prev != 0 && from != prev+1 {
				t.Errorf("missed range %d..%d follows block %d", from, to, prev)
			}
			for n := from; n <= to; n++ {
				// Held by the ring when this run began: it should have
				// been delivered.
				if w := byNumber[n]; w.start >= oldest {
					t.Errorf("block %d reported missed although the ring still held it (BLOCK_START %d, oldest %d)", n, w.start, oldest)
				}
				missed++
			}
			prev = to
		default:
			t.Errorf("database line %q", sc.Text())
		}
	}
	if prev != last {
		t.Errorf("the database ends at block %d, want %d", prev, last)
	}
	if missed == 0 {
		t.Errorf("no block missed: the ring was not lapped while the consumer was down, so the scenario was not exercised")
	}
	t.Logf("%d consumer runs, %d kills; %d blocks delivered, %d missed while the ring was lapped", runs, kills, delivered, missed)
}
