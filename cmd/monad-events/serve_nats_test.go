package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/monadgo/events/jetstream"
)

// TestServeNATSKilled: serve --nats=URL --nats-backfill publishes the
// finalized blocks of a ring that replay writes; the serve process is
// killed with SIGKILL mid-way and started again on the same ring. The
// stream then holds one block.finalized message per finalized block of
// the recording, and a nats.go durable consumer reads them exactly once,
// in order, each equal to what blocks --json renders for it.
//
// --nats-backfill makes the first run start at the ring's oldest block:
// without it a live ring is published from the newest block start, which
// on a loaded machine can already be past block 15000001 when serve
// comes up.
func TestServeNATSKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server and kills processes")
	}
	snap30 := sharedFile(t, emn30bPath)
	want := referenceUpdates(t, "blocks", "--json", "--state", "finalized", "--with-block", "finalized", snap30)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv, url, err := jetstream.RunEmbedded(ctx, t.TempDir(), jetstream.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Stopped before its directory is removed: it still writes the
	// consumer's state after the last ack.
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	ring := filepath.Join(t.TempDir(), "ring")
	replay, replayErr := start(t, "replay", "--rate", "30000", snap30, ring)
	waitFile(t, ring)
	freePort := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	}
	serveArgs := func(addr string) []string {
		return []string{"serve", "--listen", addr, "--nats=" + url, "--nats-backfill", "--status-interval", "0", ring}
	}
	firstAddr := "127.0.0.1:" + freePort()
	first, firstErr := start(t, serveArgs(firstAddr)...)
	time.Sleep(1500 * time.Millisecond) // about a third of the recording
	// On a loaded machine the first run may have published nothing yet:
	// kill it once the stream has acknowledged a finalized block, so that
	// the second run resumes from the stream (checked below).
	waitMetricPositive(t, "http://"+firstAddr+"/metrics", "monad_events_jetstream_last_finalized_block", time.Minute)
	first.Process.Kill() // SIGKILL
	first.Wait()
	addr := "127.0.0.1:" + freePort()
	second, secondErr := start(t, serveArgs(addr)...)
	// /metrics carries the publisher's metrics beside the server's.
	metrics := scrapeWhenUp(t, "http://"+addr+"/metrics", 20*time.Second)
	// The publisher's are labelled with the stream's name.
	for _, series := range []string{"monad_events_serve_events_total ", `monad_events_jetstream_messages_total{stream="MONAD_EXEC"} `, `monad_events_jetstream_last_finalized_block{stream="MONAD_EXEC"} `} {
		if !strings.Contains(metrics, "\n"+series) {
			t.Errorf("/metrics has no %s", series)
		}
	}
	if err := replay.Wait(); err != nil {
		t.Fatalf("replay: %v\n%s", err, replayErr)
	}
	if code := waitExit(t, second, time.Minute); code != 0 {
		t.Fatalf("serve after the restart: status %d\n%s\nfirst run:\n%s", code, tail(secondErr.String()), tail(firstErr.String()))
	}
	if !strings.Contains(secondErr.String(), "jetstream: resuming at the block start of the oldest block last published") {
		t.Errorf("the second serve did not resume after what the first published:\n%s", tail(secondErr.String()))
	}

	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// How many block.finalized messages the stream holds, as the server
	// counts them.
	subject := jetstream.DefaultPrefix + ".block.finalized"
	stream, err := js.Stream(ctx, jetstream.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx, natsjs.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	stored := info.State.Subjects[subject]
	// Read them all with a durable consumer. Messages keeps one pull
	// subscription for the whole read: a Fetch loop on a loaded machine
	// loses what the server delivers after a fetch's expiry (those
	// messages stay unacknowledged until AckWait, then come back out of
	// order), and an empty fetch does not mean the end.
	cons, err := js.CreateOrUpdateConsumer(ctx, jetstream.DefaultStream, natsjs.ConsumerConfig{
		Durable: "test", FilterSubject: subject, AckPolicy: natsjs.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := cons.Messages()
	if err != nil {
		t.Fatal(err)
	}
	defer msgs.Stop()
	var got []blockUpdate
	for range min(stored, uint64(4*len(want))) {
		m, err := msgs.Next(natsjs.NextMaxWait(30 * time.Second))
		if err != nil {
			t.Fatalf("after %d of the %d messages on %s: %v", len(got), stored, subject, err)
		}
		var u blockUpdate
		if err := json.Unmarshal(m.Data(), &u); err != nil {
			t.Fatal(err)
		}
		got = append(got, u)
		if err := m.Ack(); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != len(want) || stored != uint64(len(want)) {
		nums := make([]uint64, len(got))
		for i, u := range got {
			nums[i] = u.BlockNumber
		}
		t.Fatalf("%d finalized blocks in the stream, want %d: %v\nfirst serve:\n%s\nsecond serve:\n%s",
			stored, len(want), nums, tail(firstErr.String()), tail(secondErr.String()))
	}
	for i := range want {
		if got[i].BlockNumber != want[i].BlockNumber || got[i].BlockID != want[i].BlockID || got[i].Block["hash"] != want[i].Block["hash"] {
			t.Errorf("message %d: block %d, want %d", i, got[i].BlockNumber, want[i].BlockNumber)
		}
	}
}

// scrapeWhenUp GETs url until it answers 200 (a server starting) and
// returns the body.
func scrapeWhenUp(t *testing.T, url string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return string(body)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitMetricPositive scrapes url until the metric name is above zero.
func waitMetricPositive(t *testing.T, url, name string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if resp, err := http.Get(url); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, l := range strings.Split(string(body), "\n") {
				// name 12 or name{labels} 12
				rest, ok := strings.CutPrefix(l, name)
				if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
					continue
				}
				if f, err := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64); err == nil && f > 0 {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s did not rise above 0 within %v", url, name, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
