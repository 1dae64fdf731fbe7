package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/serve"
)

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "serve")
	listen := fs.String("listen", serve.DefaultAddr, "address to listen on (WebSocket JSON-RPC on /, /metrics, /healthz)")
	token := fs.String("token", "", "require this bearer token (Authorization: Bearer ...); other users can see arguments, prefer --token-file")
	tokenFile := fs.String("token-file", "", "read the bearer token from this file (surrounding white space ignored)")
	chainID := fs.Uint64("chain-id", 0, "chain id for eth_chainId (0: the one recorded in the blocks)")
	heads := fs.String("heads-state", "proposed", "commit state at which newHeads and logs fire: proposed, voted, finalized or verified")
	maxConns := fs.Int("max-connections", serve.DefaultMaxConnections, "concurrent WebSocket connections")
	maxSubs := fs.Int("max-subscriptions", serve.DefaultMaxSubscriptions, "subscriptions per connection")
	maxFrame := fs.Int64("max-frame-size", serve.DefaultMaxFrameSize, "incoming frame size limit, bytes")
	maxMsg := fs.Int64("max-message-size", serve.DefaultMaxMessageSize, "incoming message size limit, bytes")
	maxResp := fs.Int("max-response-size", serve.DefaultMaxResponseSize, "response size limit, bytes (larger: a JSON-RPC error instead)")
	maxBatch := fs.Int("max-batch", serve.DefaultMaxBatch, "requests per JSON-RPC batch")
	ping := fs.Duration("ping-interval", serve.DefaultPingInterval, "WebSocket ping interval")
	idle := fs.Duration("idle-timeout", serve.DefaultIdleTimeout, "close a connection that sent nothing (not even a pong) for this long")
	queue := fs.Int("queue-size", serve.DefaultQueueSize, "messages queued per connection before a slow client is disconnected")
	queueBytes := fs.Int("queue-bytes", serve.DefaultQueueBytes, "bytes queued per connection before a slow client is disconnected")
	window := fs.Int("block-window", serve.DefaultBlockWindow, "executed blocks held in memory for eth_getBlockByNumber and eth_getBlockReceipts")
	origins := fs.String("allow-origins", "", "comma-separated browser origins (host patterns) allowed besides the server's own")
	status := fs.Duration("status-interval", 30*time.Second, "log a status line this often (0: never)")
	natsOpts := natsFlags(fs)
	pos, err := parseArgs(e.stdout, fs, args, 0, 1)
	if err != nil {
		return err
	}
	opts := serve.Options{
		ChainID: *chainID, MaxConnections: *maxConns, MaxSubscriptions: *maxSubs, MaxFrameSize: *maxFrame,
		MaxMessageSize: *maxMsg, MaxResponseSize: *maxResp, MaxBatch: *maxBatch, PingInterval: *ping, IdleTimeout: *idle,
		QueueSize: *queue, QueueBytes: *queueBytes, BlockWindow: *window, Logger: e.log,
	}
	if opts.Token, err = readToken(*token, *tokenFile); err != nil {
		return err
	}
	st, err := parseStates(*heads)
	if err != nil || len(st) != 1 {
		return fmt.Errorf("serve: --heads-state %q: want one of proposed, voted, finalized, verified", *heads)
	}
	for s := range st {
		opts.HeadsState = s
	}
	if *origins != "" {
		opts.OriginPatterns = strings.Split(*origins, ",")
	}

	o, err := openExecRing(e, argOrEmpty(pos), eventring.OpenOptions{})
	if err != nil {
		return err
	}
	defer o.Close()
	reg := prometheus.NewRegistry() // the server's metrics and, with --nats, the publisher's
	opts.Registerer = reg
	srv, err := serve.New(o.Ring, opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelDebug),
	}
	addr := ln.Addr().String()
	e.log.Info("serve: listening", "addr", addr, "websocket", "ws://"+addr+"/", "metrics", "http://"+addr+"/metrics",
		"ring", o.path, "token", opts.Token != "")
	if !isLoopback(ln.Addr()) && opts.Token == "" {
		e.log.Warn("serve: listening beyond the loopback interface without a token (--token-file)")
	}

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	natsDone, closeNATS, err := natsOpts.start(runCtx, e, o.Ring, reg)
	if err != nil {
		return err
	}
	defer closeNATS()
	runDone := make(chan error, 1)
	go func() { runDone <- srv.Run(runCtx) }()
	httpDone := make(chan error, 1)
	go func() { httpDone <- hs.Serve(ln) }()
	var tick <-chan time.Time
	if *status > 0 {
		t := time.NewTicker(*status)
		defer t.Stop()
		tick = t.C
	}

	var runErr error
	ran := false
loop:
	for {
		select {
		case <-ctx.Done():
			e.log.Info("serve: shutting down")
			break loop
		case runErr = <-runDone:
			ran = true
			break loop
		case err := <-httpDone:
			stopRun()
			<-runDone
			return fmt.Errorf("serve: %w", err)
		case err := <-natsDone:
			natsDone = nil
			if err != nil && !errors.Is(err, eventring.ErrWriterGone) && !errors.Is(err, context.Canceled) {
				stopRun()
				<-runDone
				return fmt.Errorf("serve: NATS publisher: %w", err)
			}
		case <-tick:
			h := srv.Health()
			e.log.Info("serve: status", "health", h.Status, "clients", h.Clients, "last seqno", h.LastSeqno, "lag events", h.LagEvents)
		}
	}
	// Stop accepting, then close every WebSocket with 1001 "server
	// shutting down" (Shutdown does not see hijacked connections).
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	srv.Close()
	if natsDone != nil && errors.Is(runErr, eventring.ErrWriterGone) {
		// The writer is gone: let the publisher send what it read.
		if err := <-natsDone; err != nil && !errors.Is(err, eventring.ErrWriterGone) {
			e.log.Warn("serve: NATS publisher", "err", err)
		}
		natsDone = nil
	}
	stopRun()
	if natsDone != nil {
		// Stopped: it waits (bounded by its DrainTimeout) for the acks of
		// what it sent before the connection closes.
		<-natsDone
	}
	if !ran {
		runErr = <-runDone
	}
	switch {
	case errors.Is(runErr, eventring.ErrWriterGone):
		e.log.Info("serve: the ring's writer exited; server stopped", "ring", o.path)
		return nil
	case runErr != nil && !errors.Is(runErr, context.Canceled):
		return fmt.Errorf("serve: %w", runErr)
	}
	return ctx.Err()
}

// readToken returns the bearer token of --token or --token-file.
func readToken(token, file string) (string, error) {
	if token != "" && file != "" {
		return "", errors.New("serve: give --token or --token-file, not both")
	}
	if file == "" {
		return token, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("serve: --token-file: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("serve: --token-file %s is empty", file)
	}
	return t, nil
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}
