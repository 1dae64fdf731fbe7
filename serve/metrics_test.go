package serve_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/serve"
)

// TestMetricsAndHealth checks the metrics against counts made from the
// recording itself, and /healthz while the writer lives and after it exits.
func TestMetricsAndHealth(t *testing.T) {
	evs := recording(t)[:20000]
	ends := 0
	for _, e := range evs {
		if execevents.EventType(e.Descriptor.EventType) == execevents.EventTypeBlockEnd {
			ends++
		}
	}
	rec, ring := newRing(t, eventring.Sizes{})
	ts := startServer(t, ring, serve.Options{})
	c := mustDial(t, ts.url)
	c.subscribe("newHeads")
	c.subscribe("monadNewHeads")
	last := newReplayer(rec).record(t, evs, 0)
	waitRead(t, ts, last)
	for range ends {
		if _, err := c.next(10 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	checks := map[string]float64{
		"monad_events_serve_events_total":                           float64(len(evs)),
		`monad_events_serve_block_updates_total{state="Proposed"}`:  float64(ends),
		"monad_events_serve_clients":                                1,
		`monad_events_serve_subscriptions{kind="newHeads"}`:         1,
		`monad_events_serve_subscriptions{kind="monadNewHeads"}`:    1,
		`monad_events_serve_subscriptions{kind="logs"}`:             0,
		`monad_events_serve_notifications_total{kind="newHeads"}`:   float64(ends),
		`monad_events_serve_requests_total{method="eth_subscribe"}`: 2,
		"monad_events_serve_lag_events":                             0,
		"monad_events_serve_lag_seconds":                            0,
		"monad_events_serve_gaps_total":                             0,
		"monad_events_serve_slow_clients_dropped_total":             0,
		"monad_events_serve_read_seqno":                             float64(last),
	}
	for name, want := range checks {
		if got := metricValue(t, ts, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := metricValue(t, ts, "monad_events_serve_sent_bytes_total"); got < float64(ends)*1500 {
		t.Errorf("sent bytes %v for %d headers", got, ends)
	}
	health := func() (int, serve.Health) {
		resp, err := http.Get(ts.hs.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var h serve.Health
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, h
	}
	if code, h := health(); code != 200 || h.Status != "ok" || !h.WriterAlive || h.LastSeqno != last || h.Clients != 1 {
		t.Errorf("healthz with a live writer: %d %+v", code, h)
	}
	rec.Close() // the writer exits: Run ends, health fails
	select {
	case err := <-ts.run:
		if !errors.Is(err, eventring.ErrWriterGone) {
			t.Errorf("Run returned %v, want ErrWriterGone", err)
		}
		ts.run <- err // for the cleanup
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not notice the writer's exit")
	}
	if code, h := health(); code != http.StatusServiceUnavailable || h.Status == "ok" || h.WriterAlive {
		t.Errorf("healthz after the writer exited: %d %+v", code, h)
	}
}

// TestListen: a listener registered with Server.Listen (the seam for other
// fan-outs) receives every update, converted, in the order package blocks
// produces them for the same events.
func TestListen(t *testing.T) {
	evs, want := firstBlocks(t, recording(t), 4)
	rec, ring := newRing(t, eventring.Sizes{})
	ts := startServer(t, ring, serve.Options{})
	var mu sync.Mutex
	var got []serve.Update
	stop := ts.Listen(func(u serve.Update) {
		mu.Lock()
		got = append(got, u)
		mu.Unlock()
	})
	defer stop()
	waitRead(t, ts, newReplayer(rec).record(t, evs, 0))
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("%d updates, want %d", len(got), len(want))
	}
	for i, u := range got {
		w := want[i]
		if u.Notice != nil || u.State != w.State || u.Block.ID() != w.Block.ID() || u.Converted == nil ||
			u.Converted.Hash != common.Hash(w.Block.End.EthBlockHash) {
			t.Fatalf("update %d: %v %v, want %v block %d", i, u.State, u.Notice, w.State, w.Block.Number())
		}
	}
}
