package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/monadgo/events/evcap"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// record [RING] OUT.evcap: every event of a ring into event capture files
// (the daemon SDK's evcap release layout, readable by its tools and by
// package evcap).
//
// Events go into EVENT_BUNDLE sections, zstd-compressed unless
// --no-compress, each followed by its SEQNO_INDEX. A bundle is closed
// every --bundle-events events or --bundle-interval, whichever comes
// first (also while the ring is idle), so a crash of the recorder loses at
// most the open bundle: everything up to the last closed bundle reads back.
//
// Files: without --rotate-size and --wait, OUT itself. With either, a
// numbered sequence OUT-0001.evcap, OUT-0002.evcap, ... (the number before
// OUT's extension), so that the names sort in recording order: a new file
// starts when the current one reaches --rotate-size bytes (at a bundle
// boundary), and, under --wait, for each new ring of a restarted writer,
// since sequence numbers start over there (a file never goes back in
// sequence numbers).
//
// A gap (the recorder lapped by the writer, or a payload the writer
// reclaimed before it was copied) closes the open bundle and is reported
// on stderr; the file then jumps in sequence numbers, which evcap.Source
// reports as a gap. Recording ends at the end of a snapshot, when a live
// ring's writer exits (unless --wait), or cleanly on SIGINT/SIGTERM; the
// open bundle is closed in every case.
func runRecord(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "record")
	bundleEvents := fs.Uint64("bundle-events", 65536, "close the open bundle after this many events")
	bundleInterval := fs.Duration("bundle-interval", time.Second, "close the open bundle after this long (a crash loses at most the open bundle)")
	noCompress := fs.Bool("no-compress", false, "store bundles and indexes uncompressed")
	adaptive := fs.Bool("adaptive", true, "write bundles uncompressed while more than half a live ring behind its writer, compressed again within an eighth")
	// Level 1 (zstd's fastest), not the daemon SDK's 3: measured on
	// emn-30b, record keeps 1.4-1.6 times more events per second against
	// a full-speed replay for files 6 % larger (README, "Capture files").
	level := fs.Int("level", 1, "zstd compression level (1..22; 3 is the daemon SDK's, 1 records fastest)")
	rotate := fs.String("rotate-size", "", "start a new numbered file once one reaches this size (e.g. 512M, 2G; empty: never)")
	progress := fs.Duration("progress", 5*time.Second, "progress report interval on stderr (0: none)")
	// Not the default: a device write is synchronous, so the page cache no
	// longer absorbs a burst beyond what the ring holds (README, "Capture
	// files").
	direct := fs.Bool("direct", false, "write with O_DIRECT where the file system allows it: much less CPU per event (no copy into the page cache), but the device's speed bounds the recorder")
	force := fs.Bool("force", false, "overwrite existing output files")
	start := fs.String("start", "oldest", "where to begin in a live ring: oldest (every event still present), block, latest, or "+positionHelp)
	wait := waitFlag(fs)
	pos, err := parseArgs(e.stdout, fs, args, 1, 2)
	if err != nil {
		return err
	}
	rotateSize, err := parseSize(*rotate)
	if err != nil {
		return fmt.Errorf("record: --rotate-size: %w", err)
	}
	if *bundleEvents == 0 || *bundleInterval <= 0 {
		return errors.New("record: --bundle-events and --bundle-interval must be positive")
	}
	ringArg, out := "", pos[len(pos)-1]
	if len(pos) == 2 {
		ringArg = pos[0]
	}
	r := &recorder{
		e: e, out: out, force: *force, numbered: rotateSize > 0 || *wait, rotateSize: rotateSize,
		bundleEvents: *bundleEvents, bundleInterval: *bundleInterval, progressEvery: *progress,
	}
	if *noCompress {
		r.opts = evcap.WriterOptions{BundleContentLength: true}
	} else {
		r.opts = evcap.WriterOptions{Compression: evcap.CompressionZstdStreaming, IndexCompression: evcap.CompressionZstdStreaming, Level: *level}
		r.adaptive = *adaptive
	}
	r.opts.DirectIO = *direct

	from, err := parsePosition("--start", *start)
	if err != nil {
		return err
	}
	var src recordSource
	if *wait {
		f, err := followRing(e, ringArg, populated, func(ring *eventring.Ring) (*eventring.Reader, error) {
			rd, _, err := positionReader(e, &openedRing{Ring: ring, path: ring.Path()}, from)
			return rd, err
		})
		if err != nil {
			return err
		}
		defer f.Close()
		src = f
		r.ring = f.Ring
	} else {
		o, err := openExecRing(e, ringArg, populated)
		if err != nil {
			return err
		}
		defer o.Close()
		rd, _, err := positionReader(e, o, from)
		if err != nil {
			return err
		}
		w := eventring.DefaultWait
		w.WriterCheck = 200 * time.Millisecond
		rd.SetWaitStrategy(w)
		src = rd
		r.ring = func() *eventring.Ring { return o.Ring }
	}
	return r.run(ctx, src)
}

// populated is how record and archive open a live ring: they read every
// event from the oldest on, so the whole mapping is faulted in at once
// (MAP_POPULATE) rather than a page at a time while the writer runs ahead;
// reading half of emn-30b's ring then took 40 ms instead of 64-76 (the
// populating itself 25-33 ms, before the reader is positioned). On a
// sparse ring file it allocates the pages the writer has not written yet.
var populated = eventring.OpenOptions{Populate: true}

// recordSource is what record reads: a Reader, or a Follower under --wait.
type recordSource interface {
	eventring.Source
	TryNext(d *eventring.Descriptor) eventring.Result
}

type recorder struct {
	e              *env
	out            string
	force          bool
	numbered       bool
	rotateSize     uint64
	bundleEvents   uint64
	bundleInterval time.Duration
	progressEvery  time.Duration
	opts           evcap.WriterOptions
	adaptive       bool                   // switch bundle compression off while lagging (see adapt)
	plain          bool                   // adapt switched it off
	ring           func() *eventring.Ring // the ring read now (for the lag)

	w          *evcap.Writer
	path       string // the file being written
	fileNo     int
	bundleOpen time.Time // when the open bundle got its first event
	last       uint64    // seqno of the last event recorded
	// where the last event recorded's payload ends in the ring's buffer
	lastPayloadEnd uint64

	events, lost uint64
	loss         lossRun // lost events not reported yet
	written      uint64  // bytes of the files closed so far
	began        time.Time
	lastReport   time.Time
	lastEvents   uint64
}

// run records until the source ends, ctx is done, or an error.
func (r *recorder) run(ctx context.Context, src recordSource) (err error) {
	r.began = time.Now()
	r.lastReport = r.began
	defer func() {
		r.reportLoss()
		if cerr := r.closeFile(); err == nil {
			err = cerr
		}
		r.e.log.Info("record: done", "events", r.events, "lost", r.lost, "files", r.fileNo,
			"bytes", size(r.written), "elapsed", time.Since(r.began).Round(time.Millisecond))
	}()
	var d eventring.Descriptor
	for {
		res := src.TryNext(&d)
		if res != eventring.Ready {
			err := r.waitNext(ctx, src, &d)
			var gap *eventring.GapError
			var rs *eventring.WriterRestartError
			switch {
			case err == nil:
			case errors.As(err, &gap):
				if err := r.resume(src, gap); err != nil {
					return err
				}
				continue
			case errors.As(err, &rs):
				restartNotice(r.e, rs)
				if err := r.closeFile(); err != nil {
					return err
				}
				continue
			case errors.Is(err, io.EOF), errors.Is(err, eventring.ErrWriterGone):
				return nil // the end of a snapshot, or the writer's exit
			case errors.Is(err, context.Canceled) && ctx.Err() != nil:
				return err // main treats an interrupt as a clean end
			default:
				return err
			}
		}
		if err := r.record(src, &d); err != nil {
			return err
		}
		if r.events&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return err // a snapshot never waits: look at ctx here
			}
			if err := r.adapt(); err != nil {
				return err
			}
			r.report(false)
		}
	}
}

// resume goes on after a gap: on a snapshot with the oldest event left,
// on a live ring half a ring behind its writer. Not at the oldest event
// still there, which the writer is about to overwrite (a recorder resumed
// there would be lapped again at once, losing a little at a time), nor at
// the newest (it would give up a whole ring, though a recorder lapped at
// its start, or after a stall, is often faster than the writer).
func (r *recorder) resume(src recordSource, gap *eventring.GapError) error {
	var rd *eventring.Reader
	switch s := src.(type) {
	case *eventring.Reader:
		rd = s
	case *eventring.Follower:
		rd = s.Reader()
	}
	if rd == nil || rd.Ring().IsSnapshot() {
		r.gap(gap.Expected, gap.Oldest-1, "the writer overwrote them before they were read")
		return src.Seek(gap.Oldest)
	}
	from := halfRingBehind(rd.Ring(), gap.Oldest)
	r.gap(gap.Expected, from-1, "the recorder was lapped by the writer; going on half a ring behind it")
	return src.Seek(from)
}

// halfRingBehind returns the first event at or after oldest that is at
// most half a ring behind the writer in both halves of the ring: half the
// descriptors and half the payload buffer (which runs out first when
// payloads are large), found by a binary search of the descriptors
// between.
func halfRingBehind(ring *eventring.Ring, oldest uint64) uint64 {
	h := ring.Header()
	lo, hi := oldest, h.LastSeqno
	if half := h.Sizes.DescriptorCapacity / 2; hi > half && hi-half > lo {
		lo = hi - half
	}
	var minOff uint64
	if half := h.Sizes.PayloadBufSize / 2; h.NextPayloadByte > half {
		minOff = h.NextPayloadByte - half
	}
	// The first seqno in [lo, hi] whose payload starts at minOff or later
	// (offsets grow with seqnos); one the writer overwrote meanwhile
	// counts as too old.
	for lo < hi {
		mid := lo + (hi-lo)/2
		var d eventring.Descriptor
		if ring.TryCopy(mid, &d) && d.PayloadBufOffset >= minOff {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return max(lo, 1)
}

// waitNext waits for the next event, closing the open bundle when
// --bundle-interval passes meanwhile, and reporting progress.
func (r *recorder) waitNext(ctx context.Context, src recordSource, d *eventring.Descriptor) error {
	for {
		r.report(false)
		if r.w == nil || r.w.BundleEvents() == 0 {
			return src.Next(ctx, d)
		}
		left := r.bundleInterval - time.Since(r.bundleOpen)
		if left <= 0 {
			if err := r.endBundle(); err != nil {
				return err
			}
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, left)
		err := src.Next(wctx, d)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			continue // the interval passed: close the bundle
		}
		return err
	}
}

// record writes one event, its payload copied out of the ring straight
// into the bundle (evcap.Writer.WriteFrom checks that the writer did not
// reclaim it meanwhile).
func (r *recorder) record(src recordSource, d *eventring.Descriptor) error {
	if r.w == nil {
		if err := r.openFile(); err != nil {
			return err
		}
	} else if r.last != 0 && d.Seqno != r.last+1 && r.w.BundleEvents() > 0 {
		if err := r.endBundle(); err != nil { // a bundle holds consecutive events
			return err
		}
	}
	if r.w.BundleEvents() == 0 {
		r.bundleOpen = time.Now()
	}
	ok, err := r.w.WriteFrom(d, execevents.RingContentType, src)
	if err != nil {
		return err
	}
	if !ok {
		if src.Payload(d) == nil {
			r.gap(d.Seqno, d.Seqno, "its payload was unreadable")
		} else {
			r.gap(d.Seqno, d.Seqno, "the writer reclaimed its payload before it was copied")
		}
		return nil
	}
	r.last, r.lastPayloadEnd = d.Seqno, d.PayloadBufOffset+uint64(d.PayloadSize)
	r.events++
	if r.loss.why != "" {
		r.reportLoss()
	}
	if r.w.BundleEvents() >= r.bundleEvents || r.events&255 == 0 && time.Since(r.bundleOpen) >= r.bundleInterval {
		return r.endBundle()
	}
	return nil
}

// adapt trades file size for speed when the recorder falls behind a live
// ring's writer: compression costs most of its time, so while it lags by
// more than half the ring (half a lap from losing events), it ends the open
// bundle and writes plain ones (spec §6 decides compression per section),
// until it is back within an eighth.
func (r *recorder) adapt() error {
	if !r.adaptive || r.w == nil || r.last == 0 {
		return nil
	}
	ring := r.ring()
	if ring == nil || ring.IsSnapshot() {
		return nil
	}
	lag := r.lag(ring)
	switch {
	case !r.plain && lag > 0.5:
		r.plain = true
		r.e.log.Warn("record: falling behind the ring's writer: writing uncompressed bundles until caught up", "lag", r.lagEvents(ring), "lost", r.lost)
		if err := r.w.SetCompression(evcap.CompressionNone); err != nil {
			return err
		}
		if r.w.BundleEvents() > 0 {
			return r.endBundle()
		}
	case r.plain && lag < 0.125:
		r.plain = false
		r.e.log.Debug("record: caught up: compressing bundles again", "lag", r.lagEvents(ring))
		return r.w.SetCompression(r.opts.Compression)
	}
	return nil
}

// lag is how far the recorder is behind the ring's writer, as the fraction
// of a lap it has left before losing events: of the descriptor array, or
// of the payload buffer when payloads are large enough to run out first
// (a ring's two sizes are chosen apart, and either can bind).
func (r *recorder) lag(ring *eventring.Ring) float64 {
	h := ring.Header()
	var events, bytes float64
	if h.LastSeqno > r.last {
		events = float64(h.LastSeqno-r.last) / float64(h.Sizes.DescriptorCapacity)
	}
	if h.NextPayloadByte > r.lastPayloadEnd {
		bytes = float64(h.NextPayloadByte-r.lastPayloadEnd) / float64(h.Sizes.PayloadBufSize)
	}
	return max(events, bytes)
}

// lagEvents is the number of events the recorder is behind the writer.
func (r *recorder) lagEvents(ring *eventring.Ring) uint64 {
	if l := ring.LastSeqno(); l > r.last {
		return l - r.last
	}
	return 0
}

// gap counts lost events [from, to] and closes the open bundle. A run of
// consecutive losses for the same reason (a recorder behind the payload
// buffer loses event after event until it has caught up) is reported as
// one line, when it ends.
func (r *recorder) gap(from, to uint64, why string) {
	r.lost += to - from + 1
	if l := &r.loss; l.why == why && from == l.to+1 {
		l.to = to
	} else {
		r.reportLoss()
		r.loss = lossRun{from: from, to: to, why: why}
	}
	if r.w != nil && r.w.BundleEvents() > 0 {
		if err := r.endBundle(); err != nil {
			r.e.log.Error("record", "err", err)
		}
	}
}

// lossRun is a run of consecutive events lost for one reason.
type lossRun struct {
	from, to uint64
	why      string // "" when there is none
}

// reportLoss reports the pending run of lost events, if any.
func (r *recorder) reportLoss() {
	if l := r.loss; l.why != "" {
		r.e.log.Warn("record: gap: events lost, "+l.why, "from", l.from, "to", l.to)
		r.loss = lossRun{}
	}
}

// endBundle closes the open bundle, and the file if it reached the
// rotation size.
func (r *recorder) endBundle() error {
	if err := r.w.EndBundle(); err != nil {
		return err
	}
	if r.rotateSize > 0 {
		if st, err := os.Stat(r.path); err == nil && uint64(st.Size()) >= r.rotateSize {
			return r.closeFile()
		}
	}
	return nil
}

// openFile creates the next output file.
func (r *recorder) openFile() error {
	r.fileNo++
	r.path = r.out
	if r.numbered {
		r.path = numberedName(r.out, r.fileNo)
	}
	if _, err := os.Stat(r.path); err == nil && !r.force {
		return fmt.Errorf("record: %s already exists (use --force to overwrite)", r.path)
	}
	w, err := evcap.Create(r.path, []evcap.Schema{{ContentType: execevents.RingContentType, Hash: execevents.SchemaHash}}, r.opts)
	if err != nil {
		return err
	}
	r.w, r.last = w, 0
	if r.plain {
		if err := w.SetCompression(evcap.CompressionNone); err != nil {
			return err
		}
	}
	r.e.log.Info("record: writing", "file", r.path, "direct", w.DirectIO())
	return nil
}

// closeFile closes the current file (its open bundle first), if any.
func (r *recorder) closeFile() error {
	if r.w == nil {
		return nil
	}
	err := r.w.Close()
	if st, serr := os.Stat(r.path); serr == nil {
		r.written += uint64(st.Size())
	}
	r.w = nil
	return err
}

// report logs progress every progressEvery (or now, if force).
func (r *recorder) report(force bool) {
	now := time.Now()
	if r.progressEvery <= 0 || (!force && now.Sub(r.lastReport) < r.progressEvery) {
		return
	}
	r.reportLoss() // a run of losses still going on is reported so far
	rate := float64(r.events-r.lastEvents) / now.Sub(r.lastReport).Seconds()
	r.lastReport, r.lastEvents = now, r.events
	bytes := r.written
	if r.w != nil {
		if st, err := os.Stat(r.path); err == nil {
			bytes += uint64(st.Size())
		}
	}
	var lag uint64
	if ring := r.ring(); ring != nil && !ring.IsSnapshot() && r.last > 0 {
		lag = r.lagEvents(ring)
	}
	r.e.log.Info("record: progress", "events", r.events, "MB", fmt.Sprintf("%.1f", float64(bytes)/1e6),
		"events/s", int(rate), "lag", lag, "lost", r.lost, "file", r.path)
}

// numberedName turns OUT.evcap into OUT-0001.evcap (the number before the
// extension; appended when there is none).
func numberedName(out string, n int) string {
	ext := filepath.Ext(out)
	return fmt.Sprintf("%s-%04d%s", strings.TrimSuffix(out, ext), n, ext)
}

// parseSize parses a byte count with an optional K, M, G or T suffix
// (powers of 1024); "" is 0.
func parseSize(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	mult := uint64(1)
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	case "T":
		mult = 1 << 40
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 || n > (1<<63)/mult {
		return 0, fmt.Errorf("%q: want a positive byte count such as 1048576, 512M or 2G", s)
	}
	return n * mult, nil
}
