package jetstream

import "github.com/prometheus/client_golang/prometheus"

// metricPrefix starts the name of every metric of a Publisher's Collector.
const metricPrefix = "monad_events_jetstream_"

// statMetric is one field of Stats as a metric.
type statMetric struct {
	name, help string
	kind       prometheus.ValueType
	value      func(*Stats) uint64
}

// statMetrics are the metrics of a Collector, one per field of Stats.
var statMetrics = func() []statMetric {
	c := func(name, help string, v func(*Stats) uint64) statMetric {
		return statMetric{metricPrefix + name, help, prometheus.CounterValue, v}
	}
	g := func(name, help string, v func(*Stats) uint64) statMetric {
		return statMetric{metricPrefix + name, help, prometheus.GaugeValue, v}
	}
	return []statMetric{
		c("events_read_total", "Ring events read by the publisher.", func(s *Stats) uint64 { return s.EventsRead }),
		g("read_seqno", "Sequence number of the last ring event the publisher read.", func(s *Stats) uint64 { return s.LastSeqno }),
		g("lag_events", "Events the ring's writer was ahead of the publisher when last sampled.", func(s *Stats) uint64 { return s.Lag }),
		c("messages_total", "Messages the stream acknowledged as new.", func(s *Stats) uint64 { return s.Messages }),
		c("duplicates_total", "Messages the stream acknowledged as duplicates (re-published after a restart).", func(s *Stats) uint64 { return s.Duplicates }),
		c("bytes_total", "Bytes of the bodies of acknowledged messages.", func(s *Stats) uint64 { return s.Bytes }),
		c("blocks_proposed_total", "Acknowledged block.proposed messages.", func(s *Stats) uint64 { return s.BlocksProposed }),
		c("blocks_finalized_total", "Acknowledged block.finalized messages.", func(s *Stats) uint64 { return s.BlocksFinalized }),
		c("commits_total", "Acknowledged commit-state messages.", func(s *Stats) uint64 { return s.Commits }),
		c("raw_events_total", "Acknowledged raw event messages.", func(s *Stats) uint64 { return s.Events }),
		g("last_finalized_block", "Number of the last block.finalized message acknowledged (0: none yet).", func(s *Stats) uint64 { return s.LastFinalized }),
		c("publish_errors_total", "Failed publish attempts (each is retried).", func(s *Stats) uint64 { return s.PublishErrors }),
		c("too_large_total", "Messages dropped because the server refuses their size.", func(s *Stats) uint64 { return s.TooLarge }),
		c("stalls_total", "Times the ring reader waited for NATS (the queue of unacknowledged messages was full).", func(s *Stats) uint64 { return s.Stalls }),
		c("gaps_total", "Times the ring's writer lapped the publisher.", func(s *Stats) uint64 { return s.Gaps }),
		c("lost_events_total", "Ring events lost in gaps.", func(s *Stats) uint64 { return s.LostEvents }),
		c("finalized_lost_total", "Finalized blocks never published because of gaps or blocks overwritten before a restart.", func(s *Stats) uint64 { return s.FinalizedLost }),
		c("verified_lost_total", "Verified blocks whose commit.verified message was never published because of gaps or blocks overwritten before a restart.", func(s *Stats) uint64 { return s.VerifiedLost }),
		c("notices_total", "Conditions logged while reading the ring: lost blocks, and what block reassembly reported (dropped blocks, expired payloads, ...).", func(s *Stats) uint64 { return s.Notices }),
		g("pending_publishes", "Publishes awaiting their acknowledgement.", func(s *Stats) uint64 { return s.Pending }),
		g("queued_bytes", "Bytes rendered and not yet acknowledged.", func(s *Stats) uint64 { return s.QueuedBytes }),
	}
}()

// Collector returns a Prometheus collector of the publisher's [Stats],
// read when the metrics are gathered (nothing is counted twice, and
// publishing pays nothing for it). Its metrics are named
// monad_events_jetstream_* and labelled stream="<Options.Stream>", so the
// publishers of several streams can share a registry; register each
// publisher's once.
func (p *Publisher) Collector() prometheus.Collector {
	labels := prometheus.Labels{"stream": p.opts.Stream}
	c := collector{p: p, descs: make([]*prometheus.Desc, len(statMetrics))}
	for i, m := range statMetrics {
		c.descs[i] = prometheus.NewDesc(m.name, m.help, nil, labels)
	}
	return c
}

type collector struct {
	p     *Publisher
	descs []*prometheus.Desc // statMetrics' with the publisher's label
}

// Describe sends the descriptors of every metric.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect sends the current value of every metric.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	st := c.p.Stats()
	for i, m := range statMetrics {
		ch <- prometheus.MustNewConstMetric(c.descs[i], m.kind, float64(m.value(&st)))
	}
}
