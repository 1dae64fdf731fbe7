package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/monadgo/events/archive"
	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/ethconv"
	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// updateJSON is the --json object of an update other than Proposed:
// ethconv's rendering without the block and receipts (the block was printed
// in full when it was executed). Proposed updates use
// ethconv.UpdateJSON as is.
type updateJSON struct {
	CommitState string        `json:"commitState"`
	BlockID     common.Hash   `json:"blockId"`
	BlockNumber uint64        `json:"blockNumber"`
	Abandoned   []common.Hash `json:"abandoned"`
}

func runBlocks(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "blocks")
	asJSON := fs.Bool("json", false, "print one JSON object per update: commit state, ids, abandoned proposals, and on Proposed the eth_getBlockByNumber block and the receipts")
	states := fs.String("state", "", "only these commit states, comma-separated: proposed, voted, finalized, verified")
	withBlock := fs.String("with-block", "proposed", "with --json, the commit states whose updates carry the block and its receipts, comma-separated (e.g. finalized, so that finalized-only output needs no join)")
	start, end := startFlag(fs), endFlag(fs)
	wait := waitFlag(fs)
	after := fs.Uint64("after", 0, "exactly-once mode: only finalized blocks numbered above this checkpoint, each once and in order, repositioning after gaps (blocks.Finalized); 0 with --archive: every archived block")
	archiveDir := fs.String("archive", "", "with --after: a finalized-block archive that supplies the blocks the ring no longer holds (first the archived ones above --after, then the ring)")
	pos, err := parseArgs(e.stdout, fs, args, 0, 1)
	if err != nil {
		return err
	}
	finalizedOnly := *after != 0 || *archiveDir != ""
	if finalizedOnly && (*states != "" || *start != "block" || *end != "") {
		return errors.New("blocks: --after and --archive choose the blocks themselves; drop --state, --start and --end")
	}
	keep, err := parseStates(*states)
	if err != nil {
		return err
	}
	full, err := parseStatesFlag("--with-block", *withBlock)
	if err != nil {
		return err
	}
	// By default a live ring is read from its newest block start, so the
	// first update comes with the next block executed.
	s, out, err := follow(e, argOrEmpty(pos), *start, *end, *wait)
	if err != nil {
		return err
	}
	defer s.Close()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	if finalizedOnly {
		return s.finish(e, finalizedBlocks(ctx, e, s, out, enc, *after, *archiveDir, *asJSON), out)
	}
	tr := blocks.NewTracker(blocks.BuilderOptions{})
	s.onRestart = tr.Reset // a new ring: its blocks start over
	s.onGap = func(from, to uint64) {
		e.log.Warn("gap: events lost; block tracking restarts at the next block", "from", from, "to", to)
		if !*asJSON {
			fmt.Fprintf(out, "GAP: events %d..%d lost; block tracking restarts at the next block\n", from, to)
		}
		tr.Reset()
	}
	warnings := 0

	var d eventring.Descriptor
	for {
		if err := s.next(ctx, &d); err != nil {
			return s.finish(e, err, out)
		}
		ups, err := tr.Process(s.src, &d)
		if s.archive != nil {
			// Every block of an archive was finalized: no consensus
			// events say so, the archive does.
			for _, u := range ups {
				if u.State == blocks.CommitProposed {
					ups = append(ups, blocks.Update{State: blocks.CommitFinalized, Block: u.Block})
				}
			}
		}
		for _, u := range ups {
			if !keep[u.State] {
				continue
			}
			if *asJSON {
				v, err := renderUpdate(u, full[u.State])
				if err != nil {
					return err
				}
				if err := enc.Encode(v); err != nil {
					return err
				}
			} else {
				printUpdate(out, u)
			}
		}
		if err != nil {
			logBuildError(e, err, &warnings)
		}
	}
}

// maxBuildWarnings bounds how many builder and tracker complaints are logged
// (a looped replay repeats the same blocks, each one a complaint).
const maxBuildWarnings = 20

// logBuildError reports a block the builder had to drop or a consensus
// event it could not apply; reading goes on either way. After
// maxBuildWarnings of them the rest go to the debug level.
func logBuildError(e *env, err error, n *int) {
	if *n++; *n > maxBuildWarnings {
		if *n == maxBuildWarnings+1 {
			e.log.Warn("further block builder warnings suppressed (-v shows them)")
		}
		e.log.Debug("block builder", "err", err)
		return
	}
	var (
		rej *blocks.RejectedError
		ce  *blocks.CommitError
		ev  *blocks.EvictedError
		de  *blocks.DropError
	)
	switch {
	case errors.As(err, &rej):
		e.log.Info("block rejected", "err", err)
	case errors.As(err, &ce):
		e.log.Warn("consensus event ignored", "err", err)
	case errors.As(err, &ev):
		// Not a drop: the block was printed when executed; only its later
		// commit states will not be, as its consensus events never came.
		tag := ev.Block.Start.BlockTag
		e.log.Warn("commit tracking stopped for an old proposal: too many proposals without consensus events",
			"block", tag.BlockNumber, "id", short(tag.ID), "state", ev.State, "tracked", ev.Limit,
			"new block", ev.Next.BlockNumber, "err", err)
	case errors.As(err, &de) && de.Reason == blocks.DropByteLimit:
		e.log.Warn("block dropped: its payload is larger than the builder's per-block byte limit",
			"block", de.Block.BlockNumber, "id", short(de.Block.ID), "payload bytes", de.Actual, "limit", de.Expected, "err", err)
	default:
		e.log.Warn("block dropped", "err", err)
	}
}

func parseStates(list string) (map[blocks.CommitState]bool, error) {
	return parseStatesFlag("--state", list)
}

// parseStatesFlag is parseStates for the flag named flagName.
func parseStatesFlag(flagName, list string) (map[blocks.CommitState]bool, error) {
	all := []blocks.CommitState{blocks.CommitProposed, blocks.CommitVoted, blocks.CommitFinalized, blocks.CommitVerified}
	keep := make(map[blocks.CommitState]bool)
	if strings.TrimSpace(list) == "" {
		for _, s := range all {
			keep[s] = true
		}
		return keep, nil
	}
next:
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		for _, s := range all {
			if strings.EqualFold(f, s.String()) {
				keep[s] = true
				continue next
			}
		}
		return nil, fmt.Errorf("%s: unknown commit state %q (want proposed, voted, finalized or verified)", flagName, f)
	}
	return keep, nil
}

// renderUpdate builds the JSON object of one update. Only updates of the
// states named by --with-block (Proposed by default) carry the block and
// its receipts, so only they need the conversion to go-ethereum types.
func renderUpdate(u blocks.Update, withBlock bool) (any, error) {
	if withBlock {
		b, err := ethconv.Convert(u.Block)
		if err != nil {
			return nil, fmt.Errorf("block %d: %w", u.Block.Number(), err)
		}
		return b.UpdateJSON(u.State, u.Abandoned), nil
	}
	v := &updateJSON{
		CommitState: u.State.String(),
		BlockID:     common.Hash(u.Block.ID()),
		BlockNumber: u.Block.Number(),
		Abandoned:   ethconv.AbandonedIDs(u.Abandoned),
	}
	return v, nil
}

// printUpdate writes the readable line of an update, e.g.
//
//	Proposed   block 15000001  hash 0x1b5c…  id 0x0000…e4e1  txns 154  gas 12345678
func printUpdate(w io.Writer, u blocks.Update) {
	b := u.Block
	fmt.Fprintf(w, "%-9s  block %d  hash %s  id %s", u.State, b.Number(), b.End.EthBlockHash, short(b.ID()))
	if u.State == blocks.CommitProposed {
		fmt.Fprintf(w, "  txns %d  gas %d", len(b.Txns), b.End.ExecOutput.GasUsed)
	}
	fmt.Fprintln(w)
	for _, a := range u.Abandoned {
		fmt.Fprintf(w, "  abandoned  block %d  hash %s  id %s\n", a.Number(), a.End.EthBlockHash, short(a.ID()))
	}
}

// short abbreviates a 32-byte id as 0x12345678…9abcdef0.
func short(id execevents.Bytes32) string {
	s := id.String()
	if len(s) < 20 {
		return s
	}
	return s[:10] + "…" + s[len(s)-8:]
}

// finalizedBlocks is blocks in exactly-once mode: blocks.Finalized over the
// stream's source, from the archive first if one is given. It returns the
// error that ended the stream.
func finalizedBlocks(ctx context.Context, e *env, s *stream, out *bufio.Writer, enc *json.Encoder, after uint64, archiveDir string, asJSON bool) error {
	opts := blocks.FinalizedOptions{After: after}
	if archiveDir != "" {
		dir, err := archive.Open(archiveDir, archive.Options{SchemaHash: execevents.SchemaHash})
		if err != nil {
			return err
		}
		defer dir.Close()
		opts.Archive = dir
	}
	warnings := 0
	for u, err := range blocks.Finalized(ctx, s.src, opts) {
		if err != nil {
			return err
		}
		var (
			missed  *blocks.MissedError
			gap     *eventring.GapError
			restart *eventring.WriterRestartError
		)
		switch {
		case errors.As(u.Notice, &missed):
			e.log.Warn("finalized blocks missed: neither the ring nor the archive holds them", "err", missed)
			if !asJSON {
				fmt.Fprintf(out, "MISSED: %v\n", missed)
			}
			continue
		case errors.As(u.Notice, &gap):
			e.log.Warn("gap: events lost; the stream repositioned itself", "from", gap.Expected, "to", gap.Oldest-1)
			continue
		case errors.As(u.Notice, &restart):
			restartNotice(e, restart)
			continue
		case u.Notice != nil:
			logBuildError(e, u.Notice, &warnings)
			continue
		}
		if !asJSON {
			printUpdate(out, u)
		} else if v, err := renderUpdate(u, true); err != nil {
			return err
		} else if err := enc.Encode(v); err != nil {
			return err
		}
		// Each block as it comes: a live stream waits between blocks.
		if err := out.Flush(); err != nil {
			return err
		}
	}
	return io.EOF
}
