// Package execevents holds the Go bindings of the EXEC event-ring schema,
// generated from the daemon's C headers: layout-exact payload structs, the
// event table, the schema hash, typed events and their decoders.
//
// [Open] maps a ring (or a snapshot) and refuses one written with another
// schema. A [Decoder] turns each descriptor and its payload into an
// [Event], a sum type with one concrete type per event kind
// (*BlockStartEvent, *TxnLogEvent, ...). Decoded events are zero-copy
// views, valid until the writer reuses the payload's bytes (check
// [eventring.Ring.PayloadValid] afterwards); Clone makes an owned copy. The
// generated z*.go files hold the layout-exact payload structs, the event
// table and the decoders.
//
// Blocks, commit states and the rewind helpers are built on this package in
// package blocks; go-ethereum conversion in package ethconv.
//
// Section numbers refer to the event ring ABI specification
// (event-ring-abi.md).
package execevents
