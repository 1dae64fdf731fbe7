package jetstream

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/execevents"
)

// Defaults of [Options].
const (
	DefaultPrefix     = "monad.exec"
	DefaultStream     = "MONAD_EXEC"
	DefaultMaxAge     = 24 * time.Hour
	DefaultMaxBytes   = 8 << 30
	DefaultDuplicates = 2 * time.Minute
	DefaultMaxPending = 256
	DefaultQueueBytes = 64 << 20
	DefaultAckTimeout = 5 * time.Second
	// DefaultDrainTimeout bounds the wait for outstanding acks when the
	// context ends.
	DefaultDrainTimeout = 5 * time.Second
)

// Options configure a [Publisher]. The zero value is usable: every zero
// field takes its default.
type Options struct {
	// Prefix is the first part of every subject (DefaultPrefix,
	// "monad.exec"): one or more dot-separated tokens without wildcards.
	Prefix string
	// Stream is the JetStream stream name (DefaultStream, "MONAD_EXEC").
	// It captures "<Prefix>.>"; give each prefix a stream of its own.
	Stream string

	// NoProposedBlocks leaves out <Prefix>.block.proposed: whole blocks
	// are then published once, on finalization (half the bytes), and
	// proposals only as commit.proposed messages.
	NoProposedBlocks bool

	// Events also publishes every raw event on <Prefix>.event.<TYPE>
	// (off by default: about 4 500 messages per Ethereum-sized block).
	Events bool
	// EventTypes, with Events, limits the raw events to these types
	// (nil: all).
	EventTypes []execevents.EventType

	// MaxAge, MaxBytes and Duplicates configure the stream's retention
	// (limits-based, oldest messages discarded first) and its
	// de-duplication window (DefaultMaxAge 24 h, DefaultMaxBytes 8 GiB,
	// DefaultDuplicates 2 min). MaxBytes -1 means no byte limit. The
	// duplicate window is how long after a message's first publication a
	// re-publication with the same id is dropped; see the package
	// documentation for what it guarantees.
	MaxAge     time.Duration
	MaxBytes   int64
	Duplicates time.Duration
	// Replicas is the stream's replica count in a cluster (default 1).
	Replicas int
	// MemoryStorage keeps the stream in memory instead of files.
	MemoryStorage bool
	// NoStreamSetup leaves the stream as it is (managed by an operator):
	// the publisher only checks that it exists and captures the subjects.
	NoStreamSetup bool

	// MaxPending bounds the asynchronous publishes awaiting their ack
	// (DefaultMaxPending). QueueBytes bounds the bytes of the messages
	// rendered and not yet acknowledged (DefaultQueueBytes, at least the
	// largest message); when it is reached, the ring reader waits (see
	// the package documentation: it lags, and if the ring laps it, it
	// reports a gap and resumes).
	MaxPending int
	QueueBytes int64
	// AckTimeout is how long a publish waits for its ack before it is
	// retried (DefaultAckTimeout).
	AckTimeout time.Duration
	// DrainTimeout bounds the wait for outstanding acks once the context
	// is done (DefaultDrainTimeout).
	DrainTimeout time.Duration

	// Backfill: on a stream that holds nothing of ours yet, start at the
	// oldest block still in the ring instead of the newest BLOCK_START.
	Backfill bool

	// Builder configures block reassembly (call frames, accesses, limits).
	Builder blocks.BuilderOptions

	// Logger receives the publisher's logs (slog.Default() if nil).
	Logger *slog.Logger
}

// withDefaults returns o with every zero field set to its default, or an
// *OptionError.
func (o Options) withDefaults() (Options, error) {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Stream == "" {
		o.Stream = DefaultStream
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Duplicates == 0 {
		o.Duplicates = DefaultDuplicates
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.MaxPending == 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.QueueBytes == 0 {
		o.QueueBytes = DefaultQueueBytes
	}
	if o.AckTimeout == 0 {
		o.AckTimeout = DefaultAckTimeout
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	switch {
	case !validPrefix(o.Prefix):
		return o, &OptionError{Field: "Prefix", Msg: fmt.Sprintf("%q is not a subject prefix (dot-separated tokens without spaces or wildcards)", o.Prefix)}
	case strings.ContainsAny(o.Stream, " \t\r\n.*>/\\"):
		return o, &OptionError{Field: "Stream", Msg: fmt.Sprintf("%q is not a stream name", o.Stream)}
	case o.MaxAge < 0:
		return o, &OptionError{Field: "MaxAge", Msg: "negative"}
	case o.MaxBytes < -1:
		return o, &OptionError{Field: "MaxBytes", Msg: "below -1"}
	case o.Duplicates < 0:
		return o, &OptionError{Field: "Duplicates", Msg: "negative"}
	case o.MaxAge > 0 && o.Duplicates > o.MaxAge:
		return o, &OptionError{Field: "Duplicates", Msg: "longer than MaxAge"}
	case o.Replicas < 1 || o.Replicas > 5:
		return o, &OptionError{Field: "Replicas", Msg: "want 1 to 5"}
	case o.MaxPending < 1:
		return o, &OptionError{Field: "MaxPending", Msg: "want at least 1"}
	case o.QueueBytes < 1<<20:
		return o, &OptionError{Field: "QueueBytes", Msg: "want at least 1 MiB"}
	case o.AckTimeout < 0 || o.DrainTimeout < 0:
		return o, &OptionError{Field: "AckTimeout", Msg: "negative timeout"}
	}
	for _, t := range o.EventTypes {
		if int(t) >= len(execevents.Events) {
			return o, &OptionError{Field: "EventTypes", Msg: fmt.Sprintf("unknown event type %d", t)}
		}
	}
	return o, nil
}

func validPrefix(p string) bool {
	if p == "" || strings.ContainsAny(p, " \t\r\n*>") {
		return false
	}
	for _, tok := range strings.Split(p, ".") {
		if tok == "" {
			return false
		}
	}
	return true
}

// StreamConfig returns the configuration the publisher creates or updates
// its stream with: subjects "<Prefix>.>", limits retention discarding the
// oldest messages, MaxAge, MaxBytes, the duplicate window, file storage
// (or memory) and the replica count. Consumers and operators can use it
// to create the stream themselves (then set NoStreamSetup).
func (o Options) StreamConfig() natsjs.StreamConfig {
	o, _ = o.withDefaults()
	storage := natsjs.FileStorage
	if o.MemoryStorage {
		storage = natsjs.MemoryStorage
	}
	return natsjs.StreamConfig{
		Name:        o.Stream,
		Description: "Monad execution events: executed blocks, commit states and raw events (github.com/monadgo/events/jetstream)",
		Subjects:    []string{o.Prefix + ".>"},
		Retention:   natsjs.LimitsPolicy,
		Discard:     natsjs.DiscardOld,
		MaxAge:      o.MaxAge,
		MaxBytes:    o.MaxBytes,
		MaxMsgs:     -1,
		Duplicates:  o.Duplicates,
		Storage:     storage,
		Replicas:    o.Replicas,
	}
}
