package serve

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Subscription kinds.
type subKind uint8

const (
	kindNewHeads subKind = iota
	kindLogs
	kindMonadNewHeads
	kindMonadLogs
	kindMonadEvents
	kindCount
)

var kindNames = [kindCount]string{"newHeads", "logs", "monadNewHeads", "monadLogs", "monadEvents"}

func (k subKind) String() string { return kindNames[k] }

type subscription struct {
	id     string
	kind   subKind
	filter *LogFilter // logs, monadLogs
	raw    *rawStream // monadEvents
	active bool       // guarded by conn.mu: the reply with the id was queued
}

// conn is one WebSocket client.
type conn struct {
	s      *Server
	ws     *websocket.Conn // set once, before the loops start
	fl     *frameLimiter   // ws's connection
	remote string
	ctx    context.Context
	cancel context.CancelFunc

	out    chan outMsg  // notifications and responses: never waited on by the ring reader
	raw    chan []byte  // monadEvents notifications: their readers wait for room
	queued atomic.Int64 // bytes in out (as they will be written)
	wbuf   []byte       // the writer's message buffer

	closing     atomic.Bool
	closeReq    chan struct{}        // closed by closeWith: the writer then sends the close frame
	closeCode   websocket.StatusCode // set before closeReq is closed
	closeReason string
	lastSeen    atomic.Int64 // unix nanoseconds of the last frame received
	done        chan struct{}

	mu   sync.Mutex
	subs []*subscription // in the order they were made

	pending []*subscription // made by the request being answered (read loop only)
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	if s.opts.Token != "" && !s.authorized(r) {
		s.m.refused.WithLabelValues("unauthorized").Inc()
		w.Header().Set("WWW-Authenticate", `Bearer realm="monad-events"`)
		http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		s.m.refused.WithLabelValues("shutting_down").Inc()
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	case len(s.conns) >= s.opts.MaxConnections:
		s.mu.Unlock()
		s.m.refused.WithLabelValues("too_many_connections").Inc()
		http.Error(w, fmt.Sprintf("too many connections (limit %d)", s.opts.MaxConnections), http.StatusServiceUnavailable)
		return
	}
	c := &conn{
		s:      s,
		remote: r.RemoteAddr,
		out:    make(chan outMsg, s.opts.QueueSize),
		raw:    make(chan []byte, 64),
		done:   make(chan struct{}),

		closeReq: make(chan struct{}),
	}
	// Not the request's context: it is cancelled when the handler returns,
	// and Server.Close ends connections itself.
	c.ctx, c.cancel = context.WithCancel(context.Background())
	defer c.cancel()
	s.conns[c] = struct{}{} // reserve the slot before the upgrade
	s.mu.Unlock()
	defer close(c.done)
	defer s.unregister(c)

	lw := &limitWriter{ResponseWriter: w, max: s.opts.MaxFrameSize}
	lw.tooLarge = func(size uint64) {
		c.closeWith(websocket.StatusMessageTooBig, fmt.Sprintf("frame of %d bytes exceeds the limit of %d", size, s.opts.MaxFrameSize))
	}
	ws, err := websocket.Accept(lw, r, &websocket.AcceptOptions{
		OriginPatterns: s.opts.OriginPatterns,
		OnPongReceived: func(context.Context, []byte) { c.touch() },
	})
	if err != nil {
		s.log.Debug("serve: upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	ws.SetReadLimit(s.opts.MaxMessageSize)
	c.ws, c.fl = ws, lw.conn
	c.fl.timeout = s.opts.WriteTimeout
	if c.closing.Load() { // Server.Close came first
		<-c.closeReq // the reason is set
		ws.Close(c.closeCode, c.closeReason)
		return
	}
	c.touch()
	s.m.connections.Inc()
	s.log.Debug("serve: client connected", "remote", c.remote)

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.writeLoop() }()
	go func() { defer wg.Done(); c.heartbeat() }()
	c.readLoop()
	c.closeWith(websocket.StatusNormalClosure, "")
	wg.Wait()
	c.endSubscriptions()
	s.log.Debug("serve: client disconnected", "remote", c.remote)
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.opts.Token)) == 1
}

func (s *Server) unregister(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (c *conn) touch() { c.lastSeen.Store(time.Now().UnixNano()) }

// closeWith starts closing the connection; the first reason wins. The
// writer sends the close frame once the write it may be in has finished
// (or timed out), so that a client that drains its socket late still gets
// the reason; it then waits for the client's close frame (at most 5 s)
// and ends the connection.
func (c *conn) closeWith(code websocket.StatusCode, reason string) {
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	if reason != "" {
		c.s.log.Info("serve: closing connection", "remote", c.remote, "code", int(code), "reason", reason)
	}
	c.closeCode, c.closeReason = code, reason
	close(c.closeReq)
}

func (c *conn) readLoop() {
	for {
		_, data, err := c.ws.Read(c.ctx)
		if err != nil {
			return
		}
		c.touch()
		if resp := c.handle(data); resp != nil && !c.enqueue(outMsg{data: resp}) {
			return
		}
		c.activate()
	}
}

// activate starts the subscriptions whose ids were just queued.
func (c *conn) activate() {
	if len(c.pending) == 0 {
		return
	}
	c.mu.Lock()
	for _, sub := range c.pending {
		sub.active = true
		if sub.raw != nil && slices.Contains(c.subs, sub) {
			sub.raw.start()
		}
	}
	c.mu.Unlock()
	clear(c.pending)
	c.pending = c.pending[:0]
}

func (c *conn) writeLoop() {
	defer func() {
		c.fl.uncork()
		c.closeWith(websocket.StatusNormalClosure, "")
		<-c.closeReq // the reason is set
		c.ws.Close(c.closeCode, c.closeReason)
		c.cancel()
	}()
	for {
		var msg []byte
		select {
		case <-c.closeReq:
			return
		case <-c.ctx.Done():
			return
		case m := <-c.out:
			msg = c.render(m)
		case msg = <-c.raw:
		}
		// Hand the library every message waiting (up to a bound), corked,
		// then write them in one go.
		c.fl.cork()
		for n := 0; msg != nil; n++ {
			if c.closing.Load() {
				return
			}
			// Corked, the library's write only buffers: the socket write
			// (uncork, or an early flush of a large batch) has the deadline.
			err := c.ws.Write(context.Background(), websocket.MessageText, msg)
			if err != nil {
				c.closeWith(websocket.StatusPolicyViolation, "write failed")
				return
			}
			c.s.m.bytesSent.Add(float64(len(msg)))
			msg = nil
			if n < maxBatchWrite {
				select {
				case m := <-c.out:
					msg = c.render(m)
				case msg = <-c.raw:
				default:
				}
			}
		}
		if err := c.fl.uncork(); err != nil {
			c.closeWith(websocket.StatusPolicyViolation, "write timed out")
			return
		}
	}
}

// render turns a queued message into the bytes to write, in the writer's
// reusable buffer (the library copies what it is given).
func (c *conn) render(m outMsg) []byte {
	c.queued.Add(-m.size())
	if m.sub == "" {
		return m.data
	}
	c.wbuf = appendNotification(c.wbuf[:0], m.sub, m.data)
	return c.wbuf
}

// maxBatchWrite bounds the messages written in one corked batch.
const maxBatchWrite = 128

// heartbeat pings the client every PingInterval and closes the connection
// once nothing (no message, no pong) was received for IdleTimeout.
func (c *conn) heartbeat() {
	o := &c.s.opts
	tick := time.NewTicker(min(o.IdleTimeout/8, o.PingInterval/2, time.Second))
	defer tick.Stop()
	nextPing := time.Now().Add(o.PingInterval)
	var pinging atomic.Bool
	for {
		select {
		case <-c.closeReq:
			return
		case <-c.ctx.Done():
			return
		case now := <-tick.C:
			if idle := now.Sub(time.Unix(0, c.lastSeen.Load())); idle > o.IdleTimeout {
				c.s.m.idleClosed.Inc()
				c.closeWith(websocket.StatusPolicyViolation, fmt.Sprintf("idle timeout: nothing received for %v", o.IdleTimeout))
				return
			}
			if now.Before(nextPing) || !pinging.CompareAndSwap(false, true) {
				continue
			}
			nextPing = now.Add(o.PingInterval)
			go func() {
				defer pinging.Store(false)
				ctx, cancel := context.WithTimeout(c.ctx, o.PingInterval)
				defer cancel()
				c.ws.Ping(ctx) // the pong is noticed by OnPongReceived
			}()
		}
	}
}

// outMsg is a queued message: a notification of subscription sub whose
// result (shared by every client it goes to) is data, or, without sub, a
// whole message.
type outMsg struct {
	sub  string
	data []byte
}

// notificationOverhead is the size of a notification besides its
// subscription id and result.
const notificationOverhead = len(`{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"","result":}}`)

func (m outMsg) size() int64 {
	if m.sub == "" {
		return int64(len(m.data))
	}
	return int64(notificationOverhead + len(m.sub) + len(m.data))
}

// enqueue queues a message for the writer without waiting; a full queue
// closes the connection (the client is too slow) and returns false.
func (c *conn) enqueue(m outMsg) bool {
	if c.closing.Load() {
		return false
	}
	o := &c.s.opts
	if c.queued.Add(m.size()) <= int64(o.QueueBytes) {
		select {
		case c.out <- m:
			return true
		default:
		}
	}
	c.queued.Add(-m.size())
	c.s.m.dropped.Inc()
	c.closeWith(websocket.StatusPolicyViolation, fmt.Sprintf("slow client: more than %d messages or %d bytes waiting to be sent", o.QueueSize, o.QueueBytes))
	return false
}

// appendNotification renders an eth_subscription message.
func appendNotification(b []byte, id string, result []byte) []byte {
	b = append(b, `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"`...)
	b = append(b, id...)
	b = append(b, `","result":`...)
	b = append(b, result...)
	return append(b, "}}"...)
}

// publish queues the notifications of one update for this client's
// subscriptions, in the order they were made. It runs in the ring reader's
// goroutine and never waits.
func (c *conn) publish(r *rendering) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sub := range c.subs {
		if c.closing.Load() {
			return
		}
		if !sub.active {
			continue
		}
		switch sub.kind {
		case kindNewHeads:
			if r.heads {
				c.notify(sub, r.headerJSON())
			}
		case kindMonadNewHeads:
			c.notify(sub, r.monadHeaderJSON())
		case kindLogs:
			if r.heads {
				c.publishLogs(sub, r, false)
			}
		case kindMonadLogs:
			c.publishLogs(sub, r, true)
		}
	}
}

func (c *conn) publishLogs(sub *subscription, r *rendering, monad bool) {
	b := r.block
	if !sub.filter.mayMatchBlock(b.Number(), b.Hash, b.Header.Bloom) {
		return
	}
	for i, l := range r.allLogs() {
		if !sub.filter.matches(l) {
			continue
		}
		res := r.logJSONAt
		if monad {
			res = r.monadLogJSONAt
		}
		if !c.notify(sub, res(i)) {
			return
		}
	}
}

func (c *conn) notify(sub *subscription, result []byte) bool {
	if !c.enqueue(outMsg{sub: sub.id, data: result}) {
		return false
	}
	c.s.m.notifications.WithLabelValues(sub.kind.String()).Inc()
	return true
}

// hasBlockSubscriptions reports whether the client follows blocks through
// the ring reader (any kind but monadEvents).
func (c *conn) hasBlockSubscriptions() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sub := range c.subs {
		if sub.kind != kindMonadEvents {
			return true
		}
	}
	return false
}

// endSubscriptions drops every subscription of a closed connection.
func (c *conn) endSubscriptions() {
	c.mu.Lock()
	subs := c.subs
	c.subs = nil
	c.mu.Unlock()
	for _, sub := range subs {
		c.s.m.subscriptions.WithLabelValues(sub.kind.String()).Dec()
		if sub.raw != nil {
			sub.raw.stop()
		}
	}
}
