package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/bits"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/monadgo/events/evcap"
	"github.com/monadgo/events/eventjson"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// ringInfo is what info reports; its JSON form is the --json output.
type ringInfo struct {
	Path               string     `json:"path"`
	Kind               string     `json:"kind"` // "live" or "snapshot"
	ContentType        string     `json:"contentType"`
	ContentTypeCode    uint16     `json:"contentTypeCode"`
	SchemaHash         string     `json:"schemaHash"`
	SchemaMatches      bool       `json:"schemaMatches"`
	CompiledSchemaHash string     `json:"compiledSchemaHash"`
	DescriptorCapacity uint64     `json:"descriptorCapacity"`
	PayloadBufSize     uint64     `json:"payloadBufSize"`
	ContextAreaSize    uint64     `json:"contextAreaSize"`
	LastSeqno          uint64     `json:"lastSeqno"`
	OldestSeqno        uint64     `json:"oldestSeqno"` // 0 when empty
	NextPayloadByte    uint64     `json:"nextPayloadByte"`
	BufferWindowStart  uint64     `json:"bufferWindowStart"`
	DescriptorsUsedPct float64    `json:"descriptorsUsedPct"`
	PayloadUsedPct     float64    `json:"payloadUsedPct"`
	OldestEventTime    *time.Time `json:"oldestEventTime,omitempty"`
	NewestEventTime    *time.Time `json:"newestEventTime,omitempty"`
	WriterPIDs         []int      `json:"writerPids"`
	WriterAlive        bool       `json:"writerAlive"`
	// EventsChecked is how many events the integrity scan of a ring that
	// nobody writes (a snapshot, or a live ring whose writer is gone)
	// checked; 0 when the ring is being written and was not scanned.
	EventsChecked uint64 `json:"eventsChecked"`
	Scanned       bool   `json:"scanned"` // whether the integrity scan ran
}

func runInfo(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "info")
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	pos, err := parseArgs(e.stdout, fs, args, 0, 1)
	if err != nil {
		return err
	}
	if isArchiveDir(argOrEmpty(pos)) {
		return runArchiveInfo(e, argOrEmpty(pos), *asJSON) // archive.go
	}
	path, err := resolveRing(argOrEmpty(pos))
	if err != nil {
		return err
	}
	if isCapture, err := evcap.IsCapture(path); err != nil {
		return err
	} else if isCapture {
		return infoCapture(ctx, e, path, *asJSON)
	}
	o, err := openRingPath(e, path, eventring.OpenOptions{})
	if err != nil {
		return err
	}
	defer o.Close()
	info := collectInfo(o)
	if o.snapshot || !info.WriterAlive {
		n, err := checkIntegrity(o)
		if err != nil {
			return err
		}
		info.EventsChecked, info.Scanned = n, true
	}
	if *asJSON {
		b, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", b)
		return err
	}
	return printInfo(e, info, time.Now())
}

func argOrEmpty(pos []string) string {
	if len(pos) == 0 {
		return ""
	}
	return pos[0]
}

func collectInfo(o *openedRing) *ringInfo {
	h := o.Header()
	info := &ringInfo{
		Path:               absPath(o.path),
		Kind:               "live",
		ContentType:        h.ContentType.String(),
		ContentTypeCode:    uint16(h.ContentType),
		SchemaHash:         hex.EncodeToString(h.SchemaHash[:]),
		SchemaMatches:      h.ContentType == execevents.RingContentType && h.SchemaHash == execevents.SchemaHash,
		CompiledSchemaHash: hex.EncodeToString(execevents.SchemaHash[:]),
		DescriptorCapacity: h.Sizes.DescriptorCapacity,
		PayloadBufSize:     h.Sizes.PayloadBufSize,
		ContextAreaSize:    h.Sizes.ContextAreaSize,
		LastSeqno:          h.LastSeqno,
		NextPayloadByte:    h.NextPayloadByte,
		BufferWindowStart:  h.BufferWindowStart,
		WriterPIDs:         []int{},
	}
	if o.snapshot {
		info.Kind = "snapshot"
	} else if pids, err := o.WriterPIDs(); err == nil {
		info.WriterPIDs = append(info.WriterPIDs, pids...)
		info.WriterAlive = len(pids) > 0
	}
	if h.Sizes.DescriptorCapacity > 0 {
		used := min(h.LastSeqno, h.Sizes.DescriptorCapacity)
		info.DescriptorsUsedPct = pct(used, h.Sizes.DescriptorCapacity)
		if h.LastSeqno > 0 {
			info.OldestSeqno = h.LastSeqno - used + 1
		}
	}
	if h.Sizes.PayloadBufSize > 0 {
		info.PayloadUsedPct = pct(min(h.NextPayloadByte-min(h.BufferWindowStart, h.NextPayloadByte), h.Sizes.PayloadBufSize), h.Sizes.PayloadBufSize)
	}
	// The oldest and newest events still present: their record times say
	// how old the ring's contents are. Either may fail on a live ring being
	// overwritten under us; then the line is simply omitted.
	if info.OldestSeqno > 0 {
		rd := o.NewReader()
		var d eventring.Descriptor
		if t, ok := recordTime(rd, &d, info.OldestSeqno); ok {
			info.OldestEventTime = &t
		}
		if t, ok := recordTime(rd, &d, h.LastSeqno); ok {
			info.NewestEventTime = &t
		}
	}
	return info
}

// checkIntegrity reads every event of a ring that nobody writes (see scan)
// and returns how many it checked.
func checkIntegrity(o *openedRing) (uint64, error) {
	var d eventring.Descriptor
	var n uint64
	err := o.scan(&d, func() error { n++; return nil })
	return n, err
}

func recordTime(rd *eventring.Reader, d *eventring.Descriptor, seqno uint64) (time.Time, bool) {
	rd.SetSeqno(seqno)
	if rd.TryNext(d) != eventring.Ready {
		return time.Time{}, false
	}
	return time.Unix(0, int64(d.RecordEpochNanos)).UTC(), true
}

func pct(a, b uint64) float64 {
	return float64(int64(float64(a)/float64(b)*1000+0.5)) / 10
}

func printInfo(e *env, info *ringInfo, now time.Time) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 8, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s:\t%s\n", k, fmt.Sprintf(format, a...)) }

	row("file", "%s (%s)", info.Path, map[string]string{"live": "live ring", "snapshot": "zstd snapshot"}[info.Kind])
	row("content type", "%s (%d)", info.ContentType, info.ContentTypeCode)
	match := "matches the compiled bindings"
	if !info.SchemaMatches {
		match = "DOES NOT MATCH the compiled bindings (" + info.CompiledSchemaHash +
			"); regenerate them: go generate ./..."
	}
	row("schema hash", "%s (%s)", info.SchemaHash, match)
	row("descriptors", "%d slots (%s) × 64 B = %s", info.DescriptorCapacity, pow2(info.DescriptorCapacity), size(info.DescriptorCapacity*64))
	row("payload buffer", "%s (%s)", size(info.PayloadBufSize), pow2(info.PayloadBufSize))
	row("context area", "%s", size(info.ContextAreaSize))
	row("last seqno", "%d", info.LastSeqno)
	if info.OldestSeqno > 0 {
		row("events present", "%d .. %d (%d events; descriptor array %.1f%% used)",
			info.OldestSeqno, info.LastSeqno, info.LastSeqno-info.OldestSeqno+1, info.DescriptorsUsedPct)
	} else {
		row("events present", "none")
	}
	row("payload window", "bytes %d .. %d valid (%s; payload buffer %.1f%% used)",
		info.BufferWindowStart, info.NextPayloadByte, size(info.NextPayloadByte-min(info.BufferWindowStart, info.NextPayloadByte)), info.PayloadUsedPct)
	stamp := func(t *time.Time) string {
		s := t.Format(eventjson.NanoTime)
		if info.Kind == "live" {
			s += fmt.Sprintf(" (%s ago)", now.Sub(*t).Round(time.Millisecond))
		}
		return s
	}
	if info.OldestEventTime != nil {
		row("oldest event", "%s", stamp(info.OldestEventTime))
	}
	if info.NewestEventTime != nil {
		row("newest event", "%s", stamp(info.NewestEventTime))
	}
	if info.OldestEventTime != nil && info.NewestEventTime != nil {
		row("time span", "%s", info.NewestEventTime.Sub(*info.OldestEventTime))
	}
	if info.Scanned {
		msg := fmt.Sprintf("ok (%d events read, every descriptor and payload offset checked)", info.EventsChecked)
		if present := info.LastSeqno - info.OldestSeqno + 1; info.OldestSeqno > 0 && info.EventsChecked < present {
			// Reserved but never committed: the writer died mid-record.
			msg = fmt.Sprintf("ok, but only %d of the %d events reserved were committed (the writer stopped in the middle of recording)",
				info.EventsChecked, present)
		}
		row("integrity", "%s", msg)
	}
	switch {
	case info.Kind == "snapshot":
		row("writer", "none (a snapshot never changes)")
	case info.WriterAlive:
		pids := make([]string, len(info.WriterPIDs))
		for i, p := range info.WriterPIDs {
			pids[i] = fmt.Sprint(p)
		}
		row("writer", "pid %s (alive: holds the ring's writer lock)", strings.Join(pids, ", "))
	default:
		row("writer", "none (no process holds the ring's writer lock: the writer exited or crashed)")
	}
	return tw.Flush()
}

func pow2(n uint64) string {
	if n == 0 || n&(n-1) != 0 {
		return "not a power of two"
	}
	return fmt.Sprintf("2^%d", bits.TrailingZeros64(n))
}

// size prints a byte count in binary units.
func size(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	s := fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
	return strings.Replace(s, ".0 ", " ", 1)
}
