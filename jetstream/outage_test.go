package jetstream_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/jetstream"
)

// TestNATSRestart: the server goes away while the ring is written and
// comes back on the same port and store a while later; the publisher
// (connected with Connect, which reconnects) retries until the stream
// acknowledges, and the consumer receives every finalized block exactly
// once and in order.
func TestNATSRestart(t *testing.T) {
	r := loadReference(t)
	blocksWanted := 0
	if raceEnabled {
		blocksWanted = 4
	}
	evs, fin, _ := r.prefix(blocksWanted)
	dir := t.TempDir()
	srv, url := startServer(t, dir+"/js", 0)
	port := srv.Addr().(*net.TCPAddr).Port
	_, js := connect(t, url)
	rec, path := newRing(t, dir, 1<<18)
	ring := openRing(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := jetstream.NewPublisher(js, jetstream.Options{Backfill: true, AckTimeout: time.Second, QueueBytes: 1 << 20, Logger: testLogger(t, "publisher")})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, ring) }()

	// Once the publisher reads, the server goes down and stays down while
	// the rest of the recording is written; the ring holds it all.
	const first = 1000
	if err := replay(ctx, rec, evs[:first], 0); err != nil {
		t.Fatal(err)
	}
	for p.Stats().EventsRead < first {
		time.Sleep(10 * time.Millisecond)
	}
	srv.Shutdown()
	srv.WaitForShutdown()
	if err := replay(ctx, rec, evs[first:], 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	down := p.Stats()
	startServer(t, dir+"/js", port)
	rec.Close()
	if err := <-done; !errors.Is(err, eventring.ErrWriterGone) {
		t.Fatalf("Run: %v, want the writer gone", err)
	}
	st := p.Stats()
	t.Logf("while down: %+v\nat the end: %+v", down, st)
	if down.PublishErrors == 0 || down.Stalls == 0 {
		t.Errorf("while the server was down: %d publish errors, %d stalls; want some of both", down.PublishErrors, down.Stalls)
	}
	if st.Gaps != 0 || st.FinalizedLost != 0 || st.LastFinalized != fin[len(fin)-1].number {
		t.Errorf("stats %+v", st)
	}
	checkFinalized(t, r, fin, fetchAll(t, js, jetstream.DefaultStream, "finalized", "monad.exec.block.finalized", len(fin), 30*time.Second))
}

// TestLappedPublisherReportsGap: while the server is down, the writer
// laps the waiting publisher (the ring holds 65 536 events, the recording
// more). When the server is back, the publisher reports the gap, resumes
// at the oldest block the ring still holds, and publishes the finalized
// blocks and their verifications from there: in order, none twice, with
// the lost numbers counted.
func TestLappedPublisherReportsGap(t *testing.T) {
	r := loadReference(t)
	evs, fin, _ := r.prefix(15)
	if len(evs) <= eventring.MinDescriptorCapacity {
		t.Fatalf("test setup: %d events do not lap a ring of %d", len(evs), eventring.MinDescriptorCapacity)
	}
	dir := t.TempDir()
	srv, url := startServer(t, dir+"/js", 0)
	port := srv.Addr().(*net.TCPAddr).Port
	_, js := connect(t, url)
	rec, path := newRing(t, dir, eventring.MinDescriptorCapacity)
	ring := openRing(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := jetstream.NewPublisher(js, jetstream.Options{
		Backfill: true, NoProposedBlocks: true, AckTimeout: time.Second, QueueBytes: 1 << 20, Logger: testLogger(t, "publisher"),
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, ring) }()
	const first = 1000
	if err := replay(ctx, rec, evs[:first], 0); err != nil {
		t.Fatal(err)
	}
	for p.Stats().EventsRead < first {
		time.Sleep(10 * time.Millisecond)
	}
	srv.Shutdown()
	srv.WaitForShutdown()
	if err := replay(ctx, rec, evs[first:], 0); err != nil {
		t.Fatal(err)
	}
	startServer(t, dir+"/js", port)
	rec.Close()
	if err := <-done; !errors.Is(err, eventring.ErrWriterGone) {
		t.Fatalf("Run: %v, want the writer gone", err)
	}
	st := p.Stats()
	t.Logf("stats %+v", st)
	if st.Gaps == 0 || st.LostEvents == 0 {
		t.Fatalf("no gap reported: %+v", st)
	}
	if st.BlocksFinalized == 0 || st.BlocksFinalized >= uint64(len(fin)) {
		t.Fatalf("%d finalized blocks published, want some but not all %d", st.BlocksFinalized, len(fin))
	}
	msgs := fetchAll(t, js, jetstream.DefaultStream, "finalized", "monad.exec.block.finalized", int(st.BlocksFinalized), 20*time.Second)
	// Numbers increase strictly; those published are the reference's
	// blocks; the lost ones are counted.
	byNumber := make(map[uint64]*refBlock)
	for _, b := range fin {
		byNumber[b.number] = b
	}
	var prev uint64
	var published []*refBlock
	for _, m := range msgs {
		n, err := strconv.ParseUint(m.Headers().Get(jetstream.HeaderBlockNumber), 10, 64)
		if err != nil || n <= prev || byNumber[n] == nil {
			t.Fatalf("block.finalized: number %s after %d", m.Headers().Get(jetstream.HeaderBlockNumber), prev)
		}
		prev = n
		published = append(published, byNumber[n])
	}
	checkFinalized(t, r, published, msgs)
	lo, hi := published[0].number, published[len(published)-1].number
	if lost := hi - lo + 1 - uint64(len(msgs)); lost == 0 || st.FinalizedLost != lost {
		t.Errorf("FinalizedLost %d, want %d (blocks %d..%d, %d published)", st.FinalizedLost, lost, lo, hi, len(msgs))
	}
	// commit.verified likewise, from the first finalized block on (the
	// recording verifies each block right after finalizing it): the gap
	// lost verifications too, and every one is published or counted.
	stored := subjectCounts(t, js, jetstream.DefaultStream, jetstream.DefaultPrefix)["monad.exec.commit.verified"]
	vmsgs := fetchAll(t, js, jetstream.DefaultStream, "verified", "monad.exec.commit.verified", int(stored), 20*time.Second)
	prev = lo - 1
	for _, m := range vmsgs {
		n, err := strconv.ParseUint(m.Headers().Get(jetstream.HeaderBlockNumber), 10, 64)
		if err != nil || n <= prev || byNumber[n] == nil {
			t.Fatalf("commit.verified: number %s after %d", m.Headers().Get(jetstream.HeaderBlockNumber), prev)
		}
		prev = n
	}
	if lost := prev - lo + 1 - uint64(len(vmsgs)); len(vmsgs) == 0 || lost == 0 || st.VerifiedLost != lost {
		t.Errorf("VerifiedLost %d, want %d (blocks %d..%d, %d verifications published)", st.VerifiedLost, lost, lo, prev, len(vmsgs))
	}
}
