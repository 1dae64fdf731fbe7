package serve_test

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/internal/testdata"
	"github.com/monadgo/events/serve"
)

// cycler records the recording over and over, each pass with distinct
// block ids, as a live writer would.
type cycler struct {
	rec   *eventring.Recorder
	evs   []testdata.Event
	i     int
	pass  byte
	remap map[uint64]uint64
	mu    sync.Mutex
	ends  map[uint64]uint64 // block number -> seqno of its latest BLOCK_END
}

func (c *cycler) next(tb testing.TB) {
	if c.i == len(c.evs) {
		c.i, c.pass = 0, c.pass+1
		clear(c.remap)
	}
	e := &c.evs[c.i]
	c.i++
	d, p := &e.Descriptor, e.Payload
	ext := d.ContentExt
	next := c.rec.LastSeqno() + 1
	et := execevents.EventType(d.EventType)
	switch {
	case et == execevents.EventTypeBlockStart:
		c.remap[d.Seqno] = next
		ext[execevents.FlowTypeBlockSeqno] = next
	case ext[execevents.FlowTypeBlockSeqno] != 0:
		ext[execevents.FlowTypeBlockSeqno] = c.remap[ext[execevents.FlowTypeBlockSeqno]]
	}
	switch et {
	case execevents.EventTypeBlockStart, execevents.EventTypeBlockQC, execevents.EventTypeBlockFinalized:
		p = append([]byte(nil), p...)
		p[0] = c.pass
	}
	if et == execevents.EventTypeBlockEnd {
		// Noted before the event is recorded: its header may reach the
		// client before Record returns. BLOCK_END carries no number; its
		// block's BLOCK_START does.
		n := blockNumberOfStart(c.evs, d.ContentExt[execevents.FlowTypeBlockSeqno])
		c.mu.Lock()
		c.ends[n] = next
		c.mu.Unlock()
	}
	if _, err := c.rec.Record(d.EventType, ext, p); err != nil {
		tb.Error(err)
	}
}

func blockNumberOfStart(evs []testdata.Event, seqno uint64) uint64 {
	if seqno == 0 || seqno > uint64(len(evs)) {
		return 0
	}
	var dec execevents.Decoder
	e := &evs[seqno-1]
	ev, err := dec.View(&e.Descriptor, e.Payload)
	if err != nil {
		return 0
	}
	return ev.(*execevents.BlockStartEvent).BlockTag.BlockNumber
}

func (c *cycler) endSeqno(n uint64) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ends[n]
}

// recordEpoch extracts "recordEpochNanos" from a monadEvents notification.
func recordEpoch(b []byte) uint64 {
	const key = `"recordEpochNanos":`
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0
	}
	b = b[i+len(key):]
	j := bytes.IndexByte(b, ',')
	n, _ := strconv.ParseUint(string(b[:j]), 10, 64)
	return n
}

// headNumber extracts the block number of a newHeads notification.
func headNumber(b []byte) uint64 {
	const key = `"number":"0x`
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0
	}
	b = b[i+len(key):]
	n, _ := strconv.ParseUint(string(b[:bytes.IndexByte(b, '"')]), 16, 64)
	return n
}

func percentiles(lat []time.Duration) (p50, p99 time.Duration) {
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100]
}

// BenchmarkNotifications measures one local client's notification
// throughput on a monadEvents subscription (one notification per event,
// the heaviest stream) with the writer recording as fast as it can, and
// reports notifications/s and MB/s.
func BenchmarkNotifications(b *testing.B) {
	evs := recording(b)
	rec, ring := newRing(b, eventring.Sizes{DescriptorCapacity: 1 << 20, PayloadBufSize: 1 << 28})
	ts := startServer(b, ring, serve.Options{})
	c := mustDial(b, ts.url)
	c.subscribe("monadEvents", map[string]any{"fromSeqno": 1})
	cy := &cycler{rec: rec, evs: evs, remap: map[uint64]uint64{}, ends: map[uint64]uint64{}}
	ctx := context.Background()
	b.ResetTimer()
	written := make(chan struct{})
	defer func() { <-written }()
	go func() {
		defer close(written)
		for range b.N {
			cy.next(b)
		}
	}()
	var n int64
	for range b.N {
		_, m, err := c.c.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n += int64(len(m))
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notifications/s")
	b.ReportMetric(float64(n)/1e6/b.Elapsed().Seconds(), "MB/s")
}

// BenchmarkLatency measures end-to-end latency, from an event's record
// time in the ring (the writer's clock, record_epoch_nanos) to the moment
// one local client has read the notification, with the writer paced at
// 20 000 events/s: for monadEvents (each event) and for newHeads (the
// BLOCK_END of the block to its header).
func BenchmarkLatency(b *testing.B) {
	evs := recording(b)
	for _, kind := range []string{"monadEvents", "newHeads"} {
		b.Run(kind, func(b *testing.B) {
			rec, ring := newRing(b, eventring.Sizes{DescriptorCapacity: 1 << 20, PayloadBufSize: 1 << 28})
			ts := startServer(b, ring, serve.Options{})
			c := mustDial(b, ts.url)
			if kind == "monadEvents" {
				c.subscribe("monadEvents", map[string]any{"fromSeqno": 1})
			} else {
				c.subscribe("newHeads")
			}
			cy := &cycler{rec: rec, evs: evs, remap: map[uint64]uint64{}, ends: map[uint64]uint64{}}
			stop, stopped := make(chan struct{}), make(chan struct{})
			defer func() { close(stop); <-stopped }()
			go func() {
				defer close(stopped)
				const perTick = 20 // 20 events each millisecond
				t := time.NewTicker(time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-stop:
						return
					case <-t.C:
					}
					for range perTick {
						cy.next(b)
					}
				}
			}()
			lat := make([]time.Duration, 0, b.N)
			ctx := context.Background()
			b.ResetTimer()
			for len(lat) < b.N {
				_, m, err := c.c.Read(ctx)
				now := time.Now().UnixNano()
				if err != nil {
					b.Fatal(err)
				}
				var rec uint64
				if kind == "monadEvents" {
					rec = recordEpoch(m)
				} else {
					var d eventring.Descriptor
					if s := cy.endSeqno(headNumber(m)); s != 0 && ring.TryCopy(s, &d) {
						rec = d.RecordEpochNanos
					}
				}
				if rec != 0 {
					lat = append(lat, time.Duration(now-int64(rec)))
				}
			}
			b.StopTimer()
			p50, p99 := percentiles(lat)
			b.ReportMetric(float64(p50.Microseconds()), "p50-µs")
			b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
		})
	}
}
