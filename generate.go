// Package events is the root of the monadgo/events module: the Go SDK for
// Monad execution events. The code lives in its subpackages (eventring,
// execevents, ...); this file only holds the generator directive.
package events

// Regenerate the execution event bindings (execevents/z*.go and
// eventring/zlayout_test.go) from headers/, or from a daemon checkout with
// go run ./cmd/eventgen -root /path/to/monad:
//
//go:generate go run ./cmd/eventgen -root headers -out execevents -package execevents
