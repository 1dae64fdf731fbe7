package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/jetstream"
)

// natsFlag is --nats: a bare --nats runs an embedded NATS server with
// JetStream; --nats=nats://host:port publishes to that cluster.
type natsFlag struct {
	set bool
	url string // "" with set: embedded
}

func (f *natsFlag) String() string   { return f.url }
func (f *natsFlag) IsBoolFlag() bool { return true } // --nats alone is allowed
func (f *natsFlag) Set(v string) error {
	f.set = true
	switch v {
	case "true", "embedded":
		f.url = ""
	case "false":
		f.set = false
	default:
		f.url = v
	}
	return nil
}

// natsOptions are serve's flags for the JetStream fan-out.
type natsOptions struct {
	target   natsFlag
	dir      *string
	port     *int
	prefix   *string
	stream   *string
	events   *bool
	backfill *bool
}

func natsFlags(fs *flag.FlagSet) *natsOptions {
	o := &natsOptions{}
	fs.Var(&o.target, "nats", "also publish blocks and commit states to NATS JetStream: --nats runs an embedded NATS server (JetStream stored in --nats-dir), --nats=nats://HOST:PORT publishes to that server or cluster")
	o.dir = fs.String("nats-dir", "monad-events-nats", "the embedded NATS server's JetStream storage directory")
	o.port = fs.Int("nats-port", 4222, "the embedded NATS server's port on 127.0.0.1 (0: any free port)")
	o.prefix = fs.String("nats-prefix", jetstream.DefaultPrefix, "subject prefix")
	o.stream = fs.String("nats-stream", jetstream.DefaultStream, "JetStream stream name")
	o.events = fs.Bool("nats-events", false, "also publish every raw event on <prefix>.event.<TYPE>")
	o.backfill = fs.Bool("nats-backfill", false, "when the stream holds nothing published from a ring yet, start at the oldest block the ring holds instead of the newest block start (a stream that has messages always resumes after them)")
	return o
}

// start starts publishing ring to JetStream when --nats was given; the
// returned channel yields the publisher's end (nil when not publishing).
// Everything it started stops when ctx ends.
// The publisher's metrics are registered on reg (served on /metrics).
func (o *natsOptions) start(ctx context.Context, e *env, ring *eventring.Ring, reg prometheus.Registerer) (<-chan error, func(), error) {
	if !o.target.set {
		return nil, func() {}, nil
	}
	url := o.target.url
	stopServer := func() {}
	if url == "" {
		srv, u, err := jetstream.RunEmbedded(ctx, *o.dir, jetstream.EmbeddedOptions{Port: *o.port, Logger: e.log})
		if err != nil {
			return nil, nil, fmt.Errorf("serve: embedded NATS server: %w", err)
		}
		url = u
		stopServer = func() { srv.Shutdown(); srv.WaitForShutdown() } // its store closed before we exit
		e.log.Info("serve: embedded NATS server with JetStream", "url", url, "dir", *o.dir)
	}
	nc, js, err := jetstream.Connect(ctx, url, e.log)
	if err != nil {
		stopServer()
		return nil, nil, fmt.Errorf("serve: NATS %s: %w", url, err)
	}
	stop := func() { nc.Close(); stopServer() }
	pub, err := jetstream.NewPublisher(js, jetstream.Options{Prefix: *o.prefix, Stream: *o.stream, Events: *o.events, Backfill: *o.backfill, Logger: e.log})
	if err != nil {
		stop()
		return nil, nil, err
	}
	if err := reg.Register(pub.Collector()); err != nil {
		stop()
		return nil, nil, err
	}
	done := make(chan error, 1)
	go func() { done <- pub.Run(ctx, ring) }()
	e.log.Info("serve: publishing to NATS JetStream", "url", url, "stream", *o.stream, "prefix", *o.prefix, "events", *o.events, "backfill", *o.backfill)
	return done, stop, nil
}
