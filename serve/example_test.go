package serve_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/serve"
)

// Example serves the demo snapshot on a loopback port and queries it with
// go-ethereum's ethclient, as any Ethereum client would. On a live ring,
// the same client's SubscribeNewHead and SubscribeFilterLogs follow the
// blocks as they are executed.
func Example() {
	ring, err := execevents.Open("../testdata/demo.snapshot.zst") // or a live ring
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()
	srv, err := serve.New(ring, serve.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go srv.Run(ctx)

	ln, err := net.Listen("tcp", "127.0.0.1:0") // serve.DefaultAddr in production
	if err != nil {
		log.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	hs.RegisterOnShutdown(func() { srv.Close() }) // WebSocket clients get 1001 "server shutting down"
	go hs.Serve(ln)
	defer hs.Shutdown(context.Background())

	client, err := ethclient.Dial("ws://" + ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	for srv.Health().LastSeqno < ring.LastSeqno() { // a snapshot is read at once
		time.Sleep(time.Millisecond)
	}
	n, err := client.BlockNumber(ctx)
	if err != nil {
		log.Fatal(err)
	}
	id, err := client.ChainID(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("chain", id, "latest block", n)
	// Block 1000002 had two proposals; the finalized one is served. Its hash
	// is recomputed by go-ethereum from the header it received.
	blk, err := client.BlockByNumber(ctx, big.NewInt(1000002))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("block", blk.Number(), "hash", blk.Hash(), "transactions", len(blk.Transactions()))
	// Output:
	// chain 20143 latest block 1000004
	// block 1000002 hash 0x9889d146af42707fefaf4a44c2e509fcbd18849b7be5d206abc91d98b2f06aeb transactions 5
}
