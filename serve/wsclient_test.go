package serve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsClient is a bare JSON-RPC client on a WebSocket: it shows the frames
// as they are, which go-ethereum's client hides.
type wsClient struct {
	t      testing.TB
	c      *websocket.Conn
	nextID int
	notes  []message // notifications received while waiting for a response
}

type message struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Params struct {
		Subscription string          `json:"subscription"`
		Result       json.RawMessage `json:"result"`
	} `json:"params"`
}

func dialWS(t testing.TB, url string, header http.Header) (*wsClient, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		return nil, resp, err
	}
	c.SetReadLimit(64 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return &wsClient{t: t, c: c}, resp, nil
}

func mustDial(t testing.TB, url string) *wsClient {
	t.Helper()
	c, _, err := dialWS(t, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (w *wsClient) send(raw string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, []byte(raw)); err != nil {
		w.t.Fatal(err)
	}
}

// read returns the next message.
func (w *wsClient) read(timeout time.Duration) (message, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, b, err := w.c.Read(ctx)
	if err != nil {
		return message{}, nil, err
	}
	var m message
	if len(b) > 0 && b[0] == '[' {
		return m, b, nil // a batch response: the caller parses it
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return message{}, b, fmt.Errorf("bad message %q: %w", b, err)
	}
	return m, b, nil
}

// call sends a request and returns its response, keeping the
// notifications that come before it.
func (w *wsClient) call(method string, params ...any) message {
	w.t.Helper()
	w.nextID++
	if params == nil {
		params = []any{}
	}
	req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": w.nextID, "method": method, "params": params})
	w.send(string(req))
	return w.response(fmt.Sprint(w.nextID))
}

// response reads until the response with the given id.
func (w *wsClient) response(id string) message {
	w.t.Helper()
	for {
		m, raw, err := w.read(30 * time.Second)
		if err != nil {
			w.t.Fatalf("waiting for response %s: %v", id, err)
		}
		if m.Method == "eth_subscription" {
			w.notes = append(w.notes, m)
			continue
		}
		if string(m.ID) != id {
			w.t.Fatalf("response %s while waiting for %s: %s", m.ID, id, raw)
		}
		return m
	}
}

// subscribe returns the id of a new subscription.
func (w *wsClient) subscribe(params ...any) string {
	w.t.Helper()
	m := w.call("eth_subscribe", params...)
	var id string
	if m.Error != nil || json.Unmarshal(m.Result, &id) != nil {
		w.t.Fatalf("eth_subscribe %v: %+v %s", params, m.Error, m.Result)
	}
	return id
}

// next returns the next notification (those queued by call first).
func (w *wsClient) next(timeout time.Duration) (message, error) {
	if len(w.notes) > 0 {
		m := w.notes[0]
		w.notes = w.notes[1:]
		return m, nil
	}
	for {
		m, _, err := w.read(timeout)
		if err != nil || m.Method == "eth_subscription" {
			return m, err
		}
	}
}
