// Package exectest holds the tests of the generated execevents bindings
// that depend on particular event types of the EXEC schema (BLOCK_START,
// TXN_LOG, ...): decoding round trips, the spec's offsets, hostile
// payloads, the reference recordings' per-type counts. The hand-written
// tests in package execevents itself use only what the generator emits for
// every schema, so that any header tree regenerates into a package that
// builds and passes its own tests.
package exectest
