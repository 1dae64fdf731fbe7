// Package eventring reads and records Monad event rings: the shared-memory
// files through which the Monad execution daemon publishes events, and the
// zstd-compressed snapshots captured from them.
//
// The package is pure Go (no cgo). It implements the RING01 format exactly
// as described by the event ring ABI: a 2 MiB header section, an array of
// 64-byte [Descriptor]s and a circular payload buffer that is mapped twice
// back to back, so every payload is one contiguous slice.
//
// Reading:
//
//	ring, err := eventring.Open(path) // live ring file or zstd snapshot
//	...
//	r := ring.NewReader()             // live: at the newest event; snapshot: at seqno 1
//	var d eventring.Descriptor
//	switch r.TryNext(&d) {            // non-blocking, zero allocations
//	case eventring.Ready:    // d holds a consistent copy
//	case eventring.NotReady: // nothing new yet
//	case eventring.Gap:      // the writer lapped the reader; Reset or SetSeqno
//	}
//
// A snapshot of a ring that wrapped no longer holds its first events: its
// reader's first read is a Gap. [Ring.OldestSeqno] gives the oldest event
// still present, where SetSeqno can start instead.
//
// [Reader.Next] wraps TryNext in a blocking call with a configurable
// [WaitStrategy], typed [GapError]s, io.EOF at the end of a snapshot and
// detection of a dead writer. [Reader.Events] offers the same as a
// range-over-func iterator with the standard library's error rule: an
// error ends the iteration, and a gap, after which reading goes on, is a
// value in what is yielded:
//
//	for it, err := range r.Events(ctx) {
//		if err != nil {
//			return err // ctx done, writer gone, ring closed
//		}
//		if it.Gap != nil {
//			log.Print(it.Gap) // events lost; reading goes on after them
//			continue
//		}
//		use(it.Descriptor) // a copy: it stays valid, unlike the payload
//	}
//
// Payloads live in shared memory that the writer recycles. [Ring.Payload]
// returns a zero-copy view that is trustworthy only if [Ring.PayloadValid]
// still reports true after the view was used; [Ring.CopyPayload] does the
// check-copy-check sequence for you.
//
// Batches amortize the per-event work: [Reader.TryNextBatch] (or the
// blocking [Reader.NextBatch]) copies many descriptors into the caller's
// slice, and [Ring.CopyPayloads] copies their payloads into the caller's
// buffer with a single expiry check for the whole batch, marking exactly the
// payloads the writer reclaimed:
//
//	n, _ := r.TryNextBatch(descs)                     // descs []Descriptor
//	k, err := ring.CopyPayloads(buf, descs[:n], offs) // payload i: buf[offs[i]:][:descs[i].PayloadSize]
//
// A [Recorder] writes rings byte-exactly like the daemon's recorder; tests
// and replay tools use it. [Recorder.Record] and [Recorder.RecordFunc]
// record one event as the daemon does; [Recorder.RecordBatch] records many
// as one reservation (one clock read, one pair of atomic additions), for
// writers that produce events in bursts and can give a burst one timestamp.
//
// Only linux/amd64 and linux/arm64 are supported; on other platforms Open
// and Create return [ErrUnsupported].
//
// Section numbers (spec §N) refer to the event ring ABI specification,
// event-ring-abi.md, which is kept outside this repository;
// docs/ARCHITECTURE.md ("The specification the code cites") says what each
// cited section covers.
package eventring
