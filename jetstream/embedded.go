package jetstream

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

// DefaultMaxPayload is the largest message the embedded server accepts
// (8 MiB; a NATS server's own default is 1 MiB, less than some blocks'
// JSON: block 15 000 009 of the emn-30b recording renders as 1.5 MB).
const DefaultMaxPayload = 8 << 20

// EmbeddedOptions configure [RunEmbedded]. The zero value listens on a
// random port of 127.0.0.1.
type EmbeddedOptions struct {
	// Host and Port to listen on (default 127.0.0.1, and a random free
	// port when Port is 0).
	Host string
	Port int
	// MaxPayload is the largest message accepted (DefaultMaxPayload).
	MaxPayload int32
	// MaxStore bounds the JetStream file store in bytes (0: the server's
	// default, a share of the disk).
	MaxStore int64
	// Logger receives the server's log lines (nil: none). Its notices go
	// to Info, its debug lines to Debug.
	Logger *slog.Logger
	// ReadyTimeout bounds the wait for the server to accept connections
	// (default 10 s).
	ReadyTimeout time.Duration
}

// RunEmbedded starts a NATS server in this process with JetStream storing
// in dir (created if missing), listening on 127.0.0.1 unless told
// otherwise, and returns it with the URL clients connect to
// ("nats://127.0.0.1:PORT"). The server shuts down when ctx is done (or
// when the caller calls its Shutdown; WaitForShutdown waits for either).
// A server restarted on the same dir finds its streams and messages again.
func RunEmbedded(ctx context.Context, dir string, opts EmbeddedOptions) (*server.Server, string, error) {
	if dir == "" {
		return nil, "", &OptionError{Field: "dir", Msg: "the JetStream store needs a directory"}
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, "", err
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	if opts.MaxPayload == 0 {
		opts.MaxPayload = DefaultMaxPayload
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 10 * time.Second
	}
	sopts := &server.Options{
		ServerName:        "monad-events",
		Host:              opts.Host,
		Port:              opts.Port,
		JetStream:         true,
		StoreDir:          dir,
		JetStreamMaxStore: opts.MaxStore,
		MaxPayload:        opts.MaxPayload,
		NoSigs:            true,
		NoLog:             opts.Logger == nil,
	}
	s, err := server.NewServer(sopts)
	if err != nil {
		return nil, "", fmt.Errorf("jetstream: embedded server: %w", err)
	}
	if opts.Logger != nil {
		s.SetLoggerV2(&serverLog{opts.Logger.With("component", "nats-server")}, opts.Logger.Enabled(ctx, slog.LevelDebug), false, false)
	}
	go s.Start()
	if !s.ReadyForConnections(opts.ReadyTimeout) {
		s.Shutdown()
		return nil, "", fmt.Errorf("jetstream: embedded server on %s:%d not ready within %v", opts.Host, opts.Port, opts.ReadyTimeout)
	}
	go func() {
		select {
		case <-ctx.Done():
			s.Shutdown()
		case <-shutdownCh(s):
		}
	}()
	return s, s.ClientURL(), nil
}

// shutdownCh is closed when s has shut down.
func shutdownCh(s *server.Server) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		s.WaitForShutdown()
		close(ch)
	}()
	return ch
}

// serverLog passes the server's log lines to slog.
type serverLog struct{ l *slog.Logger }

func (s *serverLog) Noticef(format string, v ...any) { s.l.Info(fmt.Sprintf(format, v...)) }
func (s *serverLog) Warnf(format string, v ...any)   { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s *serverLog) Fatalf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s *serverLog) Errorf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s *serverLog) Debugf(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s *serverLog) Tracef(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }

// Connect connects to the NATS server at url with the settings the
// publisher relies on, and returns the connection and its JetStream
// context. It reconnects forever (every 250 ms), and publishing fails at
// once while it is disconnected rather than filling a reconnect buffer, so
// the publisher retries in order. Disconnections and reconnections are
// logged to logger (slog.Default() if nil). ctx's deadline, if any, bounds
// the first connection attempt. The caller closes the connection.
func Connect(ctx context.Context, url string, logger *slog.Logger) (*nats.Conn, natsjs.JetStream, error) {
	if logger == nil {
		logger = slog.Default()
	}
	opts := []nats.Option{
		nats.Name("monad-events jetstream publisher"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: closed by its owner
				logger.Warn("jetstream: disconnected from NATS", "url", url, "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("jetstream: reconnected to NATS", "url", nc.ConnectedUrlRedacted())
		}),
	}
	if deadline, ok := ctx.Deadline(); ok {
		opts = append(opts, nats.Timeout(time.Until(deadline)))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("jetstream: connect to %s: %w", url, err)
	}
	js, err := natsjs.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	return nc, js, nil
}
