package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/ethconv"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// ErrClosed is returned by Run after Close, and reported to clients that
// connect after it.
var ErrClosed = errors.New("serve: server closed")

// Server serves one execution event ring over WebSocket JSON-RPC. Create it
// with New, start its ring reader with Run and mount Handler on an HTTP
// server. Its methods are safe for concurrent use.
type Server struct {
	ring     *eventring.Ring
	opts     Options
	log      *slog.Logger
	m        *metrics
	gatherer prometheus.Gatherer
	window   *window

	mu        sync.Mutex
	conns     map[*conn]struct{}
	listeners map[*listener]struct{}
	closed    bool

	chainID atomic.Uint64 // from the blocks read, when Options.ChainID is 0

	running    atomic.Bool   // Run's ring reader is reading
	writerGone atomic.Bool   // the live ring's writer exited
	readSeqno  atomic.Uint64 // last event the ring reader processed
	readNanos  atomic.Uint64 // its record time
}

// Update is what the ring reader hands to listeners (see Server.Listen): a
// commit-state update of an executed block with the block converted once
// for everyone, or a notice.
type Update struct {
	blocks.Update
	// Converted is Block converted to go-ethereum types and RPC renderings
	// (nil for a notice, or if the block cannot be converted). Shared:
	// read-only.
	Converted *ethconv.Block
}

type listener struct{ fn func(Update) }

// New returns a server for ring, which must carry execution events of the
// schema compiled into this module. The caller keeps ownership of ring and
// closes it after Run has returned.
func New(ring *eventring.Ring, opts Options) (*Server, error) {
	if ring == nil {
		return nil, errors.New("serve: nil ring")
	}
	if err := ring.CheckSchema(execevents.RingContentType, execevents.SchemaHash); err != nil {
		return nil, err
	}
	if opts.HeadsState > blocks.CommitVerified {
		return nil, fmt.Errorf("serve: HeadsState %v is not a commit state", opts.HeadsState)
	}
	opts = opts.withDefaults()
	s := &Server{
		ring:      ring,
		opts:      opts,
		log:       opts.Logger,
		window:    newWindow(opts.BlockWindow),
		conns:     make(map[*conn]struct{}),
		listeners: make(map[*listener]struct{}),
	}
	reg, gat := opts.Registerer, opts.Gatherer
	if reg == nil && gat == nil {
		r := prometheus.NewRegistry()
		reg, gat = r, r
	}
	if gat == nil {
		if g, ok := reg.(prometheus.Gatherer); ok {
			gat = g
		}
	}
	s.gatherer = gat
	m, err := newMetrics(reg, s)
	if err != nil {
		return nil, err
	}
	s.m = m
	return s, nil
}

// Listen registers fn to receive every update the ring reader produces from
// now on, in order, in the reader's goroutine: fn must not block (queue the
// update and return). This is the seam for other fan-outs (a message-bus
// publisher); WebSocket clients are served the same way. The returned
// function unregisters fn.
func (s *Server) Listen(fn func(Update)) (stop func()) {
	l := &listener{fn: fn}
	s.mu.Lock()
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}
}

// Run reads the ring and fans its block updates out to the subscribers
// until ctx is done (it returns ctx.Err()), the live ring's writer exits (an
// error wrapping eventring.ErrWriterGone) or the ring is closed. On a
// snapshot it reads everything, then keeps serving what it read until ctx
// is done. Run never waits for a client: a client that cannot keep up is
// disconnected. Call Run once.
func (s *Server) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("serve: Run called twice")
	}
	defer s.running.Store(false)
	rd := s.ring.NewReader()
	if s.ring.IsSnapshot() {
		rd.SetSeqno(s.ring.OldestSeqno())
	} else {
		blocks.RewindToLatestBlockStart(rd)
	}
	w := eventring.DefaultWait
	w.WriterCheck = 500 * time.Millisecond
	rd.SetWaitStrategy(w)
	s.readSeqno.Store(rd.LastSeqno())
	s.log.Info("serve: reading the ring", "ring", s.ring.Path(), "from seqno", rd.LastSeqno()+1, "snapshot", s.ring.IsSnapshot())

	tr := blocks.NewTracker(s.opts.Builder)
	var d eventring.Descriptor
	for {
		err := rd.Next(ctx, &d)
		if err != nil {
			var gap *eventring.GapError
			switch {
			case errors.As(err, &gap):
				s.gapped(rd, tr, gap)
				continue
			case errors.Is(err, io.EOF):
				s.log.Info("serve: end of the snapshot; serving what was read", "last seqno", rd.LastSeqno())
				<-ctx.Done()
				return ctx.Err()
			case errors.Is(err, eventring.ErrWriterGone):
				s.writerGone.Store(true)
				s.log.Info("serve: the ring's writer exited", "last seqno", rd.LastSeqno())
			}
			return err
		}
		s.readSeqno.Store(d.Seqno)
		s.readNanos.Store(d.RecordEpochNanos)
		s.m.events.Inc()
		ups, err := tr.Process(s.ring, &d)
		for _, u := range ups {
			s.publish(u)
		}
		if err != nil {
			s.notice(err)
		}
	}
}

// gapped handles the ring reader being lapped: like blocks.Updates it
// resumes at the newest BLOCK_START (else the newest event) and restarts
// block tracking. Clients of the standard subscriptions cannot be told
// about lost blocks in-band, so like the Monad RPC server they are
// disconnected, with the lost range in the close reason.
func (s *Server) gapped(rd *eventring.Reader, tr *blocks.Tracker, gap *eventring.GapError) {
	last := rd.LastSeqno()
	if s.ring.IsSnapshot() {
		rd.SetSeqno(max(gap.Oldest, last+1))
	} else {
		var d eventring.Descriptor
		if blocks.LatestConsensus(rd, execevents.EventTypeBlockStart, &d) != nil || d.Seqno <= last || !s.ring.PayloadValid(&d) {
			rd.Reset()
		}
	}
	tr.Reset()
	s.m.gaps.Inc()
	s.m.gapEvents.Add(float64(gap.Lost()))
	s.log.Warn("serve: the ring reader was lapped; events lost", "from", gap.Expected, "to", gap.Oldest-1)
	s.deliver(Update{Update: blocks.Update{Notice: gap}})
	if s.ring.IsSnapshot() {
		return // a snapshot's wrapped start: nothing was delivered before it
	}
	reason := fmt.Sprintf("websocket server gapped: events %d..%d lost", gap.Expected, gap.Oldest-1)
	s.mu.Lock()
	for c := range s.conns {
		if c.hasBlockSubscriptions() {
			c.closeWith(websocket.StatusInternalError, reason)
		}
	}
	s.mu.Unlock()
}

// notice logs a condition the tracker went past and hands it to listeners.
func (s *Server) notice(err error) {
	var ev *blocks.EvictedError
	switch {
	case errors.As(err, &ev):
		s.log.Debug("serve: commit tracking stopped for an old proposal", "err", err)
	case errors.Is(err, blocks.ErrRejected):
		s.log.Info("serve: block rejected", "err", err)
	default:
		s.log.Warn("serve: block tracking", "err", err)
	}
	s.deliver(Update{Update: blocks.Update{Notice: err}})
}

// publish converts (once per proposal) and fans out one update.
func (s *Server) publish(u blocks.Update) {
	s.m.blocks.WithLabelValues(u.State.String()).Inc()
	e, err := s.window.add(u)
	if err != nil {
		s.log.Warn("serve: block cannot be converted; not served", "block", u.Block.Number(), "err", err)
		s.deliver(Update{Update: u})
		return
	}
	if s.opts.ChainID == 0 && e.block.ChainID != nil && e.block.ChainID.IsUint64() {
		s.chainID.Store(e.block.ChainID.Uint64())
	}
	r := &rendering{block: e.block, state: u.State, heads: u.State == s.opts.HeadsState}
	s.mu.Lock()
	for c := range s.conns {
		c.publish(r)
	}
	s.mu.Unlock()
	s.deliver(Update{Update: u, Converted: e.block})
}

func (s *Server) deliver(u Update) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range s.listeners {
		l.fn(u)
	}
}

// Close disconnects every client with status 1001 and the reason "server
// shutting down", and refuses new connections. It does not stop Run (cancel
// its context). Register it with http.Server.RegisterOnShutdown: Shutdown
// does not close hijacked (WebSocket) connections.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.closeWith(websocket.StatusGoingAway, "server shutting down")
	}
	for _, c := range conns {
		<-c.done
	}
	return nil
}

// Handler returns the HTTP handler: WebSocket JSON-RPC on "/", Prometheus
// metrics on "/metrics" and the health check on "/healthz".
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", s.serveWS)
	mux.HandleFunc("/healthz", s.serveHealth)
	if s.gatherer != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}))
	}
	return mux
}

// Health is the /healthz body.
type Health struct {
	Status      string `json:"status"` // "ok", or why not
	Reading     bool   `json:"reading"`
	WriterAlive bool   `json:"writerAlive"`
	Snapshot    bool   `json:"snapshot"`
	LastSeqno   uint64 `json:"lastSeqno"` // last event the server read
	LagEvents   uint64 `json:"lagEvents"`
	Clients     int    `json:"clients"`
}

// Health reports whether the ring reader runs and the ring's writer is
// alive.
func (s *Server) Health() Health {
	h := Health{
		Reading:   s.running.Load(),
		Snapshot:  s.ring.IsSnapshot(),
		LastSeqno: s.readSeqno.Load(),
		LagEvents: s.lagEvents(),
	}
	s.mu.Lock()
	h.Clients = len(s.conns)
	s.mu.Unlock()
	if !h.Snapshot && !s.writerGone.Load() {
		pids, err := s.ring.WriterPIDs()
		h.WriterAlive = err == nil && len(pids) > 0
	}
	switch {
	case !h.Reading:
		h.Status = "the ring reader is not running"
	case !h.Snapshot && !h.WriterAlive:
		h.Status = "the ring's writer is gone"
	default:
		h.Status = "ok"
	}
	return h
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	h := s.Health()
	w.Header().Set("Content-Type", "application/json")
	if h.Status != "ok" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(h)
}

// lagEvents is how many events the writer has reserved past the last one
// the ring reader processed.
func (s *Server) lagEvents() uint64 {
	last, read := s.ring.LastSeqno(), s.readSeqno.Load()
	if last <= read {
		return 0
	}
	return last - read
}

// lagSeconds is the record-time distance between the newest event in the
// ring and the last one the ring reader processed (0 when caught up).
func (s *Server) lagSeconds() float64 {
	read := s.readSeqno.Load()
	last := s.ring.LastSeqno()
	if last <= read {
		return 0
	}
	var d eventring.Descriptor
	for seq := last; seq > read && seq+64 > last; seq-- {
		if s.ring.TryCopy(seq, &d) {
			if n := s.readNanos.Load(); d.RecordEpochNanos > n && n != 0 {
				return float64(d.RecordEpochNanos-n) / 1e9
			}
			return 0
		}
	}
	return 0
}

func (s *Server) currentChainID() (uint64, bool) {
	if s.opts.ChainID != 0 {
		return s.opts.ChainID, true
	}
	id := s.chainID.Load()
	return id, id != 0
}
