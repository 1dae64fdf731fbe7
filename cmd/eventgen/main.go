// Command eventgen generates layout-exact Go bindings for the Monad
// execution event schema from the daemon's C headers.
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
// ones the "Code generated ... DO NOT EDIT." line and the schema hash it
// was made from. -dump-layout prints the
// layout model as JSON in the shape of the spec's exec-layout.json.
//
// Exit status: 0 done (-check: files current), 1 -check found stale
// files, 2 trouble (bad flags, headers that do not parse, I/O errors).
// eventgen -h prints the flags.
package main

import (
	"os"

	"github.com/monadgo/events/gen"
)

func main() {
	os.Exit(gen.Main(os.Args[1:], os.Stdout, os.Stderr))
}
