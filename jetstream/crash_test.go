package jetstream_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/jetstream"
)

// The crash test runs the publisher in a child process: this test binary
// run again with these variables set (TestMain sees them).
const (
	envChildRing = "JETSTREAM_TEST_PUBLISHER_RING"
	envChildURL  = "JETSTREAM_TEST_PUBLISHER_URL"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(envChildRing); path != "" {
		os.Exit(publisherMain(path, os.Getenv(envChildURL)))
	}
	os.Exit(m.Run())
}

// crashEventTypes are the raw event types the crash test publishes, to
// check that event ids survive restarts without the cost of all events.
var crashEventTypes = []execevents.EventType{
	execevents.EventTypeBlockStart, execevents.EventTypeBlockEnd, execevents.EventTypeTxnLog,
	execevents.EventTypeBlockQC, execevents.EventTypeBlockFinalized, execevents.EventTypeBlockVerified,
}

// publisherMain is the child process: it publishes the ring at path to
// the server at url until the ring's writer is gone (exit 0) or it is
// killed.
func publisherMain(path, url string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("pid", os.Getpid())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ring, err := execevents.Open(path)
	if err != nil {
		log.Error("open", "err", err)
		return 2
	}
	defer ring.Close()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	nc, js, err := jetstream.Connect(cctx, url, log)
	cancel()
	if err != nil {
		log.Error("connect", "err", err)
		return 2
	}
	defer nc.Close()
	err = jetstream.Run(ctx, ring, js, jetstream.Options{
		Backfill: true, Events: true, EventTypes: crashEventTypes, Logger: log,
	})
	if err != nil && !errors.Is(err, eventring.ErrWriterGone) {
		log.Error("run", "err", err)
		return 1
	}
	return 0
}

// child is a publisher process.
type child struct {
	cmd *exec.Cmd
	out *childLog
}

func startChild(t *testing.T, path, url string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChildRing+"="+path, envChildURL+"="+url)
	out := &childLog{positioned: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return &child{cmd, out}
}

// childLog collects a child's output and notes when it has positioned
// its reader (so a kill hits a publisher at work).
type childLog struct {
	mu         sync.Mutex
	buf        bytes.Buffer
	positioned chan struct{}
	seen       bool
}

func (l *childLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.seen && (bytes.Contains(l.buf.Bytes(), []byte("resuming at")) || bytes.Contains(l.buf.Bytes(), []byte("starting at"))) {
		l.seen = true
		close(l.positioned)
	}
	return len(p), nil
}

func (l *childLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestCrashSIGKILL kills the publisher process with SIGKILL at seeded
// random moments while the ring is written, restarting it each time on
// the same ring and JetStream store: a durable consumer still receives
// every finalized block exactly once and in order, and every other
// subject holds each message once (the restarts re-publish, and the
// msg-id de-duplication absorbs the copies; nothing is skipped).
func TestCrashSIGKILL(t *testing.T) {
	r := loadReference(t)
	blocksWanted := 0 // the whole recording
	if raceEnabled {
		blocksWanted = 5
	}
	evs, fin, verified := r.prefix(blocksWanted)
	seed := uint64(20261205)
	if s := os.Getenv("JETSTREAM_CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	const kills = 4
	replayTime := 1500 * time.Millisecond
	n := uint64(len(fin))
	want := map[string]uint64{
		"monad.exec.block.proposed":   n,
		"monad.exec.block.finalized":  n,
		"monad.exec.commit.proposed":  n,
		"monad.exec.commit.voted":     n,
		"monad.exec.commit.finalized": n,
		"monad.exec.commit.verified":  uint64(verified),
	}
	for _, e := range evs {
		for _, et := range crashEventTypes {
			if execevents.EventType(e.Descriptor.EventType) == et {
				want[jetstream.EventSubject(jetstream.DefaultPrefix, et)]++
			}
		}
	}
	var totalWant uint64
	for _, c := range want {
		totalWant += c
	}
	// Each publisher is killed once the stream has acknowledged a random
	// number of new messages from it: at a random message boundary, with
	// blocks, commit states and events in flight, however fast the
	// machine is; spread over the whole recording.
	var after []uint64
	for range kills {
		after = append(after, 1+rng.Uint64N(totalWant/(kills+1)))
	}
	t.Logf("seed %d (JETSTREAM_CRASH_SEED), %d events, kills after %v new messages", seed, len(evs), after)

	dir := t.TempDir()
	_, url := startServer(t, dir+"/js", 0)
	_, js := connect(t, url)
	rec, path := newRing(t, dir, 1<<18)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var logs []*childLog
	defer func() {
		if t.Failed() || testing.Verbose() {
			for i, b := range logs {
				t.Logf("publisher %d:\n%s", i, b)
			}
		}
	}()
	c := startChild(t, path, url)
	logs = append(logs, c.out)
	waitStream(t, js, jetstream.DefaultStream)

	var wg sync.WaitGroup
	replayErr := make(chan error, 1)
	wg.Go(func() {
		err := replay(ctx, rec, evs, replayTime)
		rec.Close()
		replayErr <- err
	})
	total := func() uint64 {
		var n uint64
		for _, c := range subjectCounts(t, js, jetstream.DefaultStream, jetstream.DefaultPrefix) {
			n += c
		}
		return n
	}
	for i, k := range after {
		base := total()
		deadline := time.Now().Add(30 * time.Second)
		for total() < base+k {
			if time.Now().After(deadline) {
				t.Fatalf("publisher %d: fewer than %d new messages in 30 s", i, k)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err := c.cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("publisher %d ended before it was killed: %v", i, err)
		}
		t.Logf("publisher %d killed with %d messages in the stream, %d finalized blocks", i, total(),
			subjectCounts(t, js, jetstream.DefaultStream, jetstream.DefaultPrefix)["monad.exec.block.finalized"])
		c = startChild(t, path, url)
		logs = append(logs, c.out)
	}
	wg.Wait()
	if err := <-replayErr; err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("last publisher: %v", err)
	}

	msgs := fetchAll(t, js, jetstream.DefaultStream, "finalized", "monad.exec.block.finalized", len(fin), 30*time.Second)
	checkFinalized(t, r, fin, msgs)

	counts := subjectCounts(t, js, jetstream.DefaultStream, jetstream.DefaultPrefix)
	var diff []string
	for subj, c := range want {
		if counts[subj] != c {
			diff = append(diff, fmt.Sprintf("%s: %d messages, want %d", subj, counts[subj], c))
		}
	}
	if len(diff) > 0 || len(counts) != len(want) {
		t.Errorf("after %d kills: %s (subjects %v)", kills, strings.Join(diff, "; "), counts)
	}
	// The commit.verified subject, ordered like block.finalized, in order.
	vmsgs := fetchAll(t, js, jetstream.DefaultStream, "verified", "monad.exec.commit.verified", verified, 20*time.Second)
	for i, m := range vmsgs {
		if got, want := m.Headers().Get(jetstream.HeaderBlockNumber), itoa(fin[i].number); got != want {
			t.Errorf("commit.verified message %d: block %s, want %s", i, got, want)
		}
	}
}
