package jetstream_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/jetstream"
)

// TestLiveRingFinalizedExactlyOnce: a publisher follows a ring while the
// test writes the emn-30b recording into it (its first 10 blocks under the
// race detector); a durable pull consumer of
// block.finalized receives every finalized block once, in order, as
// blocks --json renders it, with the reference file's hashes; the other
// subjects hold one message per update.
func TestLiveRingFinalizedExactlyOnce(t *testing.T) {
	r := loadReference(t)
	blocksWanted := 0 // the whole recording
	if raceEnabled {
		blocksWanted = 6
	}
	evs, fin, verified := r.prefix(blocksWanted)
	dir := t.TempDir()
	_, url := startServer(t, dir+"/js", 0)
	_, js := connect(t, url)
	rec, path := newRing(t, dir, 1<<18)
	ring := openRing(t, path)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := jetstream.NewPublisher(js, jetstream.Options{Backfill: true, Logger: testLogger(t, "publisher")})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, ring) }()

	// A consumer reads while the ring is written.
	waitStream(t, js, jetstream.DefaultStream)
	got := make(chan []natsjs.Msg, 1)
	go func() {
		got <- fetchAll(t, js, jetstream.DefaultStream, "finalized", "monad.exec.block.finalized", len(fin), 50*time.Second)
	}()
	if err := replay(ctx, rec, evs, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	rec.Close()
	if err := <-done; !errors.Is(err, eventring.ErrWriterGone) {
		t.Fatalf("Run: %v, want the writer gone", err)
	}
	checkFinalized(t, r, fin, <-got)

	counts := subjectCounts(t, js, jetstream.DefaultStream, jetstream.DefaultPrefix)
	n := uint64(len(fin))
	want := map[string]uint64{
		"monad.exec.block.proposed":   n,
		"monad.exec.block.finalized":  n,
		"monad.exec.commit.proposed":  n,
		"monad.exec.commit.voted":     n,
		"monad.exec.commit.finalized": n,
		"monad.exec.commit.verified":  uint64(verified),
	}
	for subj, c := range want {
		if counts[subj] != c {
			t.Errorf("%s: %d messages, want %d", subj, counts[subj], c)
		}
	}
	if len(counts) != len(want) {
		t.Errorf("subjects %v, want only %v", counts, want)
	}
	st := p.Stats()
	t.Logf("stats %+v", st)
	if st.Duplicates != 0 || st.Gaps != 0 || st.LastFinalized != fin[len(fin)-1].number || st.BlocksFinalized != n {
		t.Errorf("stats %+v", st)
	}

	// The same facts through the Prometheus collector, as an operator
	// scrapes them: against the stream's own message counts.
	reg := prometheus.NewRegistry()
	reg.MustRegister(p.Collector())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, f := range families {
		m := f.GetMetric()[0]
		if l := m.GetLabel(); len(l) != 1 || l[0].GetName() != "stream" || l[0].GetValue() != p.Options().Stream {
			t.Errorf("%s labels %v, want stream=%q", f.GetName(), l, p.Options().Stream)
		}
		if c := m.GetCounter(); c != nil {
			values[f.GetName()] = c.GetValue()
		} else {
			values[f.GetName()] = m.GetGauge().GetValue()
		}
	}
	var stored uint64
	for _, c := range counts {
		stored += c
	}
	wantMetrics := map[string]float64{
		"monad_events_jetstream_messages_total":         float64(stored),
		"monad_events_jetstream_blocks_finalized_total": float64(n),
		"monad_events_jetstream_blocks_proposed_total":  float64(n),
		"monad_events_jetstream_last_finalized_block":   float64(fin[len(fin)-1].number),
		"monad_events_jetstream_gaps_total":             0,
		"monad_events_jetstream_pending_publishes":      0,
	}
	for name, v := range wantMetrics {
		if got, ok := values[name]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, v)
		}
	}
	if fields := reflect.TypeFor[jetstream.Stats]().NumField(); len(values) != fields {
		t.Errorf("%d metrics, want one per field of Stats (%d)", len(values), fields)
	}
}

// TestCollectorsShareRegistry: the collectors of two publishers (two
// streams) register on one registry and each reports under its stream's
// label; a second registration of the same publisher's is refused.
func TestCollectorsShareRegistry(t *testing.T) {
	type noServer struct{ natsjs.JetStream } // NewPublisher does not call it
	reg := prometheus.NewRegistry()
	for _, stream := range []string{"A", "B"} {
		p, err := jetstream.NewPublisher(noServer{}, jetstream.Options{Stream: stream, Prefix: "monad." + stream})
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.Register(p.Collector()); err != nil {
			t.Fatalf("stream %s: %v", stream, err)
		}
		if err := reg.Register(p.Collector()); err == nil {
			t.Errorf("stream %s: a second registration was accepted", stream)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		var streams []string
		for _, m := range f.GetMetric() {
			streams = append(streams, m.GetLabel()[0].GetValue())
		}
		if !reflect.DeepEqual(streams, []string{"A", "B"}) {
			t.Errorf("%s: streams %v, want [A B]", f.GetName(), streams)
		}
	}
	if want := reflect.TypeFor[jetstream.Stats]().NumField(); len(families) != want {
		t.Errorf("%d metric families, want %d", len(families), want)
	}
}
