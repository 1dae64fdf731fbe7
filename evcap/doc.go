// Package evcap reads and writes event capture files ("evcap"): the files
// in which the Monad daemon's SDK (release v1.1: `event-cli record`,
// `recordexec`) keeps events copied out of an event ring, descriptors and
// payloads unchanged, so that they outlive the ring.
//
// A capture is a header, section tables and sections: SCHEMA sections
// (content type and schema hash of the events), EVENT_BUNDLE sections
// (event records, plain or zstd-compressed), a SEQNO_INDEX per bundle
// (random access by sequence number) and, in files of the block recorder,
// a BLOCK_INDEX (random access by block number, updated while the file is
// written). Two incompatible layouts share the magic "EVCAP_01": the
// release layout and the older preview layout, whose block archive files
// (`<block>.bcap`) are still around. This package reads both, telling
// them apart by content, and writes the release layout byte for byte as
// the daemon SDK's C writer does (and, with [WriterOptions].Layout, the
// preview layout as the preview's block archive writer lays it out). Comments cite sections of the format
// specification, evcap.md (docs/ARCHITECTURE.md).
//
// Like eventring, evcap knows nothing of execution events: it hands out
// eventring.Descriptor values, content types and payload bytes; decoding
// them is the generated bindings' job.
//
// Reading:
//
//	f, err := evcap.Open(path) // either layout; the structure is checked here
//	...
//	defer f.Close()
//	if err := f.CheckSchema(contentType, schemaHash); err != nil { ... } // *eventring.SchemaError
//	for ev, err := range f.Events(ctx) {
//		if err != nil {
//			return err // a *FormatError, ctx.Err(), ErrClosed
//		}
//		use(ev.Descriptor, ev.Payload) // Payload is valid until the next step
//	}
//
// A [Reader] is a cursor over the events: [Reader.Next] fills an [Event]
// whose Payload is a view into the Reader's buffer, [Reader.ReadInto]
// copies the payload into a buffer of the caller's (no allocation once it
// is large enough), [Reader.Seek] moves to a sequence number through the
// SEQNO_INDEX and [Reader.SeekBlock] to a block through the block index.
// A Reader is also an eventring.PayloadSource for the event it read last,
// so the bindings' Decoder.Read decodes straight from it.
//
// Lifetimes: an Event's Descriptor is a copy and stays valid; its Payload
// does not survive the Reader's next move (use [Event.Clone] or ReadInto
// to keep it). A [File] holds the open file until Close.
//
// Hostile files: every offset, length, count, type and cross-reference a
// file can lie about is checked, on opening for the structure and while
// reading for the records and index entries ([File.Verify] checks it all
// at once); faults are *[FormatError] values naming the section and file
// offset, wrapping a sentinel (ErrBadHeader, ErrBadSection, ErrBadRecord,
// ErrBadIndex, ErrBadCompression, ErrTruncated, ErrTooLarge, ...). Reading
// never panics, never loops (LINK cycles are refused) and holds bounded
// memory: compressed sections are decompressed as a stream, never past
// OpenOptions.MaxSectionSize, and buffers grow only as decompressed bytes
// arrive.
//
// A file still being written by a block recorder (its BLOCK_INDEX is
// active) shows the blocks committed so far; [File.Refresh] shows those
// committed since, and Readers go on with them.
//
// Writing: [Create] writes the header, the section tables and the SCHEMA
// sections; [Writer.Write] appends events to an open bundle;
// [Writer.EndBundle] closes it and writes its SEQNO_INDEX;
// [Writer.EndBlock] does the same for the events of one finalized block
// and enters it in the BLOCK_INDEX ([WriterOptions].BlockIndex). With
// WriterOptions.Layout = LayoutPreview the Writer produces preview files
// instead; a block archive file (spec §12.9) is one bundle ended with
// EndBlock(number), compressed with CompressionZstdSinglePass as the
// daemon's archiver does.
package evcap
