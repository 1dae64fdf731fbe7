// Package gen turns the C headers of the Monad execution event schema into
// layout-exact Go bindings. It is the library behind cmd/eventgen.
//
// The pipeline has three stages:
//
//  1. Parse. The entry files under a header tree ([DefaultEntries]:
//     event_ring.h, exec_event_ctypes.h and exec_event_ctypes_metadata.c,
//     with whatever they include) are parsed as one translation unit by
//     modernc.org/cc/v4 with the GCC ABI layout of linux/amd64. The run is
//     hermetic: a tiny embedded libc (stdint, stddef, stdbool, string,
//     sys/types, assert, limits, stdalign) and fixed predefined macros
//     replace the host's, so no C compiler is run and the output never
//     depends on the machine; any other system header is an error.
//     C23 constructs cc/v4 does not parse are rewritten first by [lower],
//     which keeps every line in place.
//  2. Model. [buildModel] extracts a [Model]: every struct's size, alignment and
//     member offsets (padding holes and bit-fields included), enums with
//     their underlying types, typedef'd payloads, integer and string
//     constants (constexpr objects, and object-like #define macros whose
//     value is a constant expression: literals with suffixes, UINT64_C,
//     parenthesised expressions, concatenated strings), warning when one
//     users rely on ([expectedConstants]) is missing; the event table read
//     from the initializers of
//     the metadata array (designated or positional), and the schema hash
//     (the one initialized uint8_t[32] array). An event's payload type
//     follows the schema's naming convention (MONAD_EXEC_BLOCK_START ->
//     monad_exec_block_start). The trailing variable-length arrays, which C
//     cannot express, come from [trailingRules].
//  3. Emit. [generate] renders Go with github.com/dave/jennifer: structs
//     with structs.HostLayout and explicit padding so that every size and
//     offset equals C's (a member a packed struct leaves unaligned for Go
//     is kept as raw bytes), enums with String methods, the event table,
//     SchemaHash, compile-time layout guards and a layout test
//     (ztypes.go, zevents.go, zlayout_test.go); for every event kind its
//     typed event with Meta, Type, PayloadSize and Clone (ztyped.go), the
//     Decoder dispatching on event codes and each kind's zero-copy
//     decoding with every length, count, overflow, alignment and size-rule
//     check (zdecode.go), and allocation-free JSON encoders for every
//     byte string, struct and event (zjson.go); plus a layout test for the
//     hand-written ring types of package eventring ([ringTypes]). The
//     generated code leans on a small hand-written runtime in the same
//     package (execevents' files other than z*.go: the Event interface,
//     the payload checks, ReadEvent, the JSON helpers), which refers only
//     to names emitted for every schema: the event code enum is always Go
//     type EventType, and SchemaHash, RingContentType and the Decoder are
//     always emitted. Typedefs of structs get no Go name of their own (one
//     name per concept); docs/ARCHITECTURE.md has the naming table.
//
// [Main] is the command line of cmd/eventgen. It writes only the outputs
// its flags name: the bindings directory of -out (created when missing)
// and the eventring layout test of -ring-test, which has no default. Each
// generated file begins with the generating command, the "Code generated
// by eventgen. DO NOT EDIT." line and the schema hash of the headers, and
// -check compares whole files with the disk.
//
// -diff compares the schemas of two header trees, not their text: it
// builds both models and reports, one line each, the changes of the schema
// hash and content type, the event table (events added, removed, renamed
// or moved, enumerators, payload types and sizes, trailing-array and size
// rules), the layout of the structs reachable from payloads and ring types
// (sizes, alignments, members' types, offsets and sizes, typedef targets),
// enum values, and the constants the bindings carry; then the changed
// event descriptions, which are not schema. The C spelling of a type of
// the same layout, comments, where a declaration lives, process-memory
// structs and the ring library's own constants are not schema either (the
// doc comment of diffSchemas says why). Like diff(1) it exits 0 for equal
// schemas, 1 when they differ and 2 on trouble.
//
// Go names follow [goTypeName] and [GoFieldName]: prefixes monad_exec_,
// monad_c_ and monad_event_ are stripped and the words CamelCased with the
// initialisms ID, QC, EVM, EVMC, EIP<N> and 4GB.
//
// Decoders view payloads in place. A pointer conversion needs the payload
// to be aligned for the Go type (Go's own rule, enforced by checkptr under
// -race), so a misaligned payload is refused with ErrPayloadMisaligned
// rather than copied: ring payloads are always 16-byte aligned, and the
// rare caller holding a misaligned copy can copy it into an aligned buffer.
// Go aligns a __uint128_t member to 8 where C uses 16, which is all ring
// payloads need.
package gen
