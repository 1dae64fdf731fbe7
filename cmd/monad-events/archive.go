package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/monadgo/events/archive"
	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// runArchive is "archive [RING] DIR", "archive missing DIR" and
// "archive fill DIR --from OTHER".
func runArchive(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "missing":
			return runArchiveMissing(e, args[1:])
		case "fill":
			return runArchiveFill(ctx, e, args[1:])
		}
	}
	fs := newFlagSet(e, "archive")
	uncompressed := fs.Bool("uncompressed", false, "write plain block files (default: zstd level 3, as the daemon's archiver)")
	wait := waitFlag(fs)
	usage := fs.Usage
	fs.Usage = func() { // the subcommands' flags too
		usage()
		w := fs.Output()
		for _, sub := range []*flag.FlagSet{missingFlags(e).fs, fillFlags(e).fs} {
			fmt.Fprintln(w)
			sub.SetOutput(w)
			sub.Usage()
		}
	}
	pos, err := parseArgs(e.stdout, fs, args, 1, 2)
	if err != nil {
		return err
	}
	ringArg, dirArg := "", pos[len(pos)-1]
	if len(pos) == 2 {
		ringArg = pos[0]
	}
	dir, err := archive.Create(dirArg, archive.Options{SchemaHash: execevents.SchemaHash, Uncompressed: *uncompressed})
	if err != nil {
		return err
	}
	defer dir.Close()

	p := &archiveProgress{e: e, start: time.Now(), lastReport: time.Now()}
	a, err := blocks.NewArchiver(dir, blocks.ArchiverOptions{OnBlock: p.block, OnNotice: p.notice})
	if err != nil {
		return err
	}
	var src eventring.Source
	if *wait {
		// Through daemon restarts: a ring present now resumes after the
		// last archived block; a new ring is read from its oldest event
		// (blocks already archived are skipped).
		f, err := followRing(e, ringArg, populated, func(r *eventring.Ring) (*eventring.Reader, error) {
			rd := r.NewReader()
			positionArchiveReader(e, r, rd, a.Last())
			return rd, nil
		})
		if err != nil {
			return err
		}
		defer f.Close()
		src, p.reader = f, f.Reader
		e.log.Info("archive: archiving finalized blocks, following the ring through restarts", "ring", f.Path(), "dir", dirArg, "last archived", a.Last())
	} else {
		o, err := openExecRing(e, ringArg, populated)
		if err != nil {
			return err
		}
		defer o.Close()
		rd := o.NewReader()
		w := eventring.DefaultWait
		w.WriterCheck = 200 * time.Millisecond // notice a writer's exit quickly
		rd.SetWaitStrategy(w)
		positionArchiveReader(e, o.Ring, rd, a.Last())
		src, p.reader = rd, func() *eventring.Reader { return rd }
		e.log.Info("archive: archiving finalized blocks", "ring", o.path, "dir", dirArg, "last archived", a.Last(), "from seqno", rd.LastSeqno()+1)
	}

	err = a.Run(ctx, src)
	p.report("archive: done")
	switch {
	case err == nil:
		return nil // the end of a snapshot
	case errors.Is(err, eventring.ErrWriterGone):
		e.log.Info("archive: the ring's writer exited; every event was read")
		return nil
	}
	return err
}

// positionArchiveReader points rd where archiving resumes after block last
// (0: an empty archive): right after that block's BLOCK_START if the ring
// still holds it and its finalization, else at the oldest event (the
// Archiver begins with the first BLOCK_START from there; blocks finalized
// in between and missing from the archive are then reported as missed).
func positionArchiveReader(e *env, r *eventring.Ring, rd *eventring.Reader, last uint64) {
	if last != 0 {
		// After n's BLOCK_START, so that the blocks after n are read whole.
		var d eventring.Descriptor
		err := blocks.RewindForSimpleReplay(rd, last, &d)
		if err == nil {
			e.log.Info("archive: resuming after the last archived block", "block", last, "seqno", rd.LastSeqno()+1)
			return
		}
		e.log.Warn("archive: the last archived block is no longer in the ring; starting at the oldest event (finalized blocks lost meanwhile are reported as missing)",
			"block", last, "why", err)
	}
	rd.SetSeqno(r.OldestSeqno())
}

// archiveProgress reports what the Archiver does on stderr.
type archiveProgress struct {
	e          *env
	reader     func() *eventring.Reader // the reader of the ring read now (nil while waiting for one)
	archived   int
	existed    int
	last       uint64
	start      time.Time
	lastReport time.Time
}

func (p *archiveProgress) block(b blocks.ArchivedBlock) {
	if b.Existed {
		p.existed++
	} else {
		p.archived++
	}
	p.last = b.Number
	p.e.log.Debug("archive: block", "number", b.Number, "events", b.Events, "already archived", b.Existed)
	if now := time.Now(); now.Sub(p.lastReport) >= time.Second {
		p.lastReport = now
		p.report("archive: progress")
	}
}

// report logs the counts and how far the reader is behind the writer.
func (p *archiveProgress) report(msg string) {
	lag := uint64(0)
	if rd := p.reader(); rd != nil {
		if w := rd.Ring().LastSeqno(); w > rd.LastSeqno() {
			lag = w - rd.LastSeqno()
		}
	}
	p.e.log.Info(msg, "blocks archived", p.archived, "already present", p.existed, "last block", p.last,
		"lag events", lag, "elapsed", time.Since(p.start).Round(time.Millisecond))
}

func (p *archiveProgress) notice(err error) {
	var gap *eventring.GapError
	var missed *blocks.MissedBlocksError
	var un *blocks.UnarchivedError
	switch {
	case errors.As(err, &missed):
		p.e.log.Warn("archive: finalized blocks missing from the archive (restore them with: monad-events archive fill DIR --from OTHER)",
			"missing", fmt.Sprint(missed.Missing), "before block", missed.Next)
	case errors.As(err, &gap), errors.As(err, &un):
		p.e.log.Warn("archive: " + err.Error())
	default:
		p.e.log.Debug("archive: notice", "err", err)
	}
}

type missingFlagSet struct {
	fs       *flag.FlagSet
	from, to *uint64
}

// subUsage gives a subcommand of archive its usage text.
func subUsage(fs *flag.FlagSet, synopsis, text string) {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: monad-events %s\n\n%s.\n\nFlags:\n", synopsis, text)
		fs.PrintDefaults()
	}
}

func missingFlags(e *env) missingFlagSet {
	fs := newFlagSet(e, "archive missing")
	subUsage(fs, "archive missing [flags] DIR", "Print the block numbers missing from the archive DIR, one range per line (N or FROM-TO)")
	return missingFlagSet{fs,
		fs.Uint64("from", 0, "first block number to look at (0: the lowest archived)"),
		fs.Uint64("to", 0, "last block number to look at (0: the highest archived, or last_finalized_block if higher)")}
}

type fillFlagSet struct {
	fs   *flag.FlagSet
	from *string
}

func fillFlags(e *env) fillFlagSet {
	fs := newFlagSet(e, "archive fill")
	subUsage(fs, "archive fill [flags] DIR --from OTHER", "Copy into the archive DIR the blocks the archive OTHER has and DIR lacks, each verified first")
	return fillFlagSet{fs, fs.String("from", "", "the archive directory to copy missing blocks from (required)")}
}

// runArchiveMissing prints the gaps of an archive, one range per line
// ("N" or "FROM-TO").
func runArchiveMissing(e *env, args []string) error {
	f := missingFlags(e)
	fs, from, to := f.fs, f.from, f.to
	pos, err := parseArgs(e.stdout, fs, args, 1, 1)
	if err != nil {
		return err
	}
	dir, err := archive.Open(pos[0], archive.Options{})
	if err != nil {
		return err
	}
	lo, hi, count, err := dir.Bounds()
	if err != nil {
		return err
	}
	if lf, ok, err := dir.LastFinalized(); err == nil && ok && lf > hi && count > 0 {
		hi = lf
	}
	if *from != 0 {
		lo = *from
	}
	if *to != 0 {
		hi = *to
	}
	if count == 0 && (*from == 0 || *to == 0) {
		e.log.Info("archive missing: the archive holds no block", "dir", pos[0])
		return nil
	}
	miss, err := dir.Missing(lo, hi)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, r := range miss {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	_, err = fmt.Fprint(e.stdout, b.String())
	return err
}

// runArchiveFill copies the blocks another archive has and DIR lacks.
func runArchiveFill(ctx context.Context, e *env, args []string) error {
	f := fillFlags(e)
	fs, from := f.fs, f.from
	pos, err := parseArgs(e.stdout, fs, args, 1, 1)
	if err != nil {
		return err
	}
	if *from == "" {
		return errors.New("archive fill: --from OTHER is required (run monad-events archive fill -h for usage)")
	}
	src, err := archive.Open(*from, archive.Options{SchemaHash: execevents.SchemaHash})
	if err != nil {
		return err
	}
	dst, err := archive.Create(pos[0], archive.Options{SchemaHash: execevents.SchemaHash})
	if err != nil {
		return err
	}
	defer dst.Close()
	res, err := archive.Fill(ctx, dst, src)
	e.log.Info("archive fill: done", "copied", res.Copied, "already present", res.Present, "refused", len(res.Refused))
	if err != nil {
		return err
	}
	for _, be := range res.Refused {
		e.log.Warn("archive fill: source block refused", "err", be)
	}
	if len(res.Refused) > 0 {
		return fmt.Errorf("archive fill: %d block(s) copied; %d source block(s) failed verification and were not copied (first: %v)",
			res.Copied, len(res.Refused), res.Refused[0])
	}
	return nil
}

// archiveInfo is what info prints for an archive directory.
type archiveInfo struct {
	Path          string          `json:"path"`
	Kind          string          `json:"kind"` // "archive"
	Blocks        int             `json:"blocks"`
	Lowest        uint64          `json:"lowest"`
	Highest       uint64          `json:"highest"`
	LastFinalized *uint64         `json:"lastFinalized,omitempty"`
	Missing       []archive.Range `json:"missing"`
	MissingBlocks uint64          `json:"missingBlocks"`
	Bytes         int64           `json:"bytes"`
	Events        uint64          `json:"events"`    // in the blocks that opened
	BadBlocks     int             `json:"badBlocks"` // block files that are not valid (see the error)
}

// isArchiveDir reports whether a RING argument names a directory: info
// then describes it as a block archive.
func isArchiveDir(arg string) bool {
	st, err := os.Stat(arg)
	return arg != "" && err == nil && st.IsDir()
}

// runArchiveInfo is info on an archive directory: block range, count,
// gaps and bytes.
func runArchiveInfo(e *env, path string, asJSON bool) error {
	dir, err := archive.Open(path, archive.Options{})
	if err != nil {
		return err
	}
	info := archiveInfo{Path: absPath(path), Kind: "archive", Missing: []archive.Range{}}
	var firstBad error
	for n, err := range dir.All() {
		if err != nil {
			return err
		}
		if info.Blocks == 0 {
			info.Lowest = n
		}
		info.Highest = n
		info.Blocks++
		if st, err := os.Lstat(dir.BlockPath(n)); err == nil {
			info.Bytes += st.Size()
		}
		// Opening checks a block's structure (header, sections, the
		// bundle's number) without reading its events.
		f, err := dir.OpenBlock(n)
		if err != nil {
			if info.BadBlocks == 0 {
				firstBad = err
			}
			info.BadBlocks++
			continue
		}
		info.Events += f.EventCount()
		f.Close()
	}
	if lf, ok, err := dir.LastFinalized(); err != nil {
		return err
	} else if ok {
		info.LastFinalized = &lf
	}
	if info.Blocks > 0 {
		if info.Missing, err = dir.Missing(info.Lowest, info.Highest); err != nil {
			return err
		}
		for _, r := range info.Missing {
			info.MissingBlocks += r.Len()
		}
	}
	if asJSON {
		b, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return err
		}
		if _, err = fmt.Fprintf(e.stdout, "%s\n", b); err != nil {
			return err
		}
		return badBlocksError(info.BadBlocks, firstBad)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "path:            %s\nkind:            finalized block archive\nblocks:          %d\n", info.Path, info.Blocks)
	if info.Blocks > 0 {
		fmt.Fprintf(&b, "range:           %d .. %d\n", info.Lowest, info.Highest)
	}
	if info.LastFinalized != nil {
		fmt.Fprintf(&b, "last finalized:  %d (last_finalized_block)\n", *info.LastFinalized)
	}
	fmt.Fprintf(&b, "missing:         %d block(s)", info.MissingBlocks)
	for i, r := range info.Missing {
		if i == 10 {
			fmt.Fprintf(&b, " ... (%d ranges; monad-events archive missing lists them all)", len(info.Missing))
			break
		}
		fmt.Fprintf(&b, " %s", r)
	}
	fmt.Fprintf(&b, "\nbytes:           %d (%s)\nevents:          %d\n", info.Bytes, size(uint64(info.Bytes)), info.Events)
	if info.BadBlocks > 0 {
		fmt.Fprintf(&b, "bad block files: %d\n", info.BadBlocks)
	}
	if _, err = fmt.Fprint(e.stdout, b.String()); err != nil {
		return err
	}
	return badBlocksError(info.BadBlocks, firstBad)
}

// badBlocksError is info's verdict on an archive with invalid block files.
func badBlocksError(n int, first error) error {
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%d invalid block file(s); the first: %w", n, first)
}
