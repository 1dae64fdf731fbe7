// Package execevents holds the Go bindings of the EXEC event-ring schema,
// generated from the daemon's C headers: layout-exact payload structs, the
// event table, the schema hash and, for every event kind, a typed event
// with its decoder, owned copies and allocation-free JSON.
//
// [Open] maps a ring (or a snapshot) and refuses one written with another
// schema. Each event kind has its own Go type (*BlockStartEvent,
// *TxnLogEvent, ..., *UnknownEvent for codes the schema does not define),
// all of them [Event]s: [EventMeta] (seqno, type, record time, flow tags),
// the embedded payload struct, whose fields are promoted, and the
// payload's trailing arrays as slices. Three ways to get one, differing in
// who owns the memory:
//
//   - [ReadEvent] returns an event that owns everything it holds: the
//     payload is checked, copied and checked again (spec §4.4).
//   - [Decoder.Read] does the same into the Decoder's own buffer, without
//     allocating; the event is valid until the Decoder's next Read, or its
//     next View of the same kind.
//   - [Decoder.View] decodes a payload in place (zero-copy): check the
//     ring's PayloadValid after reading the event.
//
// Clone makes an owned copy of any event. A payload that does not fit its
// event type is a *[PayloadError]; an expired one an
// *eventring.ExpiredError.
//
// JSON: every event, payload struct and byte string has AppendJSON (and
// MarshalJSON built on it), allocation-free. Members keep the C order and
// are named after the Go fields in lower camel case (ChainID → chainId,
// EVMOutput → evmOutput, YParity → yParity); integers are numbers; hashes,
// addresses, byte strings and byte arrays 0x-hex strings; uint256 values
// 0x-hex quantities; 128-bit integers decimal strings; enums their names;
// padding and bit-fields are left out. An event's payload object flattens
// its payload struct and adds the trailing arrays; an event object adds
// seqno, eventType, eventCode, recordEpochNanos and the flow tags that are
// set.
//
// The z*.go files are generated (go generate, see generate.go at the
// module root); the other files are a small runtime that depends on no
// particular event type, so that any schema regenerates into a working
// package. Blocks, commit states and the rewind helpers are built on this
// package in package blocks; go-ethereum conversion in package ethconv.
//
// Section numbers (spec §N) refer to the event ring ABI specification,
// event-ring-abi.md, which is kept outside this repository;
// docs/ARCHITECTURE.md ("The specification the code cites") says what each
// cited section covers.
package execevents
