// Package serve serves an execution event ring to other processes and
// hosts: WebSocket JSON-RPC that Ethereum pub/sub clients (go-ethereum's
// ethclient, viem, ethers) speak unchanged, compatible with the Monad RPC
// server's WebSocket subscriptions, plus a raw, resumable event stream,
// Prometheus metrics and a health check. The command monad-events serve is
// this package behind flags.
//
//	srv, err := serve.New(ring, serve.Options{})      // ring: an execution ring (or snapshot)
//	go srv.Run(ctx)                                   // reads the ring, fans updates out
//	hs := &http.Server{Addr: serve.DefaultAddr, Handler: srv.Handler()}
//	hs.RegisterOnShutdown(func() { srv.Close() })     // close frames: 1001 "server shutting down"
//	hs.ListenAndServe()
//
// One ring reader (Run) follows the ring with package blocks' tracker,
// converts each executed block once (package ethconv) and hands every
// commit-state update to the connections, which render and queue their
// notifications without ever making the reader wait. Listen registers
// another consumer of the same updates (the seam for a message-bus
// publisher).
//
// # Endpoints
//
//	/          WebSocket, JSON-RPC 2.0 text messages (binary ones are read as text)
//	/metrics   Prometheus text format (the server's own registry unless Options say otherwise)
//	/healthz   200 and a JSON Health object while the ring reader runs and the ring's
//	           writer is alive (or the ring is a snapshot); 503 with the same object otherwise
//
// With Options.Token set, every request to "/" needs "Authorization: Bearer
// <token>" (compared in constant time); others get 401 before the upgrade.
// Browsers' cross-origin requests are refused unless Options.OriginPatterns
// allows their origin.
//
// # Methods
//
//	eth_subscribe [kind] or [kind, params]   → subscription id: 16 random bytes, "0x" + 32 hex digits
//	eth_unsubscribe [id]                     → true (false: no such subscription on this connection)
//	eth_chainId []                           → Options.ChainID, else the chain id recorded in the blocks
//	net_version []                           → the same, in decimal
//	eth_blockNumber []                       → the highest block held at the newHeads commit state
//	eth_getBlockByNumber [number|tag, full]  → the block as ethconv renders it (full: transaction
//	eth_getBlockByHash [hash, full]            objects; else their hashes), or null when not held
//	eth_getBlockReceipts [number|tag|hash]   → the receipts, or null when not held
//
// The query methods answer from the last Options.BlockWindow executed
// blocks held in memory (default 64): "latest" and "pending" are the newest
// at the newHeads state, "safe" the newest Voted, "finalized" the newest
// Finalized, "earliest" the oldest held. Numbers are 0x-hex or decimal;
// EIP-1898 objects ({"blockNumber": …} or {"blockHash": …}) are accepted.
// Batches (a JSON array of requests) are answered with an array, in order,
// leaving out notifications (requests without "id").
//
// # Subscriptions
//
// Notifications are {"jsonrpc":"2.0","method":"eth_subscription",
// "params":{"subscription":ID,"result":R}}. A subscription's
// notifications come after the response carrying its id, in the order of
// the ring's updates.
//
//	kind           fires                                      R
//	newHeads       once per block, at Options.HeadsState       the RPC header (ethconv.RPCHeader)
//	               (default Proposed, as the Monad RPC server)
//	logs           with newHeads; one per matching log          the RPC log (ethconv.RPCLog), removed false
//	monadNewHeads  every commit-state change of every block     the header plus blockId and commitState
//	               (Proposed, Voted, Finalized, Verified)        (ethconv.MonadHeader)
//	monadLogs      every matching log at every change          the log plus blockId and commitState
//	monadEvents    every event of the ring that passes the      the event as monad-events watch --json
//	               filter, from a chosen sequence number         prints it, or a gap notice
//
// Subscriptions are live: they start with the next update (no backfill,
// even with a past fromBlock; monadEvents is the resumable stream). A
// proposal abandoned when a competitor is finalized gets no further
// notification: no "removed": true logs are sent, and monadNewHeads clients
// see the competitor's Finalized update.
//
// logs and monadLogs take go-ethereum's filter object (see LogFilter):
// "address" (one or a list), "topics" (positional; null or an empty list
// matches anything; a list is an OR; a null inside a list makes the
// position a wildcard; at most 4 positions), "fromBlock"/"toBlock" (block
// tags leave a bound open) or "blockHash". The block's logs bloom is tested
// first, as the Monad RPC server does. The headers are always in the
// Prague shape Monad renders (zero blob gas, parent beacon root and
// requests hash): on Monad chains that is the hashed shape, so go-ethereum
// recomputes the block hash from the header it receives.
//
// # The raw, resumable stream: monadEvents
//
//	eth_subscribe ["monadEvents", {"fromSeqno": N, "fromBlock": N, "toBlock": N,
//	                               "types": ["TXN_LOG", ...], "addresses": ["0x…", ...]}]
//
// Every member is optional (numbers as JSON numbers, decimal or 0x-hex
// strings; see EventFilter). fromSeqno is the first event to send: a client
// resumes after a disconnect with the last seqno it received plus one.
// Without it the stream starts at the newest BLOCK_START of a live ring (the
// oldest event of a snapshot, or with fromBlock the oldest event still in
// the ring). types keeps those event types (schema names, any case, with or
// without MONAD_EXEC_, or codes); fromBlock/toBlock keep the events of
// blocks in the range (block-internal events by their BLOCK_START's number,
// consensus events by the number they carry); addresses keeps the TXN_LOG
// events of those contracts. Each result is one event:
//
//	{"seqno":N,"eventType":"TXN_LOG","eventCode":18,"time":"…","recordEpochNanos":N,
//	 "payloadSize":N,"payloadBufOffset":N,"blockSeqno":N,"blockNumber":N,"txnIndex":N,
//	 "payload":{…}}   // or "expired":true, or "payloadError" and "payloadHex"
//
// Each subscription reads the ring with a reader of its own at the pace its
// client reads, so a slow raw subscriber holds back no one else. Events the
// writer overwrote before the subscription read them (a fromSeqno too old,
// or a client too slow) are reported once, in order, by a gap notice (see
// GapNotice), and the stream goes on with the oldest event still there:
//
//	{"gap":{"from":100,"to":71355}}   // events 100..71355 (inclusive) are lost
//
// so the events received plus the gap ranges cover every seqno exactly
// once.
//
// # Errors
//
//	-32700 parse error          the message is not JSON (id null)
//	-32600 invalid request      not a JSON-RPC 2.0 request object; an empty batch
//	-32601 method not found     any other method
//	-32602 invalid params       wrong params for the method, unknown subscription kind or
//	                            filter member, malformed filter
//	-32005 limit exceeded       "WebSocket subscription limit reached" (the 101st subscription),
//	                            a batch over MaxBatch, a response over MaxResponseSize
//	-32000 server error         no block read yet (eth_blockNumber), chain id not known yet
//
// # Limits, defaults and close reasons
//
// The defaults are the Monad RPC server's: 500 connections (a further one
// is refused with HTTP 503 before the upgrade), 100 subscriptions per
// connection, 256 KiB per incoming frame, 2 MiB per incoming message, 25 MB
// per response, a ping every 20 s and a 60 s idle timeout (nothing received,
// not even a pong). The queue bound (4096 messages or 8 MiB per connection)
// and the 10 s write timeout are this server's. Connections end with a
// close frame saying why:
//
//	1000 ""                                     the client closed, or went away
//	1001 "server shutting down"                 Close (the command: SIGINT, SIGTERM, the writer exited)
//	1008 "slow client: more than …"             the connection's queue overflowed: the client
//	                                            does not read fast enough (counted in
//	                                            monad_events_serve_slow_clients_dropped_total)
//	1008 "idle timeout: nothing received …"     IdleTimeout elapsed without a frame from the client
//	1008 "write timed out" / "write failed"     a write did not complete within WriteTimeout
//	1009 "frame of N bytes exceeds the limit…"  an incoming frame over MaxFrameSize (the frame is not read)
//	1009 "read limited at N bytes"              an incoming message over MaxMessageSize
//	1011 "websocket server gapped: events …"    the server's ring reader was lapped: clients of
//	                                            the block subscriptions lost blocks, as with the
//	                                            Monad RPC server they are disconnected (monadEvents
//	                                            subscriptions are not: they have their own readers)
//
// A client that never reads cannot receive its close frame: its
// connection is dropped once the write timeout and the close handshake
// (5 s) have passed.
//
// # Metrics
//
// All named monad_events_serve_*:
//
//	events_total                     events read by the ring reader (rate: events/s)
//	lag_events, lag_seconds          how far the ring reader is behind the writer, in events and in
//	                                 record time
//	read_seqno                       the last event the ring reader processed
//	gaps_total, gap_events_total     times the ring reader was lapped, and events lost
//	raw_gaps_total                   gap notices sent to monadEvents subscribers
//	block_updates_total{state}       commit-state updates by state
//	clients                          connected WebSocket clients
//	connections_total                connections accepted
//	connections_refused_total{reason}  unauthorized, too_many_connections, shutting_down
//	subscriptions{kind}              active subscriptions by kind
//	subscriptions_refused_total      eth_subscribe refused by the per-connection limit
//	slow_clients_dropped_total       clients disconnected because their queue overflowed
//	idle_clients_closed_total        clients disconnected by the idle timeout
//	notifications_total{kind}        notifications queued by subscription kind
//	sent_bytes_total                 bytes of messages written to clients
//	requests_total{method}           JSON-RPC requests by method ("other" for unknown ones)
//
// # Why github.com/coder/websocket
//
// go-ethereum's rpc package serves eth_subscribe, but not what the Monad
// RPC server's behaviour requires around it: it has no connection or
// per-connection subscription limits, no frame limit, no per-client bounded
// queue that disconnects a slow client with a reason while others go on, no
// idle timeout on pongs, and its subscription ids are not fixed 16-byte
// strings; its notifications are also rendered per subscriber. This package
// implements the small JSON-RPC surface itself on github.com/coder/websocket,
// which gives context-aware reads and writes, close codes and reasons,
// message read limits and a pong callback; the frame limit, corked writes
// (a burst of notifications in one system call) and close-after-write are
// done on the hijacked connection (see frame.go).
package serve
