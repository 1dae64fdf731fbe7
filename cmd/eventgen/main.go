// Command eventgen generates layout-exact Go bindings for the Monad
// execution event schema from the daemon's C headers.
//
// Run from the module root (go generate does):
//
//	go run ./cmd/eventgen                  # regenerate execevents/z*.go
//	go run ./cmd/eventgen -check           # exit 1 if the files differ
//	go run ./cmd/eventgen -dump-layout     # print the C layout as JSON
//	go run ./cmd/eventgen -root ~/monad    # use a daemon checkout's headers
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/monadgo/events/gen"
)

func main() {
	o := gen.DefaultOptions()
	flag.StringVar(&o.Root, "root", o.Root, "header tree: the project's headers/ or a daemon checkout")
	flag.StringVar(&o.Out, "out", o.Out, "output directory of the bindings")
	flag.StringVar(&o.Package, "package", o.Package, "package name of the bindings")
	flag.StringVar(&o.RingOut, "ring-out", o.RingOut, "directory of package eventring, for its generated layout test (empty: none)")
	check := flag.Bool("check", false, "generate in memory and compare with the files on disk; exit 1 listing what differs")
	dump := flag.Bool("dump-layout", false, "print the layout model as JSON (the shape of exec-layout.json) and exit")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: eventgen [flags]\n\nGenerates Go bindings for the execution event schema.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(gen.Main(o, *check, *dump, os.Stdout, os.Stderr))
}
