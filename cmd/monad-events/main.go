// Command monad-events watches, records and replays Monad execution event
// rings.
//
// Usage:
//
//	monad-events [-v] <command> [flags] [args]
//
// Commands:
//
//	watch [RING]              one line (or JSON object) per event
//	blocks [RING]             executed blocks and their commit-state updates
//	info [RING]               header facts, schema check, fill level, writer
//	snapshot RING OUT.zst     capture a live ring into a zstd snapshot
//	replay SNAPSHOT RING      re-record a snapshot into a new live ring
//	record [RING] OUT.evcap   record every event into evcap capture files
//	archive [RING] DIR        archive finalized blocks (archive missing DIR, archive fill DIR --from OTHER)
//	serve [RING]              WebSocket JSON-RPC (eth_subscribe), metrics
//
// RING is a ring file path (anything containing a '/'), a bare ring name
// (looked up in the daemon's default ring directory on the hugetlbfs mount,
// then in the current directory) or a zstd snapshot. Without RING the
// daemon's default execution ring, monad-exec-events, is used.
//
// With --wait, watch, blocks and record follow RING through daemon
// restarts: while the file is missing or has no writer they wait, then go
// on with the new ring at the same path (one line on stderr each time).
//
// Data goes to standard output, diagnostics to standard error. On any error
// the command prints one line saying why and exits with status 1. Ctrl-C
// (SIGINT) or SIGTERM ends a command cleanly with status 0. A command
// following a live ring also ends, with status 0, once the ring's writer has
// exited and every event was read.
//
// Event times are the record times in the descriptors (never the reader's
// clock), printed in the local time zone by watch (TZ=UTC for UTC) and in
// UTC elsewhere, so output on a snapshot is reproducible.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/monadgo/events/eventring"
)

// command is one subcommand: its name, the usage synopsis of its arguments
// and a one-line summary.
type command struct {
	name, args, summary string
}

// env carries what every command writes to; tests and main share it.
type env struct {
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
	level  *slog.LevelVar // -v (before or after the command) lowers it to debug
}

var commands = []command{
	{"watch", "[flags] [RING]", "print one line (or JSON object) per event"},
	{"blocks", "[flags] [RING]", "print executed blocks and their commit-state updates"},
	{"info", "[flags] [RING]", "describe a ring (header, schema, fill level, writer), a capture file or an archive"},
	{"snapshot", "[flags] RING OUT.zst", "capture a live ring into a zstd snapshot"},
	{"replay", "[flags] SOURCE RING", "re-record the events of a snapshot or capture into a new live ring"},
	{"record", "[flags] [RING] OUT.evcap", "record every event of a ring into evcap capture files"},
	{"archive", "[flags] [RING] DIR", "archive finalized blocks into DIR (also: archive missing DIR, archive fill DIR --from OTHER)"},
	{"serve", "[flags] [RING]", "serve blocks, logs and events over WebSocket JSON-RPC (eth_subscribe), with metrics"},
}

// runners maps command names to the functions that parse their flags and
// run them (separate from commands, which their usage texts read).
var runners = map[string]func(ctx context.Context, e *env, args []string) error{
	"watch":    runWatch,
	"blocks":   runBlocks,
	"info":     runInfo,
	"snapshot": runSnapshot,
	"replay":   runReplay,
	"record":   runRecord,
	"archive":  runArchive,
	"serve":    runServe,
}

func main() {
	os.Exit(mainExit(os.Args[1:], os.Stdout, os.Stderr))
}

// mainExit runs the command line and returns the process exit status.
func mainExit(args []string, stdout, stderr io.Writer) (status int) {
	// A fault while touching a mapping must become an error line, not a
	// crash dump (eventring validates first; this is defence in depth).
	debug.SetPanicOnFault(true)
	defer func() {
		if r := recover(); r != nil {
			// A ring file truncated under us: say so (eventring names
			// the file and the cause).
			if err := eventring.FaultError(r); err != nil {
				fmt.Fprintf(stderr, "monad-events: %s\n", oneLine(err.Error()))
			} else {
				fmt.Fprintf(stderr, "monad-events: internal error: %s\n", oneLine(fmt.Sprint(r)))
			}
			status = 1
		}
	}()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	err := run(ctx, args, stdout, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return 0 // interrupted by the user: a clean end
	default:
		fmt.Fprintf(stderr, "monad-events: %s\n", oneLine(err.Error()))
		return 1
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	e := &env{stdout: stdout, stderr: stderr, level: new(slog.LevelVar)}
	e.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: e.level}))
	fs := flag.NewFlagSet("monad-events", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // usage and errors are printed below, once
	fs.BoolFunc("v", "verbose diagnostics (debug level) on stderr", e.verbose)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return err
		}
		return fmt.Errorf("%w (run monad-events -h for usage)", err)
	}
	if fs.NArg() == 0 {
		usage(stderr)
		return errors.New("no command given")
	}
	name, rest := fs.Arg(0), fs.Args()[1:]
	if name == "help" {
		if len(rest) == 0 {
			usage(stdout)
			return nil
		}
		name, rest = rest[0], []string{"-h"}
	}
	if run, ok := runners[name]; ok {
		return run(ctx, e, rest)
	}
	return fmt.Errorf("unknown command %q (commands: watch, blocks, info, snapshot, replay, record, archive, serve)", name)
}

func (e *env) verbose(string) error {
	e.level.Set(slog.LevelDebug)
	return nil
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: monad-events [-v] <command> [flags] [args]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %-14s %s\n", c.name, strings.TrimPrefix(c.args, "[flags] "), c.summary)
	}
	fmt.Fprintf(w, `
RING is a ring file path (anything with a '/'), a bare ring name (looked up
in the event-rings directory of the 2 MiB hugetlbfs mount, then in the
current directory) or a zstd snapshot. Without RING the commands read the
daemon's default execution ring:
  %s

To try the tool without a node, give it a snapshot; in a clone of the
repository:

  monad-events blocks testdata/demo.snapshot.zst

Run "monad-events <command> -h" for a command's flags.
`, defaultRingWhere())
}

// newFlagSet returns a flag set for a subcommand; parseArgs prints its
// usage.
func newFlagSet(e *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolFunc("v", "verbose diagnostics (debug level) on stderr", e.verbose)
	fs.Usage = func() {
		w := fs.Output()
		for _, c := range commands {
			if c.name == name {
				fmt.Fprintf(w, "Usage: monad-events %s %s\n\n%s.\n\nFlags:\n", name, c.args, upperFirst(c.summary))
			}
		}
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags that may appear before, between or after the
// positional arguments ("watch RING --json" works as well as
// "watch --json RING"); "--" ends flag parsing.
// -h prints the command's usage on w; a mistake is one error line that
// points to it.
func parseArgs(w io.Writer, fs *flag.FlagSet, args []string, minPos, maxPos int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(w)
				fs.Usage()
			}
			return nil, fmt.Errorf("%s: %w (run monad-events %[1]s -h for usage)", fs.Name(), err)
		}
		rest := fs.Args()
		// flag.Parse consumed a literal "--" if it stopped there.
		consumedDashes := len(args) > len(rest) && args[len(args)-len(rest)-1] == "--"
		if len(rest) == 0 {
			break
		}
		if consumedDashes {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) < minPos || len(pos) > maxPos {
		want := fmt.Sprintf("at most %d", maxPos)
		if minPos == maxPos {
			want = fmt.Sprint(minPos)
		}
		return nil, fmt.Errorf("%s: want %s argument(s), got %d (run monad-events %[1]s -h for usage)", fs.Name(), want, len(pos))
	}
	return pos, nil
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
