// Package events is the root of the monadgo/events module: the Go SDK for
// Monad execution events. The code lives in its subpackages (eventring,
// execevents, ...); this file only holds the generator directive.
package events

// Regenerate the execution event bindings from headers/: the directive
// names every file eventgen writes (execevents/z*.go and
// eventring/zlayout_test.go). After a daemon upgrade, see what changes in
// the schema first with go run ./cmd/eventgen -diff headers -root
// /path/to/monad (README, "After a daemon upgrade").
//
//go:generate go run ./cmd/eventgen -root headers -out execevents -package execevents -ring-test eventring/zlayout_test.go
