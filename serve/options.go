package serve

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/monadgo/events/blocks"
)

// Defaults. The limits and the heartbeat are the Monad RPC server's
// WebSocket facts; the queue and window sizes are this server's own.
const (
	DefaultAddr             = "127.0.0.1:8546" // go-ethereum's conventional WebSocket port, loopback only
	DefaultMaxConnections   = 500              // a further connection is refused
	DefaultMaxSubscriptions = 100              // per connection; the 101st eth_subscribe fails
	DefaultMaxFrameSize     = 256 << 10        // one incoming WebSocket frame
	DefaultMaxMessageSize   = 2 << 20          // one incoming (possibly fragmented) message
	DefaultMaxResponseSize  = 25_000_000       // a larger response is answered with an error instead
	DefaultMaxBatch         = 1000             // requests in one JSON-RPC batch (go-ethereum's default)
	DefaultPingInterval     = 20 * time.Second // empty-bodied WebSocket ping
	DefaultIdleTimeout      = 60 * time.Second // nothing received (no pong, no message) for this long: closed
	DefaultWriteTimeout     = 10 * time.Second // one message write
	DefaultQueueSize        = 4096             // notifications queued per connection
	DefaultQueueBytes       = 8 << 20          // bytes queued per connection
	DefaultBlockWindow      = 64               // executed blocks held for eth_getBlockByNumber and friends
)

// Options configure a Server. The zero value gives the defaults above.
type Options struct {
	// Token, when not empty, is required of every client as
	// "Authorization: Bearer <Token>"; others get 401 before the upgrade.
	Token string

	// HeadsState is the commit state at which newHeads and logs fire
	// (once per block). The zero value is blocks.CommitProposed, what the
	// Monad RPC server's code uses.
	HeadsState blocks.CommitState

	// ChainID is what eth_chainId and net_version answer. 0: the chain id
	// recorded in the blocks read (an error until the first one).
	ChainID uint64

	// Limits; 0 selects the default.
	MaxConnections   int
	MaxSubscriptions int   // per connection
	MaxFrameSize     int64 // incoming frame payload bytes
	MaxMessageSize   int64 // incoming message bytes
	MaxResponseSize  int   // outgoing response bytes
	MaxBatch         int   // requests per batch

	// Heartbeat and timeouts; 0 selects the default.
	PingInterval time.Duration
	IdleTimeout  time.Duration
	WriteTimeout time.Duration

	// QueueSize and QueueBytes bound what waits to be written to one
	// connection (0: the defaults). A connection whose queue overflows is
	// closed with status 1008 and a reason: the ring reader never waits
	// for a client.
	QueueSize  int
	QueueBytes int

	// BlockWindow is how many executed blocks (proposals) are held in
	// memory for the query methods (0: DefaultBlockWindow).
	BlockWindow int

	// Builder configures the block builder of the ring reader.
	Builder blocks.BuilderOptions

	// OriginPatterns lists the origins (host patterns, see
	// github.com/coder/websocket AcceptOptions) allowed to connect besides
	// the server's own; browsers send an Origin, other clients do not.
	OriginPatterns []string

	// Logger receives the server's diagnostics (nil: slog.Default()).
	Logger *slog.Logger

	// Registerer is where the metrics are registered and Gatherer what
	// /metrics serves. Both nil: a registry of the server's own (never the
	// global one). A Registerer that is also a Gatherer (a
	// *prometheus.Registry) serves as both.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def64 := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxConnections, DefaultMaxConnections)
	def(&o.MaxSubscriptions, DefaultMaxSubscriptions)
	def64(&o.MaxFrameSize, DefaultMaxFrameSize)
	def64(&o.MaxMessageSize, DefaultMaxMessageSize)
	def(&o.MaxResponseSize, DefaultMaxResponseSize)
	def(&o.MaxBatch, DefaultMaxBatch)
	defDur(&o.PingInterval, DefaultPingInterval)
	defDur(&o.IdleTimeout, DefaultIdleTimeout)
	defDur(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.QueueSize, DefaultQueueSize)
	def(&o.QueueBytes, DefaultQueueBytes)
	def(&o.BlockWindow, DefaultBlockWindow)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
