package serve_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/serve"
)

// metricValue reads one sample from /metrics ("name" or `name{label="v"}`).
func metricValue(t testing.TB, ts *testServer, name string) float64 {
	t.Helper()
	resp, err := http.Get(ts.hs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// closeOf returns the close status and reason a read error carries (-1 if
// the connection ended without a close frame).
func closeOf(err error) (websocket.StatusCode, string) {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code, ce.Reason
	}
	return -1, ""
}

// readUntilClosed reads (discarding) until the connection ends.
func readUntilClosed(c *websocket.Conn, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return err
		}
	}
}

// TestHostileClients: while a well-behaved client follows every block,
// others send malformed JSON, unknown methods, wrong params, bad batches,
// oversized frames and messages, subscription floods, and one never reads.
// Each gets a JSON-RPC error or a close with a reason; the server survives
// and the good client misses nothing.
func TestHostileClients(t *testing.T) {
	evs := recording(t)
	_, steps := loadExpected(t)
	ups := snapshotSteps(t)
	rec, ring := newRing(t, eventring.Sizes{})
	ts := startServer(t, ring, serve.Options{QueueSize: 256, QueueBytes: 1 << 20})

	good := mustDial(t, ts.url)
	good.subscribe("monadNewHeads")
	var goodGot []message
	goodDone := make(chan error, 1)
	go func() {
		for len(goodGot) < len(ups) {
			m, err := good.next(time.Minute)
			if err != nil {
				goodDone <- err
				return
			}
			goodGot = append(goodGot, m)
		}
		goodDone <- nil
	}()

	// The slow client: subscribes to every log 20 times over (about 100 MB
	// of notifications, more than socket buffers hold), then reads nothing
	// until the server has given up on it.
	slow := dialSlow(t, ts.url)
	for i := range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"eth_subscribe","params":["logs"]}`, i)
		if err := slow.Write(ctx, websocket.MessageText, []byte(req)); err != nil {
			t.Fatal(err)
		}
		cancel()
	}

	writing := make(chan struct{})
	go func() {
		defer close(writing)
		newReplayer(rec).record(t, evs, 15*time.Millisecond)
	}()

	var wg sync.WaitGroup
	hostile := func(name string, f func(t *testing.T)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(name, f)
		}()
	}
	hostile("malformed JSON", func(t *testing.T) {
		c := mustDial(t, ts.url)
		for _, bad := range []string{`{"jsonrpc":`, `nonsense`, "\x00\xff", `[1,`, `{"jsonrpc":"2.0","id":1,"method":"eth_chainId"`} {
			c.send(bad)
			m, _, err := c.read(10 * time.Second)
			if err != nil || m.Error == nil || m.Error.Code != serve.CodeParseError || string(m.ID) != "null" {
				t.Errorf("%q: %+v, %v; want a parse error with id null", bad, m.Error, err)
			}
		}
		for _, bad := range []string{`{"id":1,"method":"eth_chainId"}`, `{"jsonrpc":"2.0","id":1}`, `42`, `{"jsonrpc":"2.0","id":{},"method":"eth_chainId"}`, `[]`} {
			c.send(bad)
			m, _, err := c.read(10 * time.Second)
			if err != nil || m.Error == nil || m.Error.Code != serve.CodeInvalidRequest {
				t.Errorf("%q: %+v, %v; want an invalid request error", bad, m.Error, err)
			}
		}
		// The connection still works.
		if m := c.call("eth_subscribe", "newHeads"); m.Error != nil {
			t.Errorf("after the errors: %+v", m.Error)
		}
	})
	hostile("unknown methods and wrong params", func(t *testing.T) {
		c := mustDial(t, ts.url)
		for _, m := range []string{"eth_sendRawTransaction", "admin_peers", "debug_traceBlock", ""} {
			r := c.call(m)
			want := serve.CodeMethodNotFound
			if m == "" {
				want = serve.CodeInvalidRequest
			}
			if r.Error == nil || r.Error.Code != want {
				t.Errorf("%q: %+v, want code %d", m, r.Error, want)
			}
		}
		for _, p := range [][]any{
			{}, {"newHeads", map[string]any{"x": 1}}, {"syncing"}, {"newPendingTransactions"}, {42},
			{"logs", map[string]any{"topics": []any{1}}}, {"logs", map[string]any{"address": "0x12"}},
			{"logs", map[string]any{"topics": []any{nil, nil, nil, nil, nil}}}, {"logs", map[string]any{"unknown": true}},
			{"logs", map[string]any{"blockHash": "0x" + strings.Repeat("00", 32), "fromBlock": "0x1"}}, {"logs", 1, 2},
		} {
			if r := c.call("eth_subscribe", p...); r.Error == nil || r.Error.Code != serve.CodeInvalidParams {
				t.Errorf("eth_subscribe %v: %+v %s, want invalid params", p, r.Error, r.Result)
			}
		}
		for _, p := range [][]any{{"latest", "yes"}, {}, {map[string]any{"a": 1}}, {"0xzz"}} {
			if r := c.call("eth_getBlockByNumber", p...); r.Error == nil || r.Error.Code != serve.CodeInvalidParams {
				t.Errorf("eth_getBlockByNumber %v: %+v", p, r.Error)
			}
		}
		c.send(`{"jsonrpc":"2.0","id":7,"method":"eth_subscribe","params":{"kind":"newHeads"}}`)
		if r := c.response("7"); r.Error == nil || r.Error.Code != serve.CodeInvalidParams {
			t.Errorf("object params: %+v", r.Error)
		}
		if r := c.call("eth_unsubscribe", "0x1234"); r.Error != nil || string(r.Result) != "false" {
			t.Errorf("eth_unsubscribe of an unknown id: %+v %s", r.Error, r.Result)
		}
	})
	hostile("batches", func(t *testing.T) {
		c := mustDial(t, ts.url)
		c.send(`[{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]},{"jsonrpc":"2.0","id":2,"method":"nope"},` +
			`{"jsonrpc":"2.0","method":"eth_chainId"},5,{"jsonrpc":"2.0","id":3,"method":"eth_unsubscribe","params":["0x00"]}]`)
		for {
			_, raw, err := c.read(10 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if raw[0] != '[' {
				continue // a notification of the subscription
			}
			var rs []message
			if err := json.Unmarshal(raw, &rs); err != nil || len(rs) != 4 {
				t.Fatalf("batch response %s: %v", raw, err)
			}
			if rs[0].Error != nil || rs[1].Error.Code != serve.CodeMethodNotFound || rs[2].Error.Code != serve.CodeInvalidRequest ||
				rs[3].Error != nil || string(rs[3].ID) != "3" {
				t.Errorf("batch response %s", raw)
			}
			break
		}
		big := "[" + strings.Repeat(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},`, serve.DefaultMaxBatch) + `{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}]`
		c.send(big)
		for {
			m, raw, err := c.read(10 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if m.Method == "eth_subscription" {
				continue
			}
			if m.Error == nil || m.Error.Code != serve.CodeLimitExceeded {
				t.Errorf("batch over the limit: %s", raw)
			}
			break
		}
	})
	hostile("oversized frame", func(t *testing.T) {
		c := mustDial(t, ts.url)
		c.send(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[],"pad":"` + strings.Repeat("x", serve.DefaultMaxFrameSize) + `"}`)
		err := readUntilClosed(c.c, 20*time.Second)
		if code, reason := closeOf(err); code != websocket.StatusMessageTooBig || !strings.Contains(reason, "frame") {
			t.Errorf("after an oversized frame: %v (code %d, reason %q); want 1009 naming the frame limit", err, code, reason)
		}
	})
	hostile("oversized message", func(t *testing.T) {
		c := mustDial(t, ts.url)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		w, err := c.c.Writer(ctx, websocket.MessageText)
		if err != nil {
			t.Fatal(err)
		}
		// Frames within the frame limit, a message over the message limit.
		chunk := []byte(strings.Repeat(" ", 128<<10))
		go func() {
			for i := 0; i < 20; i++ {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			w.Close()
		}()
		err = readUntilClosed(c.c, 20*time.Second)
		if code, _ := closeOf(err); code != websocket.StatusMessageTooBig {
			t.Errorf("after a %d-byte message: %v; want close 1009", 20*len(chunk), err)
		}
	})
	hostile("subscription flood", func(t *testing.T) {
		c := mustDial(t, ts.url)
		var ids []string
		for range serve.DefaultMaxSubscriptions {
			ids = append(ids, c.subscribe("newHeads"))
		}
		r := c.call("eth_subscribe", "newHeads")
		if r.Error == nil || r.Error.Code != serve.CodeLimitExceeded || r.Error.Message != serve.SubscriptionLimitMessage {
			t.Errorf("subscription %d: %+v", serve.DefaultMaxSubscriptions+1, r.Error)
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if len(id) != 34 || !strings.HasPrefix(id, "0x") || seen[id] {
				t.Fatalf("subscription id %q (want 16 random bytes in 0x-hex, unique)", id)
			}
			seen[id] = true
		}
		if r := c.call("eth_unsubscribe", ids[0]); string(r.Result) != "true" {
			t.Errorf("eth_unsubscribe: %+v %s", r.Error, r.Result)
		}
		if r := c.call("eth_subscribe", "newHeads"); r.Error != nil {
			t.Errorf("a subscription after one was removed: %+v", r.Error)
		}
	})

	wg.Wait()
	<-writing

	// The slow client was cut off with a reason, and counted.
	deadline := time.Now().Add(30 * time.Second)
	for metricValue(t, ts, "monad_events_serve_slow_clients_dropped_total") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the slow client was not dropped")
		}
		time.Sleep(20 * time.Millisecond)
	}
	err := readUntilClosed(slow, 30*time.Second)
	if code, reason := closeOf(err); code != websocket.StatusPolicyViolation || !strings.Contains(reason, "slow client") {
		t.Errorf("slow client: %v (code %d, reason %q), want 1008 \"slow client...\"", err, code, reason)
	}

	if err := <-goodDone; err != nil {
		t.Fatalf("the good client: %v after %d notifications", err, len(goodGot))
	}
	for i, m := range goodGot {
		var h monadHead
		json.Unmarshal(m.Params.Result, &h)
		if h.BlockID != steps[i].ID || h.CommitState != steps[i].State || uint64(h.Number) != steps[i].Number {
			t.Fatalf("good client, notification %d: %s block %d, want %s block %d", i, h.CommitState, h.Number, steps[i].State, steps[i].Number)
		}
	}
	if h := ts.Health(); h.Status != "ok" {
		t.Errorf("health after the hostile clients: %+v", h)
	}
	if g := metricValue(t, ts, "monad_events_serve_gaps_total"); g != 0 {
		t.Errorf("the ring reader gapped %v times", g)
	}
}

// dialSlow connects a client that reads nothing until told to.
func dialSlow(t testing.TB, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// TestAccessControl: the bearer token (401 before the upgrade without it or
// with a wrong one), the connection limit (503 beyond it) and the idle
// timeout (a silent client is closed with a reason).
func TestAccessControl(t *testing.T) {
	_, ring := newRing(t, eventring.Sizes{})
	ts := startServer(t, ring, serve.Options{Token: "s3cret", MaxConnections: 3, IdleTimeout: 1500 * time.Millisecond, PingInterval: 300 * time.Millisecond})
	for _, h := range []http.Header{nil, {"Authorization": {"Bearer wrong"}}, {"Authorization": {"s3cret"}}, {"Authorization": {"Bearer s3cre"}}} {
		_, resp, err := dialWS(t, ts.url, h)
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("header %v: %v, response %v; want 401", h, err, resp)
		}
	}
	auth := http.Header{"Authorization": {"Bearer s3cret"}}
	var cs []*wsClient
	for range 3 {
		c, _, err := dialWS(t, ts.url, auth)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	_, resp, err := dialWS(t, ts.url, auth)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("connection 4 of 3: %v, %v; want 503", err, resp)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "too many connections") {
		t.Errorf("refusal body %q", body)
	}
	// A client that keeps reading answers the pings and stays; one that
	// sends nothing at all (a raw TCP client after the handshake) is closed.
	cs[0].c.CloseNow()
	for ts.Health().Clients >= 3 {
		time.Sleep(5 * time.Millisecond)
	}
	raw := rawHandshake(t, ts.hs.Listener.Addr().String(), "s3cret")
	alive := make(chan error, 1)
	go func() { alive <- readUntilClosed(cs[1].c, 4*time.Second) }()
	raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	frames, err := io.ReadAll(raw)
	if err != nil {
		t.Fatal(err)
	}
	// Server frames: pings (0x89) then the close frame (0x88, status 1008).
	i := strings.Index(string(frames), "\x88")
	if i < 0 || !strings.Contains(string(frames[i:]), "idle timeout") || frames[i+2] != 0x03 || frames[i+3] != 0xf0 {
		t.Fatalf("silent client got %q; want pings and a 1008 close frame naming the idle timeout", frames)
	}
	if err := <-alive; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the client that reads was closed: %v", err)
	}
}

// rawHandshake opens a WebSocket by hand and then stays silent (it does
// not even answer pings).
func rawHandshake(t testing.TB, addr, token string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"+
		"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n", addr, token)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	if br.Buffered() > 0 {
		t.Fatal("unexpected bytes after the handshake")
	}
	return c
}

// clientFrame builds a masked client text frame.
func clientFrame(payload []byte) []byte {
	mask := [4]byte{1, 2, 3, 4}
	f := []byte{0x81}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n < 1<<16:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		f = append(f, 0x80|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	f = append(f, mask[:]...)
	for i, b := range payload {
		f = append(f, b^mask[i%4])
	}
	return f
}

// TestPipelinedFrames: frames sent in the same packet as the upgrade
// request (before the 101 response) are read correctly, and an oversized
// one among them is still refused with 1009.
func TestPipelinedFrames(t *testing.T) {
	_, ring := newRing(t, eventring.Sizes{})
	ts := startServer(t, ring, serve.Options{ChainID: 143})
	addr := ts.hs.Listener.Addr().String()
	handshake := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	for _, c := range []struct {
		name   string
		frames [][]byte
		want   string
	}{
		{"two requests", [][]byte{clientFrame([]byte(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`)),
			clientFrame([]byte(`{"jsonrpc":"2.0","id":2,"method":"net_version"}`))}, `"result":"143"`},
		{"oversized", [][]byte{clientFrame([]byte(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId","x":"` + strings.Repeat("y", serve.DefaultMaxFrameSize) + `"}`))}, "exceeds the limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			msg := []byte(handshake)
			for _, f := range c.frames {
				msg = append(msg, f...)
			}
			if _, err := conn.Write(msg); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(15 * time.Second))
			var got []byte
			buf := make([]byte, 4096)
			for !strings.Contains(string(got), c.want) {
				n, err := conn.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil {
					t.Fatalf("read %q: %v; want %s", got, err, c.want)
				}
			}
		})
	}
}

// TestReaderGap: when the server's ring reader is lapped (here a listener
// holds it up while the writer fills a small ring more than once), clients
// of the block subscriptions are disconnected with 1011 and the lost range,
// as the Monad RPC server does, the gap is counted, and a monadEvents
// client, which has a reader of its own, stays connected.
func TestReaderGap(t *testing.T) {
	evs := recording(t)
	rec, ring := newRing(t, eventring.Sizes{DescriptorCapacity: 1 << 16, PayloadBufSize: 1 << 27})
	ts := startServer(t, ring, serve.Options{})
	heads := mustDial(t, ts.url)
	heads.subscribe("newHeads")
	raw := mustDial(t, ts.url)
	raw.subscribe("monadEvents", map[string]any{"types": []string{"BLOCK_START"}})
	release := make(chan struct{})
	var once sync.Once
	stop := ts.Listen(func(serve.Update) { once.Do(func() { <-release }) })
	defer stop()
	newReplayer(rec).record(t, evs, 0) // the first update blocks the reader; the writer laps it
	close(release)
	_, _, err := heads.read(30 * time.Second) // the first block's header
	if err == nil {
		_, _, err = heads.read(30 * time.Second)
	}
	if code, reason := closeOf(err); code != websocket.StatusInternalError || !strings.HasPrefix(reason, "websocket server gapped: events ") {
		t.Fatalf("newHeads client: %v (code %d, reason %q); want 1011 \"websocket server gapped: events ...\"", err, code, reason)
	}
	if g := metricValue(t, ts, "monad_events_serve_gaps_total"); g != 1 {
		t.Errorf("gaps_total %v, want 1", g)
	}
	if m := raw.call("eth_chainId"); m.Error != nil {
		t.Errorf("the monadEvents client after the server's gap: %+v", m.Error)
	}
}
