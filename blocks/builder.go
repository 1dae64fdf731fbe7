package blocks

import (
	"fmt"
	"unsafe"

	"github.com/monadgo/events/eventring"
	"github.com/monadgo/events/execevents"
)

// Default sanity limits of a Builder (BuilderOptions). They are far above
// what a real block holds (a log costs at least 375 gas, so 2^19 logs need
// about 200 M gas) and only protect against garbage counts: the builder
// reserves slots for the counts a block announces, so they bound the memory
// one hostile block can make it hold (about 40 MB of transaction slots,
// 40 MB of log slots and 90 MB of call-frame slots).
const (
	DefaultMaxTxns       = 1 << 16 // transactions per block
	DefaultMaxLogs       = 1 << 19 // logs per block (sum of the receipts' log_count)
	DefaultMaxCallFrames = 1 << 19 // call frames per block (sum of call_frame_count)
)

// DefaultMaxBlockBytes is the default bound on the payload bytes of one
// block's events (BuilderOptions.MaxBlockBytes). A block's gas limit keeps
// a real block far below it (a 200 M gas block carries at most about 25 MB
// of calldata and log data), so it only stops a corrupt or hostile ring
// from making the builder copy, and allocate, without limit.
const DefaultMaxBlockBytes = 1 << 30

// scratchKeepBytes is how much scratch memory of each kind (bytes, hashes,
// logs, ...) and how much transaction-slot memory a Builder keeps between
// blocks. More than a busy real block uses; what a larger block needed is
// released when it ends, so a hostile burst does not stay pinned. Such a
// block costs one more allocation of its size, as its compaction does.
const scratchKeepBytes = 16 << 20

// DefaultMaxTracked is the default bound on the proposals a [Tracker]
// holds (BuilderOptions.MaxTracked). A healthy chain has about ten in
// flight (a proposal is finalized two rounds after it executes and verified
// a few blocks later), so 1024 — about seven minutes of Monad blocks — is
// only reached when consensus events are missing (a ring or a replay
// without them), and it caps the memory the tracker holds to that many
// executed blocks.
const DefaultMaxTracked = 1024

// BuilderOptions select what a [Builder] keeps. The zero value builds blocks
// with transactions, receipts and logs, and the default limits.
type BuilderOptions struct {
	// CallFrames keeps each transaction's call trace (TXN_CALL_FRAME).
	CallFrames bool
	// Accesses keeps the account and storage accesses of every scope
	// (transaction, block prologue and epilogue).
	Accesses bool
	// MaxTxns, MaxLogs and MaxCallFrames bound the counts a block's events
	// may announce: transactions (txn_count), and the logs and call frames
	// of all its transactions together; 0 selects the defaults. A block
	// over a limit is dropped with DropLimit. Lists that are filled one
	// event at a time (access lists, authorizations, state accesses) grow
	// with the events that arrive, whatever count was announced.
	MaxTxns, MaxLogs, MaxCallFrames uint32
	// MaxTracked bounds how many proposals a [Tracker] follows at once
	// (executed, not yet verified or abandoned); 0 selects
	// DefaultMaxTracked. When a new block is executed with MaxTracked
	// proposals tracked, the one with the lowest block number (the
	// earliest executed among equals) is dropped and reported as an
	// *EvictedError. A Builder on its own ignores it.
	MaxTracked uint32
	// MaxBlockBytes bounds the payload bytes of the events the builder
	// reads for one block (the sum of their descriptors' payload_size, from
	// BLOCK_START to BLOCK_END); 0 selects DefaultMaxBlockBytes. Everything
	// the builder copies out of a block is part of those payloads, so this
	// bounds the memory one block can make it allocate. The event that
	// crosses it drops the block with DropByteLimit before its payload is
	// read.
	MaxBlockBytes uint64
}

// Builder reassembles executed blocks from execution events (spec §9.1).
//
// Feed it every event in ring order with Process; it returns a block when
// the block's BLOCK_END arrives. Events outside a block scope, of other
// blocks (flow tag BLOCK_SEQNO differs) and of kinds it does not keep are
// ignored. Inconsistent or incomplete input never panics: the block in
// progress is discarded and a typed error returned (*RejectedError,
// *DropError, or *eventring.ExpiredError for a payload that expired while
// it was read); the next BLOCK_START begins a fresh block. After a reader
// gap call Reset.
//
// A Builder is not safe for concurrent use.
type Builder struct {
	opts BuilderOptions
	dec  execevents.Decoder

	// The block in progress lives in memory the builder recycles (cur,
	// txns and the scratch allocators); BLOCK_END compacts it into owned
	// memory. So only the event that completes a block allocates.
	active bool
	cur    ExecutedBlock
	txns   []ExecutedTxn // backing array of cur.Txns
	txst   []txnState    // per transaction slot of cur

	prologue, epilogue accessListState

	// Log and call-frame slots reserved in the block in progress, checked
	// against the options' per-block limits.
	logSlots, frameSlots uint64
	// Payload bytes read for the block in progress (MaxBlockBytes).
	blockBytes uint64

	bytes  scratch[byte]
	b32    scratch[execevents.Bytes32]
	logs   scratch[Log]
	frames scratch[CallFrame]
	tuples scratch[AccessTuple]
	auths  scratch[execevents.TxnAuthListEntry]
	accs   scratch[AccountAccessRecord]
	stor   scratch[execevents.StorageAccess]

	c compactor

	viewed viewedSource // Process's fallback to Decoder.Read
}

// txnState is the builder's bookkeeping for one transaction slot.
type txnState struct {
	hasHeader, hasReceipt bool
	logsFilled            uint32
	framesFilled          uint32
	accesses              accessListState
}

// accessListState tracks one account access list (spec §7.3 list rule).
type accessListState struct {
	seen     bool
	expected uint32
}

// emptySlot marks a log or call-frame slot that has not been filled yet.
const emptySlot = ^uint32(0)

// NewBuilder returns a Builder with the given options.
func NewBuilder(opts BuilderOptions) *Builder {
	if opts.MaxTxns == 0 {
		opts.MaxTxns = DefaultMaxTxns
	}
	if opts.MaxLogs == 0 {
		opts.MaxLogs = DefaultMaxLogs
	}
	if opts.MaxCallFrames == 0 {
		opts.MaxCallFrames = DefaultMaxCallFrames
	}
	if opts.MaxTracked == 0 {
		opts.MaxTracked = DefaultMaxTracked
	}
	if opts.MaxBlockBytes == 0 {
		opts.MaxBlockBytes = DefaultMaxBlockBytes
	}
	b := &Builder{opts: opts}
	b.bytes.init(1 << 20)
	b.b32.init(1 << 14)
	b.logs.init(1 << 12)
	b.frames.init(1 << 12)
	b.tuples.init(1 << 8)
	b.auths.init(1 << 6)
	b.accs.init(1 << 12)
	b.stor.init(1 << 12)
	return b
}

// Options returns the options the builder was created with (limits filled
// in).
func (b *Builder) Options() BuilderOptions { return b.opts }

// Reset discards the block in progress, if any. Call it after a reader gap:
// events were lost and the block cannot be completed.
func (b *Builder) Reset() { b.discard() }

// discard ends the block in progress (emitted or not) and releases its
// scratch memory if the block made it grow past what is kept between
// blocks.
func (b *Builder) discard() {
	b.active = false
	if !b.bytes.oversized() && !b.b32.oversized() && !b.logs.oversized() && !b.frames.oversized() &&
		!b.tuples.oversized() && !b.auths.oversized() && !b.accs.oversized() && !b.stor.oversized() &&
		cap(b.txns) <= keepTxns {
		return
	}
	// Drop every reference into the scratch chunks first: the block in
	// progress, the transaction slots (also those past len from earlier,
	// larger blocks) and the retained chunks themselves (trim clears them).
	b.cur = ExecutedBlock{}
	if cap(b.txns) > keepTxns {
		b.txns, b.txst = nil, nil
	} else {
		clear(b.txns[:cap(b.txns)])
	}
	b.bytes.trim()
	b.b32.trim()
	b.logs.trim()
	b.frames.trim()
	b.tuples.trim()
	b.auths.trim()
	b.accs.trim()
	b.stor.trim()
}

// keepTxns is how many transaction slots discard keeps.
const keepTxns = scratchKeepBytes / int(unsafe.Sizeof(ExecutedTxn{}))

// InProgress reports whether a block is being assembled, and its BLOCK_START
// seqno.
func (b *Builder) InProgress() (startSeqno uint64, ok bool) {
	if !b.active {
		return 0, false
	}
	return b.cur.StartSeqno, true
}

// wants reports whether the builder looks at events of type t when a block
// is in progress; everything else is skipped without reading its payload.
func (b *Builder) wants(t execevents.EventType) bool {
	switch t {
	case execevents.EventTypeBlockStart, execevents.EventTypeBlockEnd, execevents.EventTypeBlockReject, execevents.EventTypeEVMError,
		execevents.EventTypeRecordError, execevents.EventTypeTxnHeaderStart, execevents.EventTypeTxnAccessListEntry,
		execevents.EventTypeTxnAuthListEntry, execevents.EventTypeTxnReject, execevents.EventTypeTxnEVMOutput, execevents.EventTypeTxnLog:
		return true
	case execevents.EventTypeTxnCallFrame:
		return b.opts.CallFrames
	case execevents.EventTypeAccountAccessListHeader, execevents.EventTypeAccountAccess, execevents.EventTypeStorageAccess:
		return b.opts.Accesses
	}
	return false
}

// Process consumes the event d, reading its payload from src (normally the
// *eventring.Ring d was read from). It returns the completed block when d is
// its BLOCK_END, and nil otherwise. On an error the block in progress (if
// any) has been discarded, except after a DropUnterminatedBlock, where the
// interrupting BLOCK_START has been started.
//
// Everything kept is copied out of the payload, and the payload is checked
// for validity before it is read and again after everything kept was
// copied (spec §4.4; src.Payload is called once): an overwritten payload,
// or a descriptor whose
// payload the writer never allocated, gives an *eventring.ExpiredError
// (errors.Is eventring.ErrPayloadExpired; ErrBadDescriptor when the source
// hands out other than payload_size bytes) and discards the block in
// progress. A payload that would take the block past MaxBlockBytes is not
// read: the block is dropped with DropByteLimit.
//
// The error is a condition of this event (*DropError, *RejectedError,
// *eventring.ExpiredError), never a reason to stop: feed the next event.
// [Builder.Blocks] yields it as a notice ([Update.Notice]).
func (b *Builder) Process(src eventring.PayloadSource, d *eventring.Descriptor) (*ExecutedBlock, error) {
	t := execevents.EventType(d.EventType)
	if !b.wants(t) {
		return nil, nil
	}
	if t != execevents.EventTypeBlockStart && (!b.active || !b.owns(d.ContentExt[execevents.FlowTypeBlockSeqno])) {
		return nil, nil
	}
	// An impossible payload_size or offset is reported as such (Read
	// reports it too, but the byte limit below would speak first).
	if !src.PayloadValid(d) {
		return nil, b.expired(d)
	}
	size := uint64(d.PayloadSize)
	if t != execevents.EventTypeBlockStart { // a BLOCK_START begins a fresh count (start)
		if !b.charge(size) {
			return nil, b.overBytes(metaOf(d), size)
		}
	}
	// The payload is decoded in place and apply copies what it keeps
	// straight out of the source: check (above), copy (apply), check
	// (below), spec §4.4, with one copy instead of two (Decoder.Read would
	// copy the whole payload first). Until the second check passes,
	// nothing apply read is trusted: a payload overwritten meanwhile
	// discards whatever apply did, block or error, as if it had never been
	// read.
	q := src.Payload(d)
	if uint64(len(q)) == size {
		if ev, err := b.dec.View(d, q); err == nil {
			blk, err := b.apply(ev)
			if !src.PayloadValid(d) {
				return nil, b.expired(d)
			}
			return blk, err
		}
	}
	// A payload that cannot be viewed in place (malformed, misaligned, or
	// not payload_size bytes) takes the copying path, which reports it
	// exactly as Decoder.Read does. Read copies the payload into the
	// decoder's buffer with check-copy-check; what apply keeps is copied
	// from there. A payload the writer reclaimed, or one whose length is
	// not the descriptor's payload_size, is never decoded. Read is given
	// the view already taken, so the source hands it out once.
	b.viewed = viewedSource{src, q}
	ev, err := b.dec.Read(&b.viewed, d)
	b.viewed = viewedSource{} // pins neither the source nor its bytes
	if err != nil {
		if _, ok := err.(*eventring.ExpiredError); ok {
			b.discard()
			return nil, err
		}
		return nil, b.malformed(d, err)
	}
	return b.apply(ev)
}

// viewedSource is a PayloadSource whose Payload is a view already taken
// from src.
type viewedSource struct {
	src eventring.PayloadSource
	p   []byte
}

func (v *viewedSource) Payload(*eventring.Descriptor) []byte      { return v.p }
func (v *viewedSource) PayloadValid(d *eventring.Descriptor) bool { return v.src.PayloadValid(d) }

// AddEvent consumes an already decoded event, e.g. an owned copy made with
// Clone. It behaves like Process except that it cannot check payload
// validity: the caller vouches that ev's payload is intact. Its errors are
// per-event conditions like Process's; a malformed event that no block in
// progress needs gives its *execevents.PayloadError.
func (b *Builder) AddEvent(ev execevents.Event) (*ExecutedBlock, error) {
	if err := execevents.CheckEvent(ev); err != nil {
		if ev != nil && b.wants(ev.Type()) && (ev.Type() == execevents.EventTypeBlockStart || b.active) {
			m := ev.Meta()
			e := b.drop(m, DropMalformed, "", -1, 0, 0, 0)
			e.(*DropError).Err = err
			return nil, e
		}
		return nil, err
	}
	m := ev.Meta()
	if !b.wants(m.EventType) {
		return nil, nil
	}
	if m.EventType != execevents.EventTypeBlockStart && (!b.active || !b.owns(m.Flow.BlockSeqno)) {
		return nil, nil
	}
	if m.EventType != execevents.EventTypeBlockStart {
		if n := uint64(ev.PayloadSize()); !b.charge(n) {
			return nil, b.overBytes(m, n)
		}
	}
	return b.apply(ev)
}

// charge adds n payload bytes of the event to the block in progress and
// reports true, or reports false if that would take the block past
// MaxBlockBytes (see overBytes).
func (b *Builder) charge(n uint64) bool {
	if sum := b.blockBytes + n; sum >= n && sum <= b.opts.MaxBlockBytes {
		b.blockBytes = sum
		return true
	}
	return false
}

// overBytes drops the block in progress when charge(n) failed for the
// event m.
func (b *Builder) overBytes(m *execevents.EventMeta, n uint64) error {
	sum := b.blockBytes + n
	if sum < n {
		sum = ^uint64(0) // saturate (a lying source's slice length)
	}
	return b.drop(m, DropByteLimit, "", txnOf(m.Flow), 0, b.opts.MaxBlockBytes, sum)
}

// metaOf returns the EventMeta of descriptor d.
func metaOf(d *eventring.Descriptor) *execevents.EventMeta {
	return &execevents.EventMeta{Seqno: d.Seqno, EventType: execevents.EventType(d.EventType), RecordEpochNanos: d.RecordEpochNanos, Flow: execevents.FlowOf(d)}
}

// txnOf returns the transaction index of flow tags for a DropError, or -1.
func txnOf(f execevents.Flow) int64 {
	if i, ok := f.TxnIndex(); ok {
		return int64(min(i, 1<<62))
	}
	return -1
}

// expired discards the block in progress after d's payload failed the
// validity check.
func (b *Builder) expired(d *eventring.Descriptor) error {
	b.discard()
	return expiredError(d)
}

// expiredError reports that d's payload failed the validity check.
func expiredError(d *eventring.Descriptor) *eventring.ExpiredError {
	return &eventring.ExpiredError{Seqno: d.Seqno, EventType: d.EventType, Offset: d.PayloadBufOffset,
		Size: d.PayloadSize, Err: eventring.ErrPayloadExpired}
}

// owns reports whether an event with BLOCK_SEQNO tag s belongs to the block
// in progress. Events tagged with another block's seqno are foreign (stale
// or from another recording) and are ignored; untagged events are accepted
// for producers that do not write the tag.
func (b *Builder) owns(s uint64) bool { return s == 0 || s == b.cur.StartSeqno }

// malformed handles an undecodable payload of an event the builder needs.
func (b *Builder) malformed(d *eventring.Descriptor, err error) error {
	e := &DropError{Reason: DropMalformed, Seqno: d.Seqno, EventType: execevents.EventType(d.EventType),
		TxnIndex: -1, Err: err}
	if b.active {
		e.Block, e.StartSeqno = b.cur.Start.BlockTag, b.cur.StartSeqno
		if execevents.EventType(d.EventType) == execevents.EventTypeBlockStart {
			// An unreadable BLOCK_START still ends the block in progress.
			e.Reason = DropUnterminatedBlock
		}
	}
	b.discard()
	return e
}

// drop discards the block in progress and returns the error describing why.
func (b *Builder) drop(m *execevents.EventMeta, reason DropReason, detail string, txn int64, index, expected, actual uint64) error {
	e := &DropError{Reason: reason, Detail: detail, Seqno: m.Seqno, EventType: m.EventType, TxnIndex: txn,
		Index: index, Expected: expected, Actual: actual}
	if b.active {
		e.Block, e.StartSeqno = b.cur.Start.BlockTag, b.cur.StartSeqno
	}
	b.discard()
	return e
}

// reject discards the block in progress after a failure event.
func (b *Builder) reject(m *execevents.EventMeta) *RejectedError {
	e := &RejectedError{Block: b.cur.Start.BlockTag, StartSeqno: b.cur.StartSeqno, Seqno: m.Seqno,
		EventType: m.EventType, TxnIndex: -1}
	if i, ok := m.Flow.TxnIndex(); ok {
		e.TxnIndex = int64(i)
	}
	b.discard()
	return e
}

// txn returns the transaction slot the event belongs to, or an error that
// drops the block. needHeader requires the slot's TXN_HEADER_START.
func (b *Builder) txn(m *execevents.EventMeta, needHeader bool) (*ExecutedTxn, *txnState, error) {
	i, ok := m.Flow.TxnIndex()
	if !ok {
		return nil, nil, b.drop(m, DropMalformed, "transaction-scope event without a TXN_ID tag", -1, 0, 0, 0)
	}
	if i >= uint64(len(b.cur.Txns)) {
		return nil, nil, b.drop(m, DropBadIndex, "transaction index beyond the block's txn_count", int64(min(i, 1<<62)), i, uint64(len(b.cur.Txns)), 0)
	}
	st := &b.txst[i]
	if needHeader && !st.hasHeader {
		return nil, nil, b.drop(m, DropBadIndex, "no TXN_HEADER_START for the transaction yet", int64(i), i, i, 0)
	}
	return &b.cur.Txns[i], st, nil
}

func (b *Builder) apply(ev execevents.Event) (*ExecutedBlock, error) {
	switch ev := ev.(type) {
	case *execevents.BlockStartEvent:
		return nil, b.start(ev)
	case *execevents.TxnHeaderStartEvent:
		m := &ev.EventMeta
		tx, st, err := b.txn(m, false)
		if err != nil {
			return nil, err
		}
		if st.hasHeader {
			return nil, b.drop(m, DropBadIndex, "duplicate TXN_HEADER_START", int64(tx.Index), uint64(tx.Index), uint64(tx.Index), 1)
		}
		st.hasHeader = true
		tx.Header = *ev.TxnHeaderStart
		tx.Input = b.bytes.clone(ev.Data)
		tx.BlobHashes = b.b32.clone(ev.BlobVersionedHashes)
	case *execevents.TxnAccessListEntryEvent:
		m := &ev.EventMeta
		tx, _, err := b.txn(m, true)
		if err != nil {
			return nil, err
		}
		n, want := uint64(len(tx.AccessList)), uint64(tx.Header.TxnHeader.AccessListCount)
		if uint64(ev.Index) != n || n >= want {
			return nil, b.drop(m, DropBadIndex, "access-list entry out of order or beyond access_list_count", int64(tx.Index), uint64(ev.Index), n, want)
		}
		tx.AccessList = b.tuples.push(tx.AccessList, AccessTuple{
			Address:     ev.Entry.Address,
			StorageKeys: b.b32.clone(ev.StorageKeys),
		})
	case *execevents.TxnAuthListEntryEvent:
		m := &ev.EventMeta
		tx, _, err := b.txn(m, true)
		if err != nil {
			return nil, err
		}
		n, want := uint64(len(tx.AuthList)), uint64(tx.Header.TxnHeader.AuthListCount)
		if uint64(ev.Index) != n || n >= want {
			return nil, b.drop(m, DropBadIndex, "authorization out of order or beyond auth_list_count", int64(tx.Index), uint64(ev.Index), n, want)
		}
		tx.AuthList = b.auths.push(tx.AuthList, *ev.TxnAuthListEntry)
	case *execevents.TxnEVMOutputEvent:
		m := &ev.EventMeta
		tx, st, err := b.txn(m, true)
		if err != nil {
			return nil, err
		}
		if st.hasReceipt {
			return nil, b.drop(m, DropBadIndex, "duplicate TXN_EVM_OUTPUT", int64(tx.Index), uint64(tx.Index), uint64(tx.Index), 1)
		}
		nl := ev.Receipt.LogCount
		if b.logSlots += uint64(nl); b.logSlots > uint64(b.opts.MaxLogs) {
			return nil, b.drop(m, DropLimit, "the block's log_counts add up to more than the builder's limit", int64(tx.Index), 0, uint64(b.opts.MaxLogs), b.logSlots)
		}
		st.hasReceipt = true
		tx.Receipt = ev.Receipt
		tx.Logs = b.logs.take(int(nl))
		for i := range tx.Logs {
			tx.Logs[i].Index = emptySlot
		}
		if b.opts.CallFrames {
			nf := ev.CallFrameCount
			if b.frameSlots += uint64(nf); b.frameSlots > uint64(b.opts.MaxCallFrames) {
				return nil, b.drop(m, DropLimit, "the block's call_frame_counts add up to more than the builder's limit", int64(tx.Index), 0, uint64(b.opts.MaxCallFrames), b.frameSlots)
			}
			tx.CallFrames = b.frames.take(int(nf))
			for i := range tx.CallFrames {
				tx.CallFrames[i].Index = emptySlot
			}
		}
	case *execevents.TxnLogEvent:
		m := &ev.EventMeta
		tx, st, err := b.txn(m, true)
		if err != nil {
			return nil, err
		}
		i := ev.Index
		if !st.hasReceipt || uint64(i) >= uint64(len(tx.Logs)) || tx.Logs[i].Index != emptySlot {
			return nil, b.drop(m, DropBadIndex, "log without a receipt, beyond log_count, or a duplicate", int64(tx.Index), uint64(i), uint64(st.logsFilled), uint64(len(tx.Logs)))
		}
		st.logsFilled++
		tx.Logs[i] = Log{
			Index:   i,
			Address: ev.Address,
			Topics:  b.b32.clone(ev.Topics),
			Data:    b.bytes.clone(ev.Data),
		}
	case *execevents.TxnCallFrameEvent:
		m := &ev.EventMeta
		tx, st, err := b.txn(m, true)
		if err != nil {
			return nil, err
		}
		i := ev.Index
		if !st.hasReceipt || uint64(i) >= uint64(len(tx.CallFrames)) || tx.CallFrames[i].Index != emptySlot {
			return nil, b.drop(m, DropBadIndex, "call frame without a receipt, beyond call_frame_count, or a duplicate", int64(tx.Index), uint64(i), uint64(st.framesFilled), uint64(len(tx.CallFrames)))
		}
		st.framesFilled++
		tx.CallFrames[i] = CallFrame{
			TxnCallFrame: *ev.TxnCallFrame,
			Input:        b.bytes.clone(ev.Input),
			ReturnData:   b.bytes.clone(ev.ReturnData),
		}
	case *execevents.AccountAccessListHeaderEvent:
		return nil, b.accessListHeader(ev)
	case *execevents.AccountAccessEvent:
		return nil, b.accountAccess(ev)
	case *execevents.StorageAccessEvent:
		return nil, b.storageAccess(ev)
	case *execevents.TxnRejectEvent:
		e := b.reject(&ev.EventMeta)
		e.RejectCode = uint32(ev.Code)
		return nil, e
	case *execevents.BlockRejectEvent:
		e := b.reject(&ev.EventMeta)
		e.RejectCode = uint32(ev.Code)
		return nil, e
	case *execevents.EVMErrorEvent:
		e := b.reject(&ev.EventMeta)
		e.EVMError = *ev.EVMError
		return nil, e
	case *execevents.RecordErrorEvent:
		if b.wants(execevents.EventType(ev.DroppedEventType)) {
			return nil, b.drop(&ev.EventMeta, DropLostEvent, "", txnOf(ev.Flow), uint64(ev.DroppedEventType), 0, ev.RequestedPayloadSize)
		}
	case *execevents.BlockEndEvent:
		return b.end(ev)
	}
	return nil, nil
}

// start handles BLOCK_START: it always begins a fresh block, reporting the
// interrupted one (if any) as unterminated.
func (b *Builder) start(ev *execevents.BlockStartEvent) error {
	var err error
	if b.active {
		err = &DropError{Reason: DropUnterminatedBlock, Block: b.cur.Start.BlockTag,
			StartSeqno: b.cur.StartSeqno, Seqno: ev.Seqno, EventType: ev.EventType, TxnIndex: -1,
			Next: ev.BlockTag}
		b.discard()
	}
	n := ev.EthBlockInput.TxnCount
	if n > uint64(b.opts.MaxTxns) {
		if err != nil {
			return err // the interrupting block is unusable too; one error suffices
		}
		return &DropError{Reason: DropLimit, Block: ev.BlockTag, StartSeqno: ev.Seqno, Seqno: ev.Seqno,
			EventType: ev.EventType, TxnIndex: -1, Expected: uint64(b.opts.MaxTxns), Actual: n}
	}
	b.bytes.reset()
	b.b32.reset()
	b.logs.reset()
	b.frames.reset()
	b.tuples.reset()
	b.auths.reset()
	b.accs.reset()
	b.stor.reset()
	if uint64(cap(b.txns)) < n {
		// Grow with headroom; the old arrays are garbage (nothing handed
		// out refers to them).
		b.txns = make([]ExecutedTxn, n, n+n/4)
		b.txst = make([]txnState, n, n+n/4)
	} else {
		b.txns = b.txns[:n]
		b.txst = b.txst[:n]
		clear(b.txns)
		clear(b.txst)
	}
	for i := range b.txns {
		b.txns[i].Index = uint32(i)
	}
	b.cur = ExecutedBlock{Start: *ev.BlockStart, StartSeqno: ev.Seqno, Txns: b.txns}
	b.prologue, b.epilogue = accessListState{}, accessListState{}
	b.logSlots, b.frameSlots = 0, 0
	b.blockBytes = uint64(execevents.Events[execevents.EventTypeBlockStart].Size) // its payload, exactly sized (decoder)
	b.active = true
	return err
}

// end handles BLOCK_END: the block is emitted only if complete.
func (b *Builder) end(ev *execevents.BlockEndEvent) (*ExecutedBlock, error) {
	m := &ev.EventMeta
	blk := &b.cur
	for i := range blk.Txns {
		tx, st := &blk.Txns[i], &b.txst[i]
		if !st.hasHeader || !st.hasReceipt {
			return nil, b.drop(m, DropMissingTransaction, "", int64(i), uint64(i), 0, 0)
		}
		if h := &tx.Header.TxnHeader; uint64(len(tx.AccessList)) != uint64(h.AccessListCount) {
			return nil, b.drop(m, DropMissingListEntry, "access list incomplete", int64(i), 0, uint64(h.AccessListCount), uint64(len(tx.AccessList)))
		} else if uint64(len(tx.AuthList)) != uint64(h.AuthListCount) {
			return nil, b.drop(m, DropMissingListEntry, "authorization list incomplete", int64(i), 0, uint64(h.AuthListCount), uint64(len(tx.AuthList)))
		}
		if st.logsFilled != uint32(len(tx.Logs)) {
			return nil, b.drop(m, DropMissingLog, "", int64(i), 0, uint64(len(tx.Logs)), uint64(st.logsFilled))
		}
		if st.framesFilled != uint32(len(tx.CallFrames)) {
			return nil, b.drop(m, DropMissingCallFrame, "", int64(i), 0, uint64(len(tx.CallFrames)), uint64(st.framesFilled))
		}
		if b.opts.Accesses {
			if err := b.checkAccesses(m, int64(i), &st.accesses, tx.Accesses); err != nil {
				return nil, err
			}
		}
	}
	if b.opts.Accesses {
		if err := b.checkAccesses(m, -1, &b.prologue, blk.Prologue); err != nil {
			return nil, err
		}
		if err := b.checkAccesses(m, -1, &b.epilogue, blk.Epilogue); err != nil {
			return nil, err
		}
	}
	blk.End = *ev.BlockEnd
	blk.EndSeqno = ev.Seqno
	out := b.c.compact(blk)
	b.discard()
	return out, nil
}

// accessList resolves the list an access event belongs to from its context
// and TXN_ID tag.
func (b *Builder) accessList(m *execevents.EventMeta, ctx execevents.AccountAccessContext) (*[]AccountAccessRecord, *accessListState, int64, error) {
	switch ctx {
	case execevents.AccountAccessContextBlockPrologue:
		return &b.cur.Prologue, &b.prologue, -1, nil
	case execevents.AccountAccessContextBlockEpilogue:
		return &b.cur.Epilogue, &b.epilogue, -1, nil
	case execevents.AccountAccessContextTransaction:
		tx, st, err := b.txn(m, true)
		if err != nil {
			return nil, nil, 0, err
		}
		return &tx.Accesses, &st.accesses, int64(tx.Index), nil
	}
	e := b.drop(m, DropMalformed, "", -1, 0, 0, 0)
	e.(*DropError).Err = fmt.Errorf("unknown account access context %d", uint8(ctx))
	return nil, nil, 0, e
}

func (b *Builder) accessListHeader(ev *execevents.AccountAccessListHeaderEvent) error {
	m := &ev.EventMeta
	list, st, txn, err := b.accessList(m, ev.AccessContext)
	if err != nil {
		return err
	}
	if st.seen {
		return b.drop(m, DropBadIndex, "second account access list for the scope", txn, 0, 0, uint64(len(*list)))
	}
	st.seen, st.expected = true, ev.EntryCount
	*list = nil // grows with the ACCOUNT_ACCESS events, not with the announced count
	return nil
}

func (b *Builder) accountAccess(ev *execevents.AccountAccessEvent) error {
	m := &ev.EventMeta
	list, st, txn, err := b.accessList(m, ev.AccessContext)
	if err != nil {
		return err
	}
	n := uint64(len(*list))
	if !st.seen || uint64(ev.Index) != n || n >= uint64(st.expected) {
		return b.drop(m, DropBadIndex, "account out of order, beyond entry_count, or without a list header", txn, uint64(ev.Index), n, uint64(st.expected))
	}
	if n > 0 {
		if prev := &(*list)[n-1]; !accountComplete(prev) {
			return b.drop(m, DropMissingAccess, "", txn, uint64(prev.Index),
				uint64(prev.StorageKeyCount)+uint64(prev.TransientCount), uint64(len(prev.Storage)+len(prev.Transient)))
		}
	}
	*list = b.accs.push(*list, AccountAccessRecord{AccountAccess: *ev.AccountAccess})
	return nil
}

func (b *Builder) storageAccess(ev *execevents.StorageAccessEvent) error {
	m := &ev.EventMeta
	list, _, txn, err := b.accessList(m, ev.AccessContext)
	if err != nil {
		return err
	}
	if len(*list) == 0 {
		return b.drop(m, DropBadIndex, "storage access without an account", txn, uint64(ev.Index), 0, 0)
	}
	acc := &(*list)[len(*list)-1]
	if m.Flow.AccountIndex != uint64(acc.Index) {
		return b.drop(m, DropBadIndex, "storage access for another account (ACCOUNT_INDEX)", txn, m.Flow.AccountIndex, uint64(acc.Index), 0)
	}
	if !ev.Transient {
		n := uint64(len(acc.Storage))
		if uint64(ev.Index) != n || n >= uint64(acc.StorageKeyCount) {
			return b.drop(m, DropBadIndex, "storage slot out of order or beyond storage_key_count", txn, uint64(ev.Index), n, uint64(acc.StorageKeyCount))
		}
		acc.Storage = b.stor.push(acc.Storage, *ev.StorageAccess)
		return nil
	}
	n := uint64(len(acc.Transient))
	if uint64(len(acc.Storage)) != uint64(acc.StorageKeyCount) || uint64(ev.Index) != n || n >= uint64(acc.TransientCount) {
		return b.drop(m, DropBadIndex, "transient slot out of order, before the ordinary slots, or beyond transient_count", txn, uint64(ev.Index), n, uint64(acc.TransientCount))
	}
	acc.Transient = b.stor.push(acc.Transient, *ev.StorageAccess)
	return nil
}

func accountComplete(a *AccountAccessRecord) bool {
	return uint64(len(a.Storage)) == uint64(a.StorageKeyCount) && uint64(len(a.Transient)) == uint64(a.TransientCount)
}

// checkAccesses verifies at BLOCK_END that a list that was opened is
// complete. A scope without a list header is accepted (producers may not
// record accesses).
func (b *Builder) checkAccesses(m *execevents.EventMeta, txn int64, st *accessListState, list []AccountAccessRecord) error {
	if !st.seen {
		return nil
	}
	if uint64(len(list)) != uint64(st.expected) {
		return b.drop(m, DropMissingAccess, "", txn, 0, uint64(st.expected), uint64(len(list)))
	}
	if n := len(list); n > 0 && !accountComplete(&list[n-1]) {
		a := &list[n-1]
		return b.drop(m, DropMissingAccess, "", txn, uint64(a.Index),
			uint64(a.StorageKeyCount)+uint64(a.TransientCount), uint64(len(a.Storage)+len(a.Transient)))
	}
	return nil
}

// compactor copies a finished block out of the builder's scratch memory
// into one exactly sized allocation per element type, so that a block owns
// its memory alone and retaining it pins nothing else.
type compactor struct {
	txns   pool[ExecutedTxn]
	bytes  pool[byte]
	b32    pool[execevents.Bytes32]
	logs   pool[Log]
	frames pool[CallFrame]
	tuples pool[AccessTuple]
	auths  pool[execevents.TxnAuthListEntry]
	accs   pool[AccountAccessRecord]
	stor   pool[execevents.StorageAccess]
}

func (c *compactor) compact(src *ExecutedBlock) *ExecutedBlock {
	// Sizing pass.
	c.txns.count(src.Txns)
	for i := range src.Txns {
		t := &src.Txns[i]
		c.bytes.count(t.Input)
		c.b32.count(t.BlobHashes)
		c.tuples.count(t.AccessList)
		for j := range t.AccessList {
			c.b32.count(t.AccessList[j].StorageKeys)
		}
		c.auths.count(t.AuthList)
		c.logs.count(t.Logs)
		for j := range t.Logs {
			c.b32.count(t.Logs[j].Topics)
			c.bytes.count(t.Logs[j].Data)
		}
		c.frames.count(t.CallFrames)
		for j := range t.CallFrames {
			c.bytes.count(t.CallFrames[j].Input)
			c.bytes.count(t.CallFrames[j].ReturnData)
		}
		c.countAccesses(t.Accesses)
	}
	c.countAccesses(src.Prologue)
	c.countAccesses(src.Epilogue)
	c.txns.alloc()
	c.bytes.alloc()
	c.b32.alloc()
	c.logs.alloc()
	c.frames.alloc()
	c.tuples.alloc()
	c.auths.alloc()
	c.accs.alloc()
	c.stor.alloc()

	// Copy pass.
	dst := new(ExecutedBlock)
	*dst = *src
	dst.Txns = c.txns.move(src.Txns)
	for i := range dst.Txns {
		t := &dst.Txns[i]
		t.Input = c.bytes.move(t.Input)
		t.BlobHashes = c.b32.move(t.BlobHashes)
		t.AccessList = c.tuples.move(t.AccessList)
		for j := range t.AccessList {
			t.AccessList[j].StorageKeys = c.b32.move(t.AccessList[j].StorageKeys)
		}
		t.AuthList = c.auths.move(t.AuthList)
		t.Logs = c.logs.move(t.Logs)
		for j := range t.Logs {
			l := &t.Logs[j]
			l.Topics = c.b32.move(l.Topics)
			l.Data = c.bytes.move(l.Data)
		}
		t.CallFrames = c.frames.move(t.CallFrames)
		for j := range t.CallFrames {
			f := &t.CallFrames[j]
			f.Input = c.bytes.move(f.Input)
			f.ReturnData = c.bytes.move(f.ReturnData)
		}
		t.Accesses = c.moveAccesses(t.Accesses)
	}
	dst.Prologue = c.moveAccesses(src.Prologue)
	dst.Epilogue = c.moveAccesses(src.Epilogue)
	return dst
}

func (c *compactor) countAccesses(l []AccountAccessRecord) {
	c.accs.count(l)
	for i := range l {
		c.stor.count(l[i].Storage)
		c.stor.count(l[i].Transient)
	}
}

func (c *compactor) moveAccesses(l []AccountAccessRecord) []AccountAccessRecord {
	l = c.accs.move(l)
	for i := range l {
		l[i].Storage = c.stor.move(l[i].Storage)
		l[i].Transient = c.stor.move(l[i].Transient)
	}
	return l
}
