// Command mkdemo writes the project's demo event-ring snapshot,
// testdata/demo.snapshot.zst: six proposals (five block numbers, one of them
// proposed twice) of a Monad-style chain, chain id 20143, with real signed
// transactions of every type, receipts, logs, call frames, state accesses and
// consensus events. The output depends only on constants in this package, so
// re-running it reproduces the file byte for byte (testdata/README.md).
//
// Usage, from the module root:
//
//	go run ./internal/cmd/mkdemo [-o testdata/demo.snapshot.zst]
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
)

func main() {
	out := flag.String("o", "testdata/demo.snapshot.zst", "snapshot file to write")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "mkdemo:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	dir, err := os.MkdirTemp("", "mkdemo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	snap, err := generate(dir)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, snap, 0o644); err != nil {
		return err
	}
	slog.Info("wrote demo snapshot", "path", out, "bytes", len(snap))
	return nil
}
