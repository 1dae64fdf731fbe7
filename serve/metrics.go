package serve

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metricPrefix starts every metric name.
const metricPrefix = "monad_events_serve_"

type metrics struct {
	events               prometheus.Counter
	gaps                 prometheus.Counter
	gapEvents            prometheus.Counter
	rawGaps              prometheus.Counter
	blocks               *prometheus.CounterVec
	connections          prometheus.Counter
	refused              *prometheus.CounterVec
	subscriptions        *prometheus.GaugeVec
	subscriptionsRefused prometheus.Counter
	dropped              prometheus.Counter
	idleClosed           prometheus.Counter
	notifications        *prometheus.CounterVec
	bytesSent            prometheus.Counter
	requests             *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, s *Server) (*metrics, error) {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: metricPrefix + name, Help: help})
	}
	m := &metrics{
		events:    counter("events_total", "Events read from the ring by the server's ring reader."),
		gaps:      counter("gaps_total", "Times the server's ring reader was lapped by the writer."),
		gapEvents: counter("gap_events_total", "Events lost to the server's ring reader in gaps."),
		rawGaps:   counter("raw_gaps_total", "Gap notices sent to monadEvents subscribers (their own readers were lapped)."),
		blocks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricPrefix + "block_updates_total",
			Help: "Block commit-state updates, by state (Proposed, Voted, Finalized, Verified)."}, []string{"state"}),
		connections: counter("connections_total", "WebSocket connections accepted."),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricPrefix + "connections_refused_total",
			Help: "Connections refused before the upgrade, by reason."}, []string{"reason"}),
		subscriptions: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metricPrefix + "subscriptions",
			Help: "Active subscriptions, by kind."}, []string{"kind"}),
		subscriptionsRefused: counter("subscriptions_refused_total", "eth_subscribe calls refused by the per-connection limit."),
		dropped:              counter("slow_clients_dropped_total", "Clients disconnected because their queue overflowed."),
		idleClosed:           counter("idle_clients_closed_total", "Clients disconnected after the idle timeout."),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricPrefix + "notifications_total",
			Help: "Subscription notifications queued, by subscription kind."}, []string{"kind"}),
		bytesSent: counter("sent_bytes_total", "Bytes of messages (notifications and responses) written to clients."),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricPrefix + "requests_total",
			Help: "JSON-RPC requests, by method (\"other\" for unknown ones)."}, []string{"method"}),
	}
	for k := range kindCount {
		m.subscriptions.WithLabelValues(k.String())
	}
	for _, st := range []string{"Proposed", "Voted", "Finalized", "Verified"} {
		m.blocks.WithLabelValues(st)
	}
	cs := []prometheus.Collector{
		m.events, m.gaps, m.gapEvents, m.rawGaps, m.blocks, m.connections, m.refused, m.subscriptions,
		m.subscriptionsRefused, m.dropped, m.idleClosed, m.notifications, m.bytesSent, m.requests,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: metricPrefix + "clients", Help: "Connected WebSocket clients."},
			func() float64 {
				s.mu.Lock()
				defer s.mu.Unlock()
				return float64(len(s.conns))
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: metricPrefix + "lag_events",
			Help: "Events the writer has reserved past the last one the server's ring reader processed."},
			func() float64 { return float64(s.lagEvents()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: metricPrefix + "lag_seconds",
			Help: "Record-time distance between the newest event in the ring and the last one the server processed."},
			s.lagSeconds),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: metricPrefix + "read_seqno",
			Help: "Sequence number of the last event the server's ring reader processed."},
			func() float64 { return float64(s.readSeqno.Load()) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
