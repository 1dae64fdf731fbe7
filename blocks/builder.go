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

	// The block in progress lives in memory the builder recycles (txns
	// and the arenas, which hold no pointers); BLOCK_END compacts it into
	// owned memory. So only the event that completes a block allocates.
	active bool
	cur    blockHead
	txns   []txnBuild // one per transaction slot of the block in progress

	prologue, epilogue scopeAccesses

	// Log and call-frame slots reserved in the block in progress, checked
	// against the options' per-block limits.
	logSlots, frameSlots uint64
	// Payload bytes read for the block in progress (MaxBlockBytes).
	blockBytes uint64

	bytes  arena[byte]
	b32    arena[execevents.Bytes32]
	logs   arena[logBuild]
	frames arena[frameBuild]
	tuples arena[tupleBuild]
	auths  arena[execevents.TxnAuthListEntry]
	accs   arena[accountBuild]
	stor   arena[execevents.StorageAccess]

	c compactor

	viewed viewedSource // Process's fallback to Decoder.Read
}

// blockHead identifies the block in progress.
type blockHead struct {
	Start      execevents.BlockStart
	StartSeqno uint64
}

// txnBuild is one transaction slot of the block in progress: what becomes
// its ExecutedTxn, with lists as spans of the builder's arenas, and the
// builder's bookkeeping.
type txnBuild struct {
	Index                 uint32
	hasHeader, hasReceipt bool
	logsFilled            uint32
	framesFilled          uint32
	Header                execevents.TxnHeaderStart
	Receipt               execevents.EthTxnReceipt
	input                 span // bytes
	blobHashes            span // b32
	accessList            span // tuples
	authList              span // auths
	logs                  span // logs
	callFrames            span // frames
	accesses              scopeAccesses
}

// logBuild is a Log of the block in progress.
type logBuild struct {
	Index   uint32
	Address execevents.Address
	topics  span // b32
	data    span // bytes
}

// frameBuild is a CallFrame of the block in progress.
type frameBuild struct {
	execevents.TxnCallFrame
	input, returnData span // bytes
}

// tupleBuild is an AccessTuple of the block in progress.
type tupleBuild struct {
	Address     execevents.Address
	storageKeys span // b32
}

// accountBuild is an AccountAccessRecord of the block in progress.
type accountBuild struct {
	execevents.AccountAccess
	storage, transient span // stor
}

// scopeAccesses is the account access list of one scope (spec §7.3 list
// rule): whether its header was seen, the entry count it announced, and
// the accounts so far.
type scopeAccesses struct {
	seen     bool
	expected uint32
	list     span // accs
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
	if cap(b.txns) > keepTxns {
		b.txns = nil
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
const keepTxns = scratchKeepBytes / int(unsafe.Sizeof(txnBuild{}))

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
func (b *Builder) txn(m *execevents.EventMeta, needHeader bool) (*txnBuild, error) {
	i, ok := m.Flow.TxnIndex()
	if !ok {
		return nil, b.drop(m, DropMalformed, "transaction-scope event without a TXN_ID tag", -1, 0, 0, 0)
	}
	if i >= uint64(len(b.txns)) {
		return nil, b.drop(m, DropBadIndex, "transaction index beyond the block's txn_count", int64(min(i, 1<<62)), i, uint64(len(b.txns)), 0)
	}
	tx := &b.txns[i]
	if needHeader && !tx.hasHeader {
		return nil, b.drop(m, DropBadIndex, "no TXN_HEADER_START for the transaction yet", int64(i), i, i, 0)
	}
	return tx, nil
}

func (b *Builder) apply(ev execevents.Event) (*ExecutedBlock, error) {
	switch ev := ev.(type) {
	case *execevents.BlockStartEvent:
		return nil, b.start(ev)
	case *execevents.TxnHeaderStartEvent:
		m := &ev.EventMeta
		tx, err := b.txn(m, false)
		if err != nil {
			return nil, err
		}
		if tx.hasHeader {
			return nil, b.drop(m, DropBadIndex, "duplicate TXN_HEADER_START", int64(tx.Index), uint64(tx.Index), uint64(tx.Index), 1)
		}
		tx.hasHeader = true
		tx.Header = *ev.TxnHeaderStart
		tx.input = b.bytes.clone(ev.Data)
		tx.blobHashes = b.b32.clone(ev.BlobVersionedHashes)
	case *execevents.TxnAccessListEntryEvent:
		m := &ev.EventMeta
		tx, err := b.txn(m, true)
		if err != nil {
			return nil, err
		}
		n, want := uint64(tx.accessList.n), uint64(tx.Header.TxnHeader.AccessListCount)
		if uint64(ev.Index) != n || n >= want {
			return nil, b.drop(m, DropBadIndex, "access-list entry out of order or beyond access_list_count", int64(tx.Index), uint64(ev.Index), n, want)
		}
		tx.accessList = b.tuples.push(tx.accessList, tupleBuild{
			Address:     ev.Entry.Address,
			storageKeys: b.b32.clone(ev.StorageKeys),
		})
	case *execevents.TxnAuthListEntryEvent:
		m := &ev.EventMeta
		tx, err := b.txn(m, true)
		if err != nil {
			return nil, err
		}
		n, want := uint64(tx.authList.n), uint64(tx.Header.TxnHeader.AuthListCount)
		if uint64(ev.Index) != n || n >= want {
			return nil, b.drop(m, DropBadIndex, "authorization out of order or beyond auth_list_count", int64(tx.Index), uint64(ev.Index), n, want)
		}
		tx.authList = b.auths.push(tx.authList, *ev.TxnAuthListEntry)
	case *execevents.TxnEVMOutputEvent:
		m := &ev.EventMeta
		tx, err := b.txn(m, true)
		if err != nil {
			return nil, err
		}
		if tx.hasReceipt {
			return nil, b.drop(m, DropBadIndex, "duplicate TXN_EVM_OUTPUT", int64(tx.Index), uint64(tx.Index), uint64(tx.Index), 1)
		}
		nl := ev.Receipt.LogCount
		if b.logSlots += uint64(nl); b.logSlots > uint64(b.opts.MaxLogs) {
			return nil, b.drop(m, DropLimit, "the block's log_counts add up to more than the builder's limit", int64(tx.Index), 0, uint64(b.opts.MaxLogs), b.logSlots)
		}
		tx.hasReceipt = true
		tx.Receipt = ev.Receipt
		tx.logs = b.logs.take(int(nl))
		for i := range b.logs.view(tx.logs) {
			b.logs.at(tx.logs, i).Index = emptySlot
		}
		if b.opts.CallFrames {
			nf := ev.CallFrameCount
			if b.frameSlots += uint64(nf); b.frameSlots > uint64(b.opts.MaxCallFrames) {
				return nil, b.drop(m, DropLimit, "the block's call_frame_counts add up to more than the builder's limit", int64(tx.Index), 0, uint64(b.opts.MaxCallFrames), b.frameSlots)
			}
			tx.callFrames = b.frames.take(int(nf))
			for i := range b.frames.view(tx.callFrames) {
				b.frames.at(tx.callFrames, i).Index = emptySlot
			}
		}
	case *execevents.TxnLogEvent:
		m := &ev.EventMeta
		tx, err := b.txn(m, true)
		if err != nil {
			return nil, err
		}
		i := ev.Index
		if !tx.hasReceipt || uint64(i) >= uint64(tx.logs.n) || b.logs.at(tx.logs, int(i)).Index != emptySlot {
			return nil, b.drop(m, DropBadIndex, "log without a receipt, beyond log_count, or a duplicate", int64(tx.Index), uint64(i), uint64(tx.logsFilled), uint64(tx.logs.n))
		}
		tx.logsFilled++
		topics, data := b.b32.clone(ev.Topics), b.bytes.clone(ev.Data)
		*b.logs.at(tx.logs, int(i)) = logBuild{Index: i, Address: ev.Address, topics: topics, data: data}
	case *execevents.TxnCallFrameEvent:
		m := &ev.EventMeta
		tx, err := b.txn(m, true)
		if err != nil {
			return nil, err
		}
		i := ev.Index
		if !tx.hasReceipt || uint64(i) >= uint64(tx.callFrames.n) || b.frames.at(tx.callFrames, int(i)).Index != emptySlot {
			return nil, b.drop(m, DropBadIndex, "call frame without a receipt, beyond call_frame_count, or a duplicate", int64(tx.Index), uint64(i), uint64(tx.framesFilled), uint64(tx.callFrames.n))
		}
		tx.framesFilled++
		input, ret := b.bytes.clone(ev.Input), b.bytes.clone(ev.ReturnData)
		*b.frames.at(tx.callFrames, int(i)) = frameBuild{TxnCallFrame: *ev.TxnCallFrame, input: input, returnData: ret}
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
		// Grow with headroom; the old array is garbage.
		b.txns = make([]txnBuild, n, n+n/4)
	} else {
		b.txns = b.txns[:n]
		clear(b.txns)
	}
	for i := range b.txns {
		b.txns[i].Index = uint32(i)
	}
	b.cur = blockHead{Start: *ev.BlockStart, StartSeqno: ev.Seqno}
	b.prologue, b.epilogue = scopeAccesses{}, scopeAccesses{}
	b.logSlots, b.frameSlots = 0, 0
	b.blockBytes = uint64(execevents.Events[execevents.EventTypeBlockStart].Size) // its payload, exactly sized (decoder)
	b.active = true
	return err
}

// end handles BLOCK_END: the block is emitted only if complete.
func (b *Builder) end(ev *execevents.BlockEndEvent) (*ExecutedBlock, error) {
	m := &ev.EventMeta
	for i := range b.txns {
		tx := &b.txns[i]
		if !tx.hasHeader || !tx.hasReceipt {
			return nil, b.drop(m, DropMissingTransaction, "", int64(i), uint64(i), 0, 0)
		}
		if h := &tx.Header.TxnHeader; uint64(tx.accessList.n) != uint64(h.AccessListCount) {
			return nil, b.drop(m, DropMissingListEntry, "access list incomplete", int64(i), 0, uint64(h.AccessListCount), uint64(tx.accessList.n))
		} else if uint64(tx.authList.n) != uint64(h.AuthListCount) {
			return nil, b.drop(m, DropMissingListEntry, "authorization list incomplete", int64(i), 0, uint64(h.AuthListCount), uint64(tx.authList.n))
		}
		if tx.logsFilled != uint32(tx.logs.n) {
			return nil, b.drop(m, DropMissingLog, "", int64(i), 0, uint64(tx.logs.n), uint64(tx.logsFilled))
		}
		if tx.framesFilled != uint32(tx.callFrames.n) {
			return nil, b.drop(m, DropMissingCallFrame, "", int64(i), 0, uint64(tx.callFrames.n), uint64(tx.framesFilled))
		}
		if b.opts.Accesses {
			if err := b.checkAccesses(m, int64(i), &tx.accesses); err != nil {
				return nil, err
			}
		}
	}
	if b.opts.Accesses {
		if err := b.checkAccesses(m, -1, &b.prologue); err != nil {
			return nil, err
		}
		if err := b.checkAccesses(m, -1, &b.epilogue); err != nil {
			return nil, err
		}
	}
	out := b.c.compact(b)
	out.End = *ev.BlockEnd
	out.EndSeqno = ev.Seqno
	b.discard()
	return out, nil
}

// accessList resolves the list an access event belongs to from its context
// and TXN_ID tag.
func (b *Builder) accessList(m *execevents.EventMeta, ctx execevents.AccountAccessContext) (*scopeAccesses, int64, error) {
	switch ctx {
	case execevents.AccountAccessContextBlockPrologue:
		return &b.prologue, -1, nil
	case execevents.AccountAccessContextBlockEpilogue:
		return &b.epilogue, -1, nil
	case execevents.AccountAccessContextTransaction:
		tx, err := b.txn(m, true)
		if err != nil {
			return nil, 0, err
		}
		return &tx.accesses, int64(tx.Index), nil
	}
	e := b.drop(m, DropMalformed, "", -1, 0, 0, 0)
	e.(*DropError).Err = fmt.Errorf("unknown account access context %d", uint8(ctx))
	return nil, 0, e
}

func (b *Builder) accessListHeader(ev *execevents.AccountAccessListHeaderEvent) error {
	m := &ev.EventMeta
	sc, txn, err := b.accessList(m, ev.AccessContext)
	if err != nil {
		return err
	}
	if sc.seen {
		return b.drop(m, DropBadIndex, "second account access list for the scope", txn, 0, 0, uint64(sc.list.n))
	}
	// The list grows with the ACCOUNT_ACCESS events, not with the
	// announced count.
	*sc = scopeAccesses{seen: true, expected: ev.EntryCount}
	return nil
}

func (b *Builder) accountAccess(ev *execevents.AccountAccessEvent) error {
	m := &ev.EventMeta
	sc, txn, err := b.accessList(m, ev.AccessContext)
	if err != nil {
		return err
	}
	n := uint64(sc.list.n)
	if !sc.seen || uint64(ev.Index) != n || n >= uint64(sc.expected) {
		return b.drop(m, DropBadIndex, "account out of order, beyond entry_count, or without a list header", txn, uint64(ev.Index), n, uint64(sc.expected))
	}
	if n > 0 {
		if prev := b.accs.at(sc.list, int(n-1)); !accountComplete(prev) {
			return b.drop(m, DropMissingAccess, "", txn, uint64(prev.Index),
				uint64(prev.StorageKeyCount)+uint64(prev.TransientCount), uint64(prev.storage.n+prev.transient.n))
		}
	}
	sc.list = b.accs.push(sc.list, accountBuild{AccountAccess: *ev.AccountAccess})
	return nil
}

func (b *Builder) storageAccess(ev *execevents.StorageAccessEvent) error {
	m := &ev.EventMeta
	sc, txn, err := b.accessList(m, ev.AccessContext)
	if err != nil {
		return err
	}
	if sc.list.n == 0 {
		return b.drop(m, DropBadIndex, "storage access without an account", txn, uint64(ev.Index), 0, 0)
	}
	acc := b.accs.at(sc.list, sc.list.n-1)
	if m.Flow.AccountIndex != uint64(acc.Index) {
		return b.drop(m, DropBadIndex, "storage access for another account (ACCOUNT_INDEX)", txn, m.Flow.AccountIndex, uint64(acc.Index), 0)
	}
	if !ev.Transient {
		n := uint64(acc.storage.n)
		if uint64(ev.Index) != n || n >= uint64(acc.StorageKeyCount) {
			return b.drop(m, DropBadIndex, "storage slot out of order or beyond storage_key_count", txn, uint64(ev.Index), n, uint64(acc.StorageKeyCount))
		}
		acc.storage = b.stor.push(acc.storage, *ev.StorageAccess)
		return nil
	}
	n := uint64(acc.transient.n)
	if uint64(acc.storage.n) != uint64(acc.StorageKeyCount) || uint64(ev.Index) != n || n >= uint64(acc.TransientCount) {
		return b.drop(m, DropBadIndex, "transient slot out of order, before the ordinary slots, or beyond transient_count", txn, uint64(ev.Index), n, uint64(acc.TransientCount))
	}
	acc.transient = b.stor.push(acc.transient, *ev.StorageAccess)
	return nil
}

func accountComplete(a *accountBuild) bool {
	return uint64(a.storage.n) == uint64(a.StorageKeyCount) && uint64(a.transient.n) == uint64(a.TransientCount)
}

// checkAccesses verifies at BLOCK_END that a list that was opened is
// complete. A scope without a list header is accepted (producers may not
// record accesses).
func (b *Builder) checkAccesses(m *execevents.EventMeta, txn int64, sc *scopeAccesses) error {
	if !sc.seen {
		return nil
	}
	if n := sc.list.n; uint64(n) != uint64(sc.expected) {
		return b.drop(m, DropMissingAccess, "", txn, 0, uint64(sc.expected), uint64(n))
	}
	if n := sc.list.n; n > 0 {
		if a := b.accs.at(sc.list, n-1); !accountComplete(a) {
			return b.drop(m, DropMissingAccess, "", txn, uint64(a.Index),
				uint64(a.StorageKeyCount)+uint64(a.TransientCount), uint64(a.storage.n+a.transient.n))
		}
	}
	return nil
}

// compactor copies a finished block out of the builder's arenas into one
// exactly sized allocation per element type, so that a block owns its
// memory alone and retaining it pins nothing else. Every slice pointer of
// the block is written once, into memory allocated for it.
type compactor struct {
	bytes pool[byte]
	b32   pool[execevents.Bytes32]
	auths pool[execevents.TxnAuthListEntry]
	stor  pool[execevents.StorageAccess]
}

// compact returns the block in progress of b as an ExecutedBlock of its own
// (End and EndSeqno left for the caller).
func (c *compactor) compact(b *Builder) *ExecutedBlock {
	// Sizing pass.
	var nBytes, nB32, nAuths, nStor, nLogs, nFrames, nTuples, nAccs int
	countAccesses := func(l span) {
		nAccs += l.n
		for _, a := range b.accs.view(l) {
			nStor += a.storage.n + a.transient.n
		}
	}
	for i := range b.txns {
		t := &b.txns[i]
		nBytes += t.input.n
		nB32 += t.blobHashes.n
		nTuples += t.accessList.n
		for j := range b.tuples.view(t.accessList) {
			nB32 += b.tuples.at(t.accessList, j).storageKeys.n
		}
		nAuths += t.authList.n
		nLogs += t.logs.n
		for j := range b.logs.view(t.logs) {
			l := b.logs.at(t.logs, j)
			nB32 += l.topics.n
			nBytes += l.data.n
		}
		nFrames += t.callFrames.n
		for j := range b.frames.view(t.callFrames) {
			f := b.frames.at(t.callFrames, j)
			nBytes += f.input.n + f.returnData.n
		}
		countAccesses(t.accesses.list)
	}
	countAccesses(b.prologue.list)
	countAccesses(b.epilogue.list)
	c.bytes.fill(&b.bytes, nBytes)
	c.b32.fill(&b.b32, nB32)
	c.auths.fill(&b.auths, nAuths)
	c.stor.fill(&b.stor, nStor)
	txns := make([]ExecutedTxn, len(b.txns))
	logs := alloc[Log](nLogs)
	frames := alloc[CallFrame](nFrames)
	tuples := alloc[AccessTuple](nTuples)
	accs := alloc[AccountAccessRecord](nAccs)

	// Copy pass.
	dst := &ExecutedBlock{Start: b.cur.Start, StartSeqno: b.cur.StartSeqno}
	if len(txns) > 0 {
		dst.Txns = txns[:len(txns):len(txns)]
	}
	var blockLogs uint32 // Ethereum's block-wide log index
	for i := range b.txns {
		t, d := &b.txns[i], &dst.Txns[i]
		d.Index = t.Index
		d.Header = t.Header
		d.Receipt = t.Receipt
		d.Input = c.bytes.move(&b.bytes, t.input)
		d.BlobHashes = c.b32.move(&b.b32, t.blobHashes)
		d.AccessList = carve(&tuples, t.accessList.n)
		for j := range d.AccessList {
			s := b.tuples.at(t.accessList, j)
			d.AccessList[j] = AccessTuple{Address: s.Address, StorageKeys: c.b32.move(&b.b32, s.storageKeys)}
		}
		d.AuthList = c.auths.move(&b.auths, t.authList)
		d.Logs = carve(&logs, t.logs.n)
		for j := range d.Logs {
			s := b.logs.at(t.logs, j)
			d.Logs[j] = Log{Index: s.Index, BlockIndex: blockLogs, Address: s.Address, Topics: c.b32.move(&b.b32, s.topics), Data: c.bytes.move(&b.bytes, s.data)}
			blockLogs++
		}
		d.CallFrames = carve(&frames, t.callFrames.n)
		for j := range d.CallFrames {
			s := b.frames.at(t.callFrames, j)
			d.CallFrames[j] = CallFrame{TxnCallFrame: s.TxnCallFrame,
				Input: c.bytes.move(&b.bytes, s.input), ReturnData: c.bytes.move(&b.bytes, s.returnData)}
		}
		d.Accesses = c.moveAccesses(b, &accs, t.accesses.list)
	}
	dst.Prologue = c.moveAccesses(b, &accs, b.prologue.list)
	dst.Epilogue = c.moveAccesses(b, &accs, b.epilogue.list)
	c.bytes.release()
	c.b32.release()
	c.auths.release()
	c.stor.release()
	return dst
}

func (c *compactor) moveAccesses(b *Builder, accs *[]AccountAccessRecord, l span) []AccountAccessRecord {
	d := carve(accs, l.n)
	for i := range d {
		s := b.accs.at(l, i)
		d[i] = AccountAccessRecord{AccountAccess: s.AccountAccess,
			Storage: c.stor.move(&b.stor, s.storage), Transient: c.stor.move(&b.stor, s.transient)}
	}
	return d
}

// alloc returns a new slice of n elements (nil for n == 0).
func alloc[T any](n int) []T {
	if n == 0 {
		return nil
	}
	return make([]T, n)
}
