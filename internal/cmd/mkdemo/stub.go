//go:build !wip

// Command mkdemo writes the project's demo event-ring snapshot (see
// testdata/README.md). This build lacks the event bindings; build with -tags
// wip until they land.
package main

func main() { _ = buildDemo() }
