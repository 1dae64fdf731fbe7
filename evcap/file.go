package evcap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"sync"
	"sync/atomic"

	"github.com/monadgo/events/eventring"
)

// Default limits of OpenOptions.
const (
	// DefaultMaxSectionSize caps the decompressed size (content_length) of
	// a compressed section: 1 GiB.
	DefaultMaxSectionSize = 1 << 30
	// DefaultMaxSections caps the number of section descriptors: 2^20
	// (about 500 section tables).
	DefaultMaxSections = 1 << 20

	// maxZstdWindow caps the history window a zstd frame may ask for
	// (the largest window of zstd's non-long levels, 128 MiB).
	maxZstdWindow = 1 << 27
)

// OpenOptions tune how a capture is opened. The zero value is valid.
type OpenOptions struct {
	// Layout demands one layout: a file of the other is refused with
	// ErrWrongLayout. LayoutAuto (0) accepts both, telling them apart as
	// spec §12.1 says.
	Layout Layout
	// MaxSectionSize caps the content_length of compressed sections (a
	// larger one is refused with ErrTooLarge when the file is opened) and
	// the payload size of any record (refused with ErrTooLarge when it is
	// read). 0 means DefaultMaxSectionSize. Reading never holds a whole
	// section in memory: what a Reader holds is bounded by its largest
	// record (at most this limit) and the zstd window (at most
	// min(MaxSectionSize, 128 MiB)), and it grows only as decompressed
	// bytes actually arrive, so a zstd bomb costs no more than the limit.
	MaxSectionSize uint64
	// MaxSections caps the number of section descriptors (LINKs
	// included); 0 means DefaultMaxSections. The File keeps one Section
	// value per descriptor.
	MaxSections int
}

func (o OpenOptions) withDefaults() OpenOptions {
	if o.MaxSectionSize == 0 {
		o.MaxSectionSize = DefaultMaxSectionSize
	}
	if o.MaxSections <= 0 {
		o.MaxSections = DefaultMaxSections
	}
	return o
}

// File is an open capture file: its sections, checked when it is opened,
// and the means to read its events. Its methods are safe for concurrent
// use; a Reader is not (one goroutine per Reader).
//
// Opening checks the header, every section table and descriptor, their
// cross-references and the block index; the contents of EVENT_BUNDLE and
// SEQNO_INDEX sections are checked as they are read (Reader) or all at
// once (Verify).
//
// A file whose BLOCK_INDEX is active (its writer still has it open) shows
// only the bundles the index has committed, and the sections before them;
// Refresh picks up blocks committed since.
type File struct {
	path   string
	ra     io.ReaderAt
	file   *os.File // owned, nil for NewFile
	sizeFn func() (int64, error)
	opts   OpenOptions

	mu     sync.Mutex // serializes Refresh
	lay    atomic.Pointer[layout]
	mem    atomic.Pointer[mapping] // the file's bytes, mapped (Open only)
	closed atomic.Bool
}

// Open opens the capture file at path, of either layout, and checks its
// structure. Errors about the contents are *FormatError values wrapping
// this package's sentinels.
//
// The file is also mapped read-only, and Readers read section contents
// from the mapping instead of copying them with pread (payloads are then
// copied into the Reader, so that no view handed out points into the
// file). A file cut shorter while it is read makes the Reader's next call
// return a *FormatError wrapping ErrTruncated instead of crashing. The
// mapping is released when neither the File nor its Readers are in use
// any more (after Close, once they are garbage).
func Open(path string) (*File, error) {
	return OpenWithOptions(path, OpenOptions{})
}

// OpenWithOptions is Open with options.
func OpenWithOptions(path string, opts OpenOptions) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("evcap: %w", err)
	}
	f := &File{path: path, ra: fh, file: fh, opts: opts.withDefaults()}
	f.sizeFn = func() (int64, error) {
		st, err := fh.Stat()
		if err != nil {
			return 0, fmt.Errorf("evcap: %w", err)
		}
		if !st.Mode().IsRegular() {
			return 0, &FormatError{Path: path, Section: -1, Pos: -1, Msg: fmt.Sprintf("not a regular file (%v)", st.Mode().Type()), Err: ErrBadMagic}
		}
		return st.Size(), nil
	}
	if err := f.load(); err != nil {
		fh.Close()
		return nil, err
	}
	f.mem.Store(mapFile(fh, f.Size()))
	return f, nil
}

// NewFile reads a capture of size bytes from r (a file, an in-memory
// image). name is used in error messages. r must stay readable while the
// File is in use; Close does not close it. If r has a Size() int64 method
// (bytes.Reader, io.SectionReader), Refresh uses it to see the capture
// grow.
func NewFile(r io.ReaderAt, size int64, name string, opts OpenOptions) (*File, error) {
	f := &File{path: name, ra: r, opts: opts.withDefaults()}
	f.sizeFn = func() (int64, error) { return size, nil }
	if s, ok := r.(interface{ Size() int64 }); ok {
		f.sizeFn = func() (int64, error) { return s.Size(), nil }
	}
	if err := f.load(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *File) load() error {
	size, err := f.sizeFn()
	if err != nil {
		return err
	}
	lay, err := parse(f.ra, size, f.path, &f.opts)
	if err != nil {
		return err
	}
	f.lay.Store(lay)
	return nil
}

// Close closes the file. Readers then fail with ErrClosed. It is
// idempotent.
func (f *File) Close() error {
	if f.closed.Swap(true) || f.file == nil {
		return nil
	}
	f.mem.Store(nil) // unmapped once no Reader uses it (see mapping)
	return f.file.Close()
}

// Path returns the name the file was opened with.
func (f *File) Path() string { return f.path }

// Layout returns the file's layout (LayoutRelease or LayoutPreview).
func (f *File) Layout() Layout { return f.lay.Load().kind }

// Size returns the file size seen when it was opened or last refreshed.
func (f *File) Size() int64 { return f.lay.Load().size }

// Sections returns a copy of every section, in section order (release:
// LINK descriptors included). In a file being written, sections after
// the last committed block are not shown.
func (f *File) Sections() []Section {
	return append([]Section(nil), f.lay.Load().sections...)
}

// Bundles returns a copy of the EVENT_BUNDLE sections, in section order
// (the order in which Readers deliver their events).
func (f *File) Bundles() []Section {
	lay := f.lay.Load()
	out := make([]Section, len(lay.bundles))
	for i, si := range lay.bundles {
		out[i] = lay.sections[si]
	}
	return out
}

// Schemas returns the file's SCHEMA sections, one per content type, in
// section order.
func (f *File) Schemas() []Schema {
	return append([]Schema(nil), f.lay.Load().schemas...)
}

// Schema returns the schema of content type ct, and whether the file has
// one.
func (f *File) Schema(ct eventring.ContentType) (Schema, bool) {
	return f.lay.Load().schema(ct)
}

// CheckSchema returns an *eventring.SchemaError (wrapping
// eventring.ErrSchemaMismatch) unless the file has a SCHEMA for
// contentType with exactly the given hash. Generated bindings call it with
// their compiled-in values, as they call eventring's Ring.CheckSchema.
func (f *File) CheckSchema(contentType eventring.ContentType, hash [32]byte) error {
	s, ok := f.Schema(contentType)
	if ok && s.Hash == hash {
		return nil
	}
	e := &eventring.SchemaError{Path: f.path, WantType: contentType, GotType: s.ContentType, WantHash: hash, GotHash: s.Hash}
	if !ok {
		if ss := f.Schemas(); len(ss) > 0 {
			e.GotType, e.GotHash = ss[0].ContentType, ss[0].Hash
		}
	}
	return e
}

// EventCount returns the number of events the file's bundles declare.
func (f *File) EventCount() uint64 { return f.lay.Load().events }

// Blocks returns the entries of the file's block index (BLOCK_INDEX, or
// the preview's PACK_INDEX), in index order; for a preview file without
// one (a block archive file), the bundles that carry a block number.
// SeekBlock looks blocks up here.
func (f *File) Blocks() []BlockEntry {
	return append([]BlockEntry(nil), f.lay.Load().blocks...)
}

// Active reports whether the file's block index says a writer still has
// the file open (is_active), as of opening or the last Refresh.
func (f *File) Active() bool { return f.lay.Load().active }

// Refresh reads the file's structure again, to see what a writer added
// since it was opened: the blocks an active BLOCK_INDEX committed, the
// end of the writer (Active turns false). Readers see new bundles when
// they reach the end of the old ones. It reports whether anything
// changed. A file whose existing sections changed is refused with an
// error wrapping ErrChanged, and the File keeps what it had.
func (f *File) Refresh() (changed bool, err error) {
	if f.closed.Load() {
		return false, ErrClosed
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	size, err := f.sizeFn()
	if err != nil {
		return false, err
	}
	old := f.lay.Load()
	lay, err := parse(f.ra, size, f.path, &f.opts)
	if err != nil {
		return false, err
	}
	if err := extends(old, lay); err != nil {
		return false, &FormatError{Path: f.path, Section: -1, Pos: -1, Msg: err.Error(), Err: ErrChanged}
	}
	f.lay.Store(lay)
	if f.file != nil && lay.size != old.size {
		f.mem.Store(mapFile(f.file, lay.size))
	}
	return len(lay.sections) != len(old.sections) || lay.active != old.active || lay.size != old.size, nil
}

// extends checks that lay is old grown by a writer: the same sections,
// each unchanged except for the fields of a block index.
func extends(old, lay *layout) error {
	if lay.kind != old.kind {
		return fmt.Errorf("layout changed from %v to %v", old.kind, lay.kind)
	}
	if len(lay.sections) < len(old.sections) {
		return fmt.Errorf("%d sections, had %d", len(lay.sections), len(old.sections))
	}
	for i := range old.sections {
		a, b := old.sections[i], lay.sections[i]
		if a.Type == SectionBlockIndex && b.Type == SectionBlockIndex {
			a.StartBlock, a.BlockCount, a.IsActive = b.StartBlock, b.BlockCount, b.IsActive
		}
		if a != b {
			return fmt.Errorf("section %d changed", i)
		}
	}
	return nil
}

// NewReader returns a Reader positioned before the first event of the
// first bundle.
func (f *File) NewReader() *Reader {
	return &Reader{f: f, lay: f.lay.Load(), bi: -1}
}

// Events returns an iterator over every event of the file, in bundle
// order: f.NewReader().Events(ctx).
func (f *File) Events(ctx context.Context) iter.Seq2[Event, error] {
	return f.NewReader().Events(ctx)
}

// layout is the checked structure of a file at one moment. It is never
// modified once built; Refresh replaces it.
type layout struct {
	kind      Layout
	size      int64
	sections  []Section
	bundles   []int          // section numbers of the EVENT_BUNDLEs, in order
	bundlePos []int          // section number -> position in bundles, -1 for other types
	byDesc    map[uint64]int // descriptor offset -> section number
	schemas   []Schema
	blocks    []BlockEntry
	blockNum  map[uint64]int // block number -> index in blocks
	active    bool
	events    uint64
}

func (l *layout) schema(ct eventring.ContentType) (Schema, bool) {
	for _, s := range l.schemas {
		if s.ContentType == ct {
			return s, true
		}
	}
	return Schema{}, false
}

func (l *layout) hasSchema(ct eventring.ContentType) bool {
	for i := range l.schemas {
		if l.schemas[i].ContentType == ct {
			return true
		}
	}
	return false
}

// IsCapture reports whether the file at path begins with the capture
// magic (either layout), as eventring.IsSnapshot tells snapshots from
// rings: by content, whatever the name.
func IsCapture(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var b [len(Magic)]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return false, nil
		}
		return false, err
	}
	return string(b[:]) == Magic, nil
}
