// Command mkdemo writes the project's demo event-ring snapshot,
// testdata/demo.snapshot.zst: five proposals of a Monad-style chain (chain id
// 20143) with real signed transactions of every type, receipts, logs, call
// frames, state accesses and consensus events. The output depends only on
// constants in this package, so re-running it reproduces the file byte for
// byte (see testdata/README.md).
//
// Usage, from the module root:
//
//	go run ./internal/cmd/mkdemo [-o testdata/demo.snapshot.zst]
package main

func main() {
	_ = buildDemo()
}
