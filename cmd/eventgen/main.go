// Command eventgen generates layout-exact Go bindings for the Monad
// execution event schema from the daemon's C headers, and compares the
// schemas of two header trees.
//
// Run from the module root. go generate runs the directive of generate.go,
// which names every output:
//
//	go run ./cmd/eventgen -root headers -out execevents -package execevents -ring-test eventring/zlayout_test.go
//
// Nothing is written but the files of -out (created when missing) and the
// file named by -ring-test (which has no default). The same command with
// -check generates in memory and compares whole files with the disk; the
// first line of each generated file is the generating command, the next
// ones the "Code generated ... DO NOT EDIT." line and the schema hash.
// Without -out the outputs are those of that directive, so from the module
// root "go run ./cmd/eventgen -check" checks the committed bindings and
// "go run ./cmd/eventgen" regenerates them.
//
// After a daemon upgrade, compare the schema of the daemon's headers with
// that of headers/, from which the committed bindings are generated:
//
//	go run ./cmd/eventgen -diff headers -root /path/to/monad
//
// -diff compares layout models, not text, and prints one line per schema
// change (events, payload types, struct layouts, enums, constants, the
// schema hash), then the changed event descriptions, then a summary such as
// "no schema change (only descriptions differ)". -diff OLDROOT alone
// compares OLDROOT with headers/. -dump-layout prints the layout model as
// JSON in the shape of the spec's exec-layout.json.
//
// Exit status, as diff(1): 0 done (-check: files current, -diff: same
// schema), 1 differences (-check: stale files, -diff: schema changes), 2
// trouble (bad flags, headers that do not parse, I/O errors). eventgen -h
// prints the flags.
package main

import (
	"os"

	"github.com/monadgo/events/gen"
)

func main() {
	os.Exit(gen.Main(os.Args[1:], os.Stdout, os.Stderr))
}
