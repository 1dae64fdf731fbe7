// Command serveload is the load test of package serve: on loopback only, it
// serves a ring that it replays at full speed from the emn-30b reference
// recording while 200 WebSocket clients are subscribed, some of which never
// read. It checks that the fast clients miss nothing, that the slow ones are
// disconnected with a reason, and that the server's ring reader is never
// lapped (its gap counter stays 0), and prints the delivered notifications
// per second and the peak memory. It stops by itself (-timeout) and exits
// with status 1 if a check fails.
//
//	go run ./internal/cmd/serveload                     # from the module root
//	go run ./internal/cmd/serveload -clients 200 -slow 20 -passes 4
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/ethereum/go-ethereum/common"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
	"github.com/monadgo/events/serve"
)

var heapProfile string

type event struct {
	d eventring.Descriptor
	p []byte
}

func main() {
	snapshot := flag.String("snapshot", "../shared/testdata/exec-events/emn-30b-15m/snapshot.zst", "recording to replay")
	clients := flag.Int("clients", 200, "WebSocket clients")
	slow := flag.Int("slow", 20, "of which never read")
	passes := flag.Int("passes", 4, "times the recording is replayed (block ids changed each time)")
	timeout := flag.Duration("timeout", 3*time.Minute, "give up after this long")
	verbose := flag.Bool("v", false, "server log on stderr")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	memProfile := flag.String("memprofile", "", "write an allocation profile of the run to this file")
	flag.StringVar(&heapProfile, "heapprofile", "", "write a heap profile when the server has read the whole ring")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *slow > *clients {
		log.Fatal("-slow exceeds -clients")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if *memProfile != "" {
		runtime.MemProfileRate = 64 << 10
		defer func() {
			f, err := os.Create(*memProfile)
			if err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	if err := run(ctx, *snapshot, *clients, *slow, *passes, *verbose); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "serveload: FAIL:", err)
		os.Exit(1)
	}
}

func load(path string) ([]event, error) {
	ring, err := eventring.Open(path)
	if err != nil {
		return nil, err
	}
	defer ring.Close()
	rd := ring.NewReader()
	var evs []event
	var d eventring.Descriptor
	for rd.TryNext(&d) == eventring.Ready {
		p, err := ring.CopyPayload(&d, nil)
		if err != nil {
			return nil, err
		}
		evs = append(evs, event{d, p})
	}
	return evs, nil
}

// memPeak samples the Go heap; the kernel keeps the peak RSS (VmHWM).
type memPeak struct{ heap atomic.Uint64 }

func (m *memPeak) sample(ctx context.Context) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var ms runtime.MemStats
	for {
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > m.heap.Load() {
			m.heap.Store(ms.HeapInuse)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func vmHWM() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func run(ctx context.Context, snapshot string, nClients, nSlow, passes int, verbose bool) error {
	evs, err := load(snapshot)
	if err != nil {
		return err
	}
	// The fast clients' log filter: the contract with the most logs.
	perAddr := map[common.Address]int{}
	var dec execevents.Decoder
	for i := range evs {
		if execevents.EventType(evs[i].d.EventType) == execevents.EventTypeTxnLog {
			ev, err := dec.View(&evs[i].d, evs[i].p)
			if err == nil {
				perAddr[common.Address(ev.(*execevents.TxnLogEvent).Address)]++
			}
		}
	}
	var addr common.Address
	for a, n := range perAddr {
		if n > perAddr[addr] {
			addr = a
		}
	}
	logsPerPass := perAddr[addr]

	dir, err := os.MkdirTemp("", "serveload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sizes := eventring.Sizes{DescriptorCapacity: 1 << 20, PayloadBufSize: 1 << 28}
	rec, err := eventring.Create(filepath.Join(dir, "ring"), sizes, execevents.RingContentType, execevents.SchemaHash)
	if err != nil {
		return err
	}
	defer rec.Close()
	ring, err := rec.Ring()
	if err != nil {
		return err
	}
	defer ring.Close()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	srv, err := serve.New(ring, serve.Options{Logger: logger, MaxConnections: nClients + 10})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	defer hs.Close()
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	go srv.Run(runCtx)
	var peak memPeak
	go peak.sample(runCtx)
	url := "ws://" + ln.Addr().String() + "/"

	// Connect and subscribe everyone before the first event is written.
	fast := make([]*client, 0, nClients-nSlow)
	var slowConns []*websocket.Conn
	for i := range nClients {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		c.SetReadLimit(64 << 20)
		defer c.CloseNow()
		if i < nSlow {
			for j := range 4 {
				req := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"eth_subscribe","params":["logs"]}`, j)
				if err := c.Write(ctx, websocket.MessageText, []byte(req)); err != nil {
					return err
				}
			}
			slowConns = append(slowConns, c)
			continue
		}
		cl := &client{c: c, kinds: map[string]int{}}
		if err := cl.subscribe(ctx, `"newHeads"`, `"monadNewHeads"`, `"logs",{"address":"`+addr.Hex()+`"}`); err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		fast = append(fast, cl)
	}
	var wg sync.WaitGroup
	for _, cl := range fast {
		wg.Add(1)
		go func() { defer wg.Done(); cl.read(ctx) }()
	}

	// Replay at full speed.
	began := time.Now()
	remap := map[uint64]uint64{}
	for pass := range passes {
		clear(remap)
		for i := range evs {
			d, p := &evs[i].d, evs[i].p
			ext := d.ContentExt
			next := rec.LastSeqno() + 1
			switch et := execevents.EventType(d.EventType); {
			case et == execevents.EventTypeBlockStart:
				remap[d.Seqno] = next
				ext[execevents.FlowTypeBlockSeqno] = next
			case ext[execevents.FlowTypeBlockSeqno] != 0:
				ext[execevents.FlowTypeBlockSeqno] = remap[ext[execevents.FlowTypeBlockSeqno]]
			}
			switch execevents.EventType(d.EventType) {
			case execevents.EventTypeBlockStart, execevents.EventTypeBlockQC, execevents.EventTypeBlockFinalized:
				p = append([]byte(nil), p...)
				p[0] = byte(pass) // a distinct block id per pass
			}
			if _, err := rec.Record(d.EventType, ext, p); err != nil {
				return err
			}
		}
	}
	written := time.Since(began)
	last := rec.LastSeqno()
	for srv.Health().LastSeqno < last {
		if ctx.Err() != nil {
			return fmt.Errorf("the server read %d of %d events before the timeout", srv.Health().LastSeqno, last)
		}
		time.Sleep(time.Millisecond)
	}
	readAll := time.Since(began)
	if heapProfile != "" {
		if f, err := os.Create(heapProfile); err == nil {
			pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
	}

	// What every fast client must have received, from the server's own
	// update counts and the recording's log count.
	m := scrape(url)
	proposed := int(m[`monad_events_serve_block_updates_total{state="Proposed"}`])
	updates := proposed + int(m[`monad_events_serve_block_updates_total{state="Voted"}`]+
		m[`monad_events_serve_block_updates_total{state="Finalized"}`]+m[`monad_events_serve_block_updates_total{state="Verified"}`])
	want := map[string]int{"newHeads": proposed, "monadNewHeads": updates, "logs": logsPerPass * passes}
	perClient := proposed + updates + logsPerPass*passes
	// Wait until every fast client has everything (or the timeout), then
	// end their connections.
	var elapsed time.Duration
	for {
		all := true
		for _, cl := range fast {
			cl.mu.Lock()
			all = all && cl.total >= perClient
			cl.mu.Unlock()
		}
		if all || ctx.Err() != nil {
			elapsed = time.Since(began)
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // anything beyond the expected would arrive now
	for _, cl := range fast {
		cl.c.CloseNow()
	}
	wg.Wait()
	var failures []string
	var delivered, bytes int64
	for i, cl := range fast {
		cl.mu.Lock()
		for k, n := range want {
			if cl.kinds[k] != n {
				failures = append(failures, fmt.Sprintf("fast client %d: %d %s notifications, want %d (%v)", i, cl.kinds[k], k, n, cl.err))
			}
		}
		delivered += int64(cl.total)
		bytes += cl.bytes
		cl.mu.Unlock()
	}

	// Slow clients: each was cut off; read what they were sent to see the
	// close reason.
	reasons := map[string]int{}
	var rmu sync.Mutex
	var swg sync.WaitGroup
	for _, c := range slowConns {
		swg.Add(1)
		go func() {
			defer swg.Done()
			rctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var err error
			for err == nil {
				_, _, err = c.Read(rctx)
			}
			r := "no close frame: " + err.Error()
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				r = fmt.Sprintf("%d %q", ce.Code, ce.Reason)
			}
			rmu.Lock()
			reasons[r]++
			rmu.Unlock()
		}()
	}
	swg.Wait()
	m = scrape(url)
	dropped := int(m["monad_events_serve_slow_clients_dropped_total"])
	gaps := int(m["monad_events_serve_gaps_total"])
	if dropped != nSlow {
		failures = append(failures, fmt.Sprintf("%d slow clients dropped, want %d", dropped, nSlow))
	}
	if gaps != 0 {
		failures = append(failures, fmt.Sprintf("the server's ring reader was lapped %d times", gaps))
	}

	fmt.Printf("ring: %d events (%d passes of %d), %d blocks executed, %d commit-state updates; written in %v, read by the server %v after the first\n",
		last, passes, len(evs), proposed, updates, written.Round(time.Millisecond), readAll.Round(time.Millisecond))
	fmt.Printf("clients: %d fast (newHeads, monadNewHeads, logs of %s: %d notifications each), %d slow (never read)\n",
		len(fast), addr.Hex(), perClient, nSlow)
	fmt.Printf("delivered to fast clients: %d notifications, %.1f MB in %v: %.0f notifications/s, %.1f MB/s\n",
		delivered, float64(bytes)/1e6, elapsed.Round(time.Millisecond), float64(delivered)/elapsed.Seconds(), float64(bytes)/1e6/elapsed.Seconds())
	fmt.Printf("slow clients dropped: %d; how their connections ended: %v\n", dropped, reasons)
	fmt.Printf("server ring reader gaps: %d; lag now: %v events\n", gaps, m["monad_events_serve_lag_events"])
	fmt.Printf("peak RSS (server, clients and ring writer in this one process; includes the ring pages mapped): %s; peak Go heap in use: %.1f MB\n",
		vmHWM(), float64(peak.heap.Load())/1e6)
	if len(failures) > 0 {
		if len(failures) > 10 {
			failures = append(failures[:10], fmt.Sprintf("... and %d more", len(failures)-10))
		}
		return errors.New(strings.Join(failures, "\n"))
	}
	fmt.Println("PASS")
	return nil
}

// client is a fast client: it reads and counts everything.
type client struct {
	c     *websocket.Conn
	ids   map[string]string // subscription id -> kind
	mu    sync.Mutex
	kinds map[string]int
	total int
	bytes int64
	err   error
}

func (cl *client) subscribe(ctx context.Context, params ...string) error {
	cl.ids = map[string]string{}
	for i, p := range params {
		req := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"eth_subscribe","params":[%s]}`, i, p)
		if err := cl.c.Write(ctx, websocket.MessageText, []byte(req)); err != nil {
			return err
		}
		_, b, err := cl.c.Read(ctx)
		if err != nil {
			return err
		}
		i := strings.Index(string(b), `"result":"`)
		if i < 0 {
			return fmt.Errorf("eth_subscribe %s: %s", p, b)
		}
		id := string(b[i+10 : i+10+34])
		kind, _, _ := strings.Cut(strings.Trim(p, `"`), `"`)
		cl.ids[id] = kind
	}
	return nil
}

const notePrefix = `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"`

// read counts notifications until the connection ends (the harness
// closes it once everything expected has come).
func (cl *client) read(ctx context.Context) {
	var head [len(notePrefix) + 34]byte
	for {
		_, r, err := cl.c.Reader(ctx)
		var n int
		var rest int64
		if err == nil {
			n, _ = io.ReadFull(r, head[:])
			rest, err = io.Copy(io.Discard, r)
		}
		if err != nil {
			cl.mu.Lock()
			cl.err = err
			cl.mu.Unlock()
			return
		}
		kind := "?"
		if h := string(head[:n]); n == len(head) && strings.HasPrefix(h, notePrefix) {
			kind = cl.ids[h[len(notePrefix):]]
		}
		cl.mu.Lock()
		cl.kinds[kind]++
		cl.total++
		cl.bytes += int64(n) + rest
		cl.mu.Unlock()
	}
}

// scrape reads the server's metrics.
func scrape(wsURL string) map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get("http" + strings.TrimPrefix(wsURL, "ws") + "metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
				out[line[:i]] = v
			}
		}
	}
	return out
}
