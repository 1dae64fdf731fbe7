package jetstream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"os"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/jetstream"
)

// Example publishes the demo snapshot's blocks to an embedded NATS server
// storing in a temporary directory, then reads the finalized blocks back
// with a durable consumer, as an indexer on another host would (with the
// server's URL instead of the embedded one).
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "jetstream-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// No NATS URL given: an embedded server with JetStream on dir,
	// listening on a random port of 127.0.0.1.
	srv, url, err := jetstream.RunEmbedded(ctx, dir, jetstream.EmbeddedOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown()
	nc, js, err := jetstream.Connect(ctx, url, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()

	ring, err := execevents.Open("../testdata/demo.snapshot.zst") // or a live ring
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Close()
	// On a live ring Run goes on until ctx ends or the writer exits; a
	// snapshot ends.
	quiet := slog.New(slog.DiscardHandler)
	if err := jetstream.Run(ctx, ring, js, jetstream.Options{Logger: quiet}); err != nil {
		log.Fatal(err)
	}

	// The consumer side.
	cons, err := js.CreateOrUpdateConsumer(ctx, jetstream.DefaultStream, natsjs.ConsumerConfig{
		Durable:       "indexer",
		FilterSubject: jetstream.BlockSubject(jetstream.DefaultPrefix, blocks.CommitFinalized),
		AckPolicy:     natsjs.AckExplicitPolicy,
	})
	if err != nil {
		log.Fatal(err)
	}
	batch, err := cons.FetchNoWait(100)
	if err != nil {
		log.Fatal(err)
	}
	for m := range batch.Messages() {
		var u struct {
			CommitState string `json:"commitState"`
			BlockNumber uint64 `json:"blockNumber"`
			Block       struct {
				Hash         string            `json:"hash"`
				Transactions []json.RawMessage `json:"transactions"`
			} `json:"block"`
		}
		if err := json.Unmarshal(m.Data(), &u); err != nil {
			log.Fatal(err)
		}
		fmt.Println(m.Subject(), u.CommitState, u.BlockNumber, u.Block.Hash[:18], len(u.Block.Transactions), "txns")
		if err := m.Ack(); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// monad.exec.block.finalized Finalized 1000000 0x0f55fbc09ca3b7df 4 txns
	// monad.exec.block.finalized Finalized 1000001 0xde89025e499c25b1 4 txns
	// monad.exec.block.finalized Finalized 1000002 0x9889d146af42707f 5 txns
	// monad.exec.block.finalized Finalized 1000003 0xa4bd61795f081585 3 txns
}
