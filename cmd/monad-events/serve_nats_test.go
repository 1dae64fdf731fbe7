package main

import (
	"context"
	"encoding/json"
	"errors"
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

// TestServeNATSKilled: serve --nats=URL publishes the finalized blocks of
// a ring that replay writes; the serve process is killed with SIGKILL
// mid-way and started again on the same ring. A nats.go durable consumer
// then reads every finalized block of the recording exactly once, in
// order, each equal to what blocks --json renders for it.
func TestServeNATSKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server and kills processes")
	}
	snap30 := sharedFile(t, emn30bPath)
	want := referenceUpdates(t, "blocks", "--json", "--state", "finalized", "--with-block", "finalized", snap30)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, url, err := jetstream.RunEmbedded(ctx, t.TempDir(), jetstream.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
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
		return []string{"serve", "--listen", addr, "--nats=" + url, "--status-interval", "0", ring}
	}
	first, firstErr := start(t, serveArgs("127.0.0.1:"+freePort())...)
	time.Sleep(1500 * time.Millisecond) // about a third of the recording
	first.Process.Kill()                // SIGKILL
	first.Wait()
	addr := "127.0.0.1:" + freePort()
	second, secondErr := start(t, serveArgs(addr)...)
	// /metrics carries the publisher's metrics beside the server's.
	metrics := scrapeWhenUp(t, "http://"+addr+"/metrics", 20*time.Second)
	for _, name := range []string{"monad_events_serve_events_total", "monad_events_jetstream_messages_total", "monad_events_jetstream_last_finalized_block"} {
		if !strings.Contains(metrics, "\n"+name+" ") && !strings.Contains(metrics, "\n"+name+`{stream="MONAD_EXEC"} `) {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if err := replay.Wait(); err != nil {
		t.Fatalf("replay: %v\n%s", err, replayErr)
	}
	if code := waitExit(t, second, time.Minute); code != 0 {
		t.Fatalf("serve after the restart: status %d\n%s\nfirst run:\n%s", code, tail(secondErr.String()), tail(firstErr.String()))
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
	cons, err := js.CreateOrUpdateConsumer(ctx, jetstream.DefaultStream, natsjs.ConsumerConfig{
		Durable: "test", FilterSubject: jetstream.DefaultPrefix + ".block.finalized", AckPolicy: natsjs.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []blockUpdate
	for len(got) <= len(want) {
		batch, err := cons.Fetch(100, natsjs.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			var u blockUpdate
			if err := json.Unmarshal(m.Data(), &u); err != nil {
				t.Fatal(err)
			}
			got = append(got, u)
			m.Ack()
			n++
		}
		if err := batch.Error(); err != nil && !errors.Is(err, natsjs.ErrNoMessages) && !errors.Is(err, nats.ErrTimeout) {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if len(got) != len(want) {
		nums := make([]uint64, len(got))
		for i, u := range got {
			nums[i] = u.BlockNumber
		}
		t.Fatalf("%d finalized blocks in the stream, want %d: %v\nfirst serve:\n%s\nsecond serve:\n%s",
			len(got), len(want), nums, tail(firstErr.String()), tail(secondErr.String()))
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
