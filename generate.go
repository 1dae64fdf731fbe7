package events

// Regenerate the execution event bindings (execevents/z*.go and
// eventring/zlayout_test.go) from headers/:
//
//go:generate go run ./cmd/eventgen
